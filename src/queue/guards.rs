//! The queue's limits and the typed errors its guards return.
//!
//! Every error's text is written for the agent that made the call: it says
//! what was wrong and how to fix the call.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Limits that keep a run finite. All configurable from the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueLimits {
    /// Tasks a run may hold.
    pub max_tasks: usize,
    /// Tasks one task may enqueue.
    pub max_enqueues_per_task: usize,
    /// Deepest enqueue level (the seed's tasks are depth 1).
    pub max_depth: u32,
    /// Attempts per task.
    pub max_attempts: u32,
    /// Task starts per run, over all tasks and attempts.
    pub max_starts: u32,
    /// Tasks running at once.
    pub concurrency: usize,
}

impl Default for QueueLimits {
    fn default() -> Self {
        Self {
            max_tasks: 30,
            max_enqueues_per_task: 5,
            max_depth: 3,
            max_attempts: 2,
            max_starts: 200,
            concurrency: 1,
        }
    }
}

/// Why an enqueue was refused, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "guard", rename_all = "kebab-case")]
pub enum GuardError {
    /// The run already holds the most tasks it may.
    #[error("the run is full: it already holds {limit} tasks, the most a run may have. Do not enqueue more; finish your own task instead.")]
    RunFull {
        /// The limit.
        limit: usize,
    },
    /// This task already enqueued as many tasks as it may.
    #[error("task {by} already enqueued {limit} tasks, the most one task may enqueue. Fold the remaining work into the tasks you already enqueued, or describe it in your handoff.")]
    TooManyEnqueues {
        /// The enqueuing task.
        by: String,
        /// The limit.
        limit: usize,
    },
    /// The new task would be nested too deep.
    #[error("the task would be at depth {depth}, deeper than the limit of {limit}. Do the work yourself or describe it in your handoff instead of enqueueing it.")]
    TooDeep {
        /// The depth it would have.
        depth: u32,
        /// The limit.
        limit: u32,
    },
    /// The type is not in the run's catalogue.
    #[error("unknown task type \"{task_type}\"{}. Valid types: {}.", suggestion_text(.suggestion), .known.join(", "))]
    UnknownType {
        /// The type asked for.
        task_type: String,
        /// A close valid type, if any.
        suggestion: Option<String>,
        /// Every valid type.
        known: Vec<String>,
    },
    /// A dependency id does not exist (dependencies must be enqueued first).
    #[error("unknown dependency id \"{id}\"{}. dependsOn takes ids returned by earlier enqueue_task calls, and they must already exist; existing ids: {}.", suggestion_text(.suggestion), existing_text(.known))]
    UnknownDependency {
        /// The id asked for.
        id: String,
        /// A close existing id, if any.
        suggestion: Option<String>,
        /// Existing ids (at most a few dozen).
        known: Vec<String>,
    },
    /// The same type with the same inputs is already queued.
    #[error("duplicate: task {existing} already has type \"{task_type}\" and the same inputs. Use its id as a dependency instead of enqueueing it again.")]
    Duplicate {
        /// The type.
        task_type: String,
        /// The id of the task it duplicates.
        existing: String,
    },
    /// The model is neither a tier nor a model the run has a price for.
    #[error("unknown model \"{model}\": name a tier ({}) or leave `model` out to use the task type's default.", .tiers.join(", "))]
    UnknownModel {
        /// The model asked for.
        model: String,
        /// The tiers that may be named.
        tiers: Vec<String>,
    },
    /// The run is over or stopping; nothing more is accepted.
    #[error("the run is stopping; no more tasks are accepted")]
    Closed,
}

impl GuardError {
    /// A short stable name for telemetry and the audit log.
    pub fn guard(&self) -> &'static str {
        match self {
            GuardError::RunFull { .. } => "run-full",
            GuardError::TooManyEnqueues { .. } => "too-many-enqueues",
            GuardError::TooDeep { .. } => "too-deep",
            GuardError::UnknownType { .. } => "unknown-type",
            GuardError::UnknownDependency { .. } => "unknown-dependency",
            GuardError::Duplicate { .. } => "duplicate",
            GuardError::UnknownModel { .. } => "unknown-model",
            GuardError::Closed => "closed",
        }
    }
}

/// Why a handoff query failed.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum QueryError {
    /// No task has this id.
    #[error("no task has id \"{0}\"")]
    UnknownTask(String),
    /// The queue is gone (the run ended); there is nothing to read.
    #[error("the queue is no longer running, so handoffs cannot be read")]
    Closed,
}

fn suggestion_text(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean \"{s}\"?)"),
        None => String::new(),
    }
}

fn existing_text(known: &[String]) -> String {
    if known.is_empty() {
        "none yet".to_string()
    } else {
        known.join(", ")
    }
}

/// The closest candidate to `name` by edit distance, when it is close enough to be a typo.
pub fn closest<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}
