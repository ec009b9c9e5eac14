//! PersistActor: writes what a run leaves in `<installDir>/.posthog-wizard/`.
//!
//! Subscribes to [`QueueEvent`]s and owns no authority: it keeps a mirror of
//! the queue built only from events. On a completed (or reported) task it
//! writes `handoffs/<id>.json` atomically but without an fsync of its own (the
//! audit log holds the handoff, and resume rebuilds a file a power loss
//! emptied); `queue.json` is rewritten
//! atomically (temp file in the same folder, fsync, rename) as compact JSON,
//! coalesced so a burst of events costs one write, and always once more at the
//! end. A write that fails keeps the last good file, is logged, and is
//! reported by `Flush`. Runs on its own arbiter so disk waits never stall the
//! queue or the UI.
//!
//! Coalescing adapts to the queue's size: the wait before the next write is
//! the configured one or [`WRITE_COST_FACTOR`] times what the last write took,
//! whichever is longer, so rewriting a huge queue never takes more than a
//! small share of the persister's time (a 50k-task run would otherwise write
//! tens of MB every 50 ms, quadratic in the run's length). The deadline is
//! also checked on every event, not only by a timer, because a persister
//! whose mailbox never empties would never get to run its timer. A late
//! `queue.json` loses nothing: the audit log is the write-ahead log, and
//! resume replays what the file had not caught yet.
//!
//! The snapshot rate also follows the events: while events keep coming, a
//! write waits until at least a [`SNAPSHOT_SHARE`]th of the queue's size in
//! events arrived since the last one, so each byte written stands for a
//! bounded number of events and the total written stays linear in the
//! number of events however long the run. When events stop for [`QUIET`],
//! the pending write happens anyway (a slow, real run keeps its file fresh).
//!
//! `audit.jsonl` is not written here: it is the write-ahead log, appended by
//! its own thread ([`AuditWriter`](super::audit::AuditWriter)) through an
//! [`AuditLog`]. The persister receives each event from that writer once it
//! is written, so `queue.json` and the handoffs never get ahead of the log.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::messages::{
    EventKind, Flush, GetStats, PersistStats, QueueEvent, QueueFile, RunInfo, TaskHandoff,
};
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
    /// Every name the runner itself keeps in the state folder: content may not
    /// share one of them with agents (`fences.stateFiles`).
    pub const RUNNER_OWNED: &[&str] = &[
        QUEUE,
        AUDIT,
        HANDOFFS,
        LOG,
        LOCK,
        ".gitignore",
        "run.json",
        "run-report.md",
        "timeline.svg",
        "changes.patch",
        "previous",
        "reference",
        "stub",
    ];
}

/// The wait before the next `queue.json` write is at least this many times
/// what the last write took: rewriting the queue takes at most about a tenth
/// of the persister's time, however large the queue grows.
pub const WRITE_COST_FACTOR: u32 = 9;

/// While events keep coming, a snapshot waits for `tasks / SNAPSHOT_SHARE` events.
pub const SNAPSHOT_SHARE: usize = 4;

/// A pending snapshot is written once no event came for this long.
pub const QUIET: Duration = Duration::from_millis(200);

/// The persister.
pub struct PersistActor {
    dir: PathBuf,
    mirror: Mirror,
    dirty: bool,
    /// When the pending `queue.json` write is due, if one is pending.
    due: Option<Instant>,
    /// The timer of the pending write.
    timer: Option<SpawnHandle>,
    coalesce: Duration,
    /// Transitions since the last `queue.json` write, and when the last one came.
    events_since: usize,
    last_event: Instant,
    /// How long the last `queue.json` write took (serialising included).
    last_write_cost: Duration,
    /// Every distinct write error of the run, in order: a later good write clears none.
    errors: Vec<String>,
    stats: PersistStats,
    fail_writes_after: Option<u64>,
}

