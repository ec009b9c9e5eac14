//! The HTTP plumbing both model clients share: the address join, the extra headers,
//! sending with a stall limit, turning an error response into an attempt failure, and
//! the one-call credential check. The clients keep only what differs: their headers,
//! their wire formats and how their servers shape an error body.

use std::fmt;
use std::time::Duration;

use super::retry::{
    classify_status, connection_failure, http_client, with_retries, AttemptError, RetryPolicy,
};
use super::sse::StreamFailure;
use super::types::{ProviderError, ProviderEvent};

/// A model client over HTTP: the shared connection and one API's config
/// ([`super::anthropic::AnthropicClient`], [`super::openai::OpenAiClient`]).
pub struct HttpModelClient<C> {
    pub(crate) http: reqwest::Client,
    pub(crate) config: C,
}

impl<C: fmt::Debug> fmt::Debug for HttpModelClient<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `config` is safe to print: credentials' Debug is redacted.
        f.debug_struct("HttpModelClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<C> HttpModelClient<C> {
    /// A client for `config`.
    pub fn new(config: C) -> Result<Self, ProviderError> {
        Ok(HttpModelClient {
            http: http_client()?,
            config,
        })
    }
}

/// Reads a server's error body into its message (`None` for an empty body).
pub(crate) type ErrorMessage = fn(&str) -> Option<String>;

/// `path` appended to `base_url`, with no doubled slash.
pub(crate) fn url(base_url: &str, path: &str) -> String {
    format!("{}{}", base_url.trim_end_matches('/'), path)
}

/// `request` with the config's extra headers (never secrets).
pub(crate) fn with_extra_headers(
    mut request: reqwest::RequestBuilder,
    extra_headers: &[(String, String)],
) -> reqwest::RequestBuilder {
    for (name, value) in extra_headers {
        request = request.header(name, value);
    }
    request
}

/// Sends `request`, treating a response head that takes longer than `idle` as a stall.
pub(crate) async fn send_within(
    request: reqwest::RequestBuilder,
    idle: Duration,
) -> Result<reqwest::Response, AttemptError> {
    match tokio::time::timeout(idle, request.send()).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(error)) => Err(connection_failure(&error)),
        Err(_) => Err(StreamFailure::Stalled(idle).into_attempt_error()),
    }
}

/// Turns a non-success response into an attempt failure, with the server's message
/// as `error_message` reads it from the body.
pub(crate) async fn failure_from_response(
    response: reqwest::Response,
    idle: Duration,
    error_message: ErrorMessage,
) -> AttemptError {
    let status = response.status();
    let headers = response.headers().clone();
    let body = match tokio::time::timeout(idle, response.text()).await {
        Ok(Ok(text)) => text,
        _ => String::new(),
    };
    let message = error_message(&body).unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("no message")
            .to_string()
    });
    classify_status(status.as_u16(), &headers, message)
}

/// Checks that the server is reachable and accepts the credential with one cheap
/// authenticated request built by `request`, under the shared retry rules; a refusal is
/// [`ProviderError::Auth`].
pub(crate) async fn check_auth(
    retry: &RetryPolicy,
    request: impl Fn() -> reqwest::RequestBuilder,
    error_message: ErrorMessage,
) -> Result<(), ProviderError> {
    let idle = retry.idle_timeout;
    let no_progress = |_: ProviderEvent| {};
    let request = &request;
    with_retries(retry, &no_progress, |_| async move {
        let response = send_within(request(), idle).await?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(failure_from_response(response, idle, error_message).await)
    })
    .await
}
