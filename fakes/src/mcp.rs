//! A loopback fake of the PostHog MCP server, on rmcp's own streamable HTTP server.
//!
//! Offers two tools shaped like the real server's dashboard tools,
//! `dashboard-create` and `insight-create-from-query`; a call without the
//! arguments a tool needs is a tool error (`isError: true`), as the real
//! server answers. Every HTTP request must carry `Authorization: Bearer
//! <key>` (401 otherwise). A gate can hold every request until the test
//! opens it, so a test proves by ordering, not by timing, that nothing waited
//! for the server; a fixed delay is available too.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Map, Value};
use tokio::sync::watch;

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct McpOptions {
    /// The only bearer accepted.
    pub bearer: String,
    /// Hold every request until [`FakeMcp::release`].
    pub gated: bool,
    /// Wait this long before answering each request.
    pub delay: Duration,
}

impl McpOptions {
    /// Accepts `bearer`, answers at once.
    pub fn new(bearer: impl Into<String>) -> Self {
        Self {
            bearer: bearer.into(),
            gated: false,
            delay: Duration::ZERO,
        }
    }

    /// The same, holding every request until released.
    pub fn gated(mut self) -> Self {
        self.gated = true;
        self
    }

    /// The same, waiting `delay` before each answer.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// One `tools/call` the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCall {
    /// The tool's name.
    pub tool: String,
    /// Its arguments.
    pub arguments: Value,
}

#[derive(Debug, Default)]
struct Record {
    calls: Vec<RecordedCall>,
    requests_answered: usize,
    unauthorised: usize,
    bearers: Vec<String>,
}

#[derive(Clone)]
struct Shared {
    options: McpOptions,
    gate: watch::Receiver<bool>,
    record: Arc<Mutex<Record>>,
}

fn lock(record: &Mutex<Record>) -> MutexGuard<'_, Record> {
    record
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The running fake. Stops when dropped.
pub struct FakeMcp {
    addr: SocketAddr,
    gate: watch::Sender<bool>,
    record: Arc<Mutex<Record>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeMcp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeMcp {
    /// Starts on 127.0.0.1 with a free port, accepting `bearer`.
    pub async fn start(bearer: impl Into<String>) -> Self {
        Self::start_with(McpOptions::new(bearer)).await
    }

    /// Starts with these options.
    pub async fn start_with(options: McpOptions) -> Self {
        let (gate_tx, gate_rx) = watch::channel(!options.gated);
        let record = Arc::new(Mutex::new(Record::default()));
        let shared = Shared {
            options,
            gate: gate_rx,
            record: record.clone(),
        };
        let handler_record = record.clone();
        let service: StreamableHttpService<FakePosthogMcp, LocalSessionManager> =
            StreamableHttpService::new(
                move || {
                    Ok(FakePosthogMcp {
                        record: handler_record.clone(),
                    })
                },
                Default::default(),
                StreamableHttpServerConfig::default().with_sse_keep_alive(None),
            );
        let app = axum::Router::new()
            .nest_service("/mcp", service)
            .layer(middleware::from_fn_with_state(shared, guard));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            gate: gate_tx,
            record,
            server,
        }
    }

    /// `http://127.0.0.1:<port>/mcp`.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Lets held requests (and all later ones) through.
    pub fn release(&self) {
        let _ = self.gate.send(true);
    }

    /// HTTP requests that got past the bearer check and the gate.
    pub fn requests_answered(&self) -> usize {
        lock(&self.record).requests_answered
    }

    /// Requests refused for a missing or wrong bearer.
    pub fn unauthorised(&self) -> usize {
        lock(&self.record).unauthorised
    }

    /// Every bearer value seen on a request, in order.
    pub fn bearers(&self) -> Vec<String> {
        lock(&self.record).bearers.clone()
    }

    /// Every `tools/call` received, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        lock(&self.record).calls.clone()
    }
}

/// Checks the bearer, then waits for the gate and the delay.
async fn guard(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let bearer = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    {
        let mut record = lock(&shared.record);
        if let Some(b) = &bearer {
            record.bearers.push(b.clone());
        }
        if bearer.as_deref() != Some(shared.options.bearer.as_str()) {
            record.unauthorised += 1;
            return (StatusCode::UNAUTHORIZED, "invalid personal API key").into_response();
        }
    }
    let mut gate = shared.gate.clone();
    if gate.wait_for(|open| *open).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    if !shared.options.delay.is_zero() {
        tokio::time::sleep(shared.options.delay).await;
    }
    lock(&shared.record).requests_answered += 1;
    next.run(request).await
}

/// The MCP handler: two dashboard tools.
#[derive(Clone)]
struct FakePosthogMcp {
    record: Arc<Mutex<Record>>,
}

fn object_schema(schema: Value) -> Arc<Map<String, Value>> {
    match schema {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(Map::new()),
    }
}

fn catalogue() -> Vec<Tool> {
    vec![
        Tool::new(
            "dashboard-create",
            "Create a dashboard in the current project.",
            object_schema(json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "description": {"type": "string"}
                },
                "required": ["name"]
            })),
        ),
        Tool::new(
            "insight-create-from-query",
            "Create an insight from a query and optionally add it to a dashboard.",
            object_schema(json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "query": {"type": "object"},
                    "dashboard_id": {"type": "integer"}
                },
                "required": ["name", "query"]
            })),
        ),
    ]
}

impl ServerHandler for FakePosthogMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(catalogue()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.clone().unwrap_or_default();
        let call = {
            let mut record = lock(&self.record);
            record.calls.push(RecordedCall {
                tool: request.name.to_string(),
                arguments: Value::Object(arguments.clone()),
            });
            record.calls.len()
        };
        let name = arguments.get("name").and_then(Value::as_str);
        let result = match (request.name.as_ref(), name) {
            ("dashboard-create", Some(name)) => CallToolResult::success(vec![ContentBlock::text(
                json!({"id": call, "name": name, "url": format!("https://us.posthog.com/project/1/dashboard/{call}")})
                    .to_string(),
            )]),
            ("insight-create-from-query", Some(name)) if arguments.get("query").is_some_and(Value::is_object) => {
                CallToolResult::success(vec![ContentBlock::text(
                    json!({"id": call, "name": name, "short_id": format!("ins{call}")}).to_string(),
                )])
            }
            ("dashboard-create" | "insight-create-from-query", _) => CallToolResult::error(vec![ContentBlock::text(
                format!("{}: missing or invalid arguments", request.name),
            )]),
            (other, _) => {
                return Err(ErrorData::invalid_params(format!("Unknown tool: {other}"), None));
            }
        };
        Ok(result.into())
    }
}
