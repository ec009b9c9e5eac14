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
    /// The first line of the answer's text is whole (sent at most once per attempt), so
    /// the UI can say what the model is doing before its answer ends.
    FirstLine(String),
    /// A tool call finished streaming: its input is whole and a JSON object. The same
    /// call is also in the final [`ModelResponse`]; an agent may run it at once instead
    /// of waiting for the answer's end (see `agent::early_calls`). A retried attempt
    /// reports its calls again.
    /// A tool call started streaming: its name, and its leading field once that field's
    /// value is whole (`{"file_path": "app/page.tsx"}`; `{}` when the input does not open
    /// with a string). Sent at most once per call, long before a big `Write` or handoff
    /// has finished streaming, so the UI can say what comes instead of sitting still.
    ToolCallStarted {
        /// Tool name.
        name: String,
        /// The input's first field, or `{}`.
        lead: Value,
    },
    ToolCallReady {
        /// Call id (as this attempt named it).
        id: String,
        /// Tool name.
        name: String,
        /// Arguments.
        input: Value,
    },
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

/// Watches an answer's text while it streams and says, once, when its first
/// non-empty line is whole: at a line break, or when the text is `whole` (its block ended).
#[derive(Debug, Default)]
pub(crate) struct FirstLineWatch {
    sent: bool,
}

impl FirstLineWatch {
    /// The [`ProviderEvent::FirstLine`] to send now, if this is the moment.
    pub(crate) fn check(&mut self, text: &str, whole: bool) -> Option<ProviderEvent> {
        if self.sent {
            return None;
        }
        let mut pieces: Vec<&str> = text.split('\n').collect();
        if !whole {
            // The piece after the last line break is still being written.
            pieces.pop();
        }
        let line = pieces.into_iter().map(str::trim).find(|l| !l.is_empty())?;
        self.sent = true;
        Some(ProviderEvent::FirstLine(line.to_string()))
    }
}

/// The first field of a tool input that is still streaming, once it can be known: `None`
/// while the first key or its string value is incomplete; `{key: value}` once a string
/// value is whole; `{}` when the input opens with another kind of value or no field.
pub(crate) fn leading_field(json_prefix: &str) -> Option<Value> {
    let rest = json_prefix.trim_start().strip_prefix('{')?.trim_start();
    if rest.starts_with('}') {
        return Some(Value::Object(Default::default()));
    }
    let (key, rest) = whole_string(rest)?;
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    if rest.is_empty() {
        return None;
    }
    let mut lead = serde_json::Map::new();
    if rest.starts_with('"') {
        let (value, _) = whole_string(rest)?;
        lead.insert(key, Value::String(value));
    }
    Some(Value::Object(lead))
}

/// A JSON string at the start of `text` (which starts with `"`), decoded, and what follows
/// it; `None` while its closing quote has not arrived.
fn whole_string(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => {
                let end = i + 2; // the opening quote, the body, the closing quote
                let decoded = serde_json::from_str(&text[..end]).ok()?;
                return Some((decoded, &text[end..]));
            }
            _ => {}
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_is_told_once_when_it_is_whole() {
        let mut watch = FirstLineWatch::default();
        assert_eq!(watch.check("\n  ", false), None, "nothing written yet");
        assert_eq!(
            watch.check("\n  Planning nine", false),
            None,
            "still being written"
        );
        assert_eq!(
            watch.check("\n  Planning nine steps\nthen", false),
            Some(ProviderEvent::FirstLine("Planning nine steps".into()))
        );
        assert_eq!(
            watch.check("\n  Planning nine steps\nthen more", true),
            None
        );

        let mut whole = FirstLineWatch::default();
        assert_eq!(
            whole.check("One line, no break", true),
            Some(ProviderEvent::FirstLine("One line, no break".into()))
        );
    }

    #[test]
    fn the_leading_field_is_known_once_its_value_is_whole() {
        let lead = |prefix: &str| leading_field(prefix);
        assert_eq!(lead(""), None);
        assert_eq!(lead("{\"file_pa"), None, "the key is incomplete");
        assert_eq!(
            lead("{\"file_path\": \"app/pa"),
            None,
            "the value is incomplete"
        );
        assert_eq!(
            lead("{\"file_path\": \"app/\\\"q\\\".ts\", \"cont"),
            Some(serde_json::json!({"file_path": "app/\"q\".ts"})),
            "escaped quotes do not end the value"
        );
        assert_eq!(
            lead(" { \"values\" : {\"A\": 1"),
            Some(serde_json::json!({})),
            "a first value that is not a string says nothing but that the call started"
        );
        assert_eq!(lead("{}"), Some(serde_json::json!({})));
    }
}
