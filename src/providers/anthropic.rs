//! The Anthropic Messages API client (`POST {base}/v1/messages`, streaming).
//!
//! Three parts, each testable alone:
//! * [`request_body`] maps a [`ModelRequest`] to the wire JSON (system blocks
//!   with `cache_control`, tools as `{name, description, input_schema}`,
//!   tool results as strings with `is_error`);
//! * [`StreamAssembler`] folds the SSE events of one answer into a
//!   [`ModelResponse`] (text, tool calls whose `input_json_delta` fragments are
//!   joined and parsed at block stop, thinking kept with its signature,
//!   cumulative usage from `message_delta`);
//! * [`AnthropicClient`] sends the request and runs the shared retry rules of
//!   [`super::retry`] around it (HTTP errors, `error` events mid-stream,
//!   dropped and stalled streams).
//!
//! The key travels only in a header; the client's `Debug` hides it and no
//! error message is built from request headers.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use async_trait::async_trait;
use eventsource_stream::Event;
use serde_json::{json, Map, Value};

use super::credential::ApiSecret;
use super::http::{AnswerFold, Endpoint, HttpApi, HttpModelClient};
use super::retry::{connection_failure, with_retries, AttemptError, RetryPolicy};
use super::sse::StreamFailure;
use super::types::{
    leading_field, ContentBlock, FirstLineWatch, Message, ModelClient, ModelRequest, ModelResponse,
    ProviderError, ProviderEvent, Role, StopReason,
};
use crate::messages::Usage;

/// The public API's address.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The only API version the SDKs send.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// How the client proves who it is.
#[derive(Clone, PartialEq, Eq)]
pub enum AnthropicCredential {
    /// `x-api-key: <key>` (`ANTHROPIC_API_KEY`).
    ApiKey(ApiSecret),
    /// `Authorization: Bearer <token>` (`ANTHROPIC_AUTH_TOKEN`, gateways).
    AuthToken(ApiSecret),
}

impl fmt::Debug for AnthropicCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnthropicCredential::ApiKey(_) => f.write_str("ApiKey(<redacted>)"),
            AnthropicCredential::AuthToken(_) => f.write_str("AuthToken(<redacted>)"),
        }
    }
}

/// Where and how to reach the Messages API.
#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    /// Base URL without `/v1` (may carry a path prefix, e.g. a gateway's `/wizard`).
    pub base_url: String,
    /// The key or token.
    pub credential: AnthropicCredential,
    /// Retry and stall rules.
    pub retry: RetryPolicy,
    /// Extra headers sent with every request (gateway properties); never secrets.
    pub extra_headers: Vec<(String, String)>,
    /// Appended to a 401/403's message: which credential was refused and how to fix it.
    pub auth_hint: Option<String>,
}

impl AnthropicConfig {
    /// A config for `base_url` with default retries.
    pub fn new(base_url: impl Into<String>, credential: AnthropicCredential) -> Self {
        AnthropicConfig {
            base_url: base_url.into(),
            credential,
            retry: RetryPolicy::default(),
            extra_headers: Vec::new(),
            auth_hint: None,
        }
    }

    /// Reads `ANTHROPIC_BASE_URL`, `ANTHROPIC_AUTH_TOKEN` and `ANTHROPIC_API_KEY`
    /// through `lookup`; `None` when neither credential is set. A set auth token
    /// wins over a key, since sending both is rejected by the API.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let credential = match (set("ANTHROPIC_AUTH_TOKEN"), set("ANTHROPIC_API_KEY")) {
            (Some(token), _) => AnthropicCredential::AuthToken(ApiSecret::new(token)),
            (None, Some(key)) => AnthropicCredential::ApiKey(ApiSecret::new(key)),
            (None, None) => return None,
        };
        let base = set("ANTHROPIC_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        let name = match &credential {
            AnthropicCredential::ApiKey(_) => "ANTHROPIC_API_KEY",
            AnthropicCredential::AuthToken(_) => "ANTHROPIC_AUTH_TOKEN",
        };
        let mut config = AnthropicConfig::new(base.clone(), credential);
        config.retry = RetryPolicy::from_env_with(&lookup);
        config.auth_hint = Some(format!(
            "The refused credential is {name} (sent to {base}); fix or unset it \
             (unset, a PostHog sign-in from `wizard login` is used instead)."
        ));
        Some(config)
    }

    /// [`AnthropicConfig::from_env_with`] over the process environment.
    pub fn from_env() -> Option<Self> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }
}

