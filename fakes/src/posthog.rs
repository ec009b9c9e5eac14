//! A loopback fake PostHog: `/flags` (v2 answers), `/batch/` capture, the host's root,
//! and the query API (`POST /api/projects/:id/query/`) over the events it received.
//!
//! posthog-js's capture paths (`/e/`, `/i/v0/e/`) take what a browser sends: a JSON
//! list of events (or one), gzipped (`compression=gzip-js`), as a form's base64 `data`
//! field (`compression=base64`) or plain, the token in each event's properties. Every
//! answer carries CORS headers, and preflights are answered, as PostHog's are, so a page
//! on another loopback port can send to the fake.
//!
//! Follows the wire formats of `wire/REFERENCE.md` §4: `/flags/?v=2` answers
//! the detailed `flags` map (the legacy `featureFlags` map without `v`);
//! `/batch/` accepts a gzip body (by `Content-Encoding: gzip` or by the magic
//! bytes) or plain JSON, takes the token from `api_key` or `token`, answers
//! 200 `{"status":1}`, and 400 for a batch without an event name or distinct
//! id. Every request body is recorded (raw and decoded) so a test can search
//! them. Behaviours are switched at run time: flags on / off / an error
//! status / hang / a malformed body; batch errors or hang; root status.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// How `/flags` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagBehaviour {
    /// Evaluates the configured flags.
    Answer,
    /// Answers this status with a plain-text body.
    Status(u16),
    /// Never answers.
    Hang,
    /// Answers 200 with a body that is not JSON.
    Malformed,
}

/// How `/batch/` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchBehaviour {
    /// Records and accepts.
    Accept,
    /// Records and answers this status.
    Status(u16),
    /// Records, never answers.
    Hang,
}

/// One `/flags` request.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagRequest {
    /// The query string's parameters.
    pub query: BTreeMap<String, String>,
    /// The JSON body.
    pub body: Value,
}

/// One `/batch/` request.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedBatch {
    /// The `Content-Encoding` header, if any.
    pub content_encoding: Option<String>,
    /// True when the body was gzip (by header or magic bytes).
    pub gzipped: bool,
    /// The body as received.
    pub raw: Vec<u8>,
    /// The body after gunzip, as text.
    pub decoded: String,
    /// The body's `batch` events (empty when it did not parse).
    pub events: Vec<Value>,
}

#[derive(Debug)]
struct FakeState {
    flags: BTreeMap<String, Value>,
    flag_behaviour: FlagBehaviour,
    batch_behaviour: BatchBehaviour,
    root_status: u16,
    flag_requests: Vec<FlagRequest>,
    batches: Vec<RecordedBatch>,
    root_hits: usize,
    personal_api_key: Option<String>,
    queries: Vec<QueryRequest>,
}

/// One query API request.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRequest {
    /// The project in the path (`@current`, `123`).
    pub project: String,
    /// The bearer key it carried.
    pub bearer: Option<String>,
    /// The JSON body.
    pub body: Value,
}

