//! The PostHog MCP server's tools, reached through an MCP client over streamable HTTP.
//!
//! [`McpCatalogue::connect_in_background`] spawns the connection (initialize,
//! then `tools/list`) and returns at once, so a slow or absent server never
//! delays the first task; [`McpHandle::tools`] waits for the catalogue at
//! most the time it is given and returns no tools when it is not ready. Each
//! remote tool becomes a [`Tool`] named `mcp__posthog__<name>`, whose spec is
//! the server's name, description and input schema, and whose call forwards
//! `tools/call` and returns the text content (`isError` is a failed call).
//!
//! The personal API key is the bearer on every request; it never appears in
//! a message, a spec or a log. Permissions: the agent loop checks the tool
//! rule before a call, and [`mcp_allowed`] (which understands a trailing `*`,
//! as in `mcp__posthog__*`) is checked again inside each call.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ContentBlock, Implementation,
    ResourceContents,
};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;
use serde_json::Value;
use tokio::sync::watch;

use super::context::{Permissions, Tool, ToolContext, ToolError, ToolOutput};
use crate::providers::ToolSpec;

/// The prefix of every PostHog MCP tool's name, as the model sees it.
pub const MCP_TOOL_PREFIX: &str = "mcp__posthog__";

/// How long the background connection (initialize and list) may take in all.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one tool call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Tool names models accept: `[A-Za-z0-9_-]{1,128}`.
const MAX_TOOL_NAME: usize = 128;

type Client = RunningService<RoleClient, ClientConfig>;

/// Where the catalogue stands.
#[derive(Clone)]
pub enum McpStatus {
    /// Still connecting or listing.
    Connecting,
    /// Listed; these tools are available.
    Ready(Arc<Vec<Arc<dyn Tool>>>),
    /// The connection or the listing failed.
    Failed(String),
    /// No connection was attempted (no key, no url).
    Unavailable(String),
}

impl std::fmt::Debug for McpStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            McpStatus::Connecting => f.write_str("Connecting"),
            McpStatus::Ready(tools) => {
                let names: Vec<String> = tools.iter().map(|t| t.spec().name).collect();
                f.debug_tuple("Ready").field(&names).finish()
            }
            McpStatus::Failed(why) => f.debug_tuple("Failed").field(why).finish(),
            McpStatus::Unavailable(why) => f.debug_tuple("Unavailable").field(why).finish(),
        }
    }
}

/// Starts MCP connections.
pub struct McpCatalogue;

impl McpCatalogue {
    /// Connects to `url` with `key` as bearer and lists its tools, in a spawned
    /// task; returns at once. Outside a tokio runtime the handle says so and holds no tools.
    pub fn connect_in_background(url: impl Into<String>, key: impl Into<String>) -> McpHandle {
        let url = url.into();
        let key = key.into();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return McpHandle::unavailable("no async runtime to connect to the MCP server from");
        };
        let (tx, rx) = watch::channel(McpStatus::Connecting);
        runtime.spawn(async move {
            let status =
                match tokio::time::timeout(CONNECT_TIMEOUT, connect_and_list(&url, key)).await {
                    Ok(Ok(tools)) => {
                        tracing::info!(url = %url, tools = tools.len(), "MCP tools listed");
                        McpStatus::Ready(Arc::new(tools))
                    }
                    Ok(Err(why)) => {
                        tracing::warn!(url = %url, "MCP unavailable: {why}");
                        McpStatus::Failed(why)
                    }
                    Err(_) => {
                        let why = format!(
                            "{url} did not list its tools within {} s",
                            CONNECT_TIMEOUT.as_secs()
                        );
                        tracing::warn!("MCP unavailable: {why}");
                        McpStatus::Failed(why)
                    }
                };
            // Nobody listening any more is fine: the run may be over.
            let _ = tx.send(status);
        });
        McpHandle { status: rx }
    }
}

/// A catalogue being connected, or ready. Cheap to clone.
#[derive(Clone)]
pub struct McpHandle {
    status: watch::Receiver<McpStatus>,
}

impl std::fmt::Debug for McpHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpHandle")
            .field("status", &*self.status.borrow())
            .finish()
    }
}

impl McpHandle {
    /// A handle with no tools, for this reason (shown when a task needs them).
    pub fn unavailable(reason: impl Into<String>) -> Self {
        let (_tx, rx) = watch::channel(McpStatus::Unavailable(reason.into()));
        Self { status: rx }
    }

    /// Where the catalogue stands now.
    pub fn status(&self) -> McpStatus {
        self.status.borrow().clone()
    }

    /// The tools, waiting at most `timeout` for the listing; none when it is not ready by then or failed.
    pub async fn tools(&self, timeout: Duration) -> Vec<Arc<dyn Tool>> {
        let mut status = self.status.clone();
        let ready = tokio::time::timeout(
            timeout,
            status.wait_for(|s| !matches!(s, McpStatus::Connecting)),
        )
        .await;
        match ready {
            Ok(Ok(status)) => match &*status {
                McpStatus::Ready(tools) => tools.as_ref().clone(),
                _ => Vec::new(),
            },
            // The sender is gone without an answer (its task was cancelled), or time is up.
            Ok(Err(_)) | Err(_) => Vec::new(),
        }
    }
}

