//! Tasks: what an enqueue asks for ([`TaskSpec`]) and what the queue keeps ([`Task`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Handoff;

/// A readable task id: `install`, `install-2`, …
pub type TaskId = String;

/// What an enqueue asks for. Validated by the queue's guards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSpec {
    /// The task type: the agent prompt it runs.
    #[serde(rename = "type")]
    pub task_type: String,
    /// What the UI shows; defaults to the type's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Transient, task-specific instructions: rendered into this task's prompt only.
    #[serde(default = "empty_object")]
    pub inputs: Value,
    /// Ids of tasks that must finish first. They must already exist.
    #[serde(default)]
    pub depends_on: Vec<TaskId>,
    /// A model tier or concrete model id that overrides the type's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// One line on why the task is needed (for the audit log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl TaskSpec {
    /// A spec with no inputs, label or dependencies.
    pub fn new(task_type: impl Into<String>) -> Self {
        Self {
            task_type: task_type.into(),
            label: None,
            inputs: empty_object(),
            depends_on: Vec::new(),
            model: None,
            reason: None,
        }
    }

    /// The same spec, depending on `ids`.
    pub fn after<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.depends_on = ids.into_iter().map(Into::into).collect();
        self
    }

    /// The same spec with these inputs.
    pub fn with_inputs(mut self, inputs: Value) -> Self {
        self.inputs = inputs;
        self
    }
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// Who asked for a task: the orchestrator's seed, or a running task.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Enqueuer {
    /// The seeding agent (or the static seed); its tasks have depth 1.
    Orchestrator,
    /// A running task (dynamic enqueue); its tasks are one level deeper.
    Task(TaskId),
}

impl Enqueuer {
    /// The name recorded in `enqueuedBy`.
    pub fn name(&self) -> &str {
        match self {
            Enqueuer::Orchestrator => "orchestrator",
            Enqueuer::Task(id) => id,
        }
    }
}

/// Where a task is in its life. "Ready" is derived, never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum TaskStatus {
    /// Waiting for its dependencies or for a free agent.
    Pending,
    /// An agent is working on it.
    Running,
    /// Done; its handoff is available.
    Completed,
    /// Failed for good (no attempts left).
    Failed,
    /// Will not run. `blockedBy` is set when a dependency failed; otherwise
    /// the task decided it was not needed, which satisfies its dependents.
    Skipped {
        /// Why, in words the user reads.
        reason: String,
        /// The failed dependency that caused the skip, if any.
        #[serde(default, rename = "blockedBy", skip_serializing_if = "Option::is_none")]
        blocked_by: Option<TaskId>,
    },
}

impl TaskStatus {
    /// True for completed, failed and skipped.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, TaskStatus::Pending | TaskStatus::Running)
    }

    /// True when dependents may run: completed, or skipped as not needed.
    pub fn satisfies_dependents(&self) -> bool {
        matches!(
            self,
            TaskStatus::Completed
                | TaskStatus::Skipped {
                    blocked_by: None,
                    ..
                }
        )
    }

    /// True when dependents can never run: failed, or skipped because of a failure.
    pub fn blocks_dependents(&self) -> bool {
        matches!(
            self,
            TaskStatus::Failed
                | TaskStatus::Skipped {
                    blocked_by: Some(_),
                    ..
                }
        )
    }

    /// The lowercase name used in files and events.
    pub fn name(&self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Running => "running",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Skipped { .. } => "skipped",
        }
    }
}

/// Tokens a task (or a request) used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens served from the prompt cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_write_tokens: u64,
}

impl Usage {
    /// Adds another usage to this one. Counts come from providers and files,
    /// so they saturate instead of overflowing.
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cache_read_tokens = self
            .cache_read_tokens
            .saturating_add(other.cache_read_tokens);
        self.cache_write_tokens = self
            .cache_write_tokens
            .saturating_add(other.cache_write_tokens);
    }

    /// All input tokens, cached or not.
    pub fn total_input(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.cache_read_tokens)
            .saturating_add(self.cache_write_tokens)
    }

    /// Input and output tokens together.
    pub fn total(&self) -> u64 {
        self.total_input().saturating_add(self.output_tokens)
    }
}

/// Why an attempt ended without success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskError {
    /// A stable kind: `self-reported`, `no-report`, `timeout`, `panic`, `provider`, `max-turns`, `interrupted`, `budget`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What happened, for the user.
    pub message: String,
}

/// A task as the queue keeps it; `queue.json` holds a list of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// Readable id (`install`, `install-2`).
    pub id: TaskId,
    /// The agent prompt it runs.
    #[serde(rename = "type")]
    pub task_type: String,
    /// What the UI shows.
    pub label: String,
    /// Status, with the reason when skipped.
    #[serde(flatten)]
    pub status: TaskStatus,
    /// Ids this task waits for.
    pub depends_on: Vec<TaskId>,
    /// Transient instructions for this task only.
    pub inputs: Value,
    /// Model tier (`small|medium|large`) or concrete model id.
    pub model: String,
    /// Attempts started so far.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// `orchestrator` or the id of the task that enqueued it.
    pub enqueued_by: String,
    /// 1 for the seed's tasks, +1 per dynamic enqueue level.
    pub depth: u32,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When the latest attempt started.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a terminal status.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// The handoff, once reported.
    #[serde(default)]
    pub handoff: Option<Handoff>,
    /// Why the latest attempt failed, if it did.
    #[serde(default)]
    pub error: Option<TaskError>,
    /// Tokens over all attempts.
    #[serde(default)]
    pub usage: Usage,
    /// Cost over all attempts, in US dollars.
    #[serde(default)]
    pub cost_usd: f64,
    /// Model requests retried after a transient provider failure (429, 529, a cut stream…).
    #[serde(default)]
    pub provider_retries: u32,
}
