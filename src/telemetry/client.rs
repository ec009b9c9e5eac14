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
use crate::providers::retry;

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

/// How hard to try one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts at most (the first included).
    pub max_attempts: u32,
    /// The first backoff; it doubles up to `max_backoff`.
    pub first_backoff: Duration,
    /// The longest single backoff.
    pub max_backoff: Duration,
    /// The longest single request.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            first_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
            request_timeout: Duration::from_secs(5),
        }
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
        let mut attempts = 0;
        loop {
            attempts += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(TelemetryError::GaveUp {
                    attempts: attempts - 1,
                    last: "the deadline passed".into(),
                });
            }
            let request = self
                .http
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::CONTENT_ENCODING, "gzip")
                .header(
                    reqwest::header::USER_AGENT,
                    concat!("wizard/", env!("CARGO_PKG_VERSION")),
                )
                .timeout(policy.request_timeout.min(remaining))
                .body(body.clone());
            let (last, retry_after) = match request.send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) if retry::is_retryable_status(response.status().as_u16()) => {
                    let retry_after = retry::retry_after(response.headers());
                    (format!("status {}", response.status()), retry_after)
                }
                Ok(response) => {
                    return Err(TelemetryError::Refused {
                        status: response.status().as_u16(),
                    })
                }
                Err(e) if e.is_timeout() => ("timed out".to_string(), None),
                Err(e) if e.is_connect() => ("could not connect".to_string(), None),
                Err(e) => (e.to_string(), None),
            };
            let backoff =
                retry::jittered_backoff(policy.first_backoff, policy.max_backoff, attempts);
            let wait = retry_after.unwrap_or(backoff).min(policy.max_backoff);
            if attempts >= policy.max_attempts || Instant::now() + wait >= deadline {
                return Err(TelemetryError::GaveUp { attempts, last });
            }
            tracing::debug!(attempts, %last, "telemetry batch retried in {wait:?}");
            tokio::time::sleep(wait).await;
        }
    }
}
