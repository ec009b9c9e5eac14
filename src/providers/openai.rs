//! The OpenAI-compatible Chat Completions client (`POST {base}/chat/completions`, streaming).
//!
//! Written for "any OpenAI-compatible server" (llama.cpp, vLLM, Ollama,
//! gateways), so the stream reader is forgiving where servers differ and
//! strict where silence would hide a failure:
//! * tool-call deltas are joined by `index`; the id and name are taken once
//!   (some servers repeat them in every delta), arguments are concatenated;
//! * usage comes from the final `choices: []` chunk (`include_usage`); when a
//!   server never sends it the usage stays zero and a warning is logged;
//! * a stream that ends without a `finish_reason` is truncated (some servers
//!   end a failed stream with a bare 200 or a lone `[DONE]`) and is retried;
//! * an `error` object inside the stream, in any of the shapes of OpenAI,
//!   llama.cpp, vLLM or Ollama, fails the attempt with the same retry rules
//!   as an HTTP error;
//! * arguments that are not valid JSON (cut by `max_tokens`) drop that call
//!   and report [`StopReason::MaxTokens`], so no tool runs on half an input.
//!
//! The request side joins the system blocks into one system message, sends
//! tool results as `role: tool` messages and assistant tool calls as
//! `tool_calls` (with `content: ""`, never `null`, which some servers reject).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use async_trait::async_trait;
use eventsource_stream::Event;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use super::credential::ApiSecret;
use super::http::{AnswerFold, Endpoint, HttpApi, HttpModelClient};
use super::retry::{classify_status, with_retries, AttemptError, RetryPolicy};
use super::types::{
    leading_field, ContentBlock, FirstLineWatch, Message, ModelClient, ModelRequest, ModelResponse,
    ProviderError, ProviderEvent, Role, StopReason,
};
use crate::messages::Usage;

/// The public OpenAI API's address (the base includes `/v1`).
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// Where and how to reach a Chat Completions server.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Base URL including the version path, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// Sent as `Authorization: Bearer` when set (local servers often need none).
    pub api_key: Option<ApiSecret>,
    /// Retry and stall rules.
    pub retry: RetryPolicy,
    /// Extra headers sent with every request; never secrets.
    pub extra_headers: Vec<(String, String)>,
}

impl OpenAiConfig {
    /// A config for `base_url` with default retries.
    pub fn new(base_url: impl Into<String>, api_key: Option<ApiSecret>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            api_key,
            retry: RetryPolicy::default(),
            extra_headers: Vec::new(),
        }
    }

    /// Reads `OPENAI_BASE_URL` and `OPENAI_API_KEY` through `lookup`; `None`
    /// when neither is set.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let base = set("OPENAI_BASE_URL");
        let key = set("OPENAI_API_KEY").map(ApiSecret::new);
        if base.is_none() && key.is_none() {
            return None;
        }
        let mut config =
            OpenAiConfig::new(base.unwrap_or_else(|| DEFAULT_BASE_URL.to_string()), key);
        config.retry = RetryPolicy::from_env_with(&lookup);
        Some(config)
    }

    /// [`OpenAiConfig::from_env_with`] over the process environment.
    pub fn from_env() -> Option<Self> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }
}

impl HttpApi for OpenAiConfig {
    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(key) => request.bearer_auth(key.expose()),
            None => request,
        }
    }

    const ERROR_MESSAGE: fn(&str) -> Option<String> = error_message;

    fn endpoint(&self) -> Endpoint<'_> {
        Endpoint::of(&self.base_url, &self.retry, &self.extra_headers)
    }
}

/// A [`ModelClient`] for OpenAI-compatible Chat Completions servers.
pub type OpenAiClient = HttpModelClient<OpenAiConfig>;

impl OpenAiClient {
    /// Checks that the server is reachable and accepts the key (`GET {base}/models`).
    pub async fn check_auth(&self) -> Result<(), ProviderError> {
        self.check_credential("/models").await
    }

    async fn attempt(
        &self,
        body: &Value,
        request_model: &str,
        progress: &(dyn Fn(ProviderEvent) + Send + Sync),
        first_token: &AtomicBool,
    ) -> Result<ModelResponse, AttemptError> {
        let response = self
            .send(
                self.request(reqwest::Method::POST, "/chat/completions")
                    .json(body),
            )
            .await?;
        self.read_answer::<ChunkAssembler>(response, request_model, progress, first_token)
            .await
    }
}

