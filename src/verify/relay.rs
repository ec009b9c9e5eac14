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

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use serde_json::Value;

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

/// True when `path` is one of the content's capture paths (a trailing `/` optional).
fn is_capture_path(rules: &RelayRules, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    rules
        .capture_paths
        .iter()
        .any(|p| p.trim_end_matches('/') == path)
}

/// The events (name, distinct id) in one capture request's body, decoded the ways the
/// SDKs send it; a body the relay cannot read yields none (it is still forwarded).
fn events_in(
    rules: &RelayRules,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Vec<(String, Option<String>)> {
    let Some(json) = decode_body(headers, query, body) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match (json.pointer(&rules.batch), &json) {
        (Some(Value::Array(items)), _) => items.iter().collect(),
        (_, Value::Array(items)) => items.iter().collect(),
        (_, one) => vec![one],
    };
    items
        .into_iter()
        .filter_map(|item| {
            let name = item.pointer(&rules.event)?.as_str()?.to_string();
            let distinct_id = rules
                .distinct_id
                .iter()
                .find_map(|p| match item.pointer(p)? {
                    Value::String(s) if !s.is_empty() => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
            Some((name, distinct_id))
        })
        .collect()
}

/// The body as JSON: gunzipped when it is gzip (by header or magic bytes: posthog-js
/// sends `gzip-js` as `text/plain`), the `data` field of a form taken and base64-decoded
/// when it is not JSON itself.
fn decode_body(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Option<Value> {
    let bytes = gunzip_if_gzip(headers, body)?;
    if let Ok(json) = serde_json::from_slice::<Value>(&bytes) {
        return Some(json);
    }
    let text = std::str::from_utf8(&bytes).ok()?;
    let data = form_field(text, "data").or_else(|| query.and_then(|q| form_field(q, "data")))?;
    if let Ok(json) = serde_json::from_str::<Value>(&data) {
        return Some(json);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .ok()?;
    let decoded = gunzip_if_gzip(&HeaderMap::new(), &decoded)?;
    serde_json::from_slice(&decoded).ok()
}

fn gunzip_if_gzip(headers: &HeaderMap, body: &[u8]) -> Option<Vec<u8>> {
    let declared = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    if !declared && !body.starts_with(&[0x1f, 0x8b]) {
        return Some(body.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// One field of an `application/x-www-form-urlencoded` text, decoded.
fn form_field(text: &str, name: &str) -> Option<String> {
    text.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        if key != name {
            return None;
        }
        let value = value.replace('+', " ");
        percent_encoding::percent_decode_str(&value)
            .decode_utf8()
            .ok()
            .map(|v| v.into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn rules() -> RelayRules {
        RelayRules {
            capture_paths: vec!["/batch/".into(), "/e/".into(), "/i/v0/e/".into()],
            batch: "/batch".into(),
            event: "/event".into(),
            distinct_id: vec!["/distinct_id".into(), "/properties/distinct_id".into()],
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn names(events: &[(String, Option<String>)]) -> Vec<(&str, Option<&str>)> {
        events
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_deref()))
            .collect()
    }

    #[test]
    fn capture_paths_match_with_or_without_the_trailing_slash() {
        let r = rules();
        assert!(is_capture_path(&r, "/batch/"));
        assert!(is_capture_path(&r, "/batch"));
        assert!(is_capture_path(&r, "/i/v0/e/"));
        assert!(!is_capture_path(&r, "/flags/"));
        assert!(!is_capture_path(&r, "/s/"));
    }

    #[test]
    fn a_node_batch_gzipped_by_header_yields_its_events() {
        let body = br#"{"api_key":"phc_x","batch":[{"event":"signed_up","distinct_id":"u1"},{"event":"$identify","distinct_id":7}]}"#;
        let mut headers = HeaderMap::new();
        headers.insert("content-encoding", "gzip".parse().unwrap());
        let events = events_in(&rules(), &headers, None, &gzip(body));
        assert_eq!(
            names(&events),
            [("signed_up", Some("u1")), ("$identify", Some("7"))]
        );
    }

    #[test]
    fn a_browser_envelope_keeps_the_distinct_id_in_its_properties() {
        // posthog-js `gzip-js`: text/plain, gzip by magic bytes, `{batch: [...]}`.
        let body = br#"{"batch":[{"event":"$pageview","properties":{"distinct_id":"anon-1"}}],"sent_at":"x"}"#;
        let events = events_in(
            &rules(),
            &HeaderMap::new(),
            Some("compression=gzip-js"),
            &gzip(body),
        );
        assert_eq!(names(&events), [("$pageview", Some("anon-1"))]);
    }

    #[test]
    fn a_base64_form_body_and_a_plain_list_and_a_single_event_are_read() {
        let json = r#"[{"event":"clicked","properties":{"distinct_id":"d"}}]"#;
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        let form = format!(
            "data={}",
            percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC)
        );
        let events = events_in(
            &rules(),
            &HeaderMap::new(),
            Some("compression=base64"),
            form.as_bytes(),
        );
        assert_eq!(names(&events), [("clicked", Some("d"))]);
        let events = events_in(&rules(), &HeaderMap::new(), None, json.as_bytes());
        assert_eq!(names(&events), [("clicked", Some("d"))]);
        let one = br#"{"api_key":"k","event":"single","distinct_id":"x"}"#;
        let events = events_in(&rules(), &HeaderMap::new(), None, one);
        assert_eq!(names(&events), [("single", Some("x"))]);
    }

    #[test]
    fn an_unreadable_body_yields_no_events() {
        assert!(events_in(&rules(), &HeaderMap::new(), None, b"\x1f\x8bnot gzip").is_empty());
        assert!(events_in(&rules(), &HeaderMap::new(), None, b"hello").is_empty());
        assert!(events_in(&rules(), &HeaderMap::new(), None, br#"{"batch":[{"x":1}]}"#).is_empty());
    }
}
