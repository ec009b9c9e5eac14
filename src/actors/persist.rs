//! PersistActor: writes what a run leaves in `<installDir>/.posthog-wizard/`.
//!
//! Subscribes to [`QueueEvent`]s and owns no authority: it keeps a mirror of
//! the queue built only from events. Per event it appends one line to
//! `audit.jsonl` (flushed at once); on a completed (or reported) task it
//! writes `handoffs/<id>.json` atomically; `queue.json` is rewritten
//! atomically (temp file in the same folder, fsync, rename), coalesced so a
//! burst of events costs one write, and always once more at the end. A write
//! that fails keeps the last good file, is logged, and is reported by `Flush`.
//! Runs on its own arbiter so disk waits never stall the queue or the UI.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix::prelude::*;
use serde::Serialize;

use crate::messages::{EventKind, Flush, QueueEvent, QueueFile, RunInfo, TaskHandoff};
use crate::queue::Mirror;

/// Names of the files a run leaves.
pub mod files {
    /// The run's folder inside the install dir.
    pub const STATE_DIR: &str = ".posthog-wizard";
    /// The whole queue.
    pub const QUEUE: &str = "queue.json";
    /// One JSON object per event.
    pub const AUDIT: &str = "audit.jsonl";
    /// One JSON file per reported task.
    pub const HANDOFFS: &str = "handoffs";
    /// The run's log.
    pub const LOG: &str = "wizard.log";
    /// The lock held for the life of a run.
    pub const LOCK: &str = "lock";
}

/// Counters a benchmark reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistStats {
    /// `queue.json` writes.
    pub queue_writes: u64,
    /// Bytes written to `queue.json` over all writes.
    pub queue_bytes: u64,
    /// Bytes appended to `audit.jsonl`.
    pub audit_bytes: u64,
    /// Handoff files written.
    pub handoff_writes: u64,
}

/// Ask for the counters.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "PersistStats")]
pub struct GetStats;

/// The persister.
pub struct PersistActor {
    dir: PathBuf,
    mirror: Mirror,
    audit: Option<File>,
    dirty: bool,
    flush_scheduled: bool,
    coalesce: Duration,
    last_error: Option<String>,
    stats: PersistStats,
    fail_writes_after: Option<u64>,
}

impl PersistActor {
    /// A persister for the run in `state_dir`, starting from `file` (empty for a new run).
    pub fn new(state_dir: PathBuf, file: QueueFile) -> Self {
        Self {
            dir: state_dir,
            mirror: Mirror::new(file),
            audit: None,
            dirty: true,
            flush_scheduled: false,
            coalesce: Duration::from_millis(50),
            last_error: None,
            stats: PersistStats::default(),
            fail_writes_after: None,
        }
    }

    /// A persister for a new run.
    pub fn fresh(state_dir: PathBuf, run: &RunInfo) -> Self {
        Self::new(state_dir, QueueFile::new(run))
    }

    /// Sets how long events are gathered before one `queue.json` write.
    pub fn with_coalesce(mut self, coalesce: Duration) -> Self {
        self.coalesce = coalesce;
        self
    }

    /// Makes every `queue.json` write after the first `good` ones fail (storage-fault tests).
    pub fn failing_writes_after(mut self, good: u64) -> Self {
        self.fail_writes_after = Some(good);
        self
    }

