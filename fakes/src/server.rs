//! The loopback HTTP server behind both model fakes: binding, recording, routing, playing replies.
//!
//! One server type serves either wire format ([`Flavor`]); what differs is
//! routing (which path is the model endpoint), the auth check, and the error
//! envelope. Every request is recorded (method, path, headers, JSON body)
//! before it is answered, so tests can assert on what a client sent.
//!
//! The server speaks HTTP/1.1 through hyper directly rather than an axum
//! router, because a faithful "connection reset" needs the connection to be
//! dropped without any response head, which only a failing service can do.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::faults::{FaultInjector, Faults};
use crate::latency::Latency;
use crate::reply::{Chunking, Reply, SseBody};

/// Decides the reply to one model request: gets the JSON body and the
/// 0-based index of this request among the model requests the server saw.
pub type Script = Arc<dyn Fn(&Value, usize) -> Reply + Send + Sync>;

/// Which wire format a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
    /// OpenAI-compatible Chat Completions (`/chat/completions`).
    OpenAi,
}

impl Flavor {
    /// An error reply in this format's envelope.
    pub fn error(self, status: u16, kind: &str, message: &str) -> Reply {
        match self {
            Flavor::Anthropic => Reply::anthropic_error(status, kind, message),
            Flavor::OpenAi => Reply::openai_error(status, kind, message),
        }
    }

    fn is_model_endpoint(self, method: &Method, path: &str) -> bool {
        let suffix = match self {
            Flavor::Anthropic => "/v1/messages",
            Flavor::OpenAi => "/chat/completions",
        };
        method == Method::POST && path.trim_end_matches('/').ends_with(suffix)
    }

    fn is_models_list(self, method: &Method, path: &str) -> bool {
        let suffix = match self {
            Flavor::Anthropic => "/v1/models",
            Flavor::OpenAi => "/models",
        };
        method == Method::GET && path.trim_end_matches('/').ends_with(suffix)
    }

    fn models_list(self) -> Value {
        match self {
            Flavor::Anthropic => json!({
                "data": [{"type": "model", "id": "claude-haiku-4-5-20251001", "display_name": "Claude Haiku 4.5",
                          "created_at": "2025-10-15T00:00:00Z"}],
                "has_more": false, "first_id": "claude-haiku-4-5-20251001", "last_id": "claude-haiku-4-5-20251001"
            }),
            Flavor::OpenAi => {
                json!({"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "fake"}]})
            }
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Flavor::Anthropic => "text/event-stream; charset=utf-8",
            Flavor::OpenAi => "text/event-stream",
        }
    }
}

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `POST`…
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, names in lower case (repeated headers joined with `, `).
    pub headers: BTreeMap<String, String>,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
}

impl RecordedRequest {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// How a fake server is set up; start it with [`FakeBuilder::start`].
pub struct FakeBuilder {
    flavor: Flavor,
    script: Script,
    faults: Option<Faults>,
    latency: Option<Latency>,
    expected_key: Option<String>,
}

impl FakeBuilder {
    pub(crate) fn new(flavor: Flavor, script: Script) -> Self {
        FakeBuilder {
            flavor,
            script,
            faults: None,
            latency: None,
            expected_key: None,
        }
    }

    /// Injects faults at these rates instead of some scripted replies.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = Some(faults);
        self
    }

    /// Paces streamed replies with a latency model.
    pub fn latency(mut self, latency: Latency) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Answers 401 unless the request carries this key (`x-api-key` or
    /// `Authorization: Bearer` on Anthropic, the bearer token on OpenAI).
    pub fn expect_key(mut self, key: impl Into<String>) -> Self {
        self.expected_key = Some(key.into());
        self
    }

    fn into_state(self) -> ServerState {
        ServerState {
            flavor: self.flavor,
            script: self.script,
            faults: self.faults.map(|f| Mutex::new(FaultInjector::new(f))),
            latency: self.latency,
            expected_key: self.expected_key,
            log: Arc::new(Mutex::new(Vec::new())),
            model_requests: AtomicUsize::new(0),
        }
    }

    /// Binds 127.0.0.1 on a free port and serves on the current tokio runtime.
    pub async fn start(self) -> FakeServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a loopback port for the fake server");
        let address = listener
            .local_addr()
            .expect("reading the fake server's address");
        let state = Arc::new(self.into_state());
        let log = state.log.clone();
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(serve(listener, state, stopped));
        FakeServer {
            address,
            log,
            stop: Some(stop),
        }
    }

