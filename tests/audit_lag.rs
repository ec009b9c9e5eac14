//! The audit writer under lag: a slow subscriber it waits for (the persister's
//! policy) gets every event in order, and a lagging subscriber on the queue's
//! own thread (the UI's policy) never makes the queue wait for it.
//!
//! The queue appends on the actix system thread and waits whenever the
//! writer's channel is full. Here the system thread appends many times the
//! channel's capacity without yielding, while the coalescing subscriber lives
//! on that same thread: if the writer ever waited for that subscriber, the
//! appends would never finish (the deadlock the test exists to catch).

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use actix::prelude::*;
use wizard::actors::audit::{AuditWriter, Listener};
use wizard::actors::persist::AuditLog;
use wizard::messages::{EventKind, QueueEvent};

/// Events appended; many times the channel and both mailboxes.
const EVENTS: u64 = 3_000;

/// A subscriber that takes its time over each event and records their order.
struct Slow {
    seen: Arc<Mutex<Vec<u64>>>,
    mailbox: usize,
    delay: Duration,
}

impl Actor for Slow {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.mailbox);
    }
}

impl Handler<QueueEvent> for Slow {
    type Result = ();

    fn handle(&mut self, event: QueueEvent, _ctx: &mut Self::Context) {
        // A persister's disk write: blocking is what its own thread is for.
        thread::sleep(self.delay);
        self.seen.lock().unwrap().push(event.seq);
    }
}

/// Every other event is an activity phrase, the rest a transition (a relabel).
fn event(seq: u64) -> QueueEvent {
    let task_id = format!("t{}", seq % 7);
    let kind = if seq.is_multiple_of(2) {
        EventKind::TaskActivity {
            task_id,
            phrase: format!("Reading file {seq}"),
            usage: None,
            cost_usd: None,
        }
    } else {
        EventKind::TaskRelabeled {
            task_id,
            label: format!("label {seq}"),
        }
    };
    QueueEvent {
        seq,
        t_ms: seq,
        kind,
    }
}

async fn wait_for(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Runs one lagging run; returns (seqs the waited-for subscriber saw, seqs the
/// coalescing one saw).
fn lagging_run(dir: std::path::PathBuf) -> (Vec<u64>, Vec<u64>) {
    actix::System::new().block_on(async move {
        let persisted = Arc::new(Mutex::new(Vec::new()));
        let shown = Arc::new(Mutex::new(Vec::new()));
        let arbiter = Arbiter::new();
        let slow_seen = persisted.clone();
        let persister = Slow::start_in_arbiter(&arbiter.handle(), move |_| Slow {
            seen: slow_seen,
            mailbox: 8,
            delay: Duration::from_micros(200),
        });
        // On this (the "queue's") thread, with a small mailbox and no delay:
        // it lags only because the thread is busy appending.
        let ui = Slow {
            seen: shown.clone(),
            mailbox: 4,
            delay: Duration::ZERO,
        }
        .start();
        let log = AuditLog::new(&dir).for_run("run-1");
        let writer = AuditWriter::with_capacity(
            log,
            vec![
                Listener::wait(persister.recipient()),
                Listener::coalesce(ui.recipient()),
            ],
            16,
        )
        .expect("the writer's thread starts");
        for seq in 1..=EVENTS {
            writer.append(event(seq));
        }
        let errors = writer.sync().await.expect("the writer answers");
        assert!(errors.is_empty(), "write errors: {errors:?}");
        wait_for("the slow subscriber takes every event", || {
            persisted.lock().unwrap().len() as u64 >= EVENTS
        })
        .await;
        wait_for("the UI gets the last transition", || {
            shown.lock().unwrap().last() == Some(&(EVENTS - 1))
                || shown.lock().unwrap().last() == Some(&EVENTS)
        })
        .await;
        arbiter.stop();
        let p = persisted.lock().unwrap().clone();
        let s = shown.lock().unwrap().clone();
        (p, s)
    })
}

#[test]
fn a_slow_persister_gets_every_event_and_a_lagging_ui_never_blocks_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(lagging_run(path));
    });
    let (persisted, shown) = rx.recv_timeout(Duration::from_secs(60)).expect(
        "the appends finish: the writer never waits for a subscriber on the queue's thread",
    );

    // The waited-for subscriber: every event, once, in order.
    let all: Vec<u64> = (1..=EVENTS).collect();
    assert_eq!(persisted, all, "the persister's policy never drops");

    // The coalescing subscriber: every transition, in order; activity only while not lagging.
    let transitions: Vec<u64> = all.iter().copied().filter(|s| s % 2 == 1).collect();
    let shown_transitions: Vec<u64> = shown.iter().copied().filter(|s| s % 2 == 1).collect();
    assert_eq!(
        shown_transitions, transitions,
        "transitions are never dropped"
    );
    assert!(shown.windows(2).all(|w| w[0] < w[1]), "in order");
    let activity = shown.len() - shown_transitions.len();
    assert!(
        activity < (EVENTS / 2) as usize,
        "the lagging UI lost activity events ({activity} of {} kept): the lag path ran",
        EVENTS / 2
    );

    // The log itself has every event.
    let log = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert_eq!(log.lines().count() as u64, EVENTS);
}
