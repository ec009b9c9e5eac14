//! Which queue events become telemetry events, and what they carry.
//!
//! A pure function over a [`QueueEvent`] and the run's [`RunMetrics`], so the
//! mapping is tested without actors or network. The properties are chosen
//! field by field from the task: type, id, model, attempts, timings, tokens,
//! cost, the error's stable kind. Never a label, inputs, a handoff, an error
//! message or a skip reason: those are free text that may hold paths or code.

use serde_json::{json, Map, Value};

use super::event::names;
use super::metrics::RunMetrics;
use crate::messages::{EventKind, QueueEvent, RunOutcome, Task, TaskStatus};

/// The telemetry event for `event`, if it has one; feeds `metrics` either way.
pub fn telemetry_for(
    event: &QueueEvent,
    metrics: &mut RunMetrics,
) -> Option<(&'static str, Map<String, Value>)> {
    let t = event.t_ms;
    match &event.kind {
        EventKind::RunStarted { .. } | EventKind::RunResumed { .. } => {
            metrics.run_started(t);
            None
        }
        EventKind::TaskStarted { task } => {
            let timing = metrics.task_started(t);
            let mut props = task_identity(task);
            props.insert("attempt".into(), json!(task.attempts));
            props.insert(
                "ms_since_run_start".into(),
                json!(timing.ms_since_run_start),
            );
            props.insert(
                "gap_since_prev_start_ms".into(),
                json!(timing.gap_since_prev_start_ms),
            );
            Some((names::TASK_STARTED, props))
        }
        EventKind::TaskCompleted { task } => {
            metrics.task_completed(t);
            Some((names::TASK_COMPLETED, task_totals(task)))
        }
        EventKind::TaskFailed { task } => {
            metrics.task_ended(t);
            let mut props = task_totals(task);
            let kind = task.error.as_ref().map(|e| e.kind.as_str());
            props.insert("error_type".into(), json!(kind));
            Some((names::TASK_FAILED, props))
        }
        EventKind::TaskSkipped { task } => {
            metrics.task_ended(t);
            let mut props = task_totals(task);
            let blocked_by = match &task.status {
                TaskStatus::Skipped { blocked_by, .. } => blocked_by.clone(),
                _ => None,
            };
            props.insert("blocked".into(), json!(blocked_by.is_some()));
            props.insert("blocked_by".into(), json!(blocked_by));
            Some((names::TASK_SKIPPED, props))
        }
        EventKind::RunFinished { outcome } => {
            metrics.task_ended(t);
            Some((names::RUN_FINISHED, run_totals(outcome, metrics, t)))
        }
        EventKind::SeedingFinished { .. }
        | EventKind::SeedActivity { .. }
        | EventKind::TaskEnqueued { .. }
        | EventKind::TaskActivity { .. }
        | EventKind::TaskRequeued { .. }
        | EventKind::TaskRelabeled { .. } => None,
    }
}

fn task_identity(task: &Task) -> Map<String, Value> {
    let mut props = Map::new();
    props.insert("task_id".into(), json!(task.id));
    props.insert("type".into(), json!(task.task_type));
    props.insert("model".into(), json!(task.model));
    props
}

fn task_totals(task: &Task) -> Map<String, Value> {
    let mut props = task_identity(task);
    let duration_ms = match (task.started_at, task.finished_at) {
        (Some(start), Some(end)) => (end - start).num_milliseconds().max(0),
        _ => 0,
    };
    props.insert("attempts".into(), json!(task.attempts));
    props.insert("duration_ms".into(), json!(duration_ms));
    props.insert("input_tokens".into(), json!(task.usage.input_tokens));
    props.insert("output_tokens".into(), json!(task.usage.output_tokens));
    props.insert(
        "cache_read_tokens".into(),
        json!(task.usage.cache_read_tokens),
    );
    props.insert(
        "cache_write_tokens".into(),
        json!(task.usage.cache_write_tokens),
    );
    props.insert("cost_usd".into(), json!(task.cost_usd));
    props
}

fn run_totals(outcome: &RunOutcome, metrics: &RunMetrics, t_ms: u64) -> Map<String, Value> {
    let summary = metrics.summary();
    let mut props = Map::new();
    let verdict = serde_json::to_value(outcome.verdict).unwrap_or(Value::Null);
    props.insert("verdict".into(), verdict);
    props.insert(
        "time_to_first_task_ms".into(),
        json!(summary.time_to_first_task_ms),
    );
    props.insert(
        "time_to_first_completion_ms".into(),
        json!(summary.time_to_first_completion_ms),
    );
    props.insert("max_gap_ms".into(), json!(summary.max_gap_ms));
    let duration = summary_duration(metrics, t_ms);
    props.insert("duration_ms".into(), json!(duration));
    props.insert("tasks_total".into(), json!(outcome.total));
    props.insert("tasks_completed".into(), json!(outcome.completed));
    props.insert("tasks_not_needed".into(), json!(outcome.not_needed));
    props.insert("tasks_failed".into(), json!(outcome.failed));
    props.insert("tasks_blocked".into(), json!(outcome.blocked));
    props.insert("tasks_never_ran".into(), json!(outcome.never_ran));
    props.insert("input_tokens".into(), json!(outcome.usage.input_tokens));
    props.insert("output_tokens".into(), json!(outcome.usage.output_tokens));
    props.insert(
        "cache_read_tokens".into(),
        json!(outcome.usage.cache_read_tokens),
    );
    props.insert(
        "cache_write_tokens".into(),
        json!(outcome.usage.cache_write_tokens),
    );
    props.insert("cost_usd".into(), json!(outcome.cost_usd));
    props.insert("conflicts".into(), json!(outcome.conflicts.len()));
    props
}

fn summary_duration(metrics: &RunMetrics, t_ms: u64) -> Option<u64> {
    metrics.start_ms().map(|start| t_ms.saturating_sub(start))
}