/// The running fake. Stops when dropped.
pub struct FakePostHog {
    addr: SocketAddr,
    state: Arc<Mutex<FakeState>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakePostHog {
    fn drop(&mut self) {
        self.server.abort();
    }
}

type Shared = Arc<Mutex<FakeState>>;

fn lock(state: &Shared) -> MutexGuard<'_, FakeState> {
    // A panicking test thread must not hide what was recorded.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl FakePostHog {
    /// Starts on 127.0.0.1 with a free port: flags answered (none set), batches accepted, root 200.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState {
            flags: BTreeMap::new(),
            flag_behaviour: FlagBehaviour::Answer,
            batch_behaviour: BatchBehaviour::Accept,
            root_status: 200,
            flag_requests: Vec::new(),
            batches: Vec::new(),
            root_hits: 0,
            personal_api_key: None,
            queries: Vec::new(),
        }));
        let app = Router::new()
            .route("/", any(root))
            .route("/flags", post(flags))
            .route("/flags/", post(flags))
            .route("/batch", post(batch))
            .route("/batch/", post(batch))
            .route("/e", post(capture))
            .route("/e/", post(capture))
            .route("/i/v0/e", post(capture))
            .route("/i/v0/e/", post(capture))
            .route("/api/projects/{project}/query", post(query))
            .route("/api/projects/{project}/query/", post(query))
            .with_state(state.clone())
            .layer(axum::middleware::from_fn(cors));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            state,
            server,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets a boolean flag.
    pub fn set_flag(&self, key: &str, enabled: bool) {
        lock(&self.state)
            .flags
            .insert(key.to_string(), Value::Bool(enabled));
    }

    /// Sets a multivariate flag to a variant.
    pub fn set_flag_variant(&self, key: &str, variant: &str) {
        lock(&self.state)
            .flags
            .insert(key.to_string(), json!(variant));
    }

    /// Sets how `/flags` answers.
    pub fn set_flag_behaviour(&self, behaviour: FlagBehaviour) {
        lock(&self.state).flag_behaviour = behaviour;
    }

    /// Sets how `/batch/` answers.
    pub fn set_batch_behaviour(&self, behaviour: BatchBehaviour) {
        lock(&self.state).batch_behaviour = behaviour;
    }

    /// Sets the status `/` answers.
    pub fn set_root_status(&self, status: u16) {
        lock(&self.state).root_status = status;
    }

    /// Every `/flags` request so far.
    pub fn flag_requests(&self) -> Vec<FlagRequest> {
        lock(&self.state).flag_requests.clone()
    }

    /// Every `/batch/` request so far.
    pub fn batches(&self) -> Vec<RecordedBatch> {
        lock(&self.state).batches.clone()
    }

    /// Every event of every batch so far, in arrival order.
    pub fn events(&self) -> Vec<Value> {
        lock(&self.state)
            .batches
            .iter()
            .flat_map(|b| b.events.iter().cloned())
            .collect()
    }

    /// Accepts this personal API key on the query API (401 for any other; without one set,
    /// every query is refused).
    pub fn set_personal_api_key(&self, key: &str) {
        lock(&self.state).personal_api_key = Some(key.to_string());
    }

    /// Every query API request so far.
    pub fn queries(&self) -> Vec<QueryRequest> {
        lock(&self.state).queries.clone()
    }

    /// Requests to `/` so far.
    pub fn root_hits(&self) -> usize {
        lock(&self.state).root_hits
    }
}

async fn root(State(state): State<Shared>) -> StatusCode {
    let mut state = lock(&state);
    state.root_hits += 1;
    StatusCode::from_u16(state.root_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

async fn flags(
    State(state): State<Shared>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let decoded = gunzip_if_needed(&headers, &body);
    let Ok(request) = serde_json::from_slice::<Value>(&decoded) else {
        return (StatusCode::BAD_REQUEST, "body is not JSON").into_response();
    };
    let token = request.get("api_key").or_else(|| request.get("token"));
    if token.and_then(Value::as_str).is_none_or(str::is_empty) {
        return (StatusCode::UNAUTHORIZED, "no token").into_response();
    }
    let (behaviour, flags) = {
        let mut state = lock(&state);
        state.flag_requests.push(FlagRequest {
            query: query.clone(),
            body: request.clone(),
        });
        (state.flag_behaviour.clone(), state.flags.clone())
    };
    match behaviour {
        FlagBehaviour::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, "flag evaluation failed").into_response()
        }
        FlagBehaviour::Hang => std::future::pending().await,
        FlagBehaviour::Malformed => (StatusCode::OK, "{\"flags\": {\"oops").into_response(),
        FlagBehaviour::Answer => {
            let wanted: Option<Vec<String>> = request
                .get("flag_keys_to_evaluate")
                .and_then(|keys| serde_json::from_value(keys.clone()).ok());
            let flags: BTreeMap<String, Value> = flags
                .into_iter()
                .filter(|(key, _)| wanted.as_ref().is_none_or(|w| w.contains(key)))
                .collect();
            if query.get("v").map(String::as_str) == Some("2") {
                Json(v2_answer(&flags)).into_response()
            } else {
                Json(json!({"errorsWhileComputingFlags": false, "featureFlags": flags}))
                    .into_response()
            }
        }
    }
}

