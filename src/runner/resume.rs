//! Resume: rebuilds an unfinished run from what it left on disk.
//!
//! `queue.json` is the last coalesced snapshot; `audit.jsonl` may hold a few
//! events after it (a kill between an event and the next write). Resume
//! replays those through the same [`Mirror`] the persister uses, ignores a
//! torn last line, and rewrites any handoff file the kill cut off. Tasks
//! that were running go back to pending when the queue is rebuilt
//! ([`QueueState::restore`](crate::queue::QueueState::restore)).

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::actors::persist::{files, write_json_atomic};
use crate::messages::{QueueEvent, QueueFile, TaskHandoff, TaskStatus, Verdict};
use crate::queue::Mirror;

/// Why a run cannot be resumed.
#[derive(Debug, Error)]
pub enum ResumeError {
    /// There is no run in this directory.
    #[error("no run to resume in {0}: {1} is missing")]
    NoRun(PathBuf, &'static str),
    /// The queue file is unreadable.
    #[error("{path} is not a valid queue file: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// The run already ended with this verdict.
    #[error("the run in {dir} already finished ({verdict:?}): {message}. Start a new one with `wizard integrate --fresh`.")]
    Finished {
        /// The directory.
        dir: PathBuf,
        /// Its verdict.
        verdict: Verdict,
        /// Its message.
        message: String,
    },
    /// Reading a file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// What was loaded, and what had to be repaired.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The queue as of the last recorded event.
    pub file: QueueFile,
    /// Events replayed from the audit log on top of `queue.json`.
    pub replayed: usize,
    /// True when the audit log ended in a torn line (a kill mid-write).
    pub torn_tail: bool,
    /// Handoff files rewritten because the kill cut them off.
    pub handoffs_repaired: Vec<String>,
}

/// True when `state_dir` holds a run that can be continued.
pub fn has_unfinished_run(state_dir: &Path) -> bool {
    load(state_dir).is_ok()
}

/// Loads the run in `state_dir` for resuming.
pub fn load(state_dir: &Path) -> Result<Loaded, ResumeError> {
    let queue_path = state_dir.join(files::QUEUE);
    if !queue_path.exists() {
        return Err(ResumeError::NoRun(state_dir.to_path_buf(), files::QUEUE));
    }
    let text = fs::read_to_string(&queue_path).map_err(|source| ResumeError::Io {
        path: queue_path.clone(),
        source,
    })?;
    let file: QueueFile = serde_json::from_str(&text).map_err(|e| ResumeError::Corrupt {
        path: queue_path.clone(),
        message: e.to_string(),
    })?;
    let mut mirror = Mirror::new(file);
    let (replayed, torn_tail) = replay_audit(&state_dir.join(files::AUDIT), &mut mirror)?;
    let file = mirror.into_file();
    if let Some(outcome) = &file.outcome {
        if matches!(outcome.verdict, Verdict::Success | Verdict::Failed) {
            return Err(ResumeError::Finished {
                dir: state_dir.to_path_buf(),
                verdict: outcome.verdict,
                message: outcome.message.clone(),
            });
        }
    }
    let handoffs_repaired = repair_handoffs(state_dir, &file);
    Ok(Loaded {
        file,
        replayed,
        torn_tail,
        handoffs_repaired,
    })
}

fn replay_audit(path: &Path, mirror: &mut Mirror) -> Result<(usize, bool), ResumeError> {
    let Ok(f) = fs::File::open(path) else {
        return Ok((0, false));
    };
    let before = mirror.file().last_seq;
    let mut replayed = 0;
    let mut lines = BufReader::new(f).lines().peekable();
    while let Some(line) = lines.next() {
        let line = line.map_err(|source| ResumeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        match serde_json::from_str::<QueueEvent>(&line) {
            Ok(event) => {
                if event.seq > before {
                    mirror.apply(&event);
                    replayed += 1;
                }
            }
            // Only the last line can be torn by a kill; anything else is damage we stop at.
            Err(e) => {
                let last = lines.peek().is_none();
                if !last {
                    tracing::warn!("audit log damaged before its end ({e}); replay stops there");
                }
                return Ok((replayed, true));
            }
        }
    }
    Ok((replayed, false))
}

fn repair_handoffs(state_dir: &Path, file: &QueueFile) -> Vec<String> {
    let dir = state_dir.join(files::HANDOFFS);
    let mut repaired = Vec::new();
    for t in &file.tasks {
        let reported = matches!(
            t.status,
            TaskStatus::Completed
                | TaskStatus::Skipped {
                    blocked_by: None,
                    ..
                }
        );
        let Some(handoff) = t.handoff.as_ref().filter(|_| reported) else {
            continue;
        };
        let path = dir.join(format!("{}.json", t.id));
        let valid = fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<TaskHandoff>(&b).ok())
            .is_some();
        if valid {
            continue;
        }
        let record = TaskHandoff {
            task_id: t.id.clone(),
            task_type: t.task_type.clone(),
            handoff: handoff.clone(),
        };
        if fs::create_dir_all(&dir).is_ok() && write_json_atomic(&path, &record).is_ok() {
            repaired.push(t.id.clone());
        }
    }
    repaired
}