impl PersistActor {
    /// A persister for the run in `state_dir`, starting from `file` (empty for a new run).
    pub fn new(state_dir: PathBuf, file: QueueFile) -> Self {
        Self {
            dir: state_dir,
            mirror: Mirror::new(file),
            dirty: true,
            due: None,
            timer: None,
            coalesce: Duration::from_millis(50),
            events_since: 0,
            last_event: Instant::now(),
            last_write_cost: Duration::ZERO,
            errors: Vec::new(),
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
        // No fsync per handoff: the log has it, and resume rebuilds a lost file.
        crate::atomic_file::write_json_rebuildable(
            &dir.join(format!("{}.json", task.id)),
            &record,
        )?;
        self.stats.handoff_writes += 1;
        Ok(())
    }

    /// The wait before the next `queue.json` write: the configured one, or
    /// longer when the last write was slow.
    fn interval(&self) -> Duration {
        self.coalesce.max(self.last_write_cost * WRITE_COST_FACTOR)
    }

    /// Makes sure a write is pending, due one interval from now.
    fn schedule(&mut self, ctx: &mut Context<Self>) {
        if self.due.is_some() {
            return;
        }
        let wait = self.interval();
        self.due = Some(Instant::now() + wait);
        self.timer = Some(ctx.run_later(wait, Self::on_timer));
    }

    fn on_timer(&mut self, ctx: &mut Context<Self>) {
        self.timer = None;
        match self.due {
            Some(due) if Instant::now() < due => {
                let left = due.saturating_duration_since(Instant::now());
                self.timer = Some(ctx.run_later(left, Self::on_timer));
            }
            // Events still come, and too few for a snapshot: wait for quiet.
            Some(_) if !self.enough_events() && self.last_event.elapsed() < QUIET => {
                let left = QUIET.saturating_sub(self.last_event.elapsed());
                self.timer = Some(ctx.run_later(left, Self::on_timer));
            }
            Some(_) => {
                self.due = None;
                self.write_queue();
            }
            None => {}
        }
    }

    /// Writes now if the pending write is due (from the event handler, which
    /// keeps running while a busy mailbox keeps the timer from firing).
    fn write_if_due(&mut self, ctx: &mut Context<Self>) {
        if self.due.is_some_and(|due| Instant::now() >= due) && self.enough_events() {
            self.write_now(ctx);
        }
    }

    /// True once enough events arrived since the last write for a busy run to
    /// snapshot: a share of the queue's size, so bytes written stay linear in events.
    fn enough_events(&self) -> bool {
        self.events_since.saturating_mul(SNAPSHOT_SHARE) >= self.mirror.file().tasks.len()
    }

    /// Writes now and forgets the pending write.
    fn write_now(&mut self, ctx: &mut Context<Self>) {
        self.due = None;
        if let Some(timer) = self.timer.take() {
            ctx.cancel_future(timer);
        }
        self.write_queue();
    }

    fn write_queue(&mut self) {
        if !self.dirty {
            return;
        }
        let started = Instant::now();
        let result = if self
            .fail_writes_after
            .is_some_and(|good| self.stats.queue_writes >= good)
        {
            Err(io::Error::other("injected storage fault"))
        } else {
            crate::atomic_file::write_json_compact(&self.dir.join(files::QUEUE), self.mirror.file())
        };
        self.last_write_cost = started.elapsed();
        match result {
            Ok(bytes) => {
                self.dirty = false;
                self.events_since = 0;
                self.stats.queue_writes += 1;
                self.stats.queue_bytes += bytes;
            }
            Err(e) => {
                let msg = format!(
                    "could not write {}: {e}",
                    self.dir.join(files::QUEUE).display()
                );
                self.remember(msg);
            }
        }
    }

    fn remember(&mut self, msg: String) {
        tracing::error!("{msg}");
        if !self.errors.contains(&msg) {
            self.errors.push(msg);
        }
    }

    fn record_error(&mut self, what: &str, e: io::Error) {
        self.remember(format!(
            "could not write {what} in {}: {e}",
            self.dir.display()
        ));
    }
}

impl Actor for PersistActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Bounded, so events waiting for this actor (and the task versions they
        // hold) stay few: the audit writer waits for room (it runs on another thread).
        ctx.set_mailbox_capacity(super::audit::WAIT_MAILBOX);
        if let Err(e) = prepare_state_dir(&self.dir) {
            self.record_error("the state folder", e);
        }
    }
}

impl Handler<QueueEvent> for PersistActor {
    type Result = ();

    fn handle(&mut self, event: QueueEvent, ctx: &mut Self::Context) {
        self.mirror.apply(&event);
        if let Err(e) = self.write_handoff(&event) {
            self.record_error("a handoff", e);
        }
        if matches!(
            event.kind,
            EventKind::TaskActivity { .. } | EventKind::SeedActivity { .. }
        ) {
            return;
        }
        self.dirty = true;
        self.events_since += 1;
        self.last_event = Instant::now();
        if matches!(event.kind, EventKind::RunFinished { .. }) {
            self.write_now(ctx);
            return;
        }
        // A busy mailbox starves timers: check the deadline here too.
        self.write_if_due(ctx);
        if self.dirty {
            self.schedule(ctx);
        }
    }
}

impl Handler<Flush> for PersistActor {
    type Result = Result<(), String>;

    fn handle(&mut self, _msg: Flush, ctx: &mut Self::Context) -> Self::Result {
        self.write_now(ctx);
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors.join("\n"))
        }
    }
}

impl Handler<GetStats> for PersistActor {
    type Result = MessageResult<GetStats>;

    fn handle(&mut self, _msg: GetStats, _ctx: &mut Self::Context) -> Self::Result {
        let mut stats = self.stats;
        stats.audit_bytes = fs::metadata(self.dir.join(files::AUDIT))
            .map(|m| m.len())
            .unwrap_or(0);
        MessageResult(stats)
    }
}