/// The detailed v2 shape: `flags.<key> = {key, enabled, variant, reason, metadata}`.
fn v2_answer(flags: &BTreeMap<String, Value>) -> Value {
    let detailed: serde_json::Map<String, Value> = flags
        .iter()
        .enumerate()
        .map(|(i, (key, value))| {
            let (enabled, variant) = match value {
                Value::Bool(on) => (*on, Value::Null),
                other => (true, other.clone()),
            };
            let code = if enabled { "condition_match" } else { "no_condition_match" };
            let entry = json!({
                "key": key,
                "enabled": enabled,
                "variant": variant,
                "reason": {"code": code, "condition_index": 0, "description": "Matched condition set 1"},
                "metadata": {"id": i + 1, "version": 1, "description": null, "payload": null},
            });
            (key.clone(), entry)
        })
        .collect();
    json!({
        "errorsWhileComputingFlags": false,
        "flags": detailed,
        "requestId": "00000000-0000-4000-8000-000000000000",
        "evaluatedAt": 1_764_374_400_000_u64,
    })
}

async fn batch(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let content_encoding = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let gzipped = is_gzip(&headers, &body);
    let decoded = gunzip_if_needed(&headers, &body);
    let parsed: Option<Value> = serde_json::from_slice(&decoded).ok();
    let events: Vec<Value> = parsed
        .as_ref()
        .and_then(|b| b.get("batch"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let behaviour = {
        let mut state = lock(&state);
        state.batches.push(RecordedBatch {
            content_encoding,
            gzipped,
            raw: body.to_vec(),
            decoded: String::from_utf8_lossy(&decoded).into_owned(),
            events: events.clone(),
        });
        state.batch_behaviour.clone()
    };
    match behaviour {
        BatchBehaviour::Hang => std::future::pending().await,
        BatchBehaviour::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, "capture failed").into_response()
        }
        BatchBehaviour::Accept => {
            let Some(body) = parsed else {
                return (StatusCode::BAD_REQUEST, "failed to decode the body").into_response();
            };
            let token = body
                .get("api_key")
                .or_else(|| body.get("token"))
                .and_then(Value::as_str);
            if token.is_none_or(str::is_empty) {
                return (StatusCode::UNAUTHORIZED, "no token").into_response();
            }
            if events.is_empty() {
                return (StatusCode::BAD_REQUEST, "empty batch").into_response();
            }
            let complete = events.iter().all(|e| {
                let named = e
                    .get("event")
                    .and_then(Value::as_str)
                    .is_some_and(|n| !n.is_empty());
                let distinct = e
                    .get("distinct_id")
                    .or_else(|| e.get("properties").and_then(|p| p.get("distinct_id")))
                    .and_then(Value::as_str)
                    .is_some_and(|d| !d.is_empty());
                named && distinct
            });
            if !complete {
                return (
                    StatusCode::BAD_REQUEST,
                    "event without a name or distinct_id",
                )
                    .into_response();
            }
            Json(json!({"status": 1})).into_response()
        }
    }
}

/// posthog-js's capture: the events of a browser's request, recorded like a batch (so the
/// query API sees them), answered as `/batch/` is.
async fn capture(
    State(state): State<Shared>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let gzipped = is_gzip(&headers, &body);
    let mut decoded = gunzip_if_needed(&headers, &body);
    if query.get("compression").map(String::as_str) == Some("base64")
        || decoded.starts_with(b"data=")
    {
        let text = String::from_utf8_lossy(&decoded).into_owned();
        let field = text
            .split('&')
            .find_map(|pair| pair.strip_prefix("data="))
            .map(percent_decode)
            .unwrap_or_default();
        use base64::Engine as _;
        decoded = base64::engine::general_purpose::STANDARD
            .decode(field.trim())
            .unwrap_or_else(|_| field.into_bytes());
    }
    let parsed: Option<Value> = serde_json::from_slice(&decoded).ok();
    let events: Vec<Value> = match &parsed {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Object(o)) => match o.get("batch") {
            Some(Value::Array(items)) => items.clone(),
            _ => vec![Value::Object(o.clone())],
        },
        _ => Vec::new(),
    };
    let behaviour = {
        let mut state = lock(&state);
        state.batches.push(RecordedBatch {
            content_encoding: headers
                .get("content-encoding")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            gzipped,
            raw: body.to_vec(),
            decoded: String::from_utf8_lossy(&decoded).into_owned(),
            events: events.clone(),
        });
        state.batch_behaviour.clone()
    };
    match behaviour {
        BatchBehaviour::Hang => std::future::pending().await,
        BatchBehaviour::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, "capture failed").into_response()
        }
        BatchBehaviour::Accept => {
            let tokened = events.iter().all(|e| {
                e.pointer("/properties/token")
                    .or_else(|| e.get("api_key"))
                    .and_then(Value::as_str)
                    .is_some_and(|t| !t.is_empty())
            });
            if events.is_empty() || !tokened {
                return (
                    StatusCode::BAD_REQUEST,
                    "no events, or an event without a token",
                )
                    .into_response();
            }
            Json(json!({"status": 1})).into_response()
        }
    }
}