    /// Like [`FakeBuilder::start`], but on a thread and runtime of its own, so
    /// the server keeps its pace whatever the caller's runtime is doing.
    pub fn start_background(self) -> FakeServer {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("binding a loopback port for the fake server");
        std_listener
            .set_nonblocking(true)
            .expect("making the fake server's socket non-blocking");
        let address = std_listener
            .local_addr()
            .expect("reading the fake server's address");
        let state = Arc::new(self.into_state());
        let log = state.log.clone();
        let (stop, stopped) = oneshot::channel();
        std::thread::Builder::new()
            .name(format!("fake-server-{}", address.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("building the fake server's runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(std_listener)
                        .expect("registering the fake server's socket");
                    serve(listener, state, stopped).await;
                });
                // Stalled streams never finish; do not wait for them.
                runtime.shutdown_background();
            })
            .expect("spawning the fake server thread");
        FakeServer {
            address,
            log,
            stop: Some(stop),
        }
    }
}

/// A running fake server; it stops when dropped.
pub struct FakeServer {
    address: SocketAddr,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    stop: Option<oneshot::Sender<()>>,
}

impl FakeServer {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The base URL with `path` appended (`/v1` for OpenAI clients, `/gateway` for a prefix).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url(), path)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        self.log.lock().map(|log| log.len()).unwrap_or_default()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

struct ServerState {
    flavor: Flavor,
    script: Script,
    faults: Option<Mutex<FaultInjector>>,
    latency: Option<Latency>,
    expected_key: Option<String>,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    model_requests: AtomicUsize,
}

/// Marks a failed service call that should drop the connection without a response.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fake connection reset")
    }
}

impl std::error::Error for DropConnection {}

async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<ServerState>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stopped => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| handle(state.clone(), request));
            // Errors here are the resets and cuts we inject, or clients hanging up.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    state: Arc<ServerState>,
    request: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let (parts, body) = request.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.to_string());
    if let Ok(mut log) = state.log.lock() {
        log.push(RecordedRequest {
            method: parts.method.to_string(),
            path,
            headers: record_headers(&parts.headers),
            body: json.clone(),
        });
    }
    let reply = route(
        &state,
        &parts.method,
        parts.uri.path(),
        &parts.headers,
        &json,
    );
    render(&state, reply)
}

fn record_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut recorded: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        recorded
            .entry(name.as_str().to_string())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    recorded
}

fn route(
    state: &ServerState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &Value,
) -> Reply {
    let flavor = state.flavor;
    if flavor.is_models_list(method, path) {
        return match auth_failure(state, headers) {
            Some(reply) => reply,
            None => Reply::http(
                200,
                &[("content-type", "application/json")],
                flavor.models_list().to_string(),
            ),
        };
    }
    if flavor == Flavor::Anthropic
        && method == Method::POST
        && path
            .trim_end_matches('/')
            .ends_with("/v1/messages/count_tokens")
    {
        return match auth_failure(state, headers) {
            Some(reply) => reply,
            None => {
                let chars = body["system"].to_string().len()
                    + body["messages"].to_string().len()
                    + body["tools"].to_string().len();
                let counted = json!({"input_tokens": chars.div_ceil(4)});
                Reply::http(
                    200,
                    &[("content-type", "application/json")],
                    counted.to_string(),
                )
            }
        };
    }
    if !flavor.is_model_endpoint(method, path) {
        return flavor.error(
            404,
            "not_found_error",
            &format!("no route for {method} {path}"),
        );
    }
    if flavor == Flavor::Anthropic && !headers.contains_key("anthropic-version") {
        return flavor.error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        );
    }
    if let Some(reply) = auth_failure(state, headers) {
        return reply;
    }
    if !body.is_object() {
        return flavor.error(
            400,
            "invalid_request_error",
            "the request body is not a JSON object",
        );
    }
    if flavor == Flavor::Anthropic {
        let breakpoints = cache_breakpoints(body);
        if breakpoints > 4 {
            let message = format!(
                "A maximum of 4 blocks with cache_control may be provided. Found {breakpoints}."
            );
            return flavor.error(400, "invalid_request_error", &message);
        }
    }
    let index = state.model_requests.fetch_add(1, Ordering::SeqCst);
    let reply = (state.script)(body, index);
    match &state.faults {
        Some(faults) => match faults.lock() {
            Ok(mut injector) => injector.apply(reply, flavor),
            Err(_) => reply,
        },
        None => reply,
    }
}

