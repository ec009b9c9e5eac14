//! The HTTP plumbing both model clients share: the client type, building a request
//! (address, credential, extra headers), sending it with a stall limit, turning an
//! error response into an attempt failure, the one-call credential check, and
//! reading a streamed answer ([`read_answer`] over each API's [`AnswerFold`]). Each
//! client's config says what differs through [`HttpApi`]; the clients keep their wire
//! formats.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use eventsource_stream::Event;
use futures::StreamExt;

use super::retry::{
    classify_status, connection_failure, http_client, with_retries, AttemptError, RetryPolicy,
};
use super::sse::{self, StreamFailure};
use super::types::{ModelResponse, ProviderError, ProviderEvent};

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

/// The settings every HTTP API's config has, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    /// Base URL the request paths are appended to.
    pub base_url: &'a str,
    /// Retry and stall rules.
    pub retry: &'a RetryPolicy,
    /// Extra headers sent with every request; never secrets.
    pub extra_headers: &'a [(String, String)],
}

/// What one API's config tells the shared client: where, how patiently, and how a
/// request is authorised. Implemented by the two configs.
pub trait HttpApi {
    /// Where and how patiently.
    fn endpoint(&self) -> Endpoint<'_>;
    /// `request` with the API's version and credential headers.
    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder;
    /// Reads the server's message from an error body (`None` for an empty body).
    const ERROR_MESSAGE: fn(&str) -> Option<String>;
}

impl<'a> Endpoint<'a> {
    /// The borrowed view of a config's shared fields.
    pub fn of(
        base_url: &'a str,
        retry: &'a RetryPolicy,
        extra_headers: &'a [(String, String)],
    ) -> Self {
        Endpoint {
            base_url,
            retry,
            extra_headers,
        }
    }
}

impl<C: HttpApi> HttpModelClient<C> {
    /// A request to `path` with every header the API needs.
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let endpoint = self.config.endpoint();
        let url = format!("{}{}", endpoint.base_url.trim_end_matches('/'), path);
        let mut request = self.config.authorize(self.http.request(method, url));
        for (name, value) in endpoint.extra_headers {
            request = request.header(name, value);
        }
        request
    }

    /// Sends `request`; a silent response head is a stall, an error status an attempt
    /// failure classified by the shared retry rules.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, AttemptError> {
        let idle = self.config.endpoint().retry.idle_timeout;
        let response = send_within(request, idle).await?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(failure_from_response(response, idle, C::ERROR_MESSAGE).await)
        }
    }

    /// Reads a streamed answer with the API's fold `F` (see [`read_answer`]).
    pub(crate) async fn read_answer<F: AnswerFold + Default>(
        &self,
        response: reqwest::Response,
        request_model: &str,
        progress: &(dyn Fn(ProviderEvent) + Send + Sync),
        first_token: &AtomicBool,
    ) -> Result<ModelResponse, AttemptError> {
        let idle = self.config.endpoint().retry.idle_timeout;
        read_answer::<F>(response, idle, request_model, progress, first_token).await
    }

    /// Checks that the server is reachable and accepts the credential with one cheap
    /// authenticated `GET path`, under the shared retry rules; a refusal is
    /// [`ProviderError::Auth`].
    pub(crate) async fn check_credential(&self, path: &str) -> Result<(), ProviderError> {
        let no_progress = |_: ProviderEvent| {};
        with_retries(self.config.endpoint().retry, &no_progress, |_| async move {
            self.send(self.request(reqwest::Method::GET, path))
                .await
                .map(drop)
        })
        .await
    }
}

/// What folds one API's SSE events into an answer: each client's assembler.
pub(crate) trait AnswerFold {
    /// Applies one event.
    fn apply(&mut self, event: &Event) -> Result<(), AttemptError>;
    /// What became known since the last call (finished tool calls, the first line).
    fn take_streamed(&mut self) -> Vec<ProviderEvent>;
    /// True once the answer's last event arrived.
    fn is_finished(&self) -> bool;
    /// The whole answer.
    fn finish(self, request_model: &str) -> Result<ModelResponse, AttemptError>;
}

/// Reads one streamed answer from `response` through a fresh `F`: reports the first
/// token (once per call, across retries: `first_token`), then whatever the fold can
/// tell before the answer ends, and stops at its last event.
async fn read_answer<F: AnswerFold + Default>(
    response: reqwest::Response,
    idle: Duration,
    request_model: &str,
    progress: &(dyn Fn(ProviderEvent) + Send + Sync),
    first_token: &AtomicBool,
) -> Result<ModelResponse, AttemptError> {
    let mut fold = F::default();
    let mut events = std::pin::pin!(sse::events(response, idle));
    while let Some(event) = events.next().await {
        let event = event.map_err(StreamFailure::into_attempt_error)?;
        if !first_token.swap(true, Ordering::Relaxed) {
            progress(ProviderEvent::FirstToken);
        }
        fold.apply(&event)?;
        // Finished tool calls and the first line go out before the answer ends.
        for streamed in fold.take_streamed() {
            progress(streamed);
        }
        if fold.is_finished() {
            break;
        }
    }
    fold.finish(request_model)
}

/// Sends `request`, treating a response head that takes longer than `idle` as a stall.
async fn send_within(
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
async fn failure_from_response(
    response: reqwest::Response,
    idle: Duration,
    error_message: fn(&str) -> Option<String>,
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