impl HttpApi for AnthropicConfig {
    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let request = request.header("anthropic-version", ANTHROPIC_VERSION);
        match &self.credential {
            AnthropicCredential::ApiKey(key) => request.header("x-api-key", key.expose()),
            AnthropicCredential::AuthToken(token) => request.bearer_auth(token.expose()),
        }
    }

    const ERROR_MESSAGE: fn(&str) -> Option<String> = error_message;

    fn endpoint(&self) -> Endpoint<'_> {
        Endpoint::of(&self.base_url, &self.retry, &self.extra_headers)
    }
}

/// A [`ModelClient`] for the Anthropic Messages API.
pub type AnthropicClient = HttpModelClient<AnthropicConfig>;

impl AnthropicClient {
    /// Checks that the API is reachable and the credential valid, with one
    /// cheap authenticated call (`GET /v1/models?limit=1`). A rejected key is
    /// [`ProviderError::Auth`].
    pub async fn check_auth(&self) -> Result<(), ProviderError> {
        self.check_credential("/v1/models?limit=1")
            .await
            .map_err(|e| self.name_credential(e))
    }

    /// A refusal, with the config's hint about which credential it was.
    fn name_credential(&self, error: ProviderError) -> ProviderError {
        match (error, &self.config.auth_hint) {
            (ProviderError::Auth { status, message }, Some(hint)) => ProviderError::Auth {
                status,
                message: format!("{message}. {hint}"),
            },
            (other, _) => other,
        }
    }

    async fn attempt(
        &self,
        body: &Value,
        request_model: &str,
        progress: &(dyn Fn(ProviderEvent) + Send + Sync),
        first_token: &AtomicBool,
    ) -> Result<ModelResponse, AttemptError> {
        let idle = self.config.retry.idle_timeout;
        let response = self
            .send(
                self.request(reqwest::Method::POST, "/v1/messages")
                    .json(body),
            )
            .await?;
        if is_json(&response) {
            // A gateway that ignored `stream: true` answered with one message.
            let text = read_within(response, idle).await?;
            let message: Value = serde_json::from_str(&text)
                .map_err(|e| AttemptError::transient(format!("malformed message JSON: {e}")))?;
            return response_from_message(&message, request_model);
        }
        self.read_answer::<StreamAssembler>(response, request_model, progress, first_token)
            .await
    }
}

#[async_trait]
impl ModelClient for AnthropicClient {
    async fn complete(
        &self,
        request: &ModelRequest,
        progress: &(dyn Fn(ProviderEvent) + Send + Sync),
    ) -> Result<ModelResponse, ProviderError> {
        let body = request_body(request);
        let first_token = AtomicBool::new(false);
        with_retries(&self.config.retry, progress, |_| {
            self.attempt(&body, &request.model, progress, &first_token)
        })
        .await
        .map_err(|e| self.name_credential(e))
    }

    fn name(&self) -> &'static str {
        "anthropic"
    }
}

async fn read_within(response: reqwest::Response, idle: Duration) -> Result<String, AttemptError> {
    match tokio::time::timeout(idle, response.text()).await {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(error)) => Err(connection_failure(&error)),
        Err(_) => Err(StreamFailure::Stalled(idle).into_attempt_error()),
    }
}

fn is_json(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The message of an error envelope `{"type":"error","error":{"type","message"}}`,
/// or the body itself when it is not one (a proxy's HTML, a 413 from a CDN).
pub(crate) fn error_message(body: &str) -> Option<String> {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return None;
    }
    if let Ok(envelope) = serde_json::from_str::<Value>(trimmed) {
        let error = &envelope["error"];
        if let Some(message) = error["message"].as_str() {
            return Some(match error["type"].as_str() {
                Some(kind) => format!("{kind}: {message}"),
                None => message.to_string(),
            });
        }
    }
    Some(trimmed.chars().take(300).collect())
}