#[async_trait]
impl ModelClient for OpenAiClient {
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
    }

    fn name(&self) -> &'static str {
        "openai"
    }
}

/// The message of an error body in any known shape: `{"error":{"message"}}`
/// (OpenAI, llama.cpp, vLLM, Ollama), `{"error":"…"}`, flat `{"message"}`
/// (old vLLM), `{"detail"}` (FastAPI servers), else the body itself.
pub(crate) fn error_message(body: &str) -> Option<String> {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return None;
    }
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        if let Some(message) = error_object_message(&value) {
            return Some(message);
        }
    }
    Some(trimmed.chars().take(300).collect())
}

fn error_object_message(value: &Value) -> Option<String> {
    let error = value.get("error").unwrap_or(value);
    if let Some(text) = error.as_str() {
        return Some(text.to_string());
    }
    let message = error["message"]
        .as_str()
        .or_else(|| value["detail"].as_str())?;
    Some(match error["type"].as_str() {
        Some(kind) => format!("{kind}: {message}"),
        None => message.to_string(),
    })
}

/// The HTTP status an in-stream error stands for: its integer `code`
/// (llama.cpp, vLLM), else what its `type` or string `code` names.
fn stream_error_status(error: &Value) -> u16 {
    if let Some(code) = error["code"].as_u64().filter(|c| (100..600).contains(c)) {
        return code as u16;
    }
    let names = [error["type"].as_str(), error["code"].as_str()];
    for name in names.into_iter().flatten() {
        let status = match name {
            "invalid_request_error"
            | "BadRequestError"
            | "exceed_context_size_error"
            | "context_length_exceeded" => 400,
            "authentication_error" | "AuthenticationError" | "invalid_api_key" => 401,
            "permission_error" | "PermissionDeniedError" => 403,
            "not_found_error" | "NotFoundError" | "model_not_found" => 404,
            "rate_limit_error" | "rate_limit_exceeded" | "RateLimitError" => 429,
            "not_supported_error" => 501,
            "unavailable_error" | "ServiceUnavailableError" | "overloaded_error" => 503,
            _ => continue,
        };
        return status;
    }
    // Anything else went wrong on the server's side mid-answer.
    500
}

/// The wire JSON for `request` (always streamed, with usage).
pub fn request_body(request: &ModelRequest) -> Value {
    let mut messages = Vec::new();
    if !request.system.is_empty() {
        let system: Vec<&str> = request.system.iter().map(|b| b.text.as_str()).collect();
        messages.push(json!({"role": "system", "content": system.join("\n\n")}));
    }
    for message in &request.messages {
        messages.extend(message_to_wire(message));
    }
    let mut body = json!({
        "model": request.model,
        "messages": messages,
        "max_tokens": request.max_tokens,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.input_schema,
                    }
                })
            })
            .collect();
        body["tools"] = Value::Array(tools);
    }
    body
}

/// One neutral message as one or more wire messages: tool results become
/// `role: tool` messages (first, since they must follow the assistant's calls).
fn message_to_wire(message: &Message) -> Vec<Value> {
    let texts: Vec<&str> = message
        .content
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    match message.role {
        Role::User => {
            let mut wire: Vec<Value> = message
                .content
                .iter()
                .filter_map(|block| match block {
                    ContentBlock::ToolResult {
                        tool_use_id,
                        content,
                        is_error,
                    } => {
                        // Chat Completions has no error flag; say it in the content.
                        let content = if *is_error {
                            format!("Error: {content}")
                        } else {
                            content.clone()
                        };
                        Some(json!({"role": "tool", "tool_call_id": tool_use_id, "content": content}))
                    }
                    _ => None,
                })
                .collect();
            if !texts.is_empty() {
                wire.push(json!({"role": "user", "content": texts.join("\n\n")}));
            }
            wire
        }
        Role::Assistant => {
            let calls: Vec<Value> = message
                .content
                .iter()
                .filter_map(|block| match block {
                    ContentBlock::ToolUse { id, name, input } => Some(json!({
                        "id": id,
                        "type": "function",
                        "function": {"name": name, "arguments": input.to_string()},
                    })),
                    _ => None,
                })
                .collect();
            let mut wire = json!({"role": "assistant", "content": texts.join("\n\n")});
            if !calls.is_empty() {
                wire["tool_calls"] = Value::Array(calls);
            }
            vec![wire]
        }
    }
}

/// A tool call while its deltas are arriving.
#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
    /// Reported as finished while the answer streamed.
    reported: bool,
    /// Its [`ProviderEvent::ToolCallStarted`] was sent.
    announced: bool,
}

