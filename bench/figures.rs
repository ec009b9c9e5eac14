//! The responsiveness figures, worked out from what a run leaves: its JSON
//! lines (`--ui json`), its `queue.json`, and the fake server's request log.
//!
//! Definitions (also in `bench/README.md`):
//! * times count from the run's `run_started` line, in the run's own `t_ms`;
//! * **visible events** are the lines that change what the user sees:
//!   `seed_activity` (the planner's row), `task_started`, `task_activity`,
//!   `task_completed`, `task_failed`, `task_skipped` and `run_finished`;
//! * **first visible progress** is the first visible event that says
//!   something about the work: any of them except `run_finished` and the
//!   linear runner's own container task starting at launch (type `linear`),
//!   which tells the user nothing;
//! * **longest silence** is the largest gap between consecutive visible
//!   events, from `run_started` to `run_finished`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wizard::messages::{QueueFile, Usage};

use crate::fake_model::RequestRecord;

/// The container task type of the linear runner.
const LINEAR_TYPE: &str = "linear";

/// When things became visible, from a run's JSON lines.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    /// To the first visible progress.
    pub first_progress_ms: Option<u64>,
    /// To the first `task_completed`.
    pub first_completion_ms: Option<u64>,
    /// The largest gap between consecutive visible events.
    pub longest_silence_ms: Option<u64>,
    /// From `run_started` to `run_finished`.
    pub wall_ms: Option<u64>,
    /// The verdict on the `run_finished` line.
    pub verdict: Option<String>,
}

/// Reads the figures off a run's JSON lines (lines that are not JSON objects are skipped).
pub fn timeline(lines: &[String]) -> Timeline {
    let events: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("event").is_some())
        .collect();
    let mut out = Timeline::default();
    let Some(start) = events
        .iter()
        .find(|e| e["event"] == "run_started" || e["event"] == "run_resumed")
        .and_then(|e| e["t_ms"].as_u64())
    else {
        return out;
    };
    let mut last_beat = start;
    let mut longest = 0;
    for e in &events {
        let Some(t) = e["t_ms"].as_u64() else {
            continue;
        };
        let name = e["event"].as_str().unwrap_or_default();
        let visible = matches!(
            name,
            "seed_activity"
                | "task_started"
                | "task_activity"
                | "task_completed"
                | "task_failed"
                | "task_skipped"
                | "run_finished"
        );
        if !visible {
            continue;
        }
        let since = t.saturating_sub(start);
        longest = longest.max(t.saturating_sub(last_beat));
        last_beat = last_beat.max(t);
        let container_start = name == "task_started" && e["type"] == LINEAR_TYPE;
        if name != "run_finished" && !container_start {
            out.first_progress_ms.get_or_insert(since);
        }
        if name == "task_completed" {
            out.first_completion_ms.get_or_insert(since);
        }
        if name == "run_finished" {
            out.wall_ms = Some(since);
            out.verdict = e["verdict"].as_str().map(str::to_string);
        }
    }
    out.longest_silence_ms = Some(longest);
    out
}

/// Tokens and money of a run, from its `queue.json` (seed included).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spend {
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from the cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to the cache.
    pub cache_write_tokens: u64,
    /// Cost in US dollars, priced by the wizard from `content/models.yaml`.
    pub cost_usd: f64,
    /// Cache reads over all input tokens.
    pub cache_hit_share: f64,
}

impl Spend {
    /// From a usage and its cost.
    pub fn of(usage: &Usage, cost_usd: f64) -> Spend {
        let input = usage.total_input();
        Spend {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cache_read_tokens: usage.cache_read_tokens,
            cache_write_tokens: usage.cache_write_tokens,
            cost_usd,
            cache_hit_share: if input == 0 {
                0.0
            } else {
                usage.cache_read_tokens as f64 / input as f64
            },
        }
    }

    /// The run's totals as `queue.json` records them (its outcome, which includes the seed).
    pub fn of_queue(file: &QueueFile) -> Option<Spend> {
        let outcome = file.outcome.as_ref()?;
        Some(Spend::of(&outcome.usage, outcome.cost_usd))
    }
}

/// The fixed part of each agent's prompt: everything before its own text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixedPrompt {
    /// Agents measured (tasks, or the linear agent; the seed apart).
    pub agents: usize,
    /// Mean tokens before the agent's own text, over its first requests.
    pub mean_tokens: f64,
    /// The largest.
    pub max_tokens: u64,
    /// The seed's, when there was a seed.
    pub seed_tokens: Option<u64>,
}

/// Measures the fixed prompt over each agent's first request.
pub fn fixed_prompt(requests: &[RequestRecord]) -> FixedPrompt {
    let firsts: Vec<&RequestRecord> = requests
        .iter()
        .filter(|r| r.turn == 0 && r.error.is_none())
        .collect();
    let agents: Vec<u64> = firsts
        .iter()
        .filter(|r| r.key != "seed")
        .map(|r| r.fixed_tokens)
        .collect();
    FixedPrompt {
        agents: agents.len(),
        mean_tokens: if agents.is_empty() {
            0.0
        } else {
            agents.iter().sum::<u64>() as f64 / agents.len() as f64
        },
        max_tokens: agents.iter().copied().max().unwrap_or(0),
        seed_tokens: firsts
            .iter()
            .find(|r| r.key == "seed")
            .map(|r| r.fixed_tokens),
    }
}

/// `value / base`, when both are known and the base is not zero.
pub fn ratio(value: Option<f64>, base: Option<f64>) -> Option<f64> {
    match (value, base) {
        (Some(v), Some(b)) if b > 0.0 => Some(v / b),
        _ => None,
    }
}

/// Model requests per task agent: every agent but the seed, each told apart by
/// its script and task id.
pub fn turns_per_task(requests: &[RequestRecord]) -> f64 {
    let agents: std::collections::HashSet<(&str, Option<&str>)> = requests
        .iter()
        .filter(|r| r.error.is_none() && r.key != "seed" && !r.key.is_empty())
        .map(|r| (r.key.as_str(), r.task_id.as_deref()))
        .collect();
    let turns = requests
        .iter()
        .filter(|r| r.error.is_none() && r.key != "seed" && !r.key.is_empty())
        .count();
    if agents.is_empty() {
        0.0
    } else {
        turns as f64 / agents.len() as f64
    }
}
