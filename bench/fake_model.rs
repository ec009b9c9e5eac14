//! The simulated model behind the fake Messages server: which answer, what it
//! costs in tokens, and how long it takes.
//!
//! * **Answer**: the cassette script the request belongs to ([`ScriptKey`]),
//!   at the turn the conversation has reached.
//! * **Usage**, computed from the request like the real API bills it (about
//!   four characters per token, as the replay provider estimates): every block
//!   with `cache_control` (system or message) is a breakpoint; the longest
//!   prefix already in the cache, found at a breakpoint or up to 20 blocks
//!   before one, is read; the prefix up to the last breakpoint is written
//!   beyond that; the rest is uncached input. A prefix shorter than the
//!   model's minimum ([`min_cacheable_tokens`]) is never cached: that is the
//!   billed usage. The same request is also billed by a floor-free twin of the
//!   cache (`usage_without_floors`), the simulation the issue first asked for.
//!   Output tokens are the answer's characters / 4.
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
    /// Billed usage, with the model's minimum cacheable prefix.
    pub usage: Usage,
    /// The same request billed by a cache with no minimum prefix.
    pub usage_without_floors: Usage,
    /// Tokens before the task's own text: tools and every system block.
    pub fixed_tokens: u64,
    /// Tokens of the shared prefix (tools and system up to the last `cache_control`).
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
    cache: Mutex<Caches>,
    log: Mutex<Vec<RequestRecord>>,
}

/// The billed cache and its floor-free twin.
#[derive(Default)]
struct Caches {
    billed: PromptCache,
    floor_free: PromptCache,
}

impl FakeModel {
    /// A model playing `scripts`, finding tiers in `models`, paced by `pacing`.
    pub fn new(scripts: Scripts, models: ModelTable, pacing: Pacing) -> FakeModel {
        FakeModel {
            scripts,
            models,
            pacing,
            cache: Mutex::new(Caches {
                billed: PromptCache::with_floors(true),
                floor_free: PromptCache::with_floors(false),
            }),
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
            usage_without_floors: Usage::default(),
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
                        let (mut usage, mut floor_free) = self.input_usage(&model, &prompt);
                        usage.output_tokens = answer.output_tokens();
                        floor_free.output_tokens = usage.output_tokens;
                        record.usage_without_floors = floor_free;
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

    fn input_usage(&self, model: &str, prompt: &PromptSize) -> (Usage, Usage) {
        let mut caches = match self.cache.lock() {
            Ok(caches) => caches,
            Err(poisoned) => poisoned.into_inner(),
        };
        (
            caches.billed.bill(model, prompt),
            caches.floor_free.bill(model, prompt),
        )
    }
}

/// How far before a breakpoint the API looks for a prefix it already holds.
const LOOKBACK_BLOCKS: usize = 20;

/// A prompt cache as the Messages API keeps one: prefixes by model, written at
/// breakpoints, found at a breakpoint or up to 20 blocks before it.
#[derive(Default)]
pub struct PromptCache {
    floors: bool,
    held: HashSet<u64>,
}

impl PromptCache {
    /// A cache that applies each model's minimum cacheable prefix, or not.
    pub fn with_floors(floors: bool) -> PromptCache {
        PromptCache {
            floors,
            held: HashSet::new(),
        }
    }

    /// Bills one request's input and caches its breakpoints' prefixes.
    pub fn bill(&mut self, model: &str, prompt: &PromptSize) -> Usage {
        let key = |hash: u64| {
            let mut hasher = DefaultHasher::new();
            (model, hash).hash(&mut hasher);
            hasher.finish()
        };
        let floor = if self.floors {
            min_cacheable_tokens(model)
        } else {
            0
        };
        let bounds = &prompt.boundaries;
        let breakpoints: Vec<usize> = (0..bounds.len())
            .filter(|&i| bounds[i].breakpoint)
            .collect();
        let read = breakpoints
            .iter()
            .flat_map(|&b| (b.saturating_sub(LOOKBACK_BLOCKS)..=b).rev())
            .filter(|&i| self.held.contains(&key(bounds[i].hash)))
            .map(|i| bounds[i].tokens)
            .max()
            .unwrap_or(0);
        let mut written_to = read;
        for &b in &breakpoints {
            if bounds[b].tokens >= floor.max(1) {
                self.held.insert(key(bounds[b].hash));
                written_to = written_to.max(bounds[b].tokens);
            }
        }
        let total = prompt.total_tokens.max(written_to);
        Usage {
            input_tokens: total - written_to,
            output_tokens: 0,
            cache_read_tokens: read,
            cache_write_tokens: written_to - read,
        }
    }
}

/// The end of one block of the prompt (the tools count as one block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Boundary {
    /// Tokens from the start of the prompt to here.
    pub tokens: u64,
    /// A hash of everything from the start to here.
    pub hash: u64,
    /// True when the block carries `cache_control`.
    pub breakpoint: bool,
}

/// The token sizes of one request's prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptSize {
    /// Everything: tools, system, messages.
    pub total_tokens: u64,
    /// Tools and every system block: what comes before the task's own text.
    pub fixed_tokens: u64,
    /// Tokens and a hash of the tools plus the system blocks up to the last
    /// `cache_control` one, when there is such a block.
    pub cached_prefix: Option<(u64, u64)>,
    /// The end of every block, in wire order: tools, system blocks, message blocks.
    pub boundaries: Vec<Boundary>,
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
        let mut boundaries = Vec::new();
        let mut hasher = DefaultHasher::new();
        let mut chars = 0;
        let mut push = |text_chars: usize, what: &str, breakpoint: bool| {
            what.hash(&mut hasher);
            chars += text_chars;
            boundaries.push(Boundary {
                tokens: tokens(chars),
                hash: hasher.finish(),
                breakpoint,
            });
        };
        push(tools.len(), &tools, false);
        for (text, cached) in &system {
            push(text.len(), text, *cached);
        }
        for message in body["messages"].as_array().into_iter().flatten() {
            match &message["content"] {
                Value::Array(blocks) => {
                    for block in blocks {
                        let mut bare = block.clone();
                        let breakpoint = bare
                            .as_object_mut()
                            .and_then(|o| o.remove("cache_control"))
                            .is_some();
                        let text = format!("{}{}", message["role"], bare);
                        push(block_chars(block), &text, breakpoint);
                    }
                }
                content => push(
                    content_chars(content),
                    &format!("{}{}", message["role"], content),
                    false,
                ),
            }
        }
        PromptSize {
            total_tokens: tokens(tools.len() + system_chars + message_chars),
            fixed_tokens: tokens(tools.len() + system_chars),
            cached_prefix,
            boundaries,
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
/// Sonnet 4.5/4.6 1,024. The billed usage applies them; the floor-free twin
/// shows what the first simulation would have billed.
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