/// Folds the chunks of one streamed answer into a [`ModelResponse`].
#[derive(Debug, Default)]
pub(crate) struct ChunkAssembler {
    model: Option<String>,
    text: String,
    calls: BTreeMap<u64, PartialCall>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
    done: bool,
    /// What the client may report before the answer ends (finished tool calls, the first line).
    streamed: Vec<ProviderEvent>,
    first_line: FirstLineWatch,
}

impl AnswerFold for ChunkAssembler {
    fn apply(&mut self, event: &Event) -> Result<(), AttemptError> {
        self.on_event(&event.event, &event.data)
    }

    fn take_streamed(&mut self) -> Vec<ProviderEvent> {
        ChunkAssembler::take_streamed(self)
    }

    fn is_finished(&self) -> bool {
        self.done
    }

    fn finish(self, request_model: &str) -> Result<ModelResponse, AttemptError> {
        ChunkAssembler::finish(self, request_model)
    }
}

impl ChunkAssembler {
    /// The events that became known since the last call, in stream order.
    pub(crate) fn take_streamed(&mut self) -> Vec<ProviderEvent> {
        std::mem::take(&mut self.streamed)
    }

    /// Chat Completions streams tool calls one after another, keyed by index, with no
    /// "call ended" event: a call is whole once a later one starts. Its arguments must
    /// also parse as a JSON object (a server that interleaves calls never gets a half).
    fn report_calls_before(&mut self, index: u64) {
        for (&at, call) in self.calls.range_mut(..index) {
            if call.reported {
                continue;
            }
            let input = match call.arguments.trim() {
                "" => Some(json!({})),
                text => serde_json::from_str::<Value>(text)
                    .ok()
                    .filter(Value::is_object),
            };
            if let Some(input) = input {
                call.reported = true;
                self.streamed.push(ProviderEvent::ToolCallReady {
                    id: call_id(&call.id, at),
                    name: call.name.clone(),
                    input,
                });
            }
        }
    }

    /// Applies one SSE event (`event` is its name, `data` its payload).
    pub(crate) fn on_event(&mut self, event: &str, data: &str) -> Result<(), AttemptError> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|e| AttemptError::transient(format!("malformed chunk: {e}")))?;
        if chunk.get("error").is_some() || event == "error" {
            let error = chunk.get("error").unwrap_or(&chunk);
            let message = error_object_message(&chunk).unwrap_or_else(|| error.to_string());
            return Err(classify_status(
                stream_error_status(error),
                &HeaderMap::new(),
                format!("error in the stream: {message}"),
            ));
        }
        if let Some(model) = chunk["model"].as_str() {
            self.model = Some(model.to_string());
        }
        if chunk["usage"].is_object() {
            self.usage = Some(usage_from_wire(&chunk["usage"]));
        }
        let choices = chunk["choices"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        // We ask for one choice; any other index is not ours.
        for choice in choices
            .iter()
            .filter(|c| c["index"].as_u64().unwrap_or(0) == 0)
        {
            let delta = &choice["delta"];
            if let Some(text) = delta["content"].as_str() {
                self.text.push_str(text);
                self.streamed
                    .extend(self.first_line.check(&self.text, false));
            }
            let tool_calls = delta["tool_calls"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            if !tool_calls.is_empty() {
                // The text comes before the calls: it is whole now.
                self.streamed
                    .extend(self.first_line.check(&self.text, true));
            }
            for (position, call) in tool_calls.iter().enumerate() {
                let index = call["index"].as_u64().unwrap_or(position as u64);
                if !self.calls.contains_key(&index) {
                    self.report_calls_before(index);
                }
                let partial = self.calls.entry(index).or_default();
                let set_once = |slot: &mut String, value: Option<&str>| {
                    if let Some(value) = value.filter(|v| !v.is_empty()) {
                        if slot.is_empty() {
                            *slot = value.to_string();
                        }
                    }
                };
                set_once(&mut partial.id, call["id"].as_str());
                set_once(&mut partial.name, call["function"]["name"].as_str());
                if let Some(fragment) = call["function"]["arguments"].as_str() {
                    partial.arguments.push_str(fragment);
                }
                if !partial.announced && !partial.name.is_empty() {
                    if let Some(lead) = leading_field(&partial.arguments) {
                        partial.announced = true;
                        self.streamed.push(ProviderEvent::ToolCallStarted {
                            name: partial.name.clone(),
                            lead,
                        });
                    }
                }
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                self.finish_reason = Some(reason.to_string());
            }
        }
        Ok(())
    }

    /// The finished answer; a transient failure when the stream never said why it stopped.
    pub(crate) fn finish(self, request_model: &str) -> Result<ModelResponse, AttemptError> {
        let Some(finish_reason) = self.finish_reason else {
            return Err(AttemptError::transient(if self.done {
                "stream ended with [DONE] but without a finish_reason (truncated)"
            } else {
                "stream ended without a finish_reason"
            }));
        };
        let mut content = Vec::new();
        if !self.text.is_empty() {
            content.push(ContentBlock::Text { text: self.text });
        }
        let mut cut_short = false;
        for (index, call) in self.calls {
            let input = if call.arguments.trim().is_empty() {
                Ok(json!({}))
            } else {
                serde_json::from_str::<Value>(&call.arguments)
            };
            match input {
                Ok(input) => content.push(ContentBlock::ToolUse {
                    id: call_id(&call.id, index),
                    name: call.name,
                    input,
                }),
                Err(_) => {
                    tracing::warn!(tool = %call.name, "dropping a tool call whose arguments are not valid JSON");
                    cut_short = true;
                }
            }
        }
        let has_calls = content
            .iter()
            .any(|b| matches!(b, ContentBlock::ToolUse { .. }));
        let stop_reason = match finish_reason.as_str() {
            _ if cut_short => StopReason::MaxTokens,
            "length" => StopReason::MaxTokens,
            "tool_calls" | "function_call" => StopReason::ToolUse,
            "stop" if has_calls => StopReason::ToolUse,
            "stop" => StopReason::EndTurn,
            "content_filter" => StopReason::Refusal,
            other => StopReason::Other(other.to_string()),
        };
        let usage = self.usage.unwrap_or_else(|| {
            tracing::warn!("the server sent no usage for this answer; counting zero tokens");
            Usage::default()
        });
        Ok(ModelResponse {
            content,
            stop_reason,
            usage,
            model: self.model.unwrap_or_else(|| request_model.to_string()),
        })
    }
}

