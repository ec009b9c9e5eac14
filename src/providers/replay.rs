//! A scripted [`ModelClient`]: answers come from a cassette file instead of a model.
//!
//! Used by the offline demo, tests and benchmarks. It replaces only the HTTP
//! call: the agent loop and the tools run for real on the scripted tool calls.
//! The cassette format is documented in `content/cassettes/README.md`.
//!
//! The client is stateless per request, like a real API: the script is picked
//! by `request.meta.task_type` and the turn by how many assistant messages the
//! conversation already holds, so a retried attempt replays from the start.
//! The one piece of state is a set of hashed system-prompt prefixes, which
//! simulates prompt caching: the first request with a given cached prefix
//! writes it, later ones read it. Timing follows a per-tier latency model
//! (time to first token, then tokens per second) scaled by `speed`, where 0
//! means instant. The answer streams like a real one: each block is reported
//! through `progress` as it ends (the first line of text, each finished tool
//! call), before the whole answer is returned.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

use super::pricing::{ModelTable, Tier};
use super::types::{
    ContentBlock, FirstLineWatch, ModelClient, ModelRequest, ModelResponse, ProviderError,
    ProviderEvent, Role, StopReason,
};
use crate::messages::Usage;

/// What is wrong with a cassette.
#[derive(Debug, Error)]
pub enum ReplayError {
    /// The file could not be read.
    #[error("cassette {cassette}: cannot read it: {source}")]
    Read {
        /// The cassette's path.
        cassette: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not YAML, or a field that is unknown, missing or of the wrong type.
    #[error("cassette {cassette}: {message}")]
    Parse {
        /// The cassette's name.
        cassette: String,
        /// The parser's message, with the field path.
        message: String,
    },
    /// Well-formed but unusable.
    #[error("cassette {cassette}: {field}: {message}")]
    Invalid {
        /// The cassette's name.
        cassette: String,
        /// Where (`scripts.install[1].turn[0]`).
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// How fast a simulated model of one tier answers.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TierLatency {
    /// Time to the first token, in milliseconds.
    pub ttft_ms: u64,
    /// Output speed after the first token.
    pub tokens_per_sec: f64,
}

impl TierLatency {
    fn default_for(tier: Tier) -> TierLatency {
        match tier {
            Tier::Small => TierLatency {
                ttft_ms: 400,
                tokens_per_sec: 180.0,
            },
            Tier::Medium => TierLatency {
                ttft_ms: 900,
                tokens_per_sec: 80.0,
            },
            Tier::Large => TierLatency {
                ttft_ms: 1500,
                tokens_per_sec: 45.0,
            },
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CassetteFile {
    version: u32,
    #[serde(default)]
    latency: LatencyFile,
    scripts: BTreeMap<String, Vec<TurnFile>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyFile {
    small: Option<TierLatency>,
    medium: Option<TierLatency>,
    large: Option<TierLatency>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TurnFile {
    turn: Vec<StepFile>,
    /// Overrides the stop reason (`max_tokens`, `refusal`…) to script failures.
    stop: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    text: Option<String>,
    tool: Option<String>,
    input: Option<Value>,
}

/// One scripted model answer.
#[derive(Debug, Clone, PartialEq)]
struct Turn {
    steps: Vec<Step>,
    stop: Option<StopReason>,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Text(String),
    Tool { name: String, input: Value },
}

/// A [`ModelClient`] that plays a cassette.
#[derive(Debug)]
pub struct ReplayClient {
    cassette: String,
    scripts: BTreeMap<String, Vec<Turn>>,
    latency: BTreeMap<Tier, TierLatency>,
    speed: f64,
    models: Option<ModelTable>,
    cached_prefixes: Mutex<HashSet<u64>>,
    next_tool_id: AtomicU64,
}

impl ReplayClient {
    /// A client playing the cassette in `yaml`; `speed` scales the latency
    /// model (1 = real time, 0 = instant).
    pub fn from_yaml(yaml: &str, speed: f64) -> Result<ReplayClient, ReplayError> {
        Self::parse("<inline>", yaml, speed)
    }

    /// A client playing the cassette file at `path`.
    pub fn from_path(path: &Path, speed: f64) -> Result<ReplayClient, ReplayError> {
        let name = path.display().to_string();
        let yaml = std::fs::read_to_string(path).map_err(|source| ReplayError::Read {
            cassette: name.clone(),
            source,
        })?;
        Self::parse(&name, &yaml, speed)
    }

    /// Uses `table` to find a model's tier (and so its latency); without it
    /// every model answers at the medium tier's pace unless its id is a tier name.
    pub fn with_models(mut self, table: ModelTable) -> Self {
        self.models = Some(table);
        self
    }

    /// The task types the cassette has scripts for.
    pub fn task_types(&self) -> impl Iterator<Item = &str> {
        self.scripts.keys().map(String::as_str)
    }

    fn parse(cassette: &str, yaml: &str, speed: f64) -> Result<ReplayClient, ReplayError> {
        let invalid = |field: String, message: String| ReplayError::Invalid {
            cassette: cassette.to_string(),
            field,
            message,
        };
        if !speed.is_finite() || speed < 0.0 {
            return Err(invalid(
                "speed".into(),
                format!("{speed} is not a speed factor of 0 or more"),
            ));
        }
        let file: CassetteFile = serde_yaml_ng::from_str(yaml).map_err(|e| ReplayError::Parse {
            cassette: cassette.to_string(),
            message: e.to_string(),
        })?;
        if file.version != 1 {
            return Err(invalid(
                "version".into(),
                format!("version {} is not understood (expected 1)", file.version),
            ));
        }
        let mut latency = BTreeMap::new();
        for (tier, given) in [
            (Tier::Small, file.latency.small),
            (Tier::Medium, file.latency.medium),
            (Tier::Large, file.latency.large),
        ] {
            let model = given.unwrap_or_else(|| TierLatency::default_for(tier));
            if !model.tokens_per_sec.is_finite() || model.tokens_per_sec <= 0.0 {
                return Err(invalid(
                    format!("latency.{tier}.tokensPerSec"),
                    "must be more than 0".into(),
                ));
            }
            latency.insert(tier, model);
        }
        let mut scripts = BTreeMap::new();
        for (task_type, turns) in file.scripts {
            let mut parsed = Vec::new();
            for (t, turn) in turns.into_iter().enumerate() {
                let at = format!("scripts.{task_type}[{t}]");
                if turn.turn.is_empty() {
                    return Err(invalid(
                        format!("{at}.turn"),
                        "a turn needs at least one step".into(),
                    ));
                }
                let mut steps = Vec::new();
                for (s, step) in turn.turn.into_iter().enumerate() {
                    let field = format!("{at}.turn[{s}]");
                    steps.push(match (step.text, step.tool, step.input) {
                        (Some(text), None, None) => Step::Text(text),
                        (None, Some(name), input) if !name.trim().is_empty() => Step::Tool {
                            name,
                            input: input.unwrap_or_else(|| Value::Object(Default::default())),
                        },
                        (None, Some(_), _) => {
                            return Err(invalid(format!("{field}.tool"), "is empty".into()))
                        }
                        (Some(_), None, Some(_)) => {
                            return Err(invalid(
                                format!("{field}.input"),
                                "only a `tool` step takes an input".into(),
                            ))
                        }
                        _ => {
                            return Err(invalid(
                                field,
                                "a step is either `text: …` or `tool: …` (with `input`)".into(),
                            ))
                        }
                    });
                }
                let stop = match turn.stop.as_deref() {
                    None => None,
                    Some("end_turn") => Some(StopReason::EndTurn),
                    Some("tool_use") => Some(StopReason::ToolUse),
                    Some("max_tokens") => Some(StopReason::MaxTokens),
                    Some("refusal") => Some(StopReason::Refusal),
                    Some(other) => {
                        return Err(invalid(
                            format!("{at}.stop"),
                            format!(
                                "`{other}` is not one of end_turn, tool_use, max_tokens, refusal"
                            ),
                        ))
                    }
                };
                parsed.push(Turn { steps, stop });
            }
            scripts.insert(task_type, parsed);
        }
        Ok(ReplayClient {
            cassette: cassette.to_string(),
            scripts,
            latency,
            speed,
            models: None,
            cached_prefixes: Mutex::new(HashSet::new()),
            next_tool_id: AtomicU64::new(1),
        })
    }

    fn tier_of(&self, model: &str) -> Tier {
        self.models
            .as_ref()
            .and_then(|table| table.tier_of(model))
            .or_else(|| Tier::parse(model))
            .unwrap_or(Tier::Medium)
    }

    fn turn_for(&self, request: &ModelRequest) -> Result<&Turn, ProviderError> {
        let task_type = &request.meta.task_type;
        let script = self.scripts.get(task_type).ok_or_else(|| {
            let known: Vec<&str> = self.task_types().collect();
            ProviderError::Script(format!(
                "cassette {} has no script for task type `{task_type}` (it has: {})",
                self.cassette,
                known.join(", ")
            ))
        })?;
        let index = request
            .messages
            .iter()
            .filter(|m| m.role == Role::Assistant)
            .count();
        script.get(index).ok_or_else(|| {
            ProviderError::Script(format!(
                "cassette {}: script `{task_type}` has {} turns, but the conversation asks for turn {}",
                self.cassette,
                script.len(),
                index + 1
            ))
        })
    }

    /// Input usage with simulated prompt caching of the system prefix up to
    /// the last `cache: true` block (and the tools, which precede it on the wire).
    fn input_usage(&self, request: &ModelRequest) -> Usage {
        let tools = if request.tools.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&request.tools).unwrap_or_default()
        };
        let system: Vec<&str> = request.system.iter().map(|b| b.text.as_str()).collect();
        let messages: usize = request
            .messages
            .iter()
            .flat_map(|m| &m.content)
            .map(block_chars)
            .sum();
        let total = tokens(tools.len() + system.iter().map(|s| s.len()).sum::<usize>() + messages);
        let Some(last_cached) = request.system.iter().rposition(|b| b.cache) else {
            return Usage {
                input_tokens: total,
                ..Usage::default()
            };
        };
        let prefix = &system[..=last_cached];
        let prefix_tokens = tokens(tools.len() + prefix.iter().map(|s| s.len()).sum::<usize>());
        let mut hasher = DefaultHasher::new();
        (&request.model, &tools, prefix).hash(&mut hasher);
        let first_time = match self.cached_prefixes.lock() {
            Ok(mut seen) => seen.insert(hasher.finish()),
            Err(poisoned) => poisoned.into_inner().insert(hasher.finish()),
        };
        let cached = prefix_tokens.min(total);
        Usage {
            input_tokens: total - cached,
            output_tokens: 0,
            cache_write_tokens: if first_time { cached } else { 0 },
            cache_read_tokens: if first_time { 0 } else { cached },
        }
    }

    async fn wait(&self, millis: f64) {
        let scaled = millis * self.speed;
        if scaled > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(scaled / 1000.0)).await;
        }
    }

    /// Waits until `millis` (unscaled) after `start`.
    async fn wait_until(&self, start: tokio::time::Instant, millis: f64) {
        let scaled = millis * self.speed;
        if scaled > 0.0 {
            tokio::time::sleep_until(start + Duration::from_secs_f64(scaled / 1000.0)).await;
        }
    }
}

#[async_trait]
impl ModelClient for ReplayClient {
    async fn complete(
        &self,
        request: &ModelRequest,
        progress: &(dyn Fn(ProviderEvent) + Send + Sync),
    ) -> Result<ModelResponse, ProviderError> {
        let turn = self.turn_for(request)?;
        let content: Vec<ContentBlock> = turn
            .steps
            .iter()
            .map(|step| match step {
                Step::Text(text) => ContentBlock::Text { text: text.clone() },
                Step::Tool { name, input } => ContentBlock::ToolUse {
                    id: format!(
                        "toolu_replay_{}",
                        self.next_tool_id.fetch_add(1, Ordering::Relaxed)
                    ),
                    name: name.clone(),
                    input: input.clone(),
                },
            })
            .collect();
        let mut usage = self.input_usage(request);
        usage.output_tokens = tokens(content.iter().map(block_chars).sum()).max(1);
        let has_tools = content
            .iter()
            .any(|b| matches!(b, ContentBlock::ToolUse { .. }));
        let stop_reason = turn.stop.clone().unwrap_or(if has_tools {
            StopReason::ToolUse
        } else {
            StopReason::EndTurn
        });

        let latency = self.latency[&self.tier_of(&request.model)];
        self.wait(latency.ttft_ms as f64).await;
        progress(ProviderEvent::FirstToken);
        // Stream: each block is reported as it ends, on one schedule anchored here, so a
        // scripted answer shows its first line and runs its early calls before it ends.
        let start = tokio::time::Instant::now();
        let per_token = 1000.0 / latency.tokens_per_sec;
        let mut first_line = FirstLineWatch::default();
        let mut chars = 0;
        for block in &content {
            if let ContentBlock::ToolUse { name, input, .. } = block {
                // A call shows as it starts streaming, as the wire clients report it.
                progress(ProviderEvent::ToolCallStarted {
                    name: name.clone(),
                    lead: lead_of(input),
                });
            }
            chars += block_chars(block);
            self.wait_until(start, tokens(chars) as f64 * per_token)
                .await;
            match block {
                ContentBlock::Text { text } => {
                    if let Some(event) = first_line.check(text, true) {
                        progress(event);
                    }
                }
                ContentBlock::ToolUse { id, name, input } => {
                    progress(ProviderEvent::ToolCallReady {
                        id: id.clone(),
                        name: name.clone(),
                        input: input.clone(),
                    })
                }
                _ => {}
            }
        }
        self.wait_until(start, usage.output_tokens as f64 * per_token)
            .await;

        Ok(ModelResponse {
            content,
            stop_reason,
            usage,
            model: request.model.clone(),
        })
    }

    fn name(&self) -> &'static str {
        "replay"
    }
}

/// Roughly four characters per token, rounded up.
fn tokens(chars: usize) -> u64 {
    chars.div_ceil(4) as u64
}

fn block_chars(block: &ContentBlock) -> usize {
    match block {
        ContentBlock::Text { text } => text.len(),
        ContentBlock::ToolUse { name, input, .. } => name.len() + input.to_string().len(),
        ContentBlock::ToolResult { content, .. } => content.len(),
        ContentBlock::Thinking { thinking, .. } => thinking.len(),
    }
}

/// The input's first field when it is a string, as a streaming client knows it first.
fn lead_of(input: &Value) -> Value {
    let mut lead = serde_json::Map::new();
    if let Some((key, value @ Value::String(_))) = input.as_object().and_then(|m| m.iter().next()) {
        lead.insert(key.clone(), value.clone());
    }
    Value::Object(lead)
}
