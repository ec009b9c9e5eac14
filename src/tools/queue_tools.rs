//! The queue tools: `enqueue_task`, `read_handoffs`, and `complete_task`'s contract.
//!
//! `enqueue_task` and `read_handoffs` reach the queue through the running
//! agent's [`TaskPort`], so each agent's calls are attributed to its own task
//! even when tasks run in parallel. `complete_task` is not executed as a
//! tool: the agent loop recognises it, ends the agent at once, and reports
//! the handoff; this module only defines and validates its input.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Tool, ToolContext, ToolError, ToolOutput};
use crate::agent::TaskPort;
use crate::messages::{Handoff, HandoffQuery, ReportStatus, TaskSpec};
use crate::providers::ToolSpec;

/// The name of the tool that ends a task.
pub const COMPLETE_TASK: &str = "complete_task";
/// The name of the tool that adds a task.
pub const ENQUEUE_TASK: &str = "enqueue_task";
/// The name of the tool that reads handoffs.
pub const READ_HANDOFFS: &str = "read_handoffs";

/// Longest text field of a handoff, in characters.
pub const MAX_HANDOFF_FIELD: usize = 8_000;
/// Most entries in `filesTouched`.
pub const MAX_FILES_TOUCHED: usize = 200;

fn handoff_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "goals": {"type": "string", "description": "What this task was asked to achieve."},
            "did": {"type": "string", "description": "What you actually did, file by file."},
            "forNextAgent": {"type": "string", "description": "What the next agent should know."},
            "filesTouched": {"type": "array", "items": {"type": "string"}, "description": "Files you created or changed, relative to the project."},
            "conflict": {"type": "string", "description": "One line the user must review (only for a real unresolved problem)."}
        },
        "required": ["goals", "did", "forNextAgent"]
    })
}

