//! An event-recording subscriber and the measures tests take from a run's events.
//!
//! Shared by the actor, property and persistence tests: each subscribes a
//! [`Recorder`] to the queue and reads back what it emitted, in order. Each
//! test binary uses only part of this module, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use actix::prelude::*;
use chrono::Utc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use wizard::messages::{EventKind, QueueEvent, RunInfo, RunOutcome, Task, Variant};

/// How long a test waits for an event before calling the run hung.
pub const HANG_GUARD: Duration = Duration::from_secs(10);

/// Forwards every event it receives to a channel.
pub struct Recorder {
    tx: UnboundedSender<QueueEvent>,
}

impl Actor for Recorder {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // The audit writer drops activity events for a full mailbox: a recorder
        // must see them all, so it takes what a tests' run can emit.
        ctx.set_mailbox_capacity(1 << 20);
    }
}

impl Handler<QueueEvent> for Recorder {
    type Result = ();

    fn handle(&mut self, event: QueueEvent, _ctx: &mut Self::Context) {
        let _ = self.tx.send(event);
    }
}

/// The events a [`Recorder`] saw, read in order.
pub struct Events {
    rx: UnboundedReceiver<QueueEvent>,
    /// Every event received so far, in arrival order.
    pub seen: Vec<QueueEvent>,
}

/// Starts a recorder (inside an actix System) and returns its address and its events.
pub fn recorder() -> (Recipient<QueueEvent>, Events) {
    let (tx, rx) = unbounded_channel();
    let addr = Recorder { tx }.start();
    (
        addr.recipient(),
        Events {
            rx,
            seen: Vec::new(),
        },
    )
}

impl Events {
    /// Waits for the next event that matches, keeping every event seen on the way.
    /// Panics, listing what was seen, when none comes within [`HANG_GUARD`].
    pub async fn until(&mut self, what: &str, pred: impl Fn(&QueueEvent) -> bool) -> QueueEvent {
        loop {
            match tokio::time::timeout(HANG_GUARD, self.rx.recv()).await {
                Ok(Some(event)) => {
                    self.seen.push(event.clone());
                    if pred(&event) {
                        return event;
                    }
                }
                Ok(None) => panic!("the recorder stopped before {what}; saw {:?}", self.names()),
                Err(_) => panic!("no {what} within {HANG_GUARD:?}; saw {:?}", self.names()),
            }
        }
    }

    /// Waits for `run_finished` and returns its outcome.
    pub async fn until_finished(&mut self) -> RunOutcome {
        let event = self
            .until("run_finished", |e| {
                matches!(e.kind, EventKind::RunFinished { .. })
            })
            .await;
        match event.kind {
            EventKind::RunFinished { outcome } => outcome,
            _ => unreachable!("the predicate only accepts run_finished"),
        }
    }

    /// Waits for the event `name` about task `id`.
    pub async fn until_task(&mut self, name: &str, id: &str) -> Task {
        let event = self
            .until(&format!("{name} of {id}"), |e| {
                e.kind.name() == name && e.kind.task().is_some_and(|t| t.id == id)
            })
            .await;
        event
            .kind
            .task()
            .map(|t| Task::clone(t))
            .expect("a task event")
    }

    /// Takes whatever has already arrived, without waiting.
    pub fn drain(&mut self) {
        while let Ok(event) = self.rx.try_recv() {
            self.seen.push(event);
        }
    }

    /// The names of the events seen, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.seen.iter().map(|e| e.kind.name()).collect()
    }

    /// Ids of tasks in the order they were started (one entry per attempt).
    pub fn starts(&self) -> Vec<String> {
        starts(&self.seen)
    }
}

/// Ids of tasks in the order their attempts started.
pub fn starts(events: &[QueueEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskStarted { task } => Some(task.id.clone()),
            _ => None,
        })
        .collect()
}

/// The most tasks running at once, replayed from the events: a task runs from
/// its `task_started` to the event that ends its attempt.
pub fn max_running(events: &[QueueEvent]) -> usize {
    let mut running = BTreeSet::new();
    let mut most = 0;
    for e in events {
        match &e.kind {
            EventKind::TaskStarted { task } => {
                running.insert(task.id.clone());
                most = most.max(running.len());
            }
            EventKind::TaskCompleted { task }
            | EventKind::TaskFailed { task }
            | EventKind::TaskSkipped { task }
            | EventKind::TaskRequeued { task, .. } => {
                running.remove(&task.id);
            }
            _ => {}
        }
    }
    most
}

/// Every task as the last event about it left it.
pub fn final_tasks(events: &[QueueEvent]) -> BTreeMap<String, Task> {
    let mut tasks = BTreeMap::new();
    for e in events {
        if let Some(task) = e.kind.task() {
            tasks.insert(task.id.clone(), Task::clone(task));
        }
    }
    tasks
}

/// A run identity for tests.
pub fn run_info(concurrency: usize) -> RunInfo {
    RunInfo {
        run_id: "00000000-0000-4000-8000-000000000000".into(),
        variant: Variant::Orchestrator,
        install_dir: "/tmp/app".into(),
        created_at: Utc::now(),
        framework: None,
        concurrency,
        content_hash: None,
    }
}