async fn connect_and_list(url: &str, key: String) -> Result<Vec<Arc<dyn Tool>>, String> {
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_string()).auth_header(key);
    let transport = StreamableHttpClientTransport::from_config(config);
    let info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("wizard", env!("CARGO_PKG_VERSION")),
    );
    let client = info
        .serve(transport)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    let listed = client
        .list_all_tools()
        .await
        .map_err(|e| format!("{url} did not list its tools: {e}"))?;
    let client = Arc::new(client);
    let mut seen = std::collections::HashSet::new();
    let mut tools: Vec<Arc<dyn Tool>> = Vec::new();
    for tool in listed {
        let spec = exposed_spec(&tool);
        if !seen.insert(spec.name.clone()) {
            tracing::warn!(
                "MCP tool {} clashes with another after renaming; skipped",
                tool.name
            );
            continue;
        }
        tools.push(Arc::new(McpTool {
            client: client.clone(),
            remote_name: tool.name.to_string(),
            spec,
        }));
    }
    Ok(tools)
}

/// The name the model sees: the prefix, then the remote name with any
/// character models refuse replaced by `_`, cut to 128 characters.
pub fn exposed_name(remote_name: &str) -> String {
    let cleaned: String = remote_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut name = format!("{MCP_TOOL_PREFIX}{cleaned}");
    name.truncate(MAX_TOOL_NAME);
    name
}

fn exposed_spec(tool: &rmcp::model::Tool) -> ToolSpec {
    let mut schema = tool.input_schema.as_ref().clone();
    // Models require an object schema; a server may leave `type` out for no-argument tools.
    schema
        .entry("type")
        .or_insert_with(|| Value::String("object".into()));
    let description = tool
        .description
        .as_deref()
        .map(str::to_string)
        .or_else(|| tool.title.clone())
        .unwrap_or_default();
    ToolSpec {
        name: exposed_name(&tool.name),
        description,
        input_schema: Value::Object(schema),
    }
}

/// True when `perms` allow `name`: listed exactly, or by a pattern ending in
/// `*` (`mcp__posthog__*`), and not disallowed the same way.
pub fn mcp_allowed(perms: &Permissions, name: &str) -> bool {
    super::permissions::check_tool_allowed(perms, name).is_ok()
}

/// One remote tool.
struct McpTool {
    client: Arc<Client>,
    remote_name: String,
    spec: ToolSpec,
}

#[async_trait]
impl Tool for McpTool {
    fn spec(&self) -> ToolSpec {
        self.spec.clone()
    }

    fn activity(&self, _input: &Value) -> String {
        format!("Calling {} on the MCP server", self.remote_name)
    }

    async fn call(&self, ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
        if !mcp_allowed(&ctx.permissions, &self.spec.name) {
            return Err(ToolError::Denied(format!(
                "tool rule: {} is not in this task's allowedTools",
                self.spec.name
            )));
        }
        let arguments = match input {
            Value::Object(map) => map,
            Value::Null => serde_json::Map::new(),
            other => {
                return Err(ToolError::InvalidInput(format!(
                    "{} takes a JSON object, not {other}",
                    self.spec.name
                )))
            }
        };
        let params = CallToolRequestParams::new(self.remote_name.clone()).with_arguments(arguments);
        let result = tokio::time::timeout(CALL_TIMEOUT, self.client.call_tool(params))
            .await
            .map_err(|_| {
                ToolError::Failed(format!(
                    "{} did not answer within {} s",
                    self.spec.name,
                    CALL_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| ToolError::Failed(format!("{} failed: {e}", self.spec.name)))?;
        let text = result_text(&result);
        if result.is_error == Some(true) {
            let text = if text.is_empty() {
                "the MCP tool reported an error".to_string()
            } else {
                text
            };
            return Err(ToolError::Failed(text));
        }
        Ok(ToolOutput::text(text))
    }
}

/// The text of a result: its text blocks (and embedded text resources), else its structured content.
fn result_text(result: &rmcp::model::CallToolResult) -> String {
    let mut parts: Vec<String> = Vec::new();
    for block in &result.content {
        match block {
            ContentBlock::Text(text) => parts.push(text.text.clone()),
            ContentBlock::Resource(embedded) => match &embedded.resource {
                ResourceContents::TextResourceContents { text, .. } => parts.push(text.clone()),
                _ => parts.push("[binary resource omitted]".into()),
            },
            _ => parts.push("[non-text content omitted]".into()),
        }
    }
    if parts.is_empty() {
        if let Some(structured) = &result.structured_content {
            return structured.to_string();
        }
    }
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_names_keep_their_spelling_under_the_prefix() {
        assert_eq!(
            exposed_name("dashboard-create"),
            "mcp__posthog__dashboard-create"
        );
    }

    #[test]
    fn characters_models_refuse_become_underscores() {
        assert_eq!(
            exposed_name("insights.get all"),
            "mcp__posthog__insights_get_all"
        );
        assert!(exposed_name(&"x".repeat(300)).len() <= MAX_TOOL_NAME);
    }

    #[test]
    fn wildcard_allows_every_mcp_tool_unless_disallowed() {
        let perms = Permissions {
            allowed_tools: vec!["Read".into(), "mcp__posthog__*".into()],
            disallowed_tools: vec!["mcp__posthog__dashboard-delete".into()],
            ..Permissions::default()
        };
        assert!(mcp_allowed(&perms, "mcp__posthog__dashboard-create"));
        assert!(!mcp_allowed(&perms, "mcp__posthog__dashboard-delete"));
        assert!(!mcp_allowed(&perms, "Write"));
        assert!(mcp_allowed(&perms, "Read"));
    }
}