/// The spec of `complete_task`.
pub fn complete_task_spec() -> ToolSpec {
    ToolSpec {
        name: COMPLETE_TASK.into(),
        description: "Report the end of your task exactly once, with a structured handoff. This ends your turn for good. \
status: done (the work is done), failed (it could not be done; say why in forNextAgent), skipped (it does not apply to this project; say why in did)."
            .into(),
        input_schema: json!({
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": ["done", "failed", "skipped"]},
                "handoff": handoff_schema()
            },
            "required": ["status", "handoff"]
        }),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteInput {
    status: ReportStatus,
    handoff: Handoff,
}

/// Validates a `complete_task` call. Errors tell the model how to fix the call.
pub fn parse_complete_task(input: &Value) -> Result<(ReportStatus, Handoff), ToolError> {
    let parsed: CompleteInput = serde_json::from_value(input.clone())
        .map_err(|e| ToolError::InvalidInput(format!("complete_task: {e}; expected {{status: done|failed|skipped, handoff: {{goals, did, forNextAgent, filesTouched?, conflict?}}}}")))?;
    let h = &parsed.handoff;
    for (field, text) in [
        ("goals", &h.goals),
        ("did", &h.did),
        ("forNextAgent", &h.for_next_agent),
    ] {
        if text.trim().is_empty() {
            return Err(ToolError::InvalidInput(format!(
                "complete_task: handoff.{field} must not be empty"
            )));
        }
        if text.chars().count() > MAX_HANDOFF_FIELD {
            return Err(ToolError::InvalidInput(format!(
                "complete_task: handoff.{field} is longer than {MAX_HANDOFF_FIELD} characters; summarise"
            )));
        }
    }
    if h.files_touched.len() > MAX_FILES_TOUCHED {
        return Err(ToolError::InvalidInput(format!(
            "complete_task: handoff.filesTouched lists {} files; at most {MAX_FILES_TOUCHED}",
            h.files_touched.len()
        )));
    }
    if let Some(c) = &h.conflict {
        if c.chars().count() > 1_000 {
            return Err(ToolError::InvalidInput(
                "complete_task: handoff.conflict must be one short line".into(),
            ));
        }
    }
    let mut handoff = parsed.handoff;
    // Check results are the runtime's record; a model cannot claim them.
    handoff.checks.clear();
    handoff.file_checks.clear();
    handoff.verification = None;
    Ok((parsed.status, handoff))
}

/// `enqueue_task`: adds a task to the queue on behalf of the calling agent.
pub struct EnqueueTask {
    port: Arc<dyn TaskPort>,
    types: Vec<String>,
}

impl EnqueueTask {
    /// The tool for one agent, listing the run's valid task types.
    pub fn new(port: Arc<dyn TaskPort>, types: Vec<String>) -> Self {
        Self { port, types }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EnqueueInput {
    #[serde(rename = "type")]
    task_type: String,
    label: Option<String>,
    inputs: Option<Value>,
    #[serde(default)]
    depends_on: Vec<String>,
    model: Option<String>,
    reason: String,
}

#[async_trait]
impl Tool for EnqueueTask {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: ENQUEUE_TASK.into(),
            description: format!(
                "Add a task to the queue. Returns {{\"id\": \"…\"}}; use ids (never types) in later dependsOn lists. \
Dependencies must already exist. Valid types: {}.",
                self.types.join(", ")
            ),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": self.types},
                    "label": {"type": "string", "description": "The action in a few words, no file names."},
                    "inputs": {"type": "object", "description": "Task-specific instructions, for that task only."},
                    "dependsOn": {"type": "array", "items": {"type": "string"}, "description": "Ids of tasks that must finish first."},
                    "model": {"type": "string", "description": "Override the model tier: small, medium or large."},
                    "reason": {"type": "string", "description": "One line: why this task is needed."}
                },
                "required": ["type", "reason"]
            }),
        }
    }

    fn activity(&self, input: &Value) -> String {
        match input.get("type").and_then(Value::as_str) {
            Some(t) => format!("Planning {t}"),
            None => "Planning a task".into(),
        }
    }

    async fn call(&self, _ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
        let input: EnqueueInput = serde_json::from_value(input)
            .map_err(|e| ToolError::InvalidInput(format!("enqueue_task: {e}")))?;
        let spec = TaskSpec {
            task_type: input.task_type,
            label: input.label,
            inputs: input.inputs.unwrap_or_else(|| json!({})),
            depends_on: input.depends_on,
            model: input.model,
            reason: Some(input.reason),
        };
        match self.port.enqueue(spec).await {
            Ok(id) => Ok(ToolOutput::text(json!({ "id": id }).to_string())),
            Err(e) => Err(ToolError::Failed(format!("enqueue_task refused: {e}"))),
        }
    }
}

/// `read_handoffs`: reads handoffs of other tasks.
pub struct ReadHandoffsTool {
    port: Arc<dyn TaskPort>,
}

impl ReadHandoffsTool {
    /// The tool for one agent.
    pub fn new(port: Arc<dyn TaskPort>) -> Self {
        Self { port }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ReadInput {
    task_id: Option<String>,
    #[serde(rename = "type")]
    task_type: Option<String>,
}

#[async_trait]
impl Tool for ReadHandoffsTool {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: READ_HANDOFFS.into(),
            description: "Read handoffs left by other tasks: by taskId, by type, or (no arguments) those of your direct dependencies. \
Your prompt already includes the handoffs of every task you depend on."
                .into(),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "taskId": {"type": "string"},
                    "type": {"type": "string"}
                }
            }),
        }
    }

    fn activity(&self, _input: &Value) -> String {
        "Reading earlier handoffs".into()
    }

    async fn call(&self, _ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
        let input: ReadInput = serde_json::from_value(input)
            .map_err(|e| ToolError::InvalidInput(format!("read_handoffs: {e}")))?;
        let query = match (input.task_id, input.task_type) {
            (Some(id), _) => HandoffQuery::Task(id),
            (None, Some(t)) => HandoffQuery::Type(t),
            (None, None) => HandoffQuery::DependenciesOf(String::new()),
        };
        let handoffs = self
            .port
            .read_handoffs(query)
            .await
            .map_err(|e| ToolError::Failed(format!("read_handoffs: {e}")))?;
        serde_json::to_string_pretty(&handoffs)
            .map(ToolOutput::text)
            .map_err(|e| ToolError::Failed(format!("read_handoffs: {e}")))
    }
}
