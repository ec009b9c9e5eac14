//! The journal: projects queue events onto a [`QueueFile`].
//!
//! The persister keeps its mirror of the queue with it, and resume uses it
//! to replay the audit log's events that the last `queue.json` write had not
//! caught yet — so a kill between an event and the coalesced write loses
//! nothing.

use std::collections::HashMap;
use std::sync::Arc;

use crate::messages::{EventKind, QueueEvent, QueueFile};

/// A [`QueueFile`] kept up to date by applying events.
#[derive(Debug, Clone)]
pub struct Mirror {
    file: QueueFile,
    index: HashMap<String, usize>,
}

impl Mirror {
    /// A mirror starting from `file`.
    pub fn new(file: QueueFile) -> Self {
        let index = file
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        Self { file, index }
    }

    /// The file as of the last applied event.
    pub fn file(&self) -> &QueueFile {
        &self.file
    }

    /// Takes the file out.
    pub fn into_file(self) -> QueueFile {
        self.file
    }

    /// Applies one event. Events at or before `lastSeq` are ignored, so replaying
    /// a log over a file that already reflects part of it is safe.
    pub fn apply(&mut self, event: &QueueEvent) {
        if event.seq <= self.file.last_seq && self.file.last_seq > 0 {
            return;
        }
        self.file.last_seq = event.seq;
        match &event.kind {
            EventKind::RunStarted { run } | EventKind::RunResumed { run, .. } => {
                self.file.run.concurrency = run.concurrency;
                self.file.run.framework = run.framework.clone();
                self.file.run.content_hash = run.content_hash.clone();
                self.file.outcome = None;
            }
            EventKind::TaskRelabeled { task_id, label } => {
                if let Some(&i) = self.index.get(task_id) {
                    Arc::make_mut(&mut self.file.tasks[i]).label = label.clone();
                }
            }
            EventKind::RunFinished { outcome } => self.file.outcome = Some(outcome.clone()),
            // A seed that failed planned nothing reliable: a resume plans again.
            EventKind::SeedingFinished { error } => self.file.seeded = error.is_none(),
            EventKind::TaskActivity { .. } => {}
            kind => {
                if let Some(task) = kind.task() {
                    match self.index.get(&task.id) {
                        Some(&i) => self.file.tasks[i] = task.clone(),
                        None => {
                            self.index.insert(task.id.clone(), self.file.tasks.len());
                            self.file.tasks.push(task.clone());
                        }
                    }
                }
            }
        }
    }
}
