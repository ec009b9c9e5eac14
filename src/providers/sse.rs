//! Server-sent events from a streaming HTTP response, with a stall detector.
//!
//! Both HTTP clients read their answers as SSE. The byte-level framing (lines
//! split across chunks, UTF-8 characters split across chunks, padded lines)
//! is `eventsource-stream`'s job; this module adds what it does not do:
//!
//! * an idle timeout on the byte stream, so a connection that goes quiet
//!   becomes a [`StreamFailure::Stalled`] the retry loop can act on;
//! * a final blank line at a clean end of stream, so a last event written
//!   without its terminating blank line (as in recorded fixtures) is still
//!   delivered instead of being dropped as incomplete.

use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures::{Stream, StreamExt};

use super::retry::{error_chain, AttemptError};

/// Why reading the event stream stopped early.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StreamFailure {
    /// No bytes arrived within the idle timeout.
    Stalled(Duration),
    /// The connection broke.
    Transport(String),
    /// The bytes were not a valid event stream.
    Malformed(String),
}

impl StreamFailure {
    /// Every stream failure is worth another attempt: the request itself was fine.
    pub(crate) fn into_attempt_error(self) -> AttemptError {
        AttemptError::transient(match self {
            StreamFailure::Stalled(idle) => {
                format!(
                    "stream stalled: nothing received for {} ms",
                    idle.as_millis()
                )
            }
            StreamFailure::Transport(message) => format!("stream dropped: {message}"),
            StreamFailure::Malformed(message) => format!("malformed stream: {message}"),
        })
    }
}

/// The events of `response`'s body, failing with [`StreamFailure::Stalled`]
/// when no bytes arrive for `idle`.
pub(crate) fn events(
    response: reqwest::Response,
    idle: Duration,
) -> impl Stream<Item = Result<Event, StreamFailure>> + Send {
    let bytes = futures::stream::unfold(Some(response.bytes_stream()), move |state| async move {
        let mut body = state?;
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
            Ok(Some(Err(error))) => {
                Some((Err(StreamFailure::Transport(error_chain(&error))), None))
            }
            // A clean end: a blank line flushes an event left without its terminator.
            Ok(None) => Some((Ok(Bytes::from_static(b"\n\n")), None)),
            Err(_) => Some((Err(StreamFailure::Stalled(idle)), None)),
        }
    });
    bytes.eventsource().map(|item| {
        item.map_err(|error| match error {
            EventStreamError::Transport(failure) => failure,
            EventStreamError::Utf8(error) => {
                StreamFailure::Malformed(format!("invalid UTF-8: {error}"))
            }
            EventStreamError::Parser(error) => {
                StreamFailure::Malformed(format!("bad SSE line: {error}"))
            }
        })
    })
}
