//! Requests to the queue and to task agents, with their replies.

use actix::Message;
use serde::{Deserialize, Serialize};

use super::{Enqueuer, Handoff, RunOutcome, Task, TaskHandoff, TaskId, TaskSpec, Usage};

/// Add a task. Replies with the new id or the guard that refused it.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[rtype(result = "Result<TaskId, crate::queue::GuardError>")]
pub struct Enqueue {
    /// Who asks.
    pub by: Enqueuer,
    /// What for.
    pub spec: TaskSpec,
}

/// How an agent reported the end of its task through `complete_task`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    /// The work is done.
    Done,
    /// The work could not be done.
    Failed,
    /// The work does not apply to this app.
    Skipped,
}

/// How one attempt of a task ended, as the task agent saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttemptEnd {
    /// The agent called `complete_task`.
    Reported {
        /// What it reported.
        status: ReportStatus,
        /// Its handoff.
        handoff: Handoff,
    },
    /// The agent stopped without reporting.
    NoReport {
        /// Why it stopped, when known.
        detail: String,
    },
    /// The attempt broke: timeout, panic, provider error, turn limit.
    Error {
        /// A stable kind (`timeout`, `panic`, `provider`, `max-turns`, …).
        error_kind: String,
        /// What happened.
        message: String,
        /// True when the run cannot go on (a rejected API key): stop dispatching.
        #[serde(default)]
        fatal: bool,
    },
}

/// A task agent's report that an attempt is over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
#[rtype(result = "()")]
pub struct AttemptFinished {
    /// The task.
    pub task_id: TaskId,
    /// Which attempt (1-based); a stale report for an older attempt is ignored.
    pub attempt: u32,
    /// How it ended.
    pub end: AttemptEnd,
    /// Tokens the attempt used.
    pub usage: Usage,
    /// What the attempt cost, in US dollars.
    pub cost_usd: f64,
    /// Model requests the attempt retried after transient provider failures.
    #[serde(default)]
    pub provider_retries: u32,
}

/// A running task's latest activity, for the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
#[rtype(result = "()")]
pub struct Activity {
    /// The task.
    pub task_id: TaskId,
    /// A short human phrase.
    pub phrase: String,
    /// Tokens used by the attempt so far.
    pub usage: Option<Usage>,
    /// Cost of the attempt so far.
    pub cost_usd: Option<f64>,
}

/// The seeding agent's latest activity, for the UI (it has no task id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
#[rtype(result = "()")]
pub struct SeedActivity {
    /// A short human phrase.
    pub phrase: String,
    /// Tokens the seed used so far.
    pub usage: Option<Usage>,
    /// Cost of the seed so far.
    pub cost_usd: Option<f64>,
}

/// A running task refines its label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
#[rtype(result = "()")]
pub struct Relabel {
    /// The task.
    pub task_id: TaskId,
    /// The new label.
    pub label: String,
}

/// Which handoffs to read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HandoffQuery {
    /// One task's handoff.
    Task(TaskId),
    /// Every handoff of tasks of this type.
    Type(String),
    /// The direct dependencies of this task.
    DependenciesOf(TaskId),
}

/// Read handoffs. Replies with the ones that exist, in enqueue order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
#[rtype(result = "Result<Vec<TaskHandoff>, crate::queue::QueryError>")]
pub struct ReadHandoffs {
    /// Which ones.
    pub query: HandoffQuery,
}

/// A copy of every task, in enqueue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Message)]
#[rtype(result = "Vec<Task>")]
pub struct Snapshot;

/// The seeding is over: the run may end once the queue drains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
#[rtype(result = "()")]
pub struct SeedingDone {
    /// Why seeding failed, when it did; the run then fails with this message.
    pub error: Option<String>,
    /// Tokens the seeding agent used.
    pub usage: Usage,
    /// What the seeding agent cost, in US dollars.
    pub cost_usd: f64,
}

/// Stop: dispatch nothing more, put running tasks back to pending, finish the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Message)]
#[rtype(result = "()")]
pub struct Interrupt;

/// Sent to whoever waits for the end of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
#[rtype(result = "()")]
pub struct RunFinished {
    /// The verdict.
    pub outcome: RunOutcome,
    /// Every write error of the event log, one per line, if any.
    pub storage_error: Option<String>,
}

/// Run one attempt of a task. Sent by the queue to an idle task agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
#[rtype(result = "()")]
pub struct RunTask {
    /// The task, already marked running (its `attempts` counts this one).
    pub task: Task,
    /// Handoffs of all transitive ancestors, roots first, each once.
    pub ancestors: Vec<TaskHandoff>,
    /// Cancelled when the attempt must stop (interrupt, budget stop, end of the run).
    #[serde(skip)]
    pub cancel: crate::cancel::Carried,
}

/// Finish pending work (write files, restore the terminal) and reply when done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Message)]
#[rtype(result = "Result<(), String>")]
pub struct Flush;