/// `%2B` → `+`; a form's `+` → space (base64 itself never has a literal one there).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// CORS as PostHog's capture answers it: the page's origin allowed, with credentials;
/// preflights answered here.
async fn cors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let origin = request.headers().get("origin").cloned();
    let mut response = if request.method() == Method::OPTIONS {
        StatusCode::OK.into_response()
    } else {
        next.run(request).await
    };
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert("access-control-allow-origin", origin);
        headers.insert(
            "access-control-allow-credentials",
            HeaderValue::from_static("true"),
        );
        headers.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        headers.insert(
            "access-control-allow-headers",
            HeaderValue::from_static("content-type, content-encoding"),
        );
    }
    response
}

/// A HogQL query over the received events: answers the distinct names of the events the
/// fake received whose names the query lists in its `IN (...)`, as `results` rows.
async fn query(
    State(state): State<Shared>,
    axum::extract::Path(project): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return (StatusCode::BAD_REQUEST, "body is not JSON").into_response(),
    };
    let mut state = lock(&state);
    state.queries.push(QueryRequest {
        project,
        bearer: bearer.clone(),
        body: parsed.clone(),
    });
    if bearer.is_none() || bearer != state.personal_api_key {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"type": "authentication_error", "detail": "Invalid personal API key."})),
        )
            .into_response();
    }
    let Some(text) = parsed.pointer("/query/query").and_then(Value::as_str) else {
        return (StatusCode::BAD_REQUEST, "no query.query").into_response();
    };
    let wanted = quoted_in_list(text);
    let mut seen: Vec<String> = Vec::new();
    for event in state.batches.iter().flat_map(|b| b.events.iter()) {
        if let Some(name) = event.get("event").and_then(Value::as_str) {
            if wanted.iter().any(|w| w == name) && !seen.iter().any(|s| s == name) {
                seen.push(name.to_string());
            }
        }
    }
    let rows: Vec<Value> = seen.into_iter().map(|name| json!([name])).collect();
    Json(json!({"columns": ["event"], "results": rows})).into_response()
}

/// The single-quoted strings inside the query's first `IN (...)`.
fn quoted_in_list(query: &str) -> Vec<String> {
    let Some(start) = query.find("IN (") else {
        return Vec::new();
    };
    let rest = &query[start + 4..];
    let list = &rest[..rest.find(')').unwrap_or(rest.len())];
    list.split(',')
        .filter_map(|item| {
            let item = item.trim();
            item.strip_prefix('\'')?
                .strip_suffix('\'')
                .map(|s| s.replace("\\'", "'"))
        })
        .collect()
}

fn is_gzip(headers: &HeaderMap, body: &[u8]) -> bool {
    let declared = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    declared || body.starts_with(&[0x1f, 0x8b])
}

fn gunzip_if_needed(headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    if !is_gzip(headers, body) {
        return body.to_vec();
    }
    let mut out = Vec::new();
    match flate2::read::GzDecoder::new(body).read_to_end(&mut out) {
        Ok(_) => out,
        // Undecodable: recorded as-is, and the JSON parse that follows fails with a 400.
        Err(_) => body.to_vec(),
    }
}
