//! Well-formed streamed answers built from a list of blocks, in either wire format.
//!
//! Tests of the agent loop, end-to-end runs and benchmarks script whole runs
//! with these instead of hand-writing SSE. The streams follow the documented
//! event order (wire reference §1.4 and §2.3): for Anthropic `message_start`,
//! then per block `content_block_start` / deltas / `content_block_stop` (a
//! `ping` after the first start, tool input as `input_json_delta` fragments
//! starting with `""`, thinking with a `signature_delta` before its stop),
//! `message_delta` with the stop reason and cumulative usage, `message_stop`;
//! for OpenAI `data:`-only chunks sharing one id, tool calls keyed by index
//! with id and name in the first delta only, a finish chunk, the usage chunk
//! (`choices: []`) and `data: [DONE]`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

use crate::reply::{Reply, SseBody};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// One block of a scripted answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Text.
    Text(String),
    /// A tool call.
    ToolUse {
        /// Call id.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments.
        input: Value,
    },
    /// Extended thinking (Anthropic only; OpenAI streams leave it out).
    Thinking {
        /// The thinking text.
        thinking: String,
        /// Its signature.
        signature: String,
    },
}

/// Token counts a scripted answer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FakeUsage {
    /// Uncached input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Input tokens read from the cache.
    pub cache_read: u64,
    /// Input tokens written to the cache.
    pub cache_write: u64,
}

/// A whole scripted model answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// What the model says, in order.
    pub blocks: Vec<Block>,
    /// Usage; `output` is estimated from the blocks when left at 0.
    pub usage: FakeUsage,
    /// The model id the stream names.
    pub model: String,
    /// The wire stop reason; derived from the blocks when `None`
    /// (`tool_use`/`tool_calls` with tool calls, else `end_turn`/`stop`).
    pub stop_reason: Option<String>,
}

impl Default for Answer {
    fn default() -> Self {
        Answer {
            blocks: Vec::new(),
            usage: FakeUsage {
                input: 100,
                ..FakeUsage::default()
            },
            model: "fake-model".into(),
            stop_reason: None,
        }
    }
}

impl Answer {
    /// An empty answer; add blocks with the `with_*` methods.
    pub fn new() -> Self {
        Answer::default()
    }

    /// An answer that is just `text`.
    pub fn text(text: impl Into<String>) -> Self {
        Answer::new().with_text(text)
    }

    /// An answer that is one tool call.
    pub fn tool(name: impl Into<String>, input: Value) -> Self {
        Answer::new().with_tool(name, input)
    }

