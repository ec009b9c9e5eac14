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

use crate::actors::persist::files;
use crate::atomic_file;
use crate::messages::{
    QueueEvent, QueueFile, TaskHandoff, TaskStatus, Verdict, QUEUE_FILE_VERSION,
};
use crate::queue::{dependency_order, Mirror};

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
    #[error("the run in {dir} already finished ({verdict:?}): {message} Start a new one with `wizard integrate --fresh`.")]
    Finished {
        /// The directory.
        dir: PathBuf,
        /// Its verdict.
        verdict: Verdict,
        /// Its message.
        message: String,
        /// The queue as recorded (replayed from the audit log).
        file: Box<QueueFile>,
    },
    /// The event log holds events of another run (files of two runs mixed).
    #[error("{path} line {line} belongs to another run ({found}, not {expected}): the files of two runs are mixed, so this one cannot be resumed safely. Start over with `wizard integrate --fresh` (the old files are kept under previous/).")]
    OtherRun {
        /// The log.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The run id on that line.
        found: String,
        /// The run id of `queue.json`.
        expected: String,
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

/// The file that records how a run was started (content, provider, limits), for resume.
pub const SETTINGS: &str = "run.json";

/// Makes a failed run resumable: every task that failed, and every task a
/// failure blocked, goes back to pending with fresh attempts; completed work
/// is untouched. A seed that failed runs again. Returns the file and how many
/// tasks go again.
pub fn retry_failed(mut file: QueueFile) -> (QueueFile, usize) {
    let mut retried = 0;
    for t in &mut file.tasks {
        let again = matches!(
            t.status,
            TaskStatus::Failed
                | TaskStatus::Skipped {
                    blocked_by: Some(_),
                    ..
                }
        );
        if again {
            let t = std::sync::Arc::make_mut(t);
            t.status = TaskStatus::Pending;
            t.attempts = 0;
            t.error = None;
            t.started_at = None;
            t.finished_at = None;
            retried += 1;
        }
    }
    file.outcome = None;
    (file, retried)
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
    /// 1-based numbers of damaged lines in the middle of the log, skipped
    /// (the events after them were replayed).
    pub damaged_lines: Vec<usize>,
    /// What was repaired in the saved queue, for the user.
    pub repairs: Vec<String>,
}

impl Loaded {
    /// What the user should be told about the state resume found, one line each.
    pub fn notices(&self) -> Vec<String> {
        let mut notes = self.repairs.clone();
        if !self.damaged_lines.is_empty() {
            let lines: Vec<String> = self.damaged_lines.iter().map(|l| l.to_string()).collect();
            notes.push(format!(
                "{} is damaged at line {}; {} skipped and the events after {} were replayed",
                files::AUDIT,
                lines.join(", "),
                if lines.len() == 1 {
                    "it was"
                } else {
                    "they were"
                },
                if lines.len() == 1 { "it" } else { "them" },
            ));
        }
        notes
    }
}

/// True when `state_dir` holds a run that can be continued.
pub fn has_unfinished_run(state_dir: &Path) -> bool {
    load(state_dir).is_ok()
}

/// Loads the run in `state_dir` for resuming.
pub fn load(state_dir: &Path) -> Result<Loaded, ResumeError> {
    let queue_path = state_dir.join(files::QUEUE);
    let file = if queue_path.exists() {
        let text = fs::read_to_string(&queue_path).map_err(|source| ResumeError::Io {
            path: queue_path.clone(),
            source,
        })?;
        let file = serde_json::from_str::<QueueFile>(&text).map_err(|e| ResumeError::Corrupt {
            path: queue_path.clone(),
            message: e.to_string(),
        })?;
        if file.version > QUEUE_FILE_VERSION {
            return Err(ResumeError::Corrupt {
                path: queue_path,
                message: format!(
                    "it was written by a newer wizard (format version {}; this one reads up to {QUEUE_FILE_VERSION}). \
                     Update the wizard to resume it, or start over with `wizard integrate --fresh`",
                    file.version
                ),
            });
        }
        file
    } else {
        // Killed before the first coalesced write: the audit log's first event holds the run.
        first_run_info(&state_dir.join(files::AUDIT))
            .map(|run| QueueFile::new(&run))
            .ok_or_else(|| ResumeError::NoRun(state_dir.to_path_buf(), files::QUEUE))?
    };
    let mut mirror = Mirror::new(file);
    let replay = replay_audit(&state_dir.join(files::AUDIT), &mut mirror)?;
    let mut file = mirror.into_file();
    let mut repairs = Vec::new();
    match dependency_order(&mut file.tasks) {
        Ok(false) => {}
        Ok(true) => repairs.push(format!(
            "{} listed tasks before their dependencies; they were put back in order",
            files::QUEUE
        )),
        Err(e) => {
            return Err(ResumeError::Corrupt {
                path: state_dir.join(files::QUEUE),
                message: format!(
                    "{e}. Start over with `wizard integrate --fresh` (the old files are kept under previous/)"
                ),
            })
        }
    }
    let handoffs_repaired = repair_handoffs(state_dir, &file);
    if let Some(outcome) = &file.outcome {
        if matches!(outcome.verdict, Verdict::Success | Verdict::Failed) {
            return Err(ResumeError::Finished {
                dir: state_dir.to_path_buf(),
                verdict: outcome.verdict,
                message: outcome.message.clone(),
                file: Box::new(file.clone()),
            });
        }
    }
    Ok(Loaded {
        file,
        replayed: replay.replayed,
        torn_tail: replay.torn_tail,
        handoffs_repaired,
        damaged_lines: replay.damaged_lines,
        repairs,
    })
}

fn first_run_info(path: &Path) -> Option<crate::messages::RunInfo> {
    let f = fs::File::open(path).ok()?;
    let line = BufReader::new(f).lines().next()?.ok()?;
    match serde_json::from_str::<QueueEvent>(&line).ok()?.kind {
        crate::messages::EventKind::RunStarted { run } => Some(run),
        _ => None,
    }
}

/// What a replay of the log did.
struct Replay {
    replayed: usize,
    torn_tail: bool,
    damaged_lines: Vec<usize>,
}

/// A line of the log: the event, and the run it belongs to (absent in logs of older wizards).
#[derive(serde::Deserialize)]
struct AuditLine {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(flatten)]
    event: QueueEvent,
}

