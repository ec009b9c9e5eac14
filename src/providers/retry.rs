//! When a failed HTTP request is worth another try, and how long to wait first.
//!
//! The one retry policy and loop of the program: both model clients (`anthropic`,
//! `openai`) run their requests through [`with_retries`], and telemetry's batch
//! sender runs through the same [`retry_loop`] under its deadline, with the same
//! retryable statuses and server-requested waits ([`is_retryable_status`],
//! [`retry_after`]); the health checks share [`error_chain`]. The rules follow
//! the official SDKs: retry 408, 409, 429, 5xx and 529, dropped connections, a
//! stream that ends before its terminator, and a stream that stalls; never
//! retry 400/404/413 ([`ProviderError::Permanent`]) or 401/403
//! ([`ProviderError::Auth`]). A server may override the status with
//! `x-should-retry: true|false`, and may say how long to wait with
//! `retry-after-ms` or `retry-after` (seconds or an HTTP date, honoured up to
//! 60 s); otherwise the wait is an exponential backoff with jitter.
//!
//! The clients describe one attempt's failure as an [`AttemptError`] and hand
//! the attempt to [`with_retries`], which owns the loop, the waits and the
//! [`ProviderEvent::Retrying`] reports.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use reqwest::header::HeaderMap;

use super::types::{ProviderError, ProviderEvent};

/// The longest server-requested wait we honour; longer ones fall back to backoff.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How often and how patiently a client retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `max_retries + 1` attempts at most).
    pub max_retries: u32,
    /// The first backoff wait; it doubles on each retry.
    pub base_delay: Duration,
    /// The longest backoff wait.
    pub max_delay: Duration,
    /// A stream (or a response head) that sends nothing for this long counts as stalled.
    pub idle_timeout: Duration,
}

/// The HTTP client both model clients use (connection timeout 10 s; stalls are
/// caught per stream by the retry policy's idle timeout).
pub fn http_client() -> Result<reqwest::Client, super::ProviderError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| {
            super::ProviderError::Protocol(format!("could not set up the HTTP client: {e}"))
        })
}

impl RetryPolicy {
    /// The default policy with overrides from the environment: `WIZARD_PROVIDER_IDLE_TIMEOUT_MS`
    /// (when a silent stream counts as stalled) and `WIZARD_PROVIDER_RETRY_BASE_MS` (the first
    /// backoff wait). Fault-injection tests shorten both; unparsable values are ignored.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let ms = |name: &str| {
            lookup(name)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_millis)
        };
        let mut policy = RetryPolicy::default();
        if let Some(idle) = ms("WIZARD_PROVIDER_IDLE_TIMEOUT_MS") {
            policy.idle_timeout = idle;
        }
        if let Some(base) = ms("WIZARD_PROVIDER_RETRY_BASE_MS") {
            policy.base_delay = base;
        }
        policy
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The backoff before retry number `retry` (1-based): `base · 2^(retry-1)`,
    /// capped, times a jitter in 0.75..=1.0 so parallel agents do not retry in step.
    pub fn backoff(&self, retry: u32) -> Duration {
        jittered_backoff(self.base_delay, self.max_delay, retry)
    }
}

/// The backoff before retry number `retry` (1-based): `base · 2^(retry-1)`, capped at
/// `max`, times a jitter in 0.75..=1.0 so parallel senders do not retry in step.
fn jittered_backoff(base: Duration, max: Duration, retry: u32) -> Duration {
    let exponent = retry.saturating_sub(1).min(20);
    let uncapped = base.saturating_mul(1u32 << exponent);
    let capped = uncapped.min(max);
    let jitter: f64 = rand::rng().random_range(0.75..=1.0);
    capped.mul_f64(jitter)
}

/// How one attempt failed; `E` is the caller's error for a failure no retry can help.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AttemptError<E = ProviderError> {
    /// Worth another try; `retry_after` is the server's requested wait, if any.
    Transient {
        /// What went wrong, for progress reports and the final error.
        reason: String,
        /// The wait the server asked for.
        retry_after: Option<Duration>,
    },
    /// No retry can help.
    Fatal(E),
}

impl<E> AttemptError<E> {
    /// A transient failure without a server-requested wait.
    pub(crate) fn transient(reason: impl Into<String>) -> Self {
        AttemptError::Transient {
            reason: reason.into(),
            retry_after: None,
        }
    }
}

/// How a [`retry_loop`] ended without a success.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GaveUp<E> {
    /// An attempt failed in a way no retry can help.
    Fatal(E),
    /// The retries ran out, or the next wait would pass the deadline.
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
}