/// The wire JSON for `request` (always `stream: true`).
pub fn request_body(request: &ModelRequest) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));
    body.insert("max_tokens".into(), json!(request.max_tokens));
    body.insert("stream".into(), json!(true));
    if !request.system.is_empty() {
        let system: Vec<Value> = request
            .system
            .iter()
            .map(|block| {
                let mut wire = json!({"type": "text", "text": block.text});
                if block.cache {
                    wire["cache_control"] = json!({"type": "ephemeral"});
                }
                wire
            })
            .collect();
        body.insert("system".into(), Value::Array(system));
    }
    let mut messages: Vec<Value> = request.messages.iter().map(message_to_wire).collect();
    let system_breakpoints = request.system.iter().filter(|b| b.cache).count();
    if request.cache_conversation && system_breakpoints < MAX_BREAKPOINTS {
        mark_conversation_breakpoint(&mut messages);
    }
    body.insert("messages".into(), Value::Array(messages));
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.input_schema,
                })
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    Value::Object(body)
}

/// The API accepts at most four `cache_control` breakpoints per request.
const MAX_BREAKPOINTS: usize = 4;

/// Marks the last block of the last message that may carry `cache_control`
/// (thinking blocks may not). The API looks back from a breakpoint for the
/// longest prefix it already holds, so the previous turn's breakpoint is still
/// read even though this one moved.
fn mark_conversation_breakpoint(messages: &mut [Value]) {
    let Some(blocks) = messages
        .last_mut()
        .and_then(|m| m["content"].as_array_mut())
    else {
        return;
    };
    if let Some(block) = blocks
        .iter_mut()
        .rev()
        .find(|b| !matches!(b["type"].as_str(), Some("thinking" | "redacted_thinking")))
    {
        block["cache_control"] = json!({"type": "ephemeral"});
    }
}

