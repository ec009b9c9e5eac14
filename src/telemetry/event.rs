//! One telemetry event as PostHog's `/batch/` endpoint takes it, and the names we send.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

/// Event names. Task and run events come from queue events; the first three
/// are sent by the CLI through the telemetry actor's `Capture` message.
pub mod names {
    /// The process started a run.
    pub const STARTED: &str = "wizard started";
    /// Bootstrap (health, conflicts, credentials) is done.
    pub const BOOTSTRAP_COMPLETED: &str = "wizard bootstrap completed";
    /// The variant (linear or orchestrator) is decided.
    pub const VARIANT_ASSIGNED: &str = "wizard variant assigned";
    /// A task attempt started.
    pub const TASK_STARTED: &str = "wizard task started";
    /// A task completed.
    pub const TASK_COMPLETED: &str = "wizard task completed";
    /// A task failed for good.
    pub const TASK_FAILED: &str = "wizard task failed";
    /// A task was skipped.
    pub const TASK_SKIPPED: &str = "wizard task skipped";
    /// The run is over.
    pub const RUN_FINISHED: &str = "wizard run finished";
}

/// Properties on every event: which runner, which run, which app.
pub mod props {
    /// `linear` or `orchestrator` (`unassigned` when the run ended before routing).
    pub const VARIANT: &str = "VARIANT";
    /// The run's uuid.
    pub const RUN_ID: &str = "run_id";
    /// Always `wizard`.
    pub const APP_NAME: &str = "$app_name";
}

/// One event, stamped and ready to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TelemetryEvent {
    /// The event name.
    pub event: String,
    /// Who: the user's email or anonymous id.
    pub distinct_id: String,
    /// What, including the common properties.
    pub properties: Map<String, Value>,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// Lets the server drop a duplicate when a retried batch had arrived after all.
    pub uuid: uuid::Uuid,
}