/// The write-ahead event log (`audit.jsonl`): one JSON object per line.
/// Lines are gathered with [`encode`](Self::encode) and appended with one
/// write and one flush by [`write_encoded`](Self::write_encoded), so a kill
/// leaves at most one torn last line. The queue appends through an
/// [`AuditWriter`](super::audit::AuditWriter), which owns one on its own thread.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Option<File>,
    errors: Vec<String>,
    /// Written on every line as `run_id`, so a resume never replays another run's events.
    run_id: Option<String>,
    /// Lines encoded and not yet written.
    pending: Vec<u8>,
}

impl AuditLog {
    /// A log at `<state_dir>/audit.jsonl` (opened on the first append).
    pub fn new(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join(files::AUDIT),
            file: None,
            errors: Vec::new(),
            run_id: None,
            pending: Vec::new(),
        }
    }

    /// Marks every line with the run's id.
    pub fn for_run(mut self, run_id: &str) -> Self {
        self.run_id = Some(run_id.to_string());
        self
    }

    /// Appends one event now. A failure is logged and remembered; the run goes on.
    pub fn append(&mut self, event: &QueueEvent) {
        self.encode(event);
        self.write_encoded();
    }

    /// Adds one event's line to the pending batch; returns the batch's size in bytes.
    pub fn encode(&mut self, event: &QueueEvent) -> usize {
        let start = self.pending.len();
        if let Err(e) = self.encode_line(event) {
            self.pending.truncate(start);
            self.fail(e);
        }
        self.pending.len()
    }

    fn encode_line(&mut self, event: &QueueEvent) -> io::Result<()> {
        match &self.run_id {
            Some(id) => {
                // `{"run_id":"…",` then the event's fields: the event is always a JSON object.
                let event_json = serde_json::to_vec(event).map_err(io::Error::other)?;
                if event_json.first() != Some(&b'{') {
                    return Err(io::Error::other("an event is not a JSON object"));
                }
                self.pending.extend_from_slice(b"{\"run_id\":");
                serde_json::to_writer(&mut self.pending, id).map_err(io::Error::other)?;
                if event_json.len() > 2 {
                    self.pending.push(b',');
                }
                self.pending.extend_from_slice(&event_json[1..]);
            }
            None => serde_json::to_writer(&mut self.pending, event).map_err(io::Error::other)?,
        }
        self.pending.push(b'\n');
        Ok(())
    }

    /// Writes the pending batch with one write and one flush. A failure is
    /// logged and remembered, and the batch is dropped; the run goes on.
    pub fn write_encoded(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let result = self.write_pending();
        self.pending.clear();
        if let Err(e) = result {
            self.fail(e);
        }
    }

    fn write_pending(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent() {
                fs::create_dir_all(dir)?;
            }
            cut_torn_tail(&self.path)?;
            self.file = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(&self.pending)?;
            f.flush()?;
        }
        Ok(())
    }

    fn fail(&mut self, e: io::Error) {
        let msg = format!("could not append to {}: {e}", self.path.display());
        tracing::error!("{msg}");
        self.remember(msg);
    }

    fn remember(&mut self, msg: String) {
        if !self.errors.contains(&msg) {
            self.errors.push(msg);
        }
    }

    /// Forces the log to disk (end of run).
    pub fn sync(&mut self) {
        if let Some(f) = self.file.as_ref() {
            if let Err(e) = f.sync_data() {
                self.remember(format!("could not sync {}: {e}", self.path.display()));
            }
        }
    }

    /// The first write error, if any.
    pub fn error(&self) -> Option<&str> {
        self.errors.first().map(String::as_str)
    }

    /// Every distinct write error, in order.
    pub fn errors(&self) -> &[String] {
        &self.errors
    }
}

/// Cuts a half-written last line (power loss, a full disk) back to the last newline,
/// so the next event starts a line of its own instead of gluing onto the torn one.
/// Reads only the file's tail, block by block from the end, never the whole log.
fn cut_torn_tail(path: &Path) -> io::Result<()> {
    const BLOCK: u64 = 64 * 1024;
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut end = len;
    let mut block = Vec::new();
    let keep = loop {
        if end == 0 {
            break 0;
        }
        let start = end.saturating_sub(BLOCK);
        block.resize((end - start) as usize, 0);
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block)?;
        if end == len && block.last() == Some(&b'\n') {
            return Ok(());
        }
        if let Some(i) = block.iter().rposition(|&b| b == b'\n') {
            break start + i as u64 + 1;
        }
        end = start;
    };
    tracing::warn!(path = %path.display(), cut = len - keep, "cutting a torn last line from the event log");
    file.set_len(keep)
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
