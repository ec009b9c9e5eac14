//! The provider-neutral conversation types and the [`ModelClient`] trait.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::messages::Usage;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The agent runtime (prompts, tool results).
    User,
    /// The model.
    Assistant,
}

/// One block of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// The model asks for a tool call.
    ToolUse {
        /// Call id, echoed in the result.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments (a JSON object).
        input: Value,
    },
    /// The result of a tool call.
    ToolResult {
        /// The call it answers.
        tool_use_id: String,
        /// What the tool returned (or the error text).
        content: String,
        /// True when the tool refused or failed.
        is_error: bool,
    },
    /// Extended thinking, kept so it can be sent back verbatim.
    Thinking {
        /// The thinking text.
        thinking: String,
        /// The signature the API requires when echoing it back.
        signature: String,
    },
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: Vec<ContentBlock>,
}

/// A piece of the system prompt. `cache` marks the end of a cacheable prefix
/// (Anthropic `cache_control: {type: "ephemeral"}` on this block).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemBlock {
    /// The text.
    pub text: String,
    /// True when a cache breakpoint follows this block.
    pub cache: bool,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The name the model uses.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of its input object.
    pub input_schema: Value,
}

/// Who a request is for; lets the replay provider pick its script and logs attribute it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RequestMeta {
    /// The task id (`seed` for the seeding agent, `linear` for the linear runner).
    pub task_id: String,
    /// The task type (`seed`, `linear`, or an agent type).
    pub task_type: String,
}

/// One request to a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRequest {
    /// A concrete model id.
    pub model: String,
    /// The system prompt, in blocks.
    pub system: Vec<SystemBlock>,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    pub tools: Vec<ToolSpec>,
    /// Output limit.
    pub max_tokens: u32,
    /// Who the request is for.
    pub meta: RequestMeta,
    /// Put a cache breakpoint on the conversation (the last block of the last
    /// message), so each turn of an agent loop reads the previous turn from the
    /// cache and writes only what it appended.
    #[serde(default)]
    pub cache_conversation: bool,
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// It finished its turn.
    EndTurn,
    /// It wants tool results.
    ToolUse,
    /// It hit `max_tokens`.
    MaxTokens,
    /// A stop sequence.
    StopSequence,
    /// It refused.
    Refusal,
    /// Anything else the server said.
    Other(String),
}

/// A complete model answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelResponse {
    /// What the model said, in order.
    pub content: Vec<ContentBlock>,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// Tokens this request used.
    pub usage: Usage,
    /// The model that answered (as the server names it).
    pub model: String,
}

/// Progress a client reports while a request is in flight.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderEvent {
    /// The first byte of the answer arrived.
    FirstToken,
    /// A transient failure; the client waits and tries again.
    Retrying {
        /// Which retry this is (1-based).
        attempt: u32,
        /// How long it waits first.
        wait_ms: u64,
        /// What went wrong ("429 rate limited", "stream stalled").
        reason: String,
    },
}

/// Why a request failed for good.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ProviderError {
    /// The key was rejected (401/403): the run cannot go on.
    #[error("the model provider rejected the API key ({status}): {message}")]
    Auth {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// A request the server will never accept (400, 404, 413…).
    #[error("the model provider refused the request ({status}): {message}")]
    Permanent {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// Retries ran out on a transient failure.
    #[error("the model provider kept failing after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The answer could not be understood.
    #[error("the model provider sent something unreadable: {0}")]
    Protocol(String),
    /// The replay cassette has no answer for this request.
    #[error("the replay cassette has no turn for this request: {0}")]
    Script(String),
}

impl ProviderError {
    /// True when no later request can succeed either (a rejected key).
    pub fn is_fatal(&self) -> bool {
        matches!(self, ProviderError::Auth { .. })
    }
}

/// A model behind some wire format.
#[async_trait]
pub trait ModelClient: Send + Sync {
    /// Sends one request and returns the whole answer, reporting retries through `progress`.
    async fn complete(
        &self,
        request: &ModelRequest,
        progress: &(dyn Fn(ProviderEvent) + Send + Sync),
    ) -> Result<ModelResponse, ProviderError>;

    /// The provider's name (`anthropic`, `openai`, `replay`).
    fn name(&self) -> &'static str;
}
