//! `queue.json`: the whole queue, as the persister writes it and resume reads it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{RunInfo, RunOutcome, Task, Variant};

/// The current `queue.json` format version.
pub const QUEUE_FILE_VERSION: u32 = 1;

/// The contents of `queue.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueFile {
    /// Format version (1).
    pub version: u32,
    /// The run's id, kept across resumes.
    pub run_id: String,
    /// Which runner.
    pub variant: Variant,
    /// The app's directory.
    pub install_dir: String,
    /// When the run was created.
    pub created_at: DateTime<Utc>,
    /// The detected framework, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    /// Tasks allowed to run at once.
    #[serde(default = "one")]
    pub concurrency: usize,
    /// Fingerprint of the content the run started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// True once the seeding agent finished; a resume seeds again otherwise.
    #[serde(default)]
    pub seeded: bool,
    /// The `seq` of the last event this file reflects.
    #[serde(default)]
    pub last_seq: u64,
    /// The verdict, once the run finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RunOutcome>,
    /// Every task, in enqueue order.
    pub tasks: Vec<Task>,
}

fn one() -> usize {
    1
}

impl QueueFile {
    /// An empty file for a run.
    pub fn new(run: &RunInfo) -> Self {
        Self {
            version: QUEUE_FILE_VERSION,
            run_id: run.run_id.clone(),
            variant: run.variant,
            install_dir: run.install_dir.clone(),
            created_at: run.created_at,
            framework: run.framework.clone(),
            concurrency: run.concurrency,
            content_hash: run.content_hash.clone(),
            seeded: false,
            last_seq: 0,
            outcome: None,
            tasks: Vec::new(),
        }
    }

    /// The run info this file records.
    pub fn run_info(&self) -> RunInfo {
        RunInfo {
            run_id: self.run_id.clone(),
            variant: self.variant,
            install_dir: self.install_dir.clone(),
            created_at: self.created_at,
            framework: self.framework.clone(),
            concurrency: self.concurrency,
            content_hash: self.content_hash.clone(),
        }
    }

    /// True when the run reached a verdict other than an interruption.
    pub fn is_finished(&self) -> bool {
        self.outcome
            .as_ref()
            .is_some_and(|o| o.verdict != super::Verdict::Interrupted)
    }
}
