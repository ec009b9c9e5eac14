//! Sends batches of events to `{host}/batch/`, gzip-compressed, retried within a deadline.
//!
//! The body is PostHog's batch shape (`api_key`, `historical_migration`,
//! `sent_at`, `batch`), gzipped with `Content-Encoding: gzip`, as PostHog's
//! server SDKs send it. Network errors, timeouts and the statuses the model
//! clients retry are retried with the same jittered doubling backoff and
//! `Retry-After` handling ([`crate::providers::retry`]); other statuses are
//! final. Every wait is cut at the caller's deadline, so a send never
//! outlives it: telemetry must never hold a run up.

use std::io::Write;
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::json;
use thiserror::Error;
use tokio::time::Instant;

use super::event::TelemetryEvent;
use super::target::TelemetryTarget;
use crate::providers::retry::{self, AttemptError, GaveUp};

/// Why a batch was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TelemetryError {
    /// The body could not be built.
    #[error("telemetry batch could not be encoded: {0}")]
    Encode(String),
    /// The server refused the batch for good.
    #[error("telemetry batch refused with status {status}")]
    Refused {
        /// The HTTP status.
        status: u16,
    },
    /// Retries ran out (attempts or deadline) on a retryable failure.
    #[error("telemetry batch not sent after {attempts} attempt(s): {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
}

/// How hard to try one batch: the program's one retry policy, whose idle timeout bounds
/// each request.
pub use crate::providers::retry::RetryPolicy;

/// Telemetry's own settings of that policy: five attempts, a short backoff and a short
/// request limit, because telemetry must never hold a run up.
pub fn default_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 4,
        base_delay: Duration::from_millis(250),
        max_delay: Duration::from_secs(4),
        idle_timeout: Duration::from_secs(5),
    }
}

/// A client for one telemetry project.
#[derive(Debug, Clone)]
pub struct TelemetryClient {
    http: reqwest::Client,
    target: TelemetryTarget,
}

impl TelemetryClient {
    /// A client sending to `target` through `http`.
    pub fn new(http: reqwest::Client, target: TelemetryTarget) -> Self {
        Self { http, target }
    }

    /// The gzipped `/batch/` body for `events`.
    pub fn batch_body(&self, events: &[TelemetryEvent]) -> Result<Vec<u8>, TelemetryError> {
        let body = json!({
            "api_key": self.target.token(),
            "historical_migration": false,
            "sent_at": chrono::Utc::now().to_rfc3339(),
            "batch": events,
        });
        let json = serde_json::to_vec(&body).map_err(|e| TelemetryError::Encode(e.to_string()))?;
        let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::default());
        gz.write_all(&json)
            .and_then(|_| gz.finish())
            .map_err(|e| TelemetryError::Encode(e.to_string()))
    }

    /// Sends one batch, retrying within `policy` and never past `deadline`.
    pub async fn send(
        &self,
        events: &[TelemetryEvent],
        policy: RetryPolicy,
        deadline: Instant,
    ) -> Result<(), TelemetryError> {
        if events.is_empty() {
            return Ok(());
        }
        let body = self.batch_body(events)?;
        let url = format!("{}/batch/", self.target.host());
        if Instant::now() >= deadline {
            return Err(TelemetryError::GaveUp {
                attempts: 0,
                last: "the deadline passed".into(),
            });
        }
        let attempt = |_| {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let request = self
                .http
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::CONTENT_ENCODING, "gzip")
                .header(
                    reqwest::header::USER_AGENT,
                    concat!("wizard/", env!("CARGO_PKG_VERSION")),
                )
                .timeout(policy.idle_timeout.min(remaining))
                .body(body.clone());
            async move {
                match request.send().await {
                    Ok(response) if response.status().is_success() => Ok(()),
                    Ok(response) if retry::is_retryable_status(response.status().as_u16()) => {
                        Err(AttemptError::Transient {
                            reason: format!("status {}", response.status()),
                            // A server's long wait is cut to the longest backoff.
                            retry_after: retry::retry_after(response.headers())
                                .map(|wait| wait.min(policy.max_delay)),
                        })
                    }
                    Ok(response) => Err(AttemptError::Fatal(TelemetryError::Refused {
                        status: response.status().as_u16(),
                    })),
                    Err(e) if e.is_timeout() => Err(AttemptError::transient("timed out")),
                    Err(e) if e.is_connect() => Err(AttemptError::transient("could not connect")),
                    Err(e) => Err(AttemptError::transient(e.to_string())),
                }
            }
        };
        let on_retry = |retry: u32, wait: Duration, reason: &str| {
            tracing::debug!(retry, %reason, "telemetry batch retried in {wait:?}");
        };
        retry::retry_loop(&policy, Some(deadline), on_retry, attempt)
            .await
            .map_err(|gave_up| match gave_up {
                GaveUp::Fatal(error) => error,
                GaveUp::Exhausted { attempts, last } => TelemetryError::GaveUp { attempts, last },
            })
    }
}