/// The call's id, or one made from its index when the server sent none.
fn call_id(id: &str, index: u64) -> String {
    if id.is_empty() {
        format!("call_{index}")
    } else {
        id.to_string()
    }
}

/// `prompt_tokens` counts cached tokens too; ours are split into uncached and cached.
fn usage_from_wire(wire: &Value) -> Usage {
    let prompt = wire["prompt_tokens"].as_u64().unwrap_or(0);
    let cached = wire["prompt_tokens_details"]["cached_tokens"]
        .as_u64()
        .unwrap_or(0);
    Usage {
        input_tokens: prompt.saturating_sub(cached),
        output_tokens: wire["completion_tokens"].as_u64().unwrap_or(0),
        cache_read_tokens: cached,
        cache_write_tokens: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::types::{RequestMeta, SystemBlock};

    fn feed(chunks: &[&str]) -> Result<ModelResponse, AttemptError> {
        let mut assembler = ChunkAssembler::default();
        for chunk in chunks {
            assembler.on_event("message", chunk)?;
        }
        assembler.finish("local")
    }

    #[test]
    fn repeated_ids_and_names_are_taken_once() {
        let response = feed(&[
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"complete_task","arguments":"{\"a\""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"complete_task","arguments":":1}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            "[DONE]",
        ])
        .unwrap();
        assert_eq!(
            response.content,
            vec![ContentBlock::ToolUse {
                id: "c1".into(),
                name: "complete_task".into(),
                input: json!({"a": 1})
            }]
        );
        assert_eq!(response.stop_reason, StopReason::ToolUse);
    }

    #[test]
    fn a_call_is_reported_once_the_next_one_starts_and_the_text_once_a_call_starts() {
        let mut assembler = ChunkAssembler::default();
        let mut streamed = Vec::new();
        let mut step = |assembler: &mut ChunkAssembler, chunk: &str| {
            assembler.on_event("message", chunk).unwrap();
            streamed.push(assembler.take_streamed());
        };
        step(
            &mut assembler,
            r#"{"choices":[{"index":0,"delta":{"content":"Planning two tasks"}}]}"#,
        );
        step(
            &mut assembler,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"enqueue_task","arguments":"{\"type\":"}}]}}]}"#,
        );
        step(
            &mut assembler,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"install\"}"}}]}}]}"#,
        );
        step(
            &mut assembler,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"c2","function":{"name":"enqueue_task","arguments":"{\"type\":\"init\"}"}}]}}]}"#,
        );
        step(
            &mut assembler,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        );
        assert_eq!(
            streamed,
            vec![
                vec![],
                vec![ProviderEvent::FirstLine("Planning two tasks".into())],
                // A call shows once its first field is whole, before it is.
                vec![ProviderEvent::ToolCallStarted {
                    name: "enqueue_task".into(),
                    lead: json!({"type": "install"})
                }],
                vec![
                    ProviderEvent::ToolCallReady {
                        id: "c1".into(),
                        name: "enqueue_task".into(),
                        input: json!({"type": "install"})
                    },
                    ProviderEvent::ToolCallStarted {
                        name: "enqueue_task".into(),
                        lead: json!({"type": "init"})
                    }
                ],
                vec![],
            ]
        );
        // The last call is in the answer, as always.
        let response = assembler.finish("local").unwrap();
        assert_eq!(response.content.len(), 3);
    }

    #[test]
    fn a_call_with_broken_arguments_is_never_reported_early() {
        let mut assembler = ChunkAssembler::default();
        for chunk in [
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"enqueue_task","arguments":"{\"type\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"c2","function":{"name":"enqueue_task","arguments":"{}"}}]}}]}"#,
        ] {
            assembler.on_event("message", chunk).unwrap();
        }
        let ready: Vec<ProviderEvent> = assembler
            .take_streamed()
            .into_iter()
            .filter(|e| matches!(e, ProviderEvent::ToolCallReady { .. }))
            .collect();
        assert_eq!(ready, vec![]);
    }

    #[test]
    fn done_without_a_finish_reason_is_truncated() {
        let result = feed(&[
            r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#,
            "[DONE]",
        ]);
        assert!(matches!(result, Err(AttemptError::Transient { .. })));
    }

    #[test]
    fn arguments_cut_short_drop_the_call_and_report_max_tokens() {
        let response = feed(&[
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"Write","arguments":"{\"path\": \"a"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        ])
        .unwrap();
        assert!(response.content.is_empty());
        assert_eq!(response.stop_reason, StopReason::MaxTokens);
    }

    #[test]
    fn in_stream_errors_keep_their_retry_class() {
        let mut assembler = ChunkAssembler::default();
        let vllm =
            r#"{"error":{"message":"boom","type":"InternalServerError","param":null,"code":500}}"#;
        assert!(matches!(
            assembler.on_event("message", vllm),
            Err(AttemptError::Transient { .. })
        ));
        let openai = r#"{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}"#;
        assert!(matches!(
            assembler.on_event("message", openai),
            Err(AttemptError::Fatal(ProviderError::Permanent {
                status: 400,
                ..
            }))
        ));
    }

    #[test]
    fn error_message_reads_every_known_shape() {
        assert_eq!(
            error_message(r#"{"error":{"message":"m","type":"t"}}"#),
            Some("t: m".into())
        );
        assert_eq!(
            error_message(r#"{"object":"error","message":"flat","type":"BadRequestError"}"#),
            Some("BadRequestError: flat".into())
        );
        assert_eq!(
            error_message(r#"{"detail":"Invalid API key"}"#),
            Some("Invalid API key".into())
        );
        assert_eq!(
            error_message("Internal Server Error"),
            Some("Internal Server Error".into())
        );
    }

    #[test]
    fn conversation_maps_to_chat_messages() {
        let request = ModelRequest {
            model: "local".into(),
            system: vec![
                SystemBlock {
                    text: "a".into(),
                    cache: true,
                },
                SystemBlock {
                    text: "b".into(),
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
                    content: vec![ContentBlock::ToolUse {
                        id: "c1".into(),
                        name: "Read".into(),
                        input: json!({"p": "x"}),
                    }],
                },
                Message {
                    role: Role::User,
                    content: vec![
                        ContentBlock::ToolResult {
                            tool_use_id: "c1".into(),
                            content: "missing".into(),
                            is_error: true,
                        },
                        ContentBlock::Text {
                            text: "next".into(),
                        },
                    ],
                },
            ],
            tools: vec![],
            max_tokens: 10,
            meta: RequestMeta::default(),
            cache_conversation: false,
        };
        let body = request_body(&request);
        assert_eq!(
            body["messages"],
            json!([
                {"role": "system", "content": "a\n\nb"},
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "Read", "arguments": "{\"p\":\"x\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "c1", "content": "Error: missing"},
                {"role": "user", "content": "next"}
            ])
        );
        assert!(body.get("tools").is_none());
    }
}