/// The one retry loop of the program: runs `attempt` until it succeeds, fails for good,
/// the policy's retries run out, or the next wait would end at or past `deadline`.
///
/// `attempt` gets the 0-based attempt number. Before each wait `on_retry` hears the
/// 1-based retry number, the wait and the failure's reason. The wait is the server's
/// (`retry_after`) when it gave one, else the policy's jittered backoff.
pub(crate) async fn retry_loop<T, E, F, Fut>(
    policy: &RetryPolicy,
    deadline: Option<tokio::time::Instant>,
    mut on_retry: impl FnMut(u32, Duration, &str),
    mut attempt: F,
) -> Result<T, GaveUp<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, AttemptError<E>>>,
{
    let mut retries = 0u32;
    loop {
        match attempt(retries).await {
            Ok(value) => return Ok(value),
            Err(AttemptError::Fatal(error)) => return Err(GaveUp::Fatal(error)),
            Err(AttemptError::Transient {
                reason,
                retry_after,
            }) => {
                let wait = retry_after.unwrap_or_else(|| policy.backoff(retries + 1));
                let past_deadline =
                    deadline.is_some_and(|d| tokio::time::Instant::now() + wait >= d);
                if retries >= policy.max_retries || past_deadline {
                    return Err(GaveUp::Exhausted {
                        attempts: retries + 1,
                        last: reason,
                    });
                }
                retries += 1;
                on_retry(retries, wait, &reason);
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Runs a model request's `attempt` through [`retry_loop`] without a deadline, reporting
/// each retry through `progress` before the wait.
pub(crate) async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    progress: &(dyn Fn(ProviderEvent) + Send + Sync),
    attempt: F,
) -> Result<T, ProviderError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, AttemptError>>,
{
    let on_retry = |retry: u32, wait: Duration, reason: &str| {
        tracing::warn!(
            retry,
            wait_ms = wait.as_millis() as u64,
            %reason,
            "model request failed; retrying"
        );
        progress(ProviderEvent::Retrying {
            attempt: retry,
            wait_ms: wait.as_millis() as u64,
            reason: reason.to_string(),
        });
    };
    retry_loop(policy, None, on_retry, attempt)
        .await
        .map_err(|gave_up| match gave_up {
            GaveUp::Fatal(error) => error,
            GaveUp::Exhausted { attempts, last } => {
                ProviderError::RetriesExhausted { attempts, last }
            }
        })
}

/// Classifies a non-success HTTP answer. `message` is what the server said
/// (already pulled out of its error envelope).
pub(crate) fn classify_status(status: u16, headers: &HeaderMap, message: String) -> AttemptError {
    let fatal = |status: u16, message: String| {
        if status == 401 || status == 403 {
            AttemptError::Fatal(ProviderError::Auth { status, message })
        } else {
            AttemptError::Fatal(ProviderError::Permanent { status, message })
        }
    };
    let transient = |status: u16, message: String| AttemptError::Transient {
        reason: format!("HTTP {status}: {message}"),
        retry_after: retry_after(headers),
    };
    match should_retry_header(headers) {
        Some(true) => transient(status, message),
        Some(false) => fatal(status, message),
        None if is_retryable_status(status) => transient(status, message),
        None => fatal(status, message),
    }
}

/// True for the statuses the SDKs retry: 408, 409, 429 and every 5xx (529 included).
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || status >= 500
}

/// A failure to connect or to read the response: always worth another try.
pub(crate) fn connection_failure(error: &reqwest::Error) -> AttemptError {
    AttemptError::transient(format!("connection failed: {}", error_chain(error)))
}

/// An error and its sources on one line (reqwest's top-level message alone is vague).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The server's `x-should-retry` verdict, when it gave one.
fn should_retry_header(headers: &HeaderMap) -> Option<bool> {
    match headers.get("x-should-retry")?.to_str().ok()?.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The wait a server asked for: `retry-after-ms`, else `retry-after` in seconds
/// (fractions allowed) or as an HTTP date. Waits over 60 s are ignored, as the
/// SDKs do, so a confused server cannot park an agent for an hour.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let wait = if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        seconds_to_duration(ms / 1000.0)?
    } else {
        let value = header("retry-after")?;
        match value.parse::<f64>() {
            Ok(seconds) => seconds_to_duration(seconds)?,
            Err(_) => {
                let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
                let delta = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
                delta.to_std().unwrap_or(Duration::ZERO)
            }
        }
    };
    (wait <= MAX_RETRY_AFTER).then_some(wait)
}

fn seconds_to_duration(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn fast_policy(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            idle_timeout: Duration::from_millis(200),
        }
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after_seconds() {
        let h = headers(&[("retry-after-ms", "250"), ("retry-after", "3")]);
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
    }

    #[test]
    fn retry_after_accepts_fractional_seconds_and_http_dates() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "1.5")])),
            Some(Duration::from_millis(1500))
        );
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let wait = retry_after(&headers(&[("retry-after", &soon)])).unwrap();
        assert!(wait <= Duration::from_secs(30) && wait >= Duration::from_secs(25));
    }

    #[test]
    fn retry_after_beyond_a_minute_is_ignored() {
        assert_eq!(retry_after(&headers(&[("retry-after", "3600")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
    }

    #[test]
    fn statuses_are_classified_like_the_sdks() {
        let none = HeaderMap::new();
        for status in [408, 409, 429, 500, 502, 503, 504, 529] {
            assert!(
                matches!(
                    classify_status(status, &none, "x".into()),
                    AttemptError::Transient { .. }
                ),
                "{status} should be retried"
            );
        }
        for status in [400, 404, 413, 422] {
            assert!(matches!(
                classify_status(status, &none, "x".into()),
                AttemptError::Fatal(ProviderError::Permanent { .. })
            ));
        }
        for status in [401, 403] {
            assert!(matches!(
                classify_status(status, &none, "x".into()),
                AttemptError::Fatal(ProviderError::Auth { .. })
            ));
        }
    }

    #[test]
    fn x_should_retry_overrides_the_status() {
        let no = headers(&[("x-should-retry", "false")]);
        assert!(matches!(
            classify_status(503, &no, "x".into()),
            AttemptError::Fatal(ProviderError::Permanent { status: 503, .. })
        ));
        let yes = headers(&[("x-should-retry", "true")]);
        assert!(matches!(
            classify_status(400, &yes, "x".into()),
            AttemptError::Transient { .. }
        ));
    }

    #[test]
    fn backoff_doubles_and_is_capped_with_jitter() {
        let policy = RetryPolicy::default();
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_millis(375) && first <= Duration::from_millis(500));
            let third = policy.backoff(3);
            assert!(third >= Duration::from_millis(1500) && third <= Duration::from_millis(2000));
            let late = policy.backoff(30);
            assert!(late >= Duration::from_secs(6) && late <= Duration::from_secs(8));
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_and_reported() {
        let events = Mutex::new(Vec::new());
        let progress = |event: ProviderEvent| events.lock().unwrap().push(event);
        let result = with_retries(&fast_policy(4), &progress, |attempt| async move {
            if attempt < 2 {
                Err(AttemptError::Transient {
                    reason: format!("boom {attempt}"),
                    retry_after: Some(Duration::from_millis(3)),
                })
            } else {
                Ok(attempt)
            }
        })
        .await;
        assert_eq!(result, Ok(2));
        let events = events.into_inner().unwrap();
        assert_eq!(
            events,
            vec![
                ProviderEvent::Retrying {
                    attempt: 1,
                    wait_ms: 3,
                    reason: "boom 0".into()
                },
                ProviderEvent::Retrying {
                    attempt: 2,
                    wait_ms: 3,
                    reason: "boom 1".into()
                },
            ]
        );
    }

    #[tokio::test]
    async fn retries_run_out_with_the_last_reason() {
        let progress = |_: ProviderEvent| {};
        let result: Result<(), _> =
            with_retries(&fast_policy(2), &progress, |attempt| async move {
                Err(AttemptError::transient(format!("fail {attempt}")))
            })
            .await;
        assert_eq!(
            result,
            Err(ProviderError::RetriesExhausted {
                attempts: 3,
                last: "fail 2".into()
            })
        );
    }

    #[tokio::test]
    async fn fatal_failures_are_not_retried() {
        let calls = Mutex::new(0);
        let progress = |_: ProviderEvent| {};
        let result: Result<(), _> = with_retries(&fast_policy(4), &progress, |_| {
            *calls.lock().unwrap() += 1;
            async {
                Err(AttemptError::Fatal(ProviderError::Auth {
                    status: 401,
                    message: "bad key".into(),
                }))
            }
        })
        .await;
        assert!(matches!(
            result,
            Err(ProviderError::Auth { status: 401, .. })
        ));
        assert_eq!(*calls.lock().unwrap(), 1);
    }
}

#[cfg(test)]
mod env_tests {
    use super::*;

    #[test]
    fn the_environment_can_shorten_the_idle_timeout_and_the_backoff() {
        let policy = RetryPolicy::from_env_with(|name| match name {
            "WIZARD_PROVIDER_IDLE_TIMEOUT_MS" => Some("250".into()),
            "WIZARD_PROVIDER_RETRY_BASE_MS" => Some("oops".into()),
            _ => None,
        });
        assert_eq!(policy.idle_timeout, Duration::from_millis(250));
        assert_eq!(
            policy.base_delay,
            RetryPolicy::default().base_delay,
            "a bad value is ignored"
        );
    }
}
