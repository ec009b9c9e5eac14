//! The Chrome DevTools Protocol over the browser's own pipe (`--remote-debugging-pipe`):
//! JSON messages ended by a NUL byte, commands written to the browser's fd 3, answers and
//! events read from its fd 4.
//!
//! Chosen over the websocket endpoint (`--remote-debugging-port=0` and
//! `DevToolsActivePort`): no websocket client to build, no file to poll, and no loopback
//! port that any local process could connect to and drive the browser through.
//!
//! One reader task owns the browser's output: an answer goes to the caller waiting on its
//! id, an event to the receiver handed out by [`Cdp::new`]. When the pipe closes (the
//! browser exited), every waiting call fails with [`CdpError::Closed`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, oneshot};

/// How long one command may wait for its answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a command got no result.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CdpError {
    /// The browser's pipe closed (it exited or was stopped).
    #[error("the browser's DevTools pipe closed ({0})")]
    Closed(String),
    /// No answer in time.
    #[error("the browser did not answer {method} within {secs}s")]
    Timeout {
        /// The command.
        method: String,
        /// The limit.
        secs: u64,
    },
    /// The browser answered with an error.
    #[error("the browser refused {method}: {message}")]
    Refused {
        /// The command.
        method: String,
        /// Its error message.
        message: String,
    },
}

/// One event the browser sent.
#[derive(Debug, Clone)]
pub struct CdpEvent {
    /// `Network.requestWillBeSent`.
    pub method: String,
    /// Its parameters.
    pub params: Value,
    /// The target session it belongs to, when not the browser's own.
    pub session: Option<String>,
}

type Waiting = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

/// A connection to one browser.
pub struct Cdp {
    to_browser: tokio::sync::Mutex<pipe::Sender>,
    waiting: Waiting,
    next_id: AtomicU64,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Cdp {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Cdp {
    /// Speaks to the browser through `to_browser` (its fd 3) and `from_browser` (its fd 4);
    /// the browser's events come out of the returned receiver.
    pub fn new(
        to_browser: pipe::Sender,
        from_browser: pipe::Receiver,
    ) -> (Self, mpsc::UnboundedReceiver<CdpEvent>) {
        let waiting: Waiting = Arc::default();
        let (events, received) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_messages(from_browser, waiting.clone(), events));
        let cdp = Self {
            to_browser: tokio::sync::Mutex::new(to_browser),
            waiting,
            next_id: AtomicU64::new(1),
            reader,
        };
        (cdp, received)
    }

    /// Sends `method` (to the target `session`, or to the browser) and waits for its result.
    pub async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, CdpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = Value::String(session.to_string());
        }
        let (answer, answered) = oneshot::channel();
        lock(&self.waiting).insert(id, answer);
        let mut bytes = message.to_string().into_bytes();
        bytes.push(0);
        let written = {
            let mut pipe = self.to_browser.lock().await;
            pipe.write_all(&bytes).await
        };
        if let Err(e) = written {
            lock(&self.waiting).remove(&id);
            return Err(CdpError::Closed(e.to_string()));
        }
        match tokio::time::timeout(CALL_TIMEOUT, answered).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err(message))) => Err(CdpError::Refused {
                method: method.to_string(),
                message,
            }),
            Ok(Err(_)) => Err(CdpError::Closed("no answer before it closed".into())),
            Err(_) => {
                lock(&self.waiting).remove(&id);
                Err(CdpError::Timeout {
                    method: method.to_string(),
                    secs: CALL_TIMEOUT.as_secs(),
                })
            }
        }
    }
}

fn lock(
    waiting: &Waiting,
) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Result<Value, String>>>> {
    waiting.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads NUL-ended messages until the pipe closes; then every waiting call is dropped,
/// which its caller sees as [`CdpError::Closed`].
async fn read_messages(
    from_browser: pipe::Receiver,
    waiting: Waiting,
    events: mpsc::UnboundedSender<CdpEvent>,
) {
    let mut reader = BufReader::new(from_browser);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(0, &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if buf.last() == Some(&0) {
            buf.pop();
        }
        let Ok(message) = serde_json::from_slice::<Value>(&buf) else {
            tracing::debug!("browser: a DevTools message that is not JSON");
            continue;
        };
        if let Some(id) = message.get("id").and_then(Value::as_u64) {
            let result = match message.get("error") {
                Some(error) => Err(error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error")
                    .to_string()),
                None => Ok(message.get("result").cloned().unwrap_or(Value::Null)),
            };
            if let Some(answer) = lock(&waiting).remove(&id) {
                let _ = answer.send(result);
            }
        } else if let Some(method) = message.get("method").and_then(Value::as_str) {
            let event = CdpEvent {
                method: method.to_string(),
                params: message.get("params").cloned().unwrap_or(Value::Null),
                session: message
                    .get("sessionId")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            };
            // No receiver left: the browser is being stopped; nothing to tell.
            let _ = events.send(event);
        }
    }
    lock(&waiting).clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in browser on the other ends of the two pipes: answers every command
    /// with its method echoed, except `Fail`, and sends one event first.
    #[tokio::test]
    async fn answers_reach_their_callers_and_events_the_receiver() {
        let (to_browser, browser_in) = pipe::pipe().unwrap();
        let (mut browser_out, from_browser) = pipe::pipe().unwrap();
        let (cdp, mut events) = Cdp::new(to_browser, from_browser);
        let browser = tokio::spawn(async move {
            browser_out
                .write_all(
                    b"{\"method\":\"Page.loaded\",\"params\":{\"x\":1},\"sessionId\":\"s\"}\0",
                )
                .await
                .unwrap();
            let mut input = BufReader::new(browser_in);
            let mut buf = Vec::new();
            while input.read_until(0, &mut buf).await.unwrap() > 0 {
                buf.pop();
                let command: Value = serde_json::from_slice(&buf).unwrap();
                buf.clear();
                let id = command["id"].clone();
                let method = command["method"].as_str().unwrap().to_string();
                let answer = if method == "Fail" {
                    json!({"id": id, "error": {"code": -32000, "message": "no such thing"}})
                } else {
                    json!({"id": id, "result": {"method": method, "session": command["sessionId"]}})
                };
                let mut bytes = answer.to_string().into_bytes();
                bytes.push(0);
                browser_out.write_all(&bytes).await.unwrap();
            }
        });
        let event = events.recv().await.unwrap();
        assert_eq!(
            (event.method.as_str(), event.session.as_deref()),
            ("Page.loaded", Some("s"))
        );
        let result = cdp.call(Some("s1"), "Network.enable", json!({})).await;
        assert_eq!(
            result.unwrap(),
            json!({"method": "Network.enable", "session": "s1"})
        );
        let refused = cdp.call(None, "Fail", json!({})).await.unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the browser refused Fail: no such thing"
        );
        browser.abort();
        let _ = browser.await;
        assert!(matches!(
            cdp.call(None, "Browser.close", json!({})).await,
            Err(CdpError::Closed(_))
        ));
    }
}
