//! The structured note every task leaves for the tasks after it.

use serde::{Deserialize, Serialize};

/// What a task reports through `complete_task`: the contract between tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Handoff {
    /// What the task was asked to achieve.
    pub goals: String,
    /// What it actually did.
    pub did: String,
    /// What the next agent should know.
    pub for_next_agent: String,
    /// Files the task created or changed, relative to the install dir.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files_touched: Vec<String>,
    /// One line the user must review, surfaced in the outro.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
    /// The runtime's own `check` commands, as last run (never written by the model).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CommandCheck>,
    /// The runtime's own `checkFiles` assertions, as last checked (never written by the model).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_checks: Vec<FileAssertion>,
    /// What a verify task learned about the planned events (never written by the model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<super::Verification>,
}

/// One `check` command the runtime ran after `complete_task(done)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandCheck {
    /// The command as the content wrote it.
    pub command: String,
    /// Its exit code; `None` when it was not run, timed out or was killed by a signal.
    pub exit_code: Option<i32>,
    /// How long it ran, in milliseconds.
    pub ms: u64,
    /// Why it was not run (`--skip-commands`); a check not run never counts as passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_run: Option<String>,
}

impl CommandCheck {
    /// True only for a command that ran and exited 0.
    pub fn passed(&self) -> bool {
        self.exit_code == Some(0) && self.not_run.is_none()
    }
}

/// One `checkFiles` assertion and what the runtime found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileAssertion {
    /// The assertion in words (`exactly 1 match(es) of /posthog\.init\(/ in **/*.ts`).
    pub expect: String,
    /// Files matched (no pattern) or occurrences of the pattern found.
    pub found: u64,
    /// Whether the count was within bounds.
    pub passed: bool,
}

/// A handoff together with the task that wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskHandoff {
    /// The id of the task that wrote it.
    pub task_id: String,
    /// The type of that task.
    #[serde(rename = "type")]
    pub task_type: String,
    /// The handoff itself.
    pub handoff: Handoff,
}