fn replay_audit(path: &Path, mirror: &mut Mirror) -> Result<Replay, ResumeError> {
    let mut replay = Replay {
        replayed: 0,
        torn_tail: false,
        damaged_lines: Vec::new(),
    };
    let Ok(f) = fs::File::open(path) else {
        return Ok(replay);
    };
    let before = mirror.file().last_seq;
    let expected = mirror.file().run.run_id.clone();
    let mut lines = BufReader::new(f).lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let line = line.map_err(|source| ResumeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        match serde_json::from_str::<AuditLine>(&line) {
            Ok(AuditLine { run_id, event }) => {
                if let Some(found) = run_id.filter(|id| *id != expected) {
                    return Err(ResumeError::OtherRun {
                        path: path.to_path_buf(),
                        line: i + 1,
                        found,
                        expected,
                    });
                }
                if event.seq > before {
                    mirror.apply(&event);
                    replay.replayed += 1;
                }
            }
            // A kill tears only the last line. A damaged line before it is
            // skipped and reported: later events carry whole tasks, so they
            // still bring the queue up to date.
            Err(e) => {
                if lines.peek().is_none() {
                    replay.torn_tail = true;
                } else {
                    tracing::warn!(
                        "{} line {} is damaged ({e}); skipped",
                        path.display(),
                        i + 1
                    );
                    replay.damaged_lines.push(i + 1);
                }
            }
        }
    }
    Ok(replay)
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
        if fs::create_dir_all(&dir).is_ok() && atomic_file::write_json(&path, &record).is_ok() {
            repaired.push(t.id.clone());
        }
    }
    repaired
}
