//! The two non-TUI outputs: plain lines for a log or a pipe, JSON lines for machines.
//!
//! Both are pure functions of one event. A plain line reads like the TUI's
//! glyphs (`▶ ✓ ✗ ⊘ ↻ ·`) so a CI log tells the same story; the view is only
//! consulted for what an event does not carry (an activity's task, a
//! duration's start). A JSON line is a flat object with a fixed key order,
//! `t_ms` and `event` first, so `jq` filters stay short.

use serde_json::{json, Map, Value};

use super::units;
use super::view::RunView;
use crate::messages::{EventKind, QueueEvent, Task, TaskStatus};

/// One human line for an event.
///
/// Every event has a line today; the `Option` lets a quieter mode drop
/// some later without changing callers. Works whether `view` has already
/// applied `ev` or not.
pub fn plain_line(ev: &QueueEvent, view: &RunView) -> Option<String> {
    let line = match &ev.kind {
        EventKind::RunStarted { run } | EventKind::RunResumed { run, .. } => {
            let verb = if matches!(ev.kind, EventKind::RunResumed { .. }) {
                "resumed"
            } else {
                "started"
            };
            let mut line = format!("wizard {verb} · {}", run.install_dir);
            if let Some(framework) = run.framework.as_deref().or(view.framework()) {
                line.push_str(&format!(" · {framework}"));
            }
            line.push_str(&format!(" · {}", run.variant.name()));
            line
        }
        EventKind::SeedingFinished { error: None } => "◆ planned".to_string(),
        EventKind::SeedingFinished { error: Some(e) } => format!("✗ planning failed: {e}"),
        EventKind::SeedActivity { phrase, .. } => format!("  · planning  {phrase}"),
        EventKind::TaskEnqueued { task } => {
            format!("+ {}  {} ({})", task.id, task.label, task.model)
        }
        EventKind::TaskStarted { task } => {
            let mut line = format!("▶ {}  {} ({})", task.id, task.label, task.model);
            if task.attempts > 1 {
                line.push_str(&format!(
                    " · attempt {}/{}",
                    task.attempts, task.max_attempts
                ));
            }
            line
        }
        EventKind::TaskActivity {
            task_id, phrase, ..
        } => format!("  · {task_id}  {phrase}"),
        EventKind::TaskCompleted { task } => {
            let mut line = format!("✓ {}", task.id);
            if let Some(ms) = duration_ms(task, ev.t_ms, view) {
                line.push_str(&format!("  {}", units::duration(ms)));
            }
            if task.usage.total() > 0 {
                line.push_str(&format!("  {} tokens", units::tokens(task.usage.total())));
            }
            if task.cost_usd > 0.0 {
                line.push_str(&format!("  {}", units::cost(task.cost_usd)));
            }
            line
        }
        EventKind::TaskFailed { task } => format!("✗ {}  {}", task.id, failure(task)),
        EventKind::TaskSkipped { task } => {
            format!("⊘ {}  {}", task.id, skip_reason(task).unwrap_or("skipped"))
        }
        EventKind::TaskRequeued { task, reason } => {
            format!("↻ {}  retrying: {reason}", task.id)
        }
        EventKind::TaskRelabeled { task_id, label } => format!("  · {task_id}  now: {label}"),
        EventKind::RunFinished { outcome } => {
            format!(
                "■ {} ({}/{} done, {} tokens, {})",
                outcome.message,
                outcome.completed + outcome.not_needed,
                outcome.total,
                units::tokens(outcome.usage.total()),
                units::cost(outcome.cost_usd)
            )
        }
    };
    Some(super::sanitize::one_line(&line).into_owned())
}

/// The latest attempt's duration: from the view's start time if it saw the
/// start, else from the task's own wall-clock timestamps.
fn duration_ms(task: &Task, t_ms: u64, view: &RunView) -> Option<u64> {
    if let Some(start) = view.row(&task.id).and_then(|r| r.started_ms()) {
        return Some(t_ms.saturating_sub(start));
    }
    let (start, end) = (task.started_at?, task.finished_at?);
    u64::try_from((end - start).num_milliseconds()).ok()
}

fn failure(task: &Task) -> &str {
    task.error
        .as_ref()
        .map(|e| e.message.as_str())
        .unwrap_or("failed")
}

fn skip_reason(task: &Task) -> Option<&str> {
    match &task.status {
        TaskStatus::Skipped { reason, .. } => Some(reason),
        _ => None,
    }
}