/// How many `cache_control` markers a Messages request carries (the API allows 4).
fn cache_breakpoints(value: &Value) -> usize {
    match value {
        Value::Object(map) => {
            usize::from(map.contains_key("cache_control"))
                + map.values().map(cache_breakpoints).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(cache_breakpoints).sum(),
        _ => 0,
    }
}

fn auth_failure(state: &ServerState, headers: &HeaderMap) -> Option<Reply> {
    let expected = state.expected_key.as_deref()?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer "));
    let api_key = header("x-api-key");
    let accepted = match state.flavor {
        // Sending both is rejected by the real API.
        Flavor::Anthropic => match (api_key, bearer) {
            (Some(key), None) | (None, Some(key)) => key == expected,
            _ => false,
        },
        Flavor::OpenAi => bearer == Some(expected),
    };
    if accepted {
        return None;
    }
    Some(match state.flavor {
        Flavor::Anthropic => {
            Reply::anthropic_error(401, "authentication_error", "invalid x-api-key")
        }
        Flavor::OpenAi => {
            Reply::openai_error(401, "invalid_request_error", "Incorrect API key provided")
        }
    })
}

/// How a streamed body ends after its chunks.
enum Ending {
    Finish,
    Break,
    Hang,
}

fn render(state: &ServerState, reply: Reply) -> Result<Response<Body>, DropConnection> {
    let request_id = format!("req_fake_{}", state.model_requests.load(Ordering::SeqCst));
    let (status, headers, body) = match reply {
        Reply::Reset => return Err(DropConnection),
        Reply::Http {
            status,
            headers,
            body,
        } => (status, headers, Body::from(body)),
        Reply::Sse(body) => (
            200,
            sse_headers(state.flavor),
            stream_body(state, body, usize::MAX, Ending::Finish),
        ),
        Reply::Cut { body, after_bytes } => (
            200,
            sse_headers(state.flavor),
            stream_body(state, body, after_bytes, Ending::Break),
        ),
        Reply::Stall { body, after_bytes } => (
            200,
            sse_headers(state.flavor),
            stream_body(state, body, after_bytes, Ending::Hang),
        ),
    };
    let mut response = Response::builder()
        .status(status)
        .header("request-id", request_id);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    response.body(body).map_err(|_| DropConnection)
}

fn sse_headers(flavor: Flavor) -> Vec<(String, String)> {
    vec![
        ("content-type".into(), flavor.content_type().into()),
        ("cache-control".into(), "no-cache".into()),
    ]
}

/// The first `limit` bytes of `sse`, chunked and paced, then the ending.
fn stream_body(state: &ServerState, sse: SseBody, limit: usize, ending: Ending) -> Body {
    let bytes = sse.bytes.slice(..limit.min(sse.bytes.len()));
    let latency = sse.latency.or(state.latency);
    let chunks = match (&sse.chunking, &latency) {
        (Chunking::Whole, Some(_)) => split_events(&bytes),
        (chunking, _) => chunking.split(&bytes),
    };
    let (first_delay, per_chunk) = match &latency {
        Some(latency) => {
            let tokens = sse.output_tokens.unwrap_or((sse.bytes.len() / 16) as u64);
            (
                latency.first_chunk_delay(),
                latency.per_chunk_delay(tokens, chunks.len()),
            )
        }
        None => (Duration::ZERO, Duration::ZERO),
    };
    // Each chunk is due at a fixed point of one schedule, anchored when the stream
    // starts: sleeping `per_chunk` after each chunk would add the timer's rounding
    // (up to a millisecond) once per chunk, which swamps a fast, scaled-down stream.
    let stream = futures::stream::unfold(
        (
            chunks.into_iter(),
            None::<tokio::time::Instant>,
            Some(ending),
        ),
        move |(mut chunks, due, ending)| async move {
            match chunks.next() {
                Some(chunk) => {
                    let due = match due {
                        None => tokio::time::Instant::now() + first_delay,
                        Some(previous) => previous + per_chunk,
                    };
                    if due > tokio::time::Instant::now() {
                        tokio::time::sleep_until(due).await;
                    }
                    Some((Ok(chunk), (chunks, Some(due), ending)))
                }
                None => match ending? {
                    Ending::Finish => None,
                    Ending::Break => {
                        // Let the bytes already written reach the client before the break.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        let cut = io::Error::new(io::ErrorKind::ConnectionReset, "fake stream cut");
                        Some((Err(cut), (chunks, None, None)))
                    }
                    Ending::Hang => {
                        futures::future::pending::<()>().await;
                        None
                    }
                },
            }
        },
    );
    Body::from_stream(stream)
}

/// One chunk per SSE event, so a latency model can pace them.
fn split_events(bytes: &Bytes) -> Vec<Bytes> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < bytes.len() {
        if &bytes[i..i + 2] == b"\n\n" {
            chunks.push(bytes.slice(start..i + 2));
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    if start < bytes.len() {
        chunks.push(bytes.slice(start..));
    }
    chunks
}