    fn append_audit(&mut self, event: &QueueEvent) -> io::Result<()> {
        if self.audit.is_none() {
            self.audit = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.dir.join(files::AUDIT))?,
            );
        }
        let mut line = serde_json::to_vec(event).map_err(io::Error::other)?;
        line.push(b'\n');
        if let Some(f) = self.audit.as_mut() {
            // One write per line, so a kill leaves at most one torn last line.
            f.write_all(&line)?;
            f.flush()?;
        }
        self.stats.audit_bytes += line.len() as u64;
        Ok(())
    }

    fn write_handoff(&mut self, event: &QueueEvent) -> io::Result<()> {
        let (EventKind::TaskCompleted { task }
        | EventKind::TaskSkipped { task }
        | EventKind::TaskFailed { task }) = &event.kind
        else {
            return Ok(());
        };
        let Some(handoff) = &task.handoff else {
            return Ok(());
        };
        let record = TaskHandoff {
            task_id: task.id.clone(),
            task_type: task.task_type.clone(),
            handoff: handoff.clone(),
        };
        let dir = self.dir.join(files::HANDOFFS);
        fs::create_dir_all(&dir)?;
        write_json_atomic(&dir.join(format!("{}.json", task.id)), &record)?;
        self.stats.handoff_writes += 1;
        Ok(())
    }

    fn write_queue(&mut self) {
        if !self.dirty {
            return;
        }
        let result = if self
            .fail_writes_after
            .is_some_and(|good| self.stats.queue_writes >= good)
        {
            Err(io::Error::other("injected storage fault"))
        } else {
            write_json_atomic(&self.dir.join(files::QUEUE), self.mirror.file())
        };
        match result {
            Ok(bytes) => {
                self.dirty = false;
                self.last_error = None;
                self.stats.queue_writes += 1;
                self.stats.queue_bytes += bytes;
            }
            Err(e) => {
                let msg = format!(
                    "could not write {}: {e}",
                    self.dir.join(files::QUEUE).display()
                );
                tracing::error!("{msg}");
                self.last_error = Some(msg);
            }
        }
    }

    fn record_error(&mut self, what: &str, e: io::Error) {
        let msg = format!("could not write {what} in {}: {e}", self.dir.display());
        tracing::error!("{msg}");
        self.last_error = Some(msg);
    }
}

impl Actor for PersistActor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        if let Err(e) = prepare_state_dir(&self.dir) {
            self.record_error("the state folder", e);
        }
    }
}

impl Handler<QueueEvent> for PersistActor {
    type Result = ();

    fn handle(&mut self, event: QueueEvent, ctx: &mut Self::Context) {
        self.mirror.apply(&event);
        if let Err(e) = self.append_audit(&event) {
            self.record_error(files::AUDIT, e);
        }
        if let Err(e) = self.write_handoff(&event) {
            self.record_error("a handoff", e);
        }
        if matches!(event.kind, EventKind::TaskActivity { .. }) {
            return;
        }
        self.dirty = true;
        if matches!(event.kind, EventKind::RunFinished { .. }) {
            self.write_queue();
            if let Some(f) = self.audit.as_ref() {
                let _ = f.sync_data();
            }
            return;
        }
        if !self.flush_scheduled {
            self.flush_scheduled = true;
            ctx.run_later(self.coalesce, |act, _ctx| {
                act.flush_scheduled = false;
                act.write_queue();
            });
        }
    }
}

impl Handler<Flush> for PersistActor {
    type Result = Result<(), String>;

    fn handle(&mut self, _msg: Flush, _ctx: &mut Self::Context) -> Self::Result {
        self.write_queue();
        if let Some(f) = self.audit.as_ref() {
            if let Err(e) = f.sync_data() {
                self.record_error(files::AUDIT, e);
            }
        }
        match &self.last_error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

impl Handler<GetStats> for PersistActor {
    type Result = MessageResult<GetStats>;

    fn handle(&mut self, _msg: GetStats, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.stats)
    }
}

/// Creates the state folder with a `.gitignore` of `*`, so the user's repo ignores it
/// without any edit to their files.
pub fn prepare_state_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        fs::write(ignore, "*\n")?;
    }
    Ok(())
}

/// Writes JSON to `path` atomically: a temp file in the same folder, fsync, rename.
/// Returns the bytes written. On error the old file is untouched and no temp file remains.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> io::Result<u64> {
    let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    write_atomic(path, &bytes)?;
    Ok(bytes.len() as u64)
}

/// Writes bytes to `path` atomically (temp file in the same folder, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
