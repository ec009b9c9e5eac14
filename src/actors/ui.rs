//! UiActor: shows the run. Renders `QueueEvent`s and nothing else.
//!
//! Plain mode prints one line per transition; JSON mode prints one JSON
//! object per event on stdout and nothing else there. Owns only a view
//! folded from events.

use std::io::Write;

use actix::prelude::*;

use crate::messages::{EventKind, Flush, QueueEvent, TaskStatus};

/// How the run is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiMode {
    /// The full-screen terminal UI.
    Tui,
    /// One line per transition.
    Plain,
    /// One JSON object per event.
    Json,
    /// Nothing (tests).
    Quiet,
}

/// The UI actor.
pub struct UiActor {
    mode: UiMode,
}

impl UiActor {
    /// A UI in this mode.
    pub fn new(mode: UiMode) -> Self {
        Self { mode }
    }
}

impl Actor for UiActor {
    type Context = Context<Self>;
}

impl Handler<QueueEvent> for UiActor {
    type Result = ();

    fn handle(&mut self, event: QueueEvent, _ctx: &mut Self::Context) {
        let line = match self.mode {
            UiMode::Quiet => None,
            UiMode::Json => serde_json::to_string(&event).ok(),
            UiMode::Plain | UiMode::Tui => plain_line(&event),
        };
        if let Some(line) = line {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}

impl Handler<Flush> for UiActor {
    type Result = Result<(), String>;

    fn handle(&mut self, _msg: Flush, _ctx: &mut Self::Context) -> Self::Result {
        Ok(())
    }
}

fn plain_line(event: &QueueEvent) -> Option<String> {
    match &event.kind {
        EventKind::TaskStarted { task } => {
            Some(format!("▶ {}  {} ({})", task.id, task.label, task.model))
        }
        EventKind::TaskCompleted { task } => Some(format!("✓ {}", task.id)),
        EventKind::TaskFailed { task } => Some(format!(
            "✗ {}  {}",
            task.id,
            task.error
                .as_ref()
                .map(|e| e.message.as_str())
                .unwrap_or("failed")
        )),
        EventKind::TaskSkipped { task } => match &task.status {
            TaskStatus::Skipped { reason, .. } => Some(format!("⊘ {}  {reason}", task.id)),
            _ => None,
        },
        EventKind::RunFinished { outcome } => Some(outcome.message.clone()),
        _ => None,
    }
}
