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
