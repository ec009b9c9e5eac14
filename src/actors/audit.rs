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

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread;

use actix::Recipient;
use tokio::sync::oneshot;

use super::persist::AuditLog;
use crate::messages::QueueEvent;

/// Events the channel holds before the queue waits for the writer.
pub const CAPACITY: usize = 4096;

/// Bytes gathered before a write, however many more events are waiting.
const BATCH_BYTES: usize = 1 << 20;

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
    pub fn start(log: AuditLog, downstream: Vec<Recipient<QueueEvent>>) -> std::io::Result<Self> {
        Self::with_capacity(log, downstream, CAPACITY)
    }

    /// Like [`start`](Self::start), with a channel of `capacity` events.
    pub fn with_capacity(
        log: AuditLog,
        downstream: Vec<Recipient<QueueEvent>>,
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

fn write_loop(mut log: AuditLog, rx: Receiver<Command>, downstream: Vec<Recipient<QueueEvent>>) {
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
                d.do_send(event.clone());
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
