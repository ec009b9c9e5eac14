//! Agents: the seam between the queue machinery and whatever does a task's work.
//!
//! A [`AgentBackend`] runs one attempt of one task and says how it ended.
//! The real backend is the agent loop (a fresh model context per task); the
//! stub backend proves the machinery without any model. Backends reach the
//! queue only through a [`TaskPort`], so they can be tested without actors.

pub mod backend;
pub mod checks;
mod early_calls;
pub mod prompt;
pub mod run_loop;
pub mod stub;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::messages::{AttemptEnd, HandoffQuery, Task, TaskHandoff, TaskId, TaskSpec, Usage};
use crate::queue::{GuardError, QueryError};

/// One attempt of one task, as handed to a backend.
#[derive(Debug, Clone)]
pub struct AgentJob {
    /// The task, running; `attempts` counts this attempt.
    pub task: Task,
    /// Handoffs of all transitive ancestors, roots first.
    pub ancestors: Vec<TaskHandoff>,
}

/// How an attempt ended, with what it used.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptReport {
    /// How it ended.
    pub end: AttemptEnd,
    /// Tokens used.
    pub usage: Usage,
    /// Cost in US dollars.
    pub cost_usd: f64,
    /// Model requests retried after transient provider failures.
    pub provider_retries: u32,
}

impl AttemptReport {
    /// A report with no usage.
    pub fn free(end: AttemptEnd) -> Self {
        Self {
            end,
            usage: Usage::default(),
            cost_usd: 0.0,
            provider_retries: 0,
        }
    }
}

/// How seeding ended, with what it used.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SeedReport {
    /// Why seeding failed, if it did.
    pub error: Option<String>,
    /// Tokens used.
    pub usage: Usage,
    /// Cost in US dollars.
    pub cost_usd: f64,
}

/// What a running agent may ask of the queue.
#[async_trait]
pub trait TaskPort: Send + Sync {
    /// Enqueues a task on behalf of this agent.
    async fn enqueue(&self, spec: TaskSpec) -> Result<TaskId, GuardError>;
    /// Reads handoffs.
    async fn read_handoffs(&self, query: HandoffQuery) -> Result<Vec<TaskHandoff>, QueryError>;
    /// Reports a short activity phrase (and the usage so far) for the UI.
    fn activity(&self, phrase: String, usage: Option<Usage>, cost_usd: Option<f64>);
    /// Refines the task's label.
    fn relabel(&self, label: String);
    /// The id of the task this port belongs to (`None` for the seed).
    fn task_id(&self) -> Option<&str>;
    /// Notes the output of the task's failing checks (or `None` once they pass), so an
    /// attempt cut at its time limit fails with that output as the reason.
    fn check_failed(&self, _failure: Option<String>) {}
}

/// Something that can run a task attempt.
#[async_trait]
pub trait AgentBackend: Send + Sync {
    /// Runs one attempt to its end. Must not panic on bad input; a panic
    /// anyway fails only this task (the task agent catches it).
    async fn run(&self, job: AgentJob, port: Arc<dyn TaskPort>) -> AttemptReport;

    /// Runs the seeding agent, which enqueues the run's tasks through `port`.
    /// Returns what it used, and an error message when seeding failed.
    async fn seed(&self, port: Arc<dyn TaskPort>) -> SeedReport;

    /// The wall-time limit for one attempt of this task; the task agent cuts it there.
    fn time_limit(&self, _task: &Task) -> Duration {
        Duration::from_secs(600)
    }

    /// The wall-time limit of the seeding agent; the orchestrator cuts it there.
    fn seed_time_limit(&self) -> Duration {
        Duration::from_secs(600)
    }
}
