//! The simulated model behind the fake Messages server: which answer, what it
//! costs in tokens, and how long it takes.
//!
//! * **Answer**: the cassette script the request belongs to ([`ScriptKey`]),
//!   at the turn the conversation has reached.
//! * **Usage**, computed from the request like a real API bills it (about
//!   four characters per token, as the replay provider estimates): the tools
//!   plus the system blocks up to the last one with `cache_control` form the
//!   cacheable prefix — written to the cache the first time that exact prefix
//!   (and model) is seen, read from it afterwards; everything else is
//!   uncached input. Output tokens are the answer's characters / 4.
//! * **Latency** per model tier: time to first token = a fixed part plus
//!   prefill of the tokens the model must process (uncached input and cache
//!   writes; cache reads are taken as free), then output at the tier's
//!   tokens/s; every wait is multiplied by a time scale so a run takes seconds.
//!
//! Every request is logged with its key, usage and pacing for the figures.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wizard::messages::Usage;
use wizard::providers::pricing::{ModelTable, Tier};
use wizard_fakes::{FakeUsage, Latency, Reply};

use crate::scripts::{ScriptKey, Scripts};

/// How fast one tier answers, in real (unscaled) time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TierPace {
    /// Fixed part of the time to first token, in milliseconds.
    pub ttft_ms: f64,
    /// Input tokens processed per second before the first token.
    pub prefill_tokens_per_sec: f64,
    /// Output tokens per second.
    pub output_tokens_per_sec: f64,
}

/// The latency model: a pace per tier and a time scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pacing {
    /// The small tier.
    pub small: TierPace,
    /// The medium tier.
    pub medium: TierPace,
    /// The large tier.
    pub large: TierPace,
    /// Factor on every wait (0.1 = ten times faster than life).
    pub time_scale: f64,
}

impl Pacing {
    /// The figures (small 0.4 s / 180 tok/s, medium 0.9 s / 80 tok/s,
    /// large 1.5 s / 45 tok/s) with prefill at 10k / 5k / 3k tokens/s.
    pub fn standard(time_scale: f64) -> Pacing {
        Pacing {
            small: TierPace {
                ttft_ms: 400.0,
                prefill_tokens_per_sec: 10_000.0,
                output_tokens_per_sec: 180.0,
            },
            medium: TierPace {
                ttft_ms: 900.0,
                prefill_tokens_per_sec: 5_000.0,
                output_tokens_per_sec: 80.0,
            },
            large: TierPace {
                ttft_ms: 1_500.0,
                prefill_tokens_per_sec: 3_000.0,
                output_tokens_per_sec: 45.0,
            },
            time_scale,
        }
    }

    fn of(&self, tier: Tier) -> TierPace {
        match tier {
            Tier::Small => self.small,
            Tier::Medium => self.medium,
            Tier::Large => self.large,
        }
    }
}

/// One model request as the fake saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// `seed`, `linear` or the task type; empty when the request matched no script.
    pub key: String,
    /// The task's id, for task agents.
    pub task_id: Option<String>,
    /// The turn (assistant messages in the request).
    pub turn: usize,
    /// The model id asked for.
    pub model: String,
    /// Billed usage.
    pub usage: Usage,
    /// Tokens before the task's own text: tools and every system block.
    pub fixed_tokens: u64,
    /// Tokens of the cacheable prefix (tools and system up to the last `cache_control`).
    pub cached_prefix_tokens: u64,
    /// Time to first token before scaling, in milliseconds.
    pub ttft_ms: f64,
    /// Why the request got an error instead of an answer.
    pub error: Option<String>,
}

/// The fake model: scripts, price table (for tiers), cache and log.
pub struct FakeModel {
    scripts: Scripts,
    models: ModelTable,
    pacing: Pacing,
    cache: Mutex<HashSet<u64>>,
    log: Mutex<Vec<RequestRecord>>,
}

