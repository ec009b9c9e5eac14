//! The stub backend: a walking skeleton that proves the machinery with no model.
//!
//! Each task waits a moment, writes `.posthog-wizard/stub/<task-id>.txt` and
//! completes with a handoff. Seeding enqueues a fixed graph shaped like the
//! real integration. Tests configure per-type misbehaviour (fail, hang, never
//! report, panic) to exercise retries and supervision.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{AgentBackend, AgentJob, AttemptReport, SeedReport, TaskPort};
use crate::messages::{AttemptEnd, Handoff, ReportStatus, Task, TaskSpec};
use crate::queue::{Catalogue, GuardError};

/// How a stub task behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StubBehaviour {
    /// Writes its file and completes.
    Complete,
    /// Reports `failed` every attempt.
    Fail,
    /// Reports `failed` on the first attempt, completes on the next.
    FailOnce,
    /// Ends without calling complete_task.
    NoReport,
    /// Ends without reporting on the first attempt, completes on the next.
    NoReportOnce,
    /// Reports `skipped` (not needed).
    Skip,
    /// Never ends (the task agent's time limit cuts it).
    Hang,
    /// Panics.
    Panic,
}

/// The built-in stub graph: (type, label, tier, dependency types).
pub const STUB_GRAPH: &[(&str, &str, &str, &[&str])] = &[
    ("install", "Add the SDK to the manifest", "small", &[]),
    ("init", "Initialise the SDK", "small", &[]),
    ("identify", "Identify users", "medium", &["install", "init"]),
    (
        "error-tracking",
        "Track errors",
        "medium",
        &["install", "init"],
    ),
    (
        "plan-capture",
        "Plan the events",
        "medium",
        &["install", "init"],
    ),
    ("capture", "Capture events", "medium", &["plan-capture"]),
    (
        "build",
        "Install and build",
        "medium",
        &["install", "init", "identify", "error-tracking", "capture"],
    ),
    (
        "dashboard",
        "Create a dashboard",
        "medium",
        &["capture", "build"],
    ),
    (
        "report",
        "Write the setup report",
        "small",
        &["build", "dashboard"],
    ),
];

/// The catalogue of the stub graph's types.
pub fn stub_catalogue() -> Catalogue {
    Catalogue::from_triples(STUB_GRAPH.iter().map(|(t, l, m, _)| (*t, *l, *m)))
}

/// The stub backend.
#[derive(Debug, Clone)]
pub struct StubBackend {
    state_dir: PathBuf,
    delay: Duration,
    behaviours: HashMap<String, StubBehaviour>,
    time_limit: Duration,
    graph: Vec<(String, Vec<String>)>,
}

impl StubBackend {
    /// A stub that writes under `state_dir` (`<installDir>/.posthog-wizard`) and takes `delay` per task.
    pub fn new(state_dir: PathBuf, delay: Duration) -> Self {
        Self {
            state_dir,
            delay,
            behaviours: HashMap::new(),
            time_limit: Duration::from_secs(600),
            graph: STUB_GRAPH
                .iter()
                .map(|(t, _, _, deps)| {
                    (t.to_string(), deps.iter().map(|d| d.to_string()).collect())
                })
                .collect(),
        }
    }

    /// Makes tasks of `task_type` behave this way.
    pub fn with(mut self, task_type: &str, behaviour: StubBehaviour) -> Self {
        self.behaviours.insert(task_type.to_string(), behaviour);
        self
    }

    /// Cuts attempts after `limit`.
    pub fn with_time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit;
        self
    }

    /// Seeds this graph of (type, dependency types) instead of the built-in one.
    pub fn with_graph(mut self, graph: Vec<(String, Vec<String>)>) -> Self {
        self.graph = graph;
        self
    }

    fn handoff(task: &Task, did: &str) -> Handoff {
        Handoff {
            goals: task.label.clone(),
            did: did.to_string(),
            for_next_agent: format!("{} is done", task.id),
            files_touched: vec![format!(".posthog-wizard/stub/{}.txt", task.id)],
            conflict: None,
            ..Default::default()
        }
    }
}

#[async_trait]
impl AgentBackend for StubBackend {
    async fn run(&self, job: AgentJob, port: Arc<dyn TaskPort>) -> AttemptReport {
        let task = job.task;
        let behaviour = self
            .behaviours
            .get(&task.task_type)
            .copied()
            .unwrap_or(StubBehaviour::Complete);
        port.activity(format!("Working on {}", task.label), None, None);
        tokio::time::sleep(self.delay).await;
        let first = task.attempts <= 1;
        let end = match behaviour {
            StubBehaviour::Hang => {
                std::future::pending::<()>().await;
                unreachable!("a pending future never resolves")
            }
            StubBehaviour::Panic => panic!("stub backend panicked on purpose in task {}", task.id),
            StubBehaviour::Fail => AttemptEnd::Reported {
                status: ReportStatus::Failed,
                handoff: Self::handoff(&task, "could not do it"),
            },
            StubBehaviour::FailOnce if first => AttemptEnd::Reported {
                status: ReportStatus::Failed,
                handoff: Self::handoff(&task, "could not do it this time"),
            },
            StubBehaviour::NoReport => AttemptEnd::NoReport {
                detail: "the stub ended without reporting".into(),
            },
            StubBehaviour::NoReportOnce if first => AttemptEnd::NoReport {
                detail: "the stub ended without reporting".into(),
            },
            StubBehaviour::Skip => AttemptEnd::Reported {
                status: ReportStatus::Skipped,
                handoff: Self::handoff(&task, "not needed for this app"),
            },
            _ => {
                let dir = self.state_dir.join("stub");
                let path = dir.join(format!("{}.txt", task.id));
                let body = format!(
                    "task {} ({}) attempt {}\nancestors: {}\n",
                    task.id,
                    task.task_type,
                    task.attempts,
                    job.ancestors
                        .iter()
                        .map(|a| a.task_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let written = tokio::fs::create_dir_all(&dir)
                    .await
                    .and(tokio::fs::write(&path, body).await);
                match written {
                    Ok(()) => AttemptEnd::Reported {
                        status: ReportStatus::Done,
                        handoff: Self::handoff(&task, "wrote its stub file"),
                    },
                    Err(e) => AttemptEnd::Reported {
                        status: ReportStatus::Failed,
                        handoff: Self::handoff(
                            &task,
                            &format!("could not write {}: {e}", path.display()),
                        ),
                    },
                }
            }
        };
        AttemptReport::free(end)
    }

    async fn seed(&self, port: Arc<dyn TaskPort>) -> SeedReport {
        let mut ids: HashMap<String, String> = HashMap::new();
        for (task_type, deps) in &self.graph {
            let depends_on: Vec<String> = deps.iter().filter_map(|d| ids.get(d).cloned()).collect();
            let spec = TaskSpec::new(task_type.clone()).after(depends_on);
            match port.enqueue(spec).await {
                // A resumed seed meets its own earlier tasks: reuse them.
                Ok(id) | Err(GuardError::Duplicate { existing: id, .. }) => {
                    ids.insert(task_type.clone(), id);
                }
                Err(e) => {
                    return SeedReport {
                        error: Some(format!("enqueue {task_type}: {e}")),
                        ..SeedReport::default()
                    }
                }
            }
        }
        SeedReport::default()
    }

    fn time_limit(&self, _task: &Task) -> Duration {
        self.time_limit
    }
}
