//! AuditWriter: the write-ahead log's own thread.
//!
//! The queue hands each event to the writer (a bounded channel) before any
//! subscriber sees it; the writer appends what has gathered since its last
//! write as one `write` and one flush (group commit), in the order the queue
//! emitted it, and fsyncs when asked (the end of the run, an interrupt).
//! Serialising and writing never run on the queue's thread; the queue waits
//! only when the writer is a whole channel behind, so the log never drops an
//! event and the queue never runs more than [`CAPACITY`] events ahead of it.
//!
//! Events reach the writer's `downstream` (the persister, the UI, telemetry)
//! only after they are written, so whatever the user saw, `queue.json` and
//! the handoff files never get ahead of the log: a process killed right after
//! printing an event has it in the log, and a resume that trusts
//! `queue.json`'s `lastSeq` finds every later event there.
//!
//! Each downstream subscriber has a [`Lag`] policy, because the queue can run
//! ahead of any of them and every event in a mailbox keeps its task version
//! alive (a 50k-task run held ~150 MB of old versions in the persister's
//! mailbox). The persister ([`Lag::Wait`]) has a bounded mailbox and is never
//! dropped from: the writer waits for it, which is safe only because it runs
//! on an arbiter of its own. The UI and telemetry ([`Lag::Coalesce`]) live on
//! the queue's thread, and the queue may be waiting for this writer (a full
//! channel): waiting for them would deadlock, so the writer never does; under
//! lag it drops their activity events and queues everything else.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread;

use actix::dev::SendError;
use actix::Recipient;
use tokio::sync::oneshot;

use super::persist::AuditLog;
use crate::messages::{EventKind, QueueEvent};

/// Events the channel holds before the queue waits for the writer.
pub const CAPACITY: usize = 4096;

/// Bytes gathered before a write, however many more events are waiting.
const BATCH_BYTES: usize = 1 << 20;

/// What the writer does when a subscriber's mailbox is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lag {
    /// Never drop: wait until the subscriber has taken the event. Only for an
    /// actor on a thread of its own (the persister, on its arbiter), with a
    /// bounded mailbox ([`WAIT_MAILBOX`]); one on the queue's thread would deadlock.
    Wait,
    /// Never wait: activity events are dropped while the mailbox is full, every
    /// other event is queued anyway (the UI, telemetry, tests' recorders).
    Coalesce,
}

/// The mailbox a [`Lag::Wait`] subscriber sets in its `started`: how many
/// events (and the task versions they hold) may wait for it.
pub const WAIT_MAILBOX: usize = 1024;

/// The mailbox a [`Lag::Coalesce`] subscriber sets in its `started`: past it,
/// its activity events are dropped (actix's default, 16, would drop them at
/// the first burst).
pub const COALESCE_MAILBOX: usize = 1024;

/// A subscriber of written events and its [`Lag`] policy.
#[derive(Debug, Clone)]
pub struct Listener {
    /// Where written events go.
    pub to: Recipient<QueueEvent>,
    /// What to do while its mailbox is full.
    pub lag: Lag,
}

impl Listener {
    /// A subscriber the writer waits for (its own thread, bounded mailbox).
    pub fn wait(to: Recipient<QueueEvent>) -> Self {
        Self { to, lag: Lag::Wait }
    }

    /// A subscriber the writer never waits for.
    pub fn coalesce(to: Recipient<QueueEvent>) -> Self {
        Self {
            to,
            lag: Lag::Coalesce,
        }
    }

    /// Hands one written event over, as the policy says.
    fn deliver(&self, event: QueueEvent) {
        let event = match self.to.try_send(event) {
            Ok(()) => return,
            Err(SendError::Closed(_)) => return,
            Err(SendError::Full(event)) => event,
        };
        match self.lag {
            // `send` queues the event and resolves once the handler ran: the
            // mailbox stays at about its bound (actix lets a parked sender through once per
            // message taken).
            Lag::Wait => {
                if futures::executor::block_on(self.to.send(event)).is_err() {
                    tracing::error!("a subscriber the event log waits for stopped");
                }
            }
            Lag::Coalesce if is_activity(&event) => {
                tracing::trace!("a subscriber lags; an activity event was dropped for it");
            }
            Lag::Coalesce => self.to.do_send(event),
        }
    }
}

fn is_activity(event: &QueueEvent) -> bool {
    matches!(
        event.kind,
        EventKind::TaskActivity { .. } | EventKind::SeedActivity { .. }
    )
}

enum Command {
    Event(QueueEvent),
    /// fsync, then answer with every write error so far.
    Sync(Option<oneshot::Sender<Vec<String>>>),
}

/// The handle the queue appends through. Dropping it lets the thread finish
/// what it has and exit.
#[derive(Debug)]
pub struct AuditWriter {
    tx: SyncSender<Command>,
}

impl AuditWriter {
    /// Starts the writer thread over `log`; written events go on to `downstream`.
    pub fn start(log: AuditLog, downstream: Vec<Listener>) -> std::io::Result<Self> {
        Self::with_capacity(log, downstream, CAPACITY)
    }

    /// Like [`start`](Self::start), with a channel of `capacity` events.
    pub fn with_capacity(
        log: AuditLog,
        downstream: Vec<Listener>,
        capacity: usize,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        thread::Builder::new()
            .name("wizard-audit".into())
            .spawn(move || write_loop(log, rx, downstream))?;
        Ok(Self { tx })
    }

    /// Hands one event to the writer. Waits only while the channel is full: the
    /// log never drops an event.
    pub fn append(&self, event: QueueEvent) {
        let command = match self.tx.try_send(Command::Event(event)) {
            Ok(()) => return,
            Err(TrySendError::Full(command)) => command,
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("the audit writer stopped; an event was not logged");
                return;
            }
        };
        tracing::debug!("the audit writer is {CAPACITY} events behind; waiting for it");
        if self.tx.send(command).is_err() {
            tracing::error!("the audit writer stopped; an event was not logged");
        }
    }

    /// Asks for an fsync after everything handed over so far; the answer is
    /// every distinct write error of the run (empty when all went well).
    pub fn sync(&self) -> oneshot::Receiver<Vec<String>> {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(Command::Sync(Some(reply))).is_err() {
            tracing::error!("the audit writer stopped before the log was synced");
        }
        answer
    }

    /// An fsync after everything handed over so far, without waiting for it.
    pub fn sync_later(&self) {
        let _ = self.tx.send(Command::Sync(None));
    }
}

fn write_loop(mut log: AuditLog, rx: Receiver<Command>, downstream: Vec<Listener>) {
    let mut batch: Vec<QueueEvent> = Vec::new();
    let mut syncs: Vec<Option<oneshot::Sender<Vec<String>>>> = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        let mut bytes = 0;
        // Gather what is already waiting: one write for the whole batch.
        while let Some(command) = next.take() {
            match command {
                Command::Event(event) => {
                    bytes += log.encode(&event);
                    batch.push(event);
                }
                Command::Sync(reply) => syncs.push(reply),
            }
            if bytes >= BATCH_BYTES {
                break;
            }
            next = rx.try_recv().ok();
        }
        log.write_encoded();
        for event in batch.drain(..) {
            for d in &downstream {
                d.deliver(event.clone());
            }
        }
        if !syncs.is_empty() {
            log.sync();
            for reply in syncs.drain(..).flatten() {
                let _ = reply.send(log.errors().to_vec());
            }
        }
    }
    // The queue is gone: whatever was written goes to disk.
    log.sync();
}
