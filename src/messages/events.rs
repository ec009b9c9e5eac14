//! Queue events: what happened, broadcast to every subscriber and appended to `audit.jsonl`.
//!
//! Events are "fat": a task event carries the whole task after the
//! transition, so a subscriber (the persister, the UI, resume) can apply it
//! without asking the queue for anything. The task is shared (`Arc`), not
//! copied: the queue, every event in flight, the persister's mirror and the
//! UI's view hold one copy of each version of a task between them.

use actix::Message;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use super::{Task, TaskId, Usage};

/// One event, numbered in the order the queue emitted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
#[rtype(result = "()")]
pub struct QueueEvent {
    /// Strictly increasing within a run (continues across a resume).
    pub seq: u64,
    /// Milliseconds since the process started.
    pub t_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// The kinds of event. The tag is the `event` field in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A run began (or continues, after a resume).
    RunStarted {
        /// The run's identity and settings.
        run: RunInfo,
    },
    /// A resumed run picked up where it stopped.
    RunResumed {
        /// The run's identity and settings.
        run: RunInfo,
        /// Tasks that were running and went back to pending.
        requeued: Vec<TaskId>,
    },
    /// The seeding agent finished (tasks may still be running). A resume of a
    /// run without this event seeds again.
    SeedingFinished {
        /// Why seeding failed, if it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A short human phrase about what the seeding agent is doing.
    SeedActivity {
        /// "Reading package.json".
        phrase: String,
        /// Tokens the seed used so far, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
        /// Cost of the seed so far, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cost_usd: Option<f64>,
    },
    /// A task joined the queue.
    TaskEnqueued {
        /// The task as enqueued.
        task: Arc<Task>,
    },
    /// An agent started an attempt.
    TaskStarted {
        /// The task, now running.
        task: Arc<Task>,
    },
    /// A short human phrase about what a running task is doing.
    TaskActivity {
        /// The task.
        task_id: TaskId,
        /// "Editing app/layout.tsx".
        phrase: String,
        /// Tokens used by the attempt so far, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
        /// Cost of the attempt so far, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cost_usd: Option<f64>,
    },
    /// A task finished its work.
    TaskCompleted {
        /// The task, completed, with its handoff.
        task: Arc<Task>,
    },
    /// A task failed for good.
    TaskFailed {
        /// The task, failed, with its error.
        task: Arc<Task>,
    },
    /// A task will not run (not needed, or blocked by a failure).
    TaskSkipped {
        /// The task, skipped, with its reason.
        task: Arc<Task>,
    },
    /// An attempt ended without success and the task goes back to pending.
    TaskRequeued {
        /// The task, pending again.
        task: Arc<Task>,
        /// Why the attempt did not succeed.
        reason: String,
    },
    /// A running task changed its label.
    TaskRelabeled {
        /// The task.
        task_id: TaskId,
        /// The new label.
        label: String,
    },
    /// The run is over.
    RunFinished {
        /// The verdict and totals.
        outcome: RunOutcome,
    },
}

impl EventKind {
    /// The `event` name used in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::RunStarted { .. } => "run_started",
            EventKind::RunResumed { .. } => "run_resumed",
            EventKind::SeedingFinished { .. } => "seeding_finished",
            EventKind::SeedActivity { .. } => "seed_activity",
            EventKind::TaskEnqueued { .. } => "task_enqueued",
            EventKind::TaskStarted { .. } => "task_started",
            EventKind::TaskActivity { .. } => "task_activity",
            EventKind::TaskCompleted { .. } => "task_completed",
            EventKind::TaskFailed { .. } => "task_failed",
            EventKind::TaskSkipped { .. } => "task_skipped",
            EventKind::TaskRequeued { .. } => "task_requeued",
            EventKind::TaskRelabeled { .. } => "task_relabeled",
            EventKind::RunFinished { .. } => "run_finished",
        }
    }

    /// The task this event is about, if any.
    pub fn task(&self) -> Option<&Arc<Task>> {
        match self {
            EventKind::TaskEnqueued { task }
            | EventKind::TaskStarted { task }
            | EventKind::TaskCompleted { task }
            | EventKind::TaskFailed { task }
            | EventKind::TaskSkipped { task }
            | EventKind::TaskRequeued { task, .. } => Some(task),
            _ => None,
        }
    }
}

/// Which runner a run uses; stamped on every telemetry event as `VARIANT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// The queue of small agents.
    #[default]
    Orchestrator,
    /// One agent, one prompt: the A/B baseline.
    Linear,
}

impl Variant {
    /// `orchestrator` or `linear`.
    pub fn name(&self) -> &'static str {
        match self {
            Variant::Orchestrator => "orchestrator",
            Variant::Linear => "linear",
        }
    }
}

/// A run's identity and settings, as recorded at its start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    /// A uuid, kept across resumes.
    pub run_id: String,
    /// Which runner.
    pub variant: Variant,
    /// The app's directory, absolute.
    pub install_dir: String,
    /// When the run was first created.
    pub created_at: DateTime<Utc>,
    /// The detected framework, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    /// How many tasks may run at once (1 in files that predate the field).
    #[serde(default = "one")]
    pub concurrency: usize,
    /// A fingerprint of the content the run started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

fn one() -> usize {
    1
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every task completed or was skipped as not needed.
    Success,
    /// A task failed, was blocked by a failure, or never ran.
    Failed,
    /// The user stopped the run; it can be resumed.
    Interrupted,
    /// The token or cost budget stopped the run; it can be resumed with a larger one.
    BudgetExhausted,
}

/// A task the verdict names: failed, blocked, or never run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The task.
    pub task_id: TaskId,
    /// Its type.
    #[serde(rename = "type")]
    pub task_type: String,
    /// Its label.
    pub label: String,
    /// What went wrong.
    pub reason: String,
}

/// The verdict and the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunOutcome {
    /// The verdict.
    pub verdict: Verdict,
    /// One honest sentence for the user.
    pub message: String,
    /// Tasks in the run.
    pub total: usize,
    /// Tasks completed.
    pub completed: usize,
    /// Tasks skipped as not needed.
    pub not_needed: usize,
    /// Tasks failed for good.
    pub failed: usize,
    /// Tasks skipped because a dependency failed.
    pub blocked: usize,
    /// Tasks that never ran (interrupted, budget, start limit).
    pub never_ran: usize,
    /// Failed, blocked and never-run tasks, with reasons.
    pub problems: Vec<Problem>,
    /// Conflicts reported in handoffs: (task id, line).
    pub conflicts: Vec<(TaskId, String)>,
    /// Tokens over the run.
    pub usage: Usage,
    /// Cost over the run, in US dollars.
    pub cost_usd: f64,
}