/// One JSON object for an event, on one line.
///
/// Keys, in this order, when they apply: `t_ms`, `event`, `task`, `type`,
/// `label`, `model`, `status`, `reason`, `attempts`, `usage`, `costUsd`,
/// `phrase`, then event-specific ones (`verdict`, `message`, totals…), `seq` last.
pub fn json_line(ev: &QueueEvent) -> String {
    let mut obj = Map::new();
    obj.insert("t_ms".into(), json!(ev.t_ms));
    obj.insert("event".into(), json!(ev.kind.name()));
    match &ev.kind {
        EventKind::RunStarted { run } | EventKind::RunResumed { run, .. } => {
            obj.insert("runId".into(), json!(run.run_id));
            obj.insert("variant".into(), json!(run.variant.name()));
            obj.insert("installDir".into(), json!(run.install_dir));
            if let Some(framework) = &run.framework {
                obj.insert("framework".into(), json!(framework));
            }
            obj.insert("concurrency".into(), json!(run.concurrency));
            if let EventKind::RunResumed { requeued, .. } = &ev.kind {
                obj.insert("requeued".into(), json!(requeued));
            }
        }
        EventKind::SeedingFinished { error } => {
            if let Some(e) = error {
                obj.insert("error".into(), json!(e));
            }
        }
        EventKind::TaskEnqueued { task }
        | EventKind::TaskStarted { task }
        | EventKind::TaskCompleted { task }
        | EventKind::TaskFailed { task }
        | EventKind::TaskSkipped { task } => {
            let reason = match &task.status {
                TaskStatus::Failed => Some(failure(task)),
                TaskStatus::Skipped { reason, .. } => Some(reason.as_str()),
                _ => None,
            };
            task_fields(&mut obj, task, reason);
            if let TaskStatus::Skipped {
                blocked_by: Some(dep),
                ..
            } = &task.status
            {
                obj.insert("blockedBy".into(), json!(dep));
            }
            if let (TaskStatus::Failed, Some(error)) = (&task.status, &task.error) {
                obj.insert("errorType".into(), json!(error.kind));
            }
            if matches!(ev.kind, EventKind::TaskEnqueued { .. }) {
                obj.insert("dependsOn".into(), json!(task.depends_on));
                obj.insert("enqueuedBy".into(), json!(task.enqueued_by));
            }
        }
        EventKind::TaskRequeued { task, reason } => {
            task_fields(&mut obj, task, Some(reason));
        }
        EventKind::TaskActivity {
            task_id,
            phrase,
            usage,
            cost_usd,
        } => {
            obj.insert("task".into(), json!(task_id));
            if let Some(usage) = usage {
                obj.insert("usage".into(), json!(usage));
            }
            if let Some(cost) = cost_usd {
                obj.insert("costUsd".into(), json!(cost));
            }
            obj.insert("phrase".into(), json!(phrase));
        }
        EventKind::SeedActivity {
            phrase,
            usage,
            cost_usd,
        } => {
            if let Some(usage) = usage {
                obj.insert("usage".into(), json!(usage));
            }
            if let Some(cost) = cost_usd {
                obj.insert("costUsd".into(), json!(cost));
            }
            obj.insert("phrase".into(), json!(phrase));
        }
        EventKind::TaskRelabeled { task_id, label } => {
            obj.insert("task".into(), json!(task_id));
            obj.insert("label".into(), json!(label));
        }
        EventKind::RunFinished { outcome } => {
            obj.insert("usage".into(), json!(outcome.usage));
            obj.insert("costUsd".into(), json!(outcome.cost_usd));
            obj.insert("verdict".into(), json!(outcome.verdict));
            obj.insert("message".into(), json!(outcome.message));
            obj.insert("total".into(), json!(outcome.total));
            obj.insert("completed".into(), json!(outcome.completed));
            obj.insert("notNeeded".into(), json!(outcome.not_needed));
            obj.insert("failed".into(), json!(outcome.failed));
            obj.insert("blocked".into(), json!(outcome.blocked));
            obj.insert("neverRan".into(), json!(outcome.never_ran));
            obj.insert("problems".into(), json!(outcome.problems));
            let conflicts: Vec<Value> = outcome
                .conflicts
                .iter()
                .map(|(task, line)| json!({ "task": task, "conflict": line }))
                .collect();
            obj.insert("conflicts".into(), Value::Array(conflicts));
        }
    }
    obj.insert("seq".into(), json!(ev.seq));
    Value::Object(obj).to_string()
}

/// The shared task keys, in the documented order.
fn task_fields(obj: &mut Map<String, Value>, task: &Task, reason: Option<&str>) {
    obj.insert("task".into(), json!(task.id));
    obj.insert("type".into(), json!(task.task_type));
    obj.insert("app".into(), json!(task.app));
    obj.insert("label".into(), json!(task.label));
    obj.insert("model".into(), json!(task.model));
    obj.insert("status".into(), json!(task.status.name()));
    if let Some(reason) = reason {
        obj.insert("reason".into(), json!(reason));
    }
    obj.insert("attempts".into(), json!(task.attempts));
    obj.insert("usage".into(), json!(task.usage));
    obj.insert("costUsd".into(), json!(task.cost_usd));
}
