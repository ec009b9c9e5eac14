//! Line output (plain and `--ui json`) through a bounded channel to a writer thread.
//!
//! A reader of the wizard's stdout that stops reading (a paused pipe, a slow
//! terminal) must not stall the UI actor's thread, which is also the queue's
//! and every agent's. The UI hands each line to [`LineOut`]; a thread writes
//! what has gathered and flushes once per batch. Under lag: the channel holds
//! [`CAPACITY`] lines; past that, activity lines are dropped (the next
//! transition says more) and every other line waits, in order, in an overflow
//! the UI moves on as the writer catches up. Nothing but activity is ever
//! dropped, and lines keep their order.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread;

/// Lines the channel holds before the UI keeps them itself.
pub const CAPACITY: usize = 1024;

/// Lines written before one flush, however many more are waiting.
const BATCH: usize = 1024;

enum Out {
    Line(String),
    /// Everything before it is written and flushed: answer.
    Drained(mpsc::Sender<()>),
}

/// The UI's end of the output channel.
#[derive(Debug)]
pub struct LineOut {
    tx: SyncSender<Out>,
    /// Lines that did not fit in the channel, oldest first.
    overflow: VecDeque<String>,
    dropped: u64,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Out::Line(line) => write!(f, "Line({line:?})"),
            Out::Drained(_) => write!(f, "Drained"),
        }
    }
}

impl LineOut {
    /// Lines to stdout.
    pub fn stdout() -> io::Result<Self> {
        Self::to_writer(io::stdout(), CAPACITY)
    }

    /// Lines to `out`, through a channel of `capacity` lines.
    pub fn to_writer(out: impl Write + Send + 'static, capacity: usize) -> io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        thread::Builder::new()
            .name("wizard-out".into())
            .spawn(move || write_loop(out, rx))?;
        Ok(Self {
            tx,
            overflow: VecDeque::new(),
            dropped: 0,
        })
    }

    /// Hands a line over without waiting. An `activity` line is dropped when
    /// the writer is behind; any other line is kept until it can go.
    pub fn line(&mut self, line: String, activity: bool) {
        self.catch_up();
        if !self.overflow.is_empty() {
            self.keep_or_drop(line, activity);
            return;
        }
        match self.tx.try_send(Out::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(Out::Line(line))) => self.keep_or_drop(line, activity),
            Err(_) => {}
        }
    }

    fn keep_or_drop(&mut self, line: String, activity: bool) {
        if activity {
            self.dropped += 1;
            if self.dropped == 1 || self.dropped.is_power_of_two() {
                tracing::warn!(
                    dropped = self.dropped,
                    "the output reader is behind: activity lines are dropped"
                );
            }
        } else {
            self.overflow.push_back(line);
        }
    }

    /// Moves kept lines into the channel while it has room.
    pub fn catch_up(&mut self) {
        while let Some(line) = self.overflow.pop_front() {
            match self.tx.try_send(Out::Line(line)) {
                Ok(()) => {}
                Err(TrySendError::Full(Out::Line(line))) => {
                    self.overflow.push_front(line);
                    return;
                }
                Err(_) => {
                    self.overflow.clear();
                    return;
                }
            }
        }
    }

    /// True while lines wait in the overflow.
    pub fn behind(&self) -> bool {
        !self.overflow.is_empty()
    }

    /// Activity lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Work that writes out every line handed over and returns once they are
    /// flushed. It blocks (on the reader): run it on the blocking pool.
    pub fn drain(&mut self) -> impl FnOnce() + Send + 'static {
        let tx = self.tx.clone();
        let lines = std::mem::take(&mut self.overflow);
        move || {
            for line in lines {
                if tx.send(Out::Line(line)).is_err() {
                    return;
                }
            }
            let (done, wait) = mpsc::channel();
            if tx.send(Out::Drained(done)).is_ok() {
                let _ = wait.recv();
            }
        }
    }
}

fn write_loop(out: impl Write, rx: Receiver<Out>) {
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    let mut failed = false;
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        let mut drained = Vec::new();
        let mut batch = 0;
        while let Some(item) = next.take() {
            batch += 1;
            match item {
                Out::Line(line) if !failed => {
                    failed = writeln!(out, "{line}").is_err();
                }
                Out::Line(_) => {}
                Out::Drained(reply) => drained.push(reply),
            }
            if batch < BATCH {
                next = rx.try_recv().ok();
            }
        }
        // A reader that went away (a closed pipe) is not the run's failure.
        if !failed {
            failed = out.flush().is_err();
        }
        for reply in drained {
            let _ = reply.send(());
        }
    }
}
