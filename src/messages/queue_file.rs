//! `queue.json`: the whole queue, as the persister writes it and resume reads it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{RunInfo, RunOutcome, Task};

/// The current `queue.json` format version.
pub const QUEUE_FILE_VERSION: u32 = 1;

/// The contents of `queue.json`.
///
/// The run's identity and settings are [`RunInfo`]'s fields, flattened, so the
/// file reads as it always did (files written before the flattening load too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueFile {
    /// Format version (1).
    pub version: u32,
    /// The run's identity and settings (`runId`, `variant`, `installDir`, …).
    #[serde(flatten)]
    pub run: RunInfo,
    /// True once the seeding agent finished; a resume seeds again otherwise.
    #[serde(default)]
    pub seeded: bool,
    /// The `seq` of the last event this file reflects.
    #[serde(default)]
    pub last_seq: u64,
    /// The verdict, once the run finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RunOutcome>,
    /// Every task, in enqueue order (shared with the events that carried them).
    pub tasks: Vec<Arc<Task>>,
}

impl QueueFile {
    /// An empty file for a run.
    pub fn new(run: &RunInfo) -> Self {
        Self {
            version: QUEUE_FILE_VERSION,
            run: run.clone(),
            seeded: false,
            last_seq: 0,
            outcome: None,
            tasks: Vec::new(),
        }
    }

    /// The run info this file records.
    pub fn run_info(&self) -> RunInfo {
        self.run.clone()
    }

    /// True when the run reached a verdict other than an interruption.
    pub fn is_finished(&self) -> bool {
        self.outcome
            .as_ref()
            .is_some_and(|o| o.verdict != super::Verdict::Interrupted)
    }
}