    /// Adds a text block.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Text(text.into()));
        self
    }

    /// Adds a tool call with a generated id (`toolu_fake_<n>`).
    pub fn with_tool(self, name: impl Into<String>, input: Value) -> Self {
        let id = format!("toolu_fake_{}", next_id());
        self.with_tool_id(id, name, input)
    }

    /// Adds a tool call with a given id.
    pub fn with_tool_id(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        input: Value,
    ) -> Self {
        self.blocks.push(Block::ToolUse {
            id: id.into(),
            name: name.into(),
            input,
        });
        self
    }

    /// Adds a thinking block.
    pub fn with_thinking(
        mut self,
        thinking: impl Into<String>,
        signature: impl Into<String>,
    ) -> Self {
        self.blocks.push(Block::Thinking {
            thinking: thinking.into(),
            signature: signature.into(),
        });
        self
    }

    /// Sets the reported usage.
    pub fn with_usage(mut self, usage: FakeUsage) -> Self {
        self.usage = usage;
        self
    }

    /// Sets the wire stop reason (`max_tokens`, `refusal`, `length`…).
    pub fn with_stop_reason(mut self, reason: impl Into<String>) -> Self {
        self.stop_reason = Some(reason.into());
        self
    }

    /// Sets the model id the stream names.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    fn has_tool_calls(&self) -> bool {
        self.blocks
            .iter()
            .any(|b| matches!(b, Block::ToolUse { .. }))
    }

    /// Output tokens: as set, or about a quarter of the characters said.
    pub fn output_tokens(&self) -> u64 {
        if self.usage.output > 0 {
            return self.usage.output;
        }
        let chars: usize = self
            .blocks
            .iter()
            .map(|block| match block {
                Block::Text(text) => text.len(),
                Block::ToolUse { name, input, .. } => name.len() + input.to_string().len(),
                Block::Thinking { thinking, .. } => thinking.len(),
            })
            .sum();
        (chars as u64).div_ceil(4).max(1)
    }

    /// The answer as an Anthropic Messages stream.
    pub fn to_anthropic_sse(&self) -> String {
        let mut out = String::new();
        let mut event = |name: &str, data: Value| {
            out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
        };
        event(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": format!("msg_fake_{}", next_id()), "type": "message", "role": "assistant",
                "model": self.model, "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {
                    "input_tokens": self.usage.input,
                    "cache_creation_input_tokens": self.usage.cache_write,
                    "cache_read_input_tokens": self.usage.cache_read,
                    "output_tokens": 1,
                }
            }}),
        );
        for (index, block) in self.blocks.iter().enumerate() {
            let delta = |delta: Value| json!({"type": "content_block_delta", "index": index, "delta": delta});
            match block {
                Block::Text(text) => {
                    event(
                        "content_block_start",
                        json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
                    );
                    if index == 0 {
                        event("ping", json!({"type": "ping"}));
                    }
                    for piece in pieces(text, 24) {
                        event(
                            "content_block_delta",
                            delta(json!({"type": "text_delta", "text": piece})),
                        );
                    }
                }
                Block::ToolUse { id, name, input } => {
                    event(
                        "content_block_start",
                        json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
                    );
                    if index == 0 {
                        event("ping", json!({"type": "ping"}));
                    }
                    event(
                        "content_block_delta",
                        delta(json!({"type": "input_json_delta", "partial_json": ""})),
                    );
                    for piece in pieces(&input.to_string(), 16) {
                        event(
                            "content_block_delta",
                            delta(json!({"type": "input_json_delta", "partial_json": piece})),
                        );
                    }
                }
                Block::Thinking {
                    thinking,
                    signature,
                } => {
                    event(
                        "content_block_start",
                        json!({"type": "content_block_start", "index": index, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
                    );
                    if index == 0 {
                        event("ping", json!({"type": "ping"}));
                    }
                    for piece in pieces(thinking, 24) {
                        event(
                            "content_block_delta",
                            delta(json!({"type": "thinking_delta", "thinking": piece})),
                        );
                    }
                    event(
                        "content_block_delta",
                        delta(json!({"type": "signature_delta", "signature": signature})),
                    );
                }
            }
            event(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": index}),
            );
        }
        let stop = self.stop_reason.clone().unwrap_or_else(|| {
            if self.has_tool_calls() {
                "tool_use"
            } else {
                "end_turn"
            }
            .to_string()
        });
        event(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                   "usage": {"output_tokens": self.output_tokens()}}),
        );
        event("message_stop", json!({"type": "message_stop"}));
        out
    }

    /// The answer as an OpenAI Chat Completions stream (thinking left out).
    pub fn to_openai_sse(&self) -> String {
        let id = format!("chatcmpl-fake{}", next_id());
        let mut out = String::new();
        let mut chunk = |choices: Value, usage: Option<Value>| {
            let mut data = json!({"id": id, "object": "chat.completion.chunk", "created": 1_727_346_176,
                                  "model": self.model, "system_fingerprint": "fp_fake", "choices": choices});
            if let Some(usage) = usage {
                data["usage"] = usage;
            }
            out.push_str(&format!("data: {data}\n\n"));
        };
        let delta = |delta: Value| json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": null}]);
        chunk(delta(json!({"role": "assistant", "content": ""})), None);
        let mut call_index = 0;
        for block in &self.blocks {
            match block {
                Block::Text(text) => {
                    for piece in pieces(text, 24) {
                        chunk(delta(json!({"content": piece})), None);
                    }
                }
                Block::ToolUse { id, name, input } => {
                    chunk(
                        delta(
                            json!({"tool_calls": [{"index": call_index, "id": id, "type": "function",
                                                      "function": {"name": name, "arguments": ""}}]}),
                        ),
                        None,
                    );
                    for piece in pieces(&input.to_string(), 16) {
                        chunk(
                            delta(
                                json!({"tool_calls": [{"index": call_index, "function": {"arguments": piece}}]}),
                            ),
                            None,
                        );
                    }
                    call_index += 1;
                }
                Block::Thinking { .. } => {}
            }
        }
        let finish = self.stop_reason.clone().unwrap_or_else(|| {
            if self.has_tool_calls() {
                "tool_calls"
            } else {
                "stop"
            }
            .to_string()
        });
        chunk(
            json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": finish}]),
            None,
        );
        let prompt = self.usage.input + self.usage.cache_read + self.usage.cache_write;
        let output = self.output_tokens();
        chunk(
            json!([]),
            Some(
                json!({"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output,
                        "prompt_tokens_details": {"cached_tokens": self.usage.cache_read}}),
            ),
        );
        out.push_str("data: [DONE]\n\n");
        out
    }

    /// A reply streaming this answer in Anthropic's format.
    pub fn anthropic_reply(&self) -> Reply {
        Reply::Sse(SseBody {
            output_tokens: Some(self.output_tokens()),
            ..SseBody::new(self.to_anthropic_sse())
        })
    }

    /// A reply streaming this answer in OpenAI's format.
    pub fn openai_reply(&self) -> Reply {
        Reply::Sse(SseBody {
            output_tokens: Some(self.output_tokens()),
            ..SseBody::new(self.to_openai_sse())
        })
    }
}

/// `text` in pieces of about `size` characters (never splitting a character).
fn pieces(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(size.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_stream_follows_the_documented_event_order() {
        let answer =
            Answer::text("Reading").with_tool_id("toolu_1", "Read", json!({"file_path": "a.ts"}));
        let sse = answer.to_anthropic_sse();
        let names: Vec<&str> = sse
            .lines()
            .filter_map(|l| l.strip_prefix("event: "))
            .collect();
        assert_eq!(
            names,
            vec![
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop",
            ]
        );
        assert!(sse.contains(r#""partial_json":"""#));
        assert!(sse.contains(r#""stop_reason":"tool_use""#));
        assert!(sse.ends_with("\n\n"));
    }

    #[test]
    fn openai_stream_ends_with_usage_and_done() {
        let answer = Answer::tool("Read", json!({"p": 1})).with_usage(FakeUsage {
            input: 10,
            output: 5,
            cache_read: 4,
            cache_write: 0,
        });
        let sse = answer.to_openai_sse();
        let chunks: Vec<&str> = sse
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .collect();
        assert_eq!(*chunks.last().unwrap(), "[DONE]");
        let usage: Value = serde_json::from_str(chunks[chunks.len() - 2]).unwrap();
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(usage["usage"]["prompt_tokens"], json!(14));
        assert_eq!(
            usage["usage"]["prompt_tokens_details"]["cached_tokens"],
            json!(4)
        );
        assert!(sse.contains(r#""finish_reason":"tool_calls""#));
    }
}