impl FakeModel {
    /// A model playing `scripts`, finding tiers in `models`, paced by `pacing`.
    pub fn new(scripts: Scripts, models: ModelTable, pacing: Pacing) -> FakeModel {
        FakeModel {
            scripts,
            models,
            pacing,
            cache: Mutex::new(HashSet::new()),
            log: Mutex::new(Vec::new()),
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The reply to one Messages request body.
    pub fn reply(&self, body: &Value) -> Reply {
        let model = body["model"].as_str().unwrap_or_default().to_string();
        let mut record = RequestRecord {
            key: String::new(),
            task_id: None,
            turn: 0,
            model: model.clone(),
            usage: Usage::default(),
            fixed_tokens: 0,
            cached_prefix_tokens: 0,
            ttft_ms: 0.0,
            error: None,
        };
        let reply = match ScriptKey::of(body) {
            Err(e) => {
                record.error = Some(e.clone());
                Reply::anthropic_error(400, "invalid_request_error", &format!("bench: {e}"))
            }
            Ok(key) => {
                record.key = key.key.clone();
                record.task_id = key.task_id.clone();
                record.turn = key.turn;
                match self.scripts.turn(&key.key, key.turn) {
                    None => {
                        let e = format!(
                            "no turn {} in script `{}` ({} turns)",
                            key.turn + 1,
                            key.key,
                            self.scripts.len_of(&key.key)
                        );
                        record.error = Some(e.clone());
                        Reply::anthropic_error(400, "invalid_request_error", &format!("bench: {e}"))
                    }
                    Some(turn) => {
                        let mut answer = turn.answer(&model);
                        let prompt = PromptSize::of(body);
                        let mut usage = self.input_usage(&model, &prompt);
                        usage.output_tokens = answer.output_tokens();
                        answer = answer.with_usage(FakeUsage {
                            input: usage.input_tokens,
                            output: usage.output_tokens,
                            cache_read: usage.cache_read_tokens,
                            cache_write: usage.cache_write_tokens,
                        });
                        let tier = self.models.tier_of(&model).unwrap_or(Tier::Medium);
                        let pace = self.pacing.of(tier);
                        let prefill = (usage.input_tokens + usage.cache_write_tokens) as f64;
                        record.ttft_ms =
                            pace.ttft_ms + prefill * 1000.0 / pace.prefill_tokens_per_sec;
                        record.usage = usage;
                        record.fixed_tokens = prompt.fixed_tokens;
                        record.cached_prefix_tokens =
                            prompt.cached_prefix.map_or(0, |(tokens, _)| tokens);
                        let mut reply = answer.anthropic_reply();
                        if let Reply::Sse(sse) = &mut reply {
                            sse.latency = Some(Latency {
                                ttft: Duration::from_secs_f64(record.ttft_ms / 1000.0),
                                tokens_per_sec: pace.output_tokens_per_sec,
                                time_scale: self.pacing.time_scale,
                            });
                        }
                        reply
                    }
                }
            }
        };
        if let Ok(mut log) = self.log.lock() {
            log.push(record);
        }
        reply
    }

    fn input_usage(&self, model: &str, prompt: &PromptSize) -> Usage {
        let total = prompt.total_tokens;
        let Some((prefix_tokens, prefix_hash)) = prompt.cached_prefix else {
            return Usage {
                input_tokens: total,
                ..Usage::default()
            };
        };
        let mut hasher = DefaultHasher::new();
        (model, prefix_hash).hash(&mut hasher);
        let first_sight = match self.cache.lock() {
            Ok(mut seen) => seen.insert(hasher.finish()),
            Err(poisoned) => poisoned.into_inner().insert(hasher.finish()),
        };
        let cached = prefix_tokens.min(total);
        Usage {
            input_tokens: total - cached,
            output_tokens: 0,
            cache_write_tokens: if first_sight { cached } else { 0 },
            cache_read_tokens: if first_sight { 0 } else { cached },
        }
    }
}

/// The token sizes of one request's prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromptSize {
    /// Everything: tools, system, messages.
    pub total_tokens: u64,
    /// Tools and every system block: what comes before the task's own text.
    pub fixed_tokens: u64,
    /// Tokens and a hash of the tools plus the system blocks up to the last
    /// `cache_control` one, when there is such a block.
    pub cached_prefix: Option<(u64, u64)>,
}

impl PromptSize {
    /// Measures a Messages request body.
    pub fn of(body: &Value) -> PromptSize {
        let tools = match &body["tools"] {
            Value::Null => String::new(),
            tools => tools.to_string(),
        };
        let system: Vec<(&str, bool)> = match &body["system"] {
            Value::String(s) => vec![(s.as_str(), false)],
            Value::Array(blocks) => blocks
                .iter()
                .map(|b| {
                    (
                        b["text"].as_str().unwrap_or_default(),
                        b.get("cache_control").is_some(),
                    )
                })
                .collect(),
            _ => Vec::new(),
        };
        let system_chars: usize = system.iter().map(|(t, _)| t.len()).sum();
        let message_chars: usize = body["messages"]
            .as_array()
            .map(|messages| messages.iter().map(|m| content_chars(&m["content"])).sum())
            .unwrap_or(0);
        let cached_prefix = system.iter().rposition(|(_, cached)| *cached).map(|last| {
            let prefix = &system[..=last];
            let mut hasher = DefaultHasher::new();
            tools.hash(&mut hasher);
            for (text, _) in prefix {
                text.hash(&mut hasher);
            }
            let chars = tools.len() + prefix.iter().map(|(t, _)| t.len()).sum::<usize>();
            (tokens(chars), hasher.finish())
        });
        PromptSize {
            total_tokens: tokens(tools.len() + system_chars + message_chars),
            fixed_tokens: tokens(tools.len() + system_chars),
            cached_prefix,
        }
    }
}

/// Roughly four characters per token, rounded up (the replay provider's estimate).
pub fn tokens(chars: usize) -> u64 {
    chars.div_ceil(4) as u64
}

fn content_chars(content: &Value) -> usize {
    match content {
        Value::String(s) => s.len(),
        Value::Array(blocks) => blocks.iter().map(block_chars).sum(),
        _ => 0,
    }
}

fn block_chars(block: &Value) -> usize {
    match block["type"].as_str() {
        Some("text") => block["text"].as_str().map_or(0, str::len),
        Some("tool_use") => {
            block["name"].as_str().map_or(0, str::len) + block["input"].to_string().len()
        }
        Some("tool_result") => content_chars(&block["content"]),
        Some("thinking") => block["thinking"].as_str().map_or(0, str::len),
        _ => 0,
    }
}

/// The smallest prefix the real API caches, per model (below it nothing is
/// cached and the whole prompt is billed as input). Platform documentation,
/// prompt caching, as of 2026-11: Haiku 4.5 and Opus 4.5/4.6 4,096 tokens,
/// Sonnet 4.5/4.6 1,024. The simulation itself follows the issue and ignores
/// them; the figures report what they would change.
pub fn min_cacheable_tokens(model: &str) -> u64 {
    if model.starts_with("claude-haiku-4")
        || model.starts_with("claude-opus-4-5")
        || model.starts_with("claude-opus-4-6")
    {
        4_096
    } else if model.starts_with("claude-") {
        1_024
    } else {
        0
    }
}

/// A request's usage as the real API would bill it with its minimum cacheable
/// prefix: a prefix below the model's floor is neither written nor read.
pub fn usage_with_floor(record: &RequestRecord) -> Usage {
    let mut usage = record.usage;
    if record.cached_prefix_tokens < min_cacheable_tokens(&record.model) {
        usage.input_tokens += usage.cache_read_tokens + usage.cache_write_tokens;
        usage.cache_read_tokens = 0;
        usage.cache_write_tokens = 0;
    }
    usage
}

/// What-if: the requests billed as if every request also carried a moving
/// `cache_control` breakpoint on its last message (incremental caching of the
/// conversation, as agent loops commonly do). Turn 0 of an agent reads or
/// writes the shared prefix as recorded and writes the rest; each later turn
/// reads the whole previous request and writes only what was appended.
/// Minimum cacheable lengths are ignored here, as in the simulation.
pub fn usage_with_moving_breakpoint(requests: &[RequestRecord]) -> Vec<(String, Usage)> {
    let total = |r: &RequestRecord| {
        r.usage.input_tokens + r.usage.cache_read_tokens + r.usage.cache_write_tokens
    };
    let mut previous: std::collections::HashMap<(String, Option<String>), u64> =
        std::collections::HashMap::new();
    let mut out = Vec::with_capacity(requests.len());
    for r in requests.iter().filter(|r| r.error.is_none()) {
        let agent = (r.key.clone(), r.task_id.clone());
        let now = total(r);
        let usage = match previous.get(&agent) {
            Some(&before) if r.turn > 0 && before <= now => Usage {
                input_tokens: 0,
                output_tokens: r.usage.output_tokens,
                cache_read_tokens: before,
                cache_write_tokens: now - before,
            },
            _ => Usage {
                input_tokens: 0,
                output_tokens: r.usage.output_tokens,
                cache_read_tokens: r.usage.cache_read_tokens,
                cache_write_tokens: now - r.usage.cache_read_tokens,
            },
        };
        previous.insert(agent, now);
        out.push((r.model.clone(), usage));
    }
    out
}