fn message_to_wire(message: &Message) -> Value {
    let role = match message.role {
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    let content: Vec<Value> = message.content.iter().map(block_to_wire).collect();
    json!({"role": role, "content": content})
}

fn block_to_wire(block: &ContentBlock) -> Value {
    match block {
        ContentBlock::Text { text } => json!({"type": "text", "text": text}),
        ContentBlock::ToolUse { id, name, input } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
        ContentBlock::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => {
            let mut wire =
                json!({"type": "tool_result", "tool_use_id": tool_use_id, "content": content});
            if *is_error {
                wire["is_error"] = json!(true);
            }
            wire
        }
        ContentBlock::Thinking {
            thinking,
            signature,
        } => json!({"type": "thinking", "thinking": thinking, "signature": signature}),
    }
}

/// A content block while its deltas are still arriving.
#[derive(Debug)]
enum PartialBlock {
    Text(String),
    ToolUse {
        id: String,
        name: String,
        /// The joined `partial_json` fragments.
        json: String,
        /// The `input` the block started with (normally `{}`).
        start_input: Value,
        /// Set when the block stopped and its JSON parsed.
        input: Option<Value>,
        /// Whether its [`ProviderEvent::ToolCallStarted`] was sent.
        announced: bool,
    },
    Thinking {
        thinking: String,
        signature: String,
    },
    /// A block type we do not keep (server tools, redacted thinking…).
    Unsupported(String),
}

/// Folds the events of one streamed answer into a [`ModelResponse`].
#[derive(Debug, Default)]
pub(crate) struct StreamAssembler {
    model: Option<String>,
    blocks: BTreeMap<u64, PartialBlock>,
    usage: Usage,
    stop_reason: Option<String>,
    finished: bool,
    /// What the client may report before the answer ends (finished tool calls, the first line).
    streamed: Vec<ProviderEvent>,
    first_line: FirstLineWatch,
}

impl AnswerFold for StreamAssembler {
    fn apply(&mut self, event: &Event) -> Result<(), AttemptError> {
        self.on_event(event)
    }

    fn take_streamed(&mut self) -> Vec<ProviderEvent> {
        StreamAssembler::take_streamed(self)
    }

    fn is_finished(&self) -> bool {
        StreamAssembler::is_finished(self)
    }

    fn finish(self, request_model: &str) -> Result<ModelResponse, AttemptError> {
        StreamAssembler::finish(self, request_model)
    }
}

impl StreamAssembler {
    /// The events that became known since the last call, in stream order.
    pub(crate) fn take_streamed(&mut self) -> Vec<ProviderEvent> {
        std::mem::take(&mut self.streamed)
    }

    /// True once `message_stop` arrived.
    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }

    /// Applies one event. Unknown events are ignored, as the API asks.
    pub(crate) fn on_event(&mut self, event: &Event) -> Result<(), AttemptError> {
        let data: Value = serde_json::from_str(&event.data).map_err(|e| {
            AttemptError::transient(format!("malformed `{}` event: {e}", event.event))
        })?;
        // The JSON `type` equals the event name; prefer it so `data:`-only streams work too.
        let kind = data["type"].as_str().unwrap_or(&event.event).to_string();
        match kind.as_str() {
            "message_start" => {
                let message = &data["message"];
                if let Some(model) = message["model"].as_str() {
                    self.model = Some(model.to_string());
                }
                apply_usage(&mut self.usage, &message["usage"]);
            }
            "content_block_start" => {
                let index = index_of(&data)?;
                let block = partial_block(&data["content_block"]);
                self.blocks.insert(index, block);
            }
            "content_block_delta" => {
                let index = index_of(&data)?;
                let block = self.blocks.get_mut(&index).ok_or_else(|| {
                    AttemptError::transient(format!("delta for unknown content block {index}"))
                })?;
                apply_delta(block, &data["delta"]);
                match block {
                    PartialBlock::Text(text) => {
                        self.streamed.extend(self.first_line.check(text, false));
                    }
                    PartialBlock::ToolUse {
                        name,
                        json,
                        announced: announced @ false,
                        ..
                    } => {
                        if let Some(lead) = leading_field(json) {
                            *announced = true;
                            self.streamed.push(ProviderEvent::ToolCallStarted {
                                name: name.clone(),
                                lead,
                            });
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                let index = index_of(&data)?;
                match self.blocks.get_mut(&index) {
                    Some(PartialBlock::ToolUse {
                        id,
                        json,
                        start_input,
                        input,
                        name,
                        ..
                    }) => {
                        let parsed = parse_tool_input(json, start_input).map_err(|e| {
                            AttemptError::transient(format!(
                                "tool `{name}` input is not valid JSON: {e}"
                            ))
                        })?;
                        if parsed.is_object() {
                            self.streamed.push(ProviderEvent::ToolCallReady {
                                id: id.clone(),
                                name: name.clone(),
                                input: parsed.clone(),
                            });
                        }
                        *input = Some(parsed);
                    }
                    Some(PartialBlock::Text(text)) => {
                        self.streamed.extend(self.first_line.check(text, true));
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = data["delta"]["stop_reason"].as_str() {
                    self.stop_reason = Some(reason.to_string());
                }
                apply_usage(&mut self.usage, &data["usage"]);
            }
            "message_stop" => self.finished = true,
            "error" => return Err(stream_error(&data)),
            _ => {} // `ping` and event types added after this client was written.
        }
        Ok(())
    }

    /// The finished answer; an error when the stream ended before `message_stop`.
    pub(crate) fn finish(self, request_model: &str) -> Result<ModelResponse, AttemptError> {
        if !self.finished {
            return Err(AttemptError::transient("stream ended before message_stop"));
        }
        let Some(stop_reason) = self.stop_reason else {
            return Err(AttemptError::Fatal(ProviderError::Protocol(
                "the stream finished without a stop_reason".into(),
            )));
        };
        let mut content = Vec::new();
        for block in self.blocks.into_values() {
            match block {
                PartialBlock::Text(text) if text.is_empty() => {}
                PartialBlock::Text(text) => content.push(ContentBlock::Text { text }),
                PartialBlock::ToolUse {
                    id,
                    name,
                    json,
                    start_input,
                    input,
                    ..
                } => {
                    // A block cut off by max_tokens never stopped: keep it only if its JSON is whole.
                    match input
                        .map(Ok)
                        .unwrap_or_else(|| parse_tool_input(&json, &start_input))
                    {
                        Ok(input) => content.push(ContentBlock::ToolUse { id, name, input }),
                        Err(_) => tracing::warn!(
                            tool = %name,
                            "dropping a tool call whose input was cut off ({} bytes)",
                            json.len()
                        ),
                    }
                }
                PartialBlock::Thinking {
                    thinking,
                    signature,
                } => content.push(ContentBlock::Thinking {
                    thinking,
                    signature,
                }),
                PartialBlock::Unsupported(kind) => {
                    tracing::debug!(block = %kind, "ignoring an unsupported content block")
                }
            }
        }
        Ok(ModelResponse {
            content,
            stop_reason: stop_reason_from_wire(&stop_reason),
            usage: self.usage,
            model: self.model.unwrap_or_else(|| request_model.to_string()),
        })
    }
}

fn index_of(data: &Value) -> Result<u64, AttemptError> {
    data["index"].as_u64().ok_or_else(|| {
        AttemptError::transient(format!("content block event without an index: {data}"))
    })
}

fn partial_block(block: &Value) -> PartialBlock {
    let text = |field: &str| block[field].as_str().unwrap_or_default().to_string();
    match block["type"].as_str().unwrap_or_default() {
        "text" => PartialBlock::Text(text("text")),
        "tool_use" => PartialBlock::ToolUse {
            id: text("id"),
            name: text("name"),
            json: String::new(),
            start_input: block.get("input").cloned().unwrap_or(Value::Null),
            input: None,
            announced: false,
        },
        "thinking" => PartialBlock::Thinking {
            thinking: text("thinking"),
            signature: text("signature"),
        },
        other => PartialBlock::Unsupported(other.to_string()),
    }
}

fn apply_delta(block: &mut PartialBlock, delta: &Value) {
    let field = |name: &str| delta[name].as_str().unwrap_or_default();
    match (block, delta["type"].as_str().unwrap_or_default()) {
        (PartialBlock::Text(text), "text_delta") => text.push_str(field("text")),
        (PartialBlock::ToolUse { json, .. }, "input_json_delta") => {
            json.push_str(field("partial_json"))
        }
        (PartialBlock::Thinking { thinking, .. }, "thinking_delta") => {
            thinking.push_str(field("thinking"))
        }
        (PartialBlock::Thinking { signature, .. }, "signature_delta") => {
            signature.push_str(field("signature"))
        }
        // citations, server tool deltas, and deltas of blocks we do not keep.
        _ => {}
    }
}

/// The tool input: the joined fragments, or the start `input` when none came
/// (an empty string means `{}`).
fn parse_tool_input(json: &str, start_input: &Value) -> Result<Value, serde_json::Error> {
    if json.trim().is_empty() {
        return Ok(match start_input {
            Value::Object(_) => start_input.clone(),
            _ => json!({}),
        });
    }
    serde_json::from_str(json)
}

/// Usage counts are cumulative, so every field present replaces the one before.
fn apply_usage(usage: &mut Usage, wire: &Value) {
    let count = |field: &str| wire[field].as_u64();
    if let Some(n) = count("input_tokens") {
        usage.input_tokens = n;
    }
    if let Some(n) = count("output_tokens") {
        usage.output_tokens = n;
    }
    if let Some(n) = count("cache_creation_input_tokens") {
        usage.cache_write_tokens = n;
    }
    if let Some(n) = count("cache_read_input_tokens") {
        usage.cache_read_tokens = n;
    }
}

fn stop_reason_from_wire(reason: &str) -> StopReason {
    match reason {
        "end_turn" => StopReason::EndTurn,
        "tool_use" => StopReason::ToolUse,
        "max_tokens" => StopReason::MaxTokens,
        "stop_sequence" => StopReason::StopSequence,
        "refusal" => StopReason::Refusal,
        other => StopReason::Other(other.to_string()),
    }
}

/// An `error` event after a 200: the same error types as HTTP errors, so the
/// same ones are retried (overloaded, rate limited, internal, timeout).
fn stream_error(data: &Value) -> AttemptError {
    let kind = data["error"]["type"].as_str().unwrap_or("unknown_error");
    let message = data["error"]["message"].as_str().unwrap_or("no message");
    let status = match kind {
        "overloaded_error" => 529,
        "rate_limit_error" => 429,
        "api_error" => 500,
        "timeout_error" => 504,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "billing_error" => 402,
        "invalid_request_error" => 400,
        // Unknown kinds are reported as they came, with the 200 the stream had.
        _ => 200,
    };
    let message = format!("{kind} in the stream: {message}");
    match status {
        401 | 403 => AttemptError::Fatal(ProviderError::Auth { status, message }),
        429 | 500 | 504 | 529 => AttemptError::transient(message),
        _ => AttemptError::Fatal(ProviderError::Permanent { status, message }),
    }
}

/// A non-streamed message (`{"type":"message","content":[…],…}`) as a response.
fn response_from_message(
    message: &Value,
    request_model: &str,
) -> Result<ModelResponse, AttemptError> {
    let mut assembler = StreamAssembler::default();
    let event = |data: Value| Event {
        event: data["type"].as_str().unwrap_or_default().to_string(),
        data: data.to_string(),
        ..Event::default()
    };
    let mut head = message.clone();
    head["content"] = json!([]);
    assembler.on_event(&event(json!({"type": "message_start", "message": head})))?;
    let blocks = message["content"].as_array().cloned().unwrap_or_default();
    for (index, block) in blocks.into_iter().enumerate() {
        let input = block.get("input").cloned();
        assembler.on_event(&event(
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        ))?;
        if let (Some(input), Some(PartialBlock::ToolUse { json, .. })) =
            (input, assembler.blocks.get_mut(&(index as u64)))
        {
            *json = input.to_string();
        }
        assembler.on_event(&event(
            json!({"type": "content_block_stop", "index": index}),
        ))?;
    }
    let stop = json!({"type": "message_delta", "delta": {"stop_reason": message["stop_reason"]}, "usage": {}});
    assembler.on_event(&event(stop))?;
    assembler.on_event(&event(json!({"type": "message_stop"})))?;
    assembler.finish(request_model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::types::{RequestMeta, SystemBlock, ToolSpec};

    fn events_of(sse: &str) -> Vec<Event> {
        sse.split("\n\n")
            .filter(|chunk| !chunk.trim().is_empty())
            .map(|chunk| {
                let mut event = Event::default();
                for line in chunk.lines() {
                    if let Some(name) = line.strip_prefix("event: ") {
                        event.event = name.to_string();
                    } else if let Some(data) = line.strip_prefix("data: ") {
                        event.data = data.to_string();
                    }
                }
                event
            })
            .collect()
    }

    fn assemble(sse: &str) -> Result<ModelResponse, AttemptError> {
        let mut assembler = StreamAssembler::default();
        for event in events_of(sse) {
            assembler.on_event(&event)?;
        }
        assembler.finish("requested-model")
    }

    const TOOL_STREAM: &str = r#"event: message_start
data: {"type":"message_start","message":{"model":"m-1","usage":{"input_tokens":10,"cache_creation_input_tokens":3,"cache_read_input_tokens":7,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"Read","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":12}}

event: message_delta
data: {"type":"message_delta","delta":{},"usage":{"output_tokens":20}}

event: message_stop
data: {"type":"message_stop"}
"#;

    #[test]
    fn empty_tool_json_means_an_empty_object_and_usage_is_cumulative() {
        let response = assemble(TOOL_STREAM).unwrap();
        assert_eq!(
            response.content,
            vec![ContentBlock::ToolUse {
                id: "toolu_1".into(),
                name: "Read".into(),
                input: json!({})
            }]
        );
        assert_eq!(response.stop_reason, StopReason::ToolUse);
        assert_eq!(
            response.usage,
            Usage {
                input_tokens: 10,
                output_tokens: 20,
                cache_read_tokens: 7,
                cache_write_tokens: 3
            }
        );
        assert_eq!(response.model, "m-1");
    }

    #[test]
    fn a_tool_call_is_reported_at_its_block_stop_and_a_first_line_at_its_break() {
        let stream = r#"event: message_start
data: {"type":"message_start","message":{"model":"m-1","usage":{"input_tokens":10,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Planning nine "}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"steps\nthen more"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"enqueue_task","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"type\": \"install\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":20}}

event: message_stop
data: {"type":"message_stop"}
"#;
        let mut assembler = StreamAssembler::default();
        let streamed: Vec<Vec<ProviderEvent>> = events_of(stream)
            .iter()
            .map(|event| {
                assembler.on_event(event).unwrap();
                assembler.take_streamed()
            })
            .collect();
        let empty = Vec::<ProviderEvent>::new;
        assert_eq!(
            streamed,
            vec![
                empty(),
                empty(),
                empty(),
                vec![ProviderEvent::FirstLine("Planning nine steps".into())],
                empty(),
                empty(),
                // The call shows as soon as its first field is whole, before it stops.
                vec![ProviderEvent::ToolCallStarted {
                    name: "enqueue_task".into(),
                    lead: json!({"type": "install"})
                }],
                vec![ProviderEvent::ToolCallReady {
                    id: "toolu_1".into(),
                    name: "enqueue_task".into(),
                    input: json!({"type": "install"})
                }],
                empty(),
                empty(),
            ]
        );
    }

    #[test]
    fn a_stream_without_message_stop_is_a_transient_failure() {
        let cut = TOOL_STREAM.replace(
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n",
            "",
        );
        assert!(matches!(
            assemble(&cut),
            Err(AttemptError::Transient { .. })
        ));
    }

    #[test]
    fn error_events_are_retried_only_when_transient() {
        let overloaded =
            json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}});
        assert!(matches!(
            stream_error(&overloaded),
            AttemptError::Transient { .. }
        ));
        let invalid =
            json!({"type":"error","error":{"type":"invalid_request_error","message":"bad"}});
        assert!(matches!(
            stream_error(&invalid),
            AttemptError::Fatal(ProviderError::Permanent { status: 400, .. })
        ));
    }

    #[test]
    fn request_body_marks_cached_system_blocks_and_maps_every_block() {
        let request = ModelRequest {
            model: "claude-haiku-4-5".into(),
            system: vec![
                SystemBlock {
                    text: "contract".into(),
                    cache: true,
                },
                SystemBlock {
                    text: "task".into(),
                    cache: false,
                },
            ],
            messages: vec![
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::Text { text: "go".into() }],
                },
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Thinking {
                            thinking: "hm".into(),
                            signature: "sig".into(),
                        },
                        ContentBlock::ToolUse {
                            id: "t1".into(),
                            name: "Read".into(),
                            input: json!({"p": 1}),
                        },
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult {
                        tool_use_id: "t1".into(),
                        content: "nope".into(),
                        is_error: true,
                    }],
                },
            ],
            tools: vec![ToolSpec {
                name: "Read".into(),
                description: "reads".into(),
                input_schema: json!({"type": "object"}),
            }],
            max_tokens: 1000,
            meta: RequestMeta::default(),
            cache_conversation: false,
        };
        let body = request_body(&request);
        assert_eq!(
            body["system"],
            json!([
                {"type": "text", "text": "contract", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "task"}
            ])
        );
        assert_eq!(body["stream"], json!(true));
        assert_eq!(
            body["tools"],
            json!([{"name": "Read", "description": "reads", "input_schema": {"type": "object"}}])
        );
        assert_eq!(
            body["messages"][1]["content"][0],
            json!({"type": "thinking", "thinking": "hm", "signature": "sig"})
        );
        assert_eq!(
            body["messages"][2]["content"][0],
            json!({"type": "tool_result", "tool_use_id": "t1", "content": "nope", "is_error": true})
        );
    }

    #[test]
    fn the_conversation_breakpoint_goes_on_the_last_block_but_never_a_fifth() {
        let block = |cache| SystemBlock {
            text: "s".into(),
            cache,
        };
        let mut request = ModelRequest {
            model: "claude-haiku-4-5".into(),
            system: vec![block(true)],
            messages: vec![
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::Text { text: "go".into() }],
                },
                Message {
                    role: Role::Assistant,
                    content: vec![ContentBlock::ToolUse {
                        id: "t1".into(),
                        name: "Read".into(),
                        input: json!({}),
                    }],
                },
                Message {
                    role: Role::User,
                    content: vec![
                        ContentBlock::ToolResult {
                            tool_use_id: "t1".into(),
                            content: "a".into(),
                            is_error: false,
                        },
                        ContentBlock::Text { text: "b".into() },
                    ],
                },
            ],
            tools: vec![],
            max_tokens: 10,
            meta: RequestMeta::default(),
            cache_conversation: true,
        };
        let marked = |body: &Value| -> Vec<(usize, usize)> {
            let mut at = Vec::new();
            for (m, message) in body["messages"].as_array().unwrap().iter().enumerate() {
                for (b, block) in message["content"].as_array().unwrap().iter().enumerate() {
                    if block.get("cache_control").is_some() {
                        at.push((m, b));
                    }
                }
            }
            at
        };
        assert_eq!(marked(&request_body(&request)), vec![(2, 1)]);
        assert_eq!(
            request_body(&request)["messages"][2]["content"][1]["cache_control"],
            json!({"type": "ephemeral"})
        );

        request.messages[2].content = vec![ContentBlock::Thinking {
            thinking: "t".into(),
            signature: "s".into(),
        }];
        request.messages[2]
            .content
            .insert(0, ContentBlock::Text { text: "x".into() });
        assert_eq!(
            marked(&request_body(&request)),
            vec![(2, 0)],
            "a thinking block cannot carry cache_control"
        );

        request.system = vec![block(true), block(true), block(true), block(true)];
        assert!(
            marked(&request_body(&request)).is_empty(),
            "four system breakpoints leave no room"
        );
        request.cache_conversation = false;
        request.system = vec![block(true)];
        assert!(marked(&request_body(&request)).is_empty());
    }

    #[test]
    fn a_non_streamed_message_is_understood() {
        let message = json!({
            "model": "claude-haiku-4-5-20251001", "type": "message", "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_A", "name": "get_weather",
                         "input": {"location": "San Francisco, CA", "units": "f"}}],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 656, "output_tokens": 74}
        });
        let response = response_from_message(&message, "claude-haiku-4-5").unwrap();
        assert_eq!(
            response.content,
            vec![ContentBlock::ToolUse {
                id: "toolu_A".into(),
                name: "get_weather".into(),
                input: json!({"location": "San Francisco, CA", "units": "f"}),
            }]
        );
        assert_eq!(response.usage.input_tokens, 656);
        assert_eq!(response.model, "claude-haiku-4-5-20251001");
    }

    #[test]
    fn env_prefers_the_auth_token_and_defaults_the_base_url() {
        let env = |name: &str| match name {
            "ANTHROPIC_AUTH_TOKEN" => Some("tok".to_string()),
            "ANTHROPIC_API_KEY" => Some("key".to_string()),
            _ => None,
        };
        let config = AnthropicConfig::from_env_with(env).unwrap();
        assert!(matches!(
            config.credential,
            AnthropicCredential::AuthToken(_)
        ));
        assert_eq!(config.base_url, DEFAULT_BASE_URL);
        assert!(AnthropicConfig::from_env_with(|_| None).is_none());
    }

    #[test]
    fn error_message_reads_the_envelope_or_falls_back_to_the_body() {
        assert_eq!(
            error_message(
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"bad field"}}"#
            ),
            Some("invalid_request_error: bad field".into())
        );
        assert_eq!(
            error_message("<html>413</html>"),
            Some("<html>413</html>".into())
        );
        assert_eq!(error_message("  "), None);
    }
}
