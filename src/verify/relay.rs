//! The recording relay: a loopback HTTP server that stands in front of the product's
//! host while the verify step runs, for runs that cannot read events back (no personal
//! key, a self-hosted or plain-http host).
//!
//! The started app's server-side host variable (the framework's `relayEnv`) points here.
//! Every request is forwarded to the real host unchanged (method, path, query, headers,
//! body) and the host's answer goes back unchanged, so the app behaves as it would
//! without the relay. Requests to a capture path (`product.yaml` → `verify.relay`) are
//! also read: the body is decoded the ways the SDKs send it (gzip by header or magic
//! bytes, a form's base64 `data=` field, plain JSON) and each event's name and distinct
//! id is recorded with the host's answer to that request. A 2xx from the real host is
//! what "reached" means; a refusal or no answer is recorded as such.
//!
//! The relay knows nothing of the product: the paths and the JSON pointers are content.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

use super::capture_body::{events_in, is_capture_path};
use crate::content::product::RelayRules;

/// How long one forwarded request may take.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest request body the relay takes (session recordings are big).
const BODY_LIMIT: usize = 32 * 1024 * 1024;
/// Headers that belong to one hop and are never forwarded (RFC 9110 §7.6.1), plus the
/// two the client library sets itself for the next hop.
const HOP_HEADERS: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The host is not a URL the relay can forward to.
    #[error("the host {host:?} is not an http(s) URL")]
    BadHost {
        /// The host as given.
        host: String,
    },
    /// No loopback port, or no HTTP client.
    #[error("the recording relay could not start: {0}")]
    Start(String),
}

/// What the real host made of one request that carried an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostAnswer {
    /// Still waiting when the relay was stopped (the app was stopped mid-request).
    Waiting,
    /// It answered this HTTP status.
    Status(u16),
    /// It could not be reached.
    Unreachable(String),
}

impl HostAnswer {
    /// True for a 2xx: the host accepted the request.
    pub fn accepted(&self) -> bool {
        matches!(self, HostAnswer::Status(s) if (200..300).contains(s))
    }
}

/// One event the relay saw leave the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayedEvent {
    /// The event's name.
    pub event: String,
    /// Its distinct id, when the body names one.
    pub distinct_id: Option<String>,
    /// The capture path it was sent to (`/batch/`).
    pub path: String,
    /// What the real host answered.
    pub answer: HostAnswer,
}

struct RelayState {
    upstream: String,
    rules: RelayRules,
    client: reqwest::Client,
    seen: Mutex<Vec<RelayedEvent>>,
}

/// The running relay. Stops when dropped.
pub struct Relay {
    addr: SocketAddr,
    state: Arc<RelayState>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Relay {
    /// Starts the relay on a free loopback port, forwarding to `upstream`.
    pub async fn start(upstream: &str, rules: RelayRules) -> Result<Self, RelayError> {
        let upstream = upstream.trim_end_matches('/').to_string();
        let parsed = reqwest::Url::parse(&upstream).map_err(|_| RelayError::BadHost {
            host: upstream.clone(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(RelayError::BadHost { host: upstream });
        }
        let client = reqwest::Client::builder()
            .timeout(FORWARD_TIMEOUT)
            // The answer goes back as it came: no redirects followed, nothing decompressed.
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .build()
            .map_err(|e| RelayError::Start(format!("no HTTP client: {e}")))?;
        let state = Arc::new(RelayState {
            upstream,
            rules,
            client,
            seen: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .fallback(relay)
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| RelayError::Start(e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| RelayError::Start(e.to_string()))?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            state,
            server,
        })
    }

    /// `http://127.0.0.1:<port>`: what the app's host variable is set to.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The real host it forwards to.
    pub fn upstream(&self) -> &str {
        &self.state.upstream
    }

    /// Every event seen so far, in arrival order.
    pub fn seen(&self) -> Vec<RelayedEvent> {
        lock_seen(&self.state).clone()
    }

    /// Stops serving and returns every event seen.
    pub fn stop(self) -> Vec<RelayedEvent> {
        self.server.abort();
        self.seen()
    }
}

fn lock_seen(state: &RelayState) -> std::sync::MutexGuard<'_, Vec<RelayedEvent>> {
    state.seen.lock().unwrap_or_else(|p| p.into_inner())
}

async fn relay(
    State(state): State<Arc<RelayState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    let is_capture = is_capture_path(&state.rules, uri.path());
    // Recorded before forwarding: an app stopped mid-request still shows what it sent.
    let first = if is_capture {
        let events = events_in(&state.rules, &headers, uri.query(), &body);
        let mut seen = lock_seen(&state);
        let first = seen.len();
        seen.extend(events.into_iter().map(|(event, distinct_id)| RelayedEvent {
            event,
            distinct_id,
            path: uri.path().to_string(),
            answer: HostAnswer::Waiting,
        }));
        Some(first..seen.len())
    } else {
        None
    };
    let url = format!("{}{path_and_query}", state.upstream);
    let mut request = state.client.request(method, &url).body(body);
    for (name, value) in headers.iter() {
        if !is_hop_header(name) {
            request = request.header(name, value);
        }
    }
    let (answer, response) = match request.send().await {
        Ok(response) => {
            let status = response.status();
            let mut out = Response::builder().status(status.as_u16());
            for (name, value) in response.headers() {
                if !is_hop_header(name) && name != "content-length" {
                    out = out.header(name, value);
                }
            }
            let bytes = response.bytes().await.unwrap_or_default();
            let built = out
                .body(Body::from(bytes))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response());
            (HostAnswer::Status(status.as_u16()), built)
        }
        Err(e) => {
            let why = e.to_string();
            let response = (
                StatusCode::BAD_GATEWAY,
                format!(
                    "the recording relay could not reach {}: {why}",
                    state.upstream
                ),
            )
                .into_response();
            (HostAnswer::Unreachable(why), response)
        }
    };
    if let Some(range) = first {
        let mut seen = lock_seen(&state);
        for event in seen[range].iter_mut() {
            event.answer = answer.clone();
        }
    }
    response
}

fn is_hop_header(name: &HeaderName) -> bool {
    HOP_HEADERS.contains(&name.as_str())
}
