//! A live `QueueActor`, driven with messages: replies, emitted events, dispatch.
//!
//! Two harnesses. "Held" agents forward each `RunTask` to the test, which
//! ends attempts itself by sending `AttemptFinished`, so ordering and the cap
//! are checked step by step. Whole runs go through `orchestrated::run` with
//! the stub backend (or a small test backend) and are read back from events.

mod recorder;

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use async_trait::async_trait;
use serde_json::json;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use wizard::actors::queue::{QueueActor, Start};
use wizard::actors::ui::UiMode;
use wizard::agent::stub::{stub_catalogue, StubBackend, StubBehaviour};
use wizard::agent::{AgentBackend, AgentJob, AttemptReport, SeedReport, TaskPort};
use wizard::messages::{
    Activity, AttemptEnd, AttemptFinished, Enqueue, Enqueuer, EventKind, Handoff, Interrupt,
    QueueEvent, Relabel, ReportStatus, RunOutcome, RunTask, SeedingDone, Snapshot, Task, TaskId,
    TaskSpec, TaskStatus, Usage, Verdict,
};
use wizard::queue::{Catalogue, GuardError, QueueLimits, QueueState};
use wizard::runner::orchestrated::{self, RunSetup};

use recorder::{final_tasks, max_running, recorder, run_info, Events, HANG_GUARD};

// ---- held agents --------------------------------------------------------

/// A task agent that hands each attempt to the test instead of running it.
struct HeldAgent {
    tx: UnboundedSender<RunTask>,
}

impl Actor for HeldAgent {
    type Context = Context<Self>;
}

impl Handler<RunTask> for HeldAgent {
    type Result = ();

    fn handle(&mut self, msg: RunTask, _ctx: &mut Self::Context) {
        let _ = self.tx.send(msg);
    }
}

struct Held {
    queue: Addr<QueueActor>,
    events: Events,
    recorder: Recipient<QueueEvent>,
    runs: UnboundedReceiver<RunTask>,
}

fn catalogue() -> Catalogue {
    Catalogue::from_triples([
        ("install", "Add the SDK to the manifest", "small"),
        ("init", "Initialise the SDK", "small"),
        ("identify", "Identify users", "medium"),
        ("capture", "Capture events", "medium"),
        ("build", "Install and build", "medium"),
    ])
}

/// A queue actor with `agents` held agents (more than the cap, so the cap is the queue's).
fn held(limits: QueueLimits, agents: usize) -> Held {
    let (tx, runs) = unbounded_channel();
    let pool: Vec<Recipient<RunTask>> = (0..agents)
        .map(|_| HeldAgent { tx: tx.clone() }.start().recipient())
        .collect();
    let (rec, events) = recorder();
    let state = QueueState::new(limits.clone(), catalogue());
    let queue = QueueActor::new(state, run_info(limits.concurrency), Start::Fresh, pool)
        .subscribe(rec.clone())
        .start();
    Held {
        queue,
        events,
        recorder: rec,
        runs,
    }
}

impl Held {
    async fn enqueue(&self, by: Enqueuer, spec: TaskSpec) -> Result<TaskId, GuardError> {
        self.queue
            .send(Enqueue { by, spec })
            .await
            .expect("the queue is alive")
    }

    async fn seed(&self, spec: TaskSpec) -> TaskId {
        self.enqueue(Enqueuer::Orchestrator, spec)
            .await
            .expect("accepted")
    }

    async fn next_run(&mut self) -> Task {
        match tokio::time::timeout(HANG_GUARD, self.runs.recv()).await {
            Ok(Some(run)) => run.task,
            _ => panic!("no task was dispatched; events: {:?}", self.events.names()),
        }
    }

    fn finish(&self, task: &Task, end: AttemptEnd) {
        self.queue.do_send(AttemptFinished {
            task_id: task.id.clone(),
            attempt: task.attempts,
            end,
            usage: Usage::default(),
            cost_usd: 0.0,
            provider_retries: 0,
        });
    }

    async fn snapshot(&self) -> Vec<Task> {
        self.queue.send(Snapshot).await.expect("the queue is alive")
    }

    /// Waits until every message sent so far was handled and its events recorded.
    async fn settle(&mut self) {
        // Mailboxes are first in, first out: a round trip through the queue,
        // then one through the recorder, lets everything before them through.
        self.snapshot().await;
        let marker = QueueEvent {
            seq: 0,
            t_ms: 0,
            kind: EventKind::TaskRelabeled {
                task_id: "settle-marker".into(),
                label: String::new(),
            },
        };
        self.recorder
            .send(marker)
            .await
            .expect("the recorder is alive");
        self.events.drain();
        self.events.seen.retain(|e| e.seq != 0);
    }

    async fn running(&self) -> Vec<TaskId> {
        self.snapshot()
            .await
            .into_iter()
            .filter(|t| t.status == TaskStatus::Running)
            .map(|t| t.id)
            .collect()
    }
}

fn done() -> AttemptEnd {
    AttemptEnd::Reported {
        status: ReportStatus::Done,
        handoff: Handoff {
            goals: "g".into(),
            did: "d".into(),
            for_next_agent: "n".into(),
            files_touched: vec![],
            conflict: None,
            ..Default::default()
        },
    }
}

// ---- enqueue replies ----------------------------------------------------

#[actix::test]
async fn each_refused_enqueue_is_answered_with_its_typed_error() {
    let h = held(
        QueueLimits {
            max_tasks: 4,
            max_enqueues_per_task: 1,
            max_depth: 2,
            ..QueueLimits::default()
        },
        1,
    );
    assert_eq!(h.seed(TaskSpec::new("install")).await, "install");
    assert_eq!(
        h.enqueue(Enqueuer::Task("install".into()), TaskSpec::new("capture"))
            .await,
        Ok("capture".into())
    );

    let too_many = h
        .enqueue(Enqueuer::Task("install".into()), TaskSpec::new("build"))
        .await
        .unwrap_err();
    assert_eq!(
        too_many,
        GuardError::TooManyEnqueues {
            by: "install".into(),
            limit: 1
        }
    );

    let too_deep = h
        .enqueue(Enqueuer::Task("capture".into()), TaskSpec::new("build"))
        .await
        .unwrap_err();
    assert_eq!(too_deep, GuardError::TooDeep { depth: 3, limit: 2 });

    let unknown_type = h
        .enqueue(Enqueuer::Orchestrator, TaskSpec::new("instal"))
        .await
        .unwrap_err();
    assert!(
        matches!(&unknown_type, GuardError::UnknownType { suggestion: Some(s), .. } if s == "install")
    );
    assert!(unknown_type.to_string().contains("Valid types:"));

    let unknown_dep = h
        .enqueue(
            Enqueuer::Orchestrator,
            TaskSpec::new("init").after(["ghost"]),
        )
        .await
        .unwrap_err();
    assert!(matches!(&unknown_dep, GuardError::UnknownDependency { id, .. } if id == "ghost"));
    assert!(unknown_dep
        .to_string()
        .contains("existing ids: install, capture"));

    let duplicate = h
        .enqueue(Enqueuer::Orchestrator, TaskSpec::new("capture"))
        .await
        .unwrap_err();
    assert_eq!(
        duplicate,
        GuardError::Duplicate {
            task_type: "capture".into(),
            existing: "capture".into()
        }
    );

    h.seed(TaskSpec::new("init")).await;
    h.seed(TaskSpec::new("identify")).await;
    let full = h
        .enqueue(Enqueuer::Orchestrator, TaskSpec::new("build"))
        .await
        .unwrap_err();
    assert_eq!(full, GuardError::RunFull { limit: 4 });

    // Refusals change nothing: the queue holds, and announced, only what it accepted.
    let ids: Vec<TaskId> = h.snapshot().await.into_iter().map(|t| t.id).collect();
    assert_eq!(ids, ["install", "capture", "init", "identify"]);
    let mut events = h.events;
    events
        .until(
            "identify enqueued",
            |e| matches!(&e.kind, EventKind::TaskEnqueued { task } if task.id == "identify"),
        )
        .await;
    let enqueued: Vec<&str> = events
        .seen
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskEnqueued { task } => Some(task.id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(enqueued, ids);
}

#[actix::test]
async fn the_queue_checks_guards_in_order() {
    // Each case breaks two guards; the earlier one answers.
    let limits = QueueLimits {
        max_tasks: 2,
        max_enqueues_per_task: 1,
        max_depth: 2,
        ..QueueLimits::default()
    };
    let h = held(limits, 1);
    h.seed(TaskSpec::new("install")).await;
    h.enqueue(Enqueuer::Task("install".into()), TaskSpec::new("capture"))
        .await
        .unwrap();
    // Full, and install has used its one enqueue.
    let err = h
        .enqueue(Enqueuer::Task("install".into()), TaskSpec::new("build"))
        .await
        .unwrap_err();
    assert_eq!(err.guard(), "run-full");

    let h = held(
        QueueLimits {
            max_enqueues_per_task: 0,
            max_depth: 1,
            ..QueueLimits::default()
        },
        1,
    );
    h.seed(TaskSpec::new("install")).await;
    let err = h
        .enqueue(Enqueuer::Task("install".into()), TaskSpec::new("nope"))
        .await
        .unwrap_err();
    assert_eq!(
        err.guard(),
        "too-many-enqueues",
        "before too deep and unknown type"
    );

    let h = held(
        QueueLimits {
            max_depth: 1,
            ..QueueLimits::default()
        },
        1,
    );
    h.seed(TaskSpec::new("install")).await;
    let err = h
        .enqueue(Enqueuer::Task("install".into()), TaskSpec::new("nope"))
        .await
        .unwrap_err();
    assert_eq!(err.guard(), "too-deep", "before unknown type");

    let err = h
        .enqueue(
            Enqueuer::Orchestrator,
            TaskSpec::new("nope").after(["ghost"]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.guard(), "unknown-type", "before unknown dependency");

    let err = h
        .enqueue(
            Enqueuer::Orchestrator,
            TaskSpec::new("install").after(["ghost"]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.guard(), "unknown-dependency", "before duplicate");
}

#[actix::test]
async fn ids_are_the_type_then_numbered() {
    let h = held(QueueLimits::default(), 1);
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            h.seed(TaskSpec::new("capture").with_inputs(json!({ "event": n })))
                .await,
        );
    }
    ids.push(h.seed(TaskSpec::new("build")).await);
    assert_eq!(ids, ["capture", "capture-2", "capture-3", "build"]);
}

// ---- dispatch -----------------------------------------------------------

#[actix::test]
async fn ready_tasks_are_dispatched_in_enqueue_order() {
    let mut h = held(QueueLimits::default(), 3);
    h.seed(TaskSpec::new("install")).await;
    h.seed(TaskSpec::new("identify").after(["install"])).await;
    h.seed(TaskSpec::new("init")).await;
    h.seed(TaskSpec::new("capture")).await;
    h.queue.do_send(SeedingDone {
        error: None,
        usage: Default::default(),
        cost_usd: 0.0,
    });
    let mut order = Vec::new();
    for _ in 0..4 {
        let task = h.next_run().await;
        assert_eq!(
            h.running().await,
            std::slice::from_ref(&task.id),
            "cap 1: one at a time"
        );
        order.push(task.id.clone());
        h.finish(&task, done());
    }
    assert_eq!(order, ["install", "identify", "init", "capture"]);
    let outcome = h.events.until_finished().await;
    assert_eq!(outcome.verdict, Verdict::Success);
    assert_eq!(h.events.starts(), order, "task_started events agree");
}

#[actix::test]
async fn cap_three_runs_three_and_holds_the_fourth() {
    let mut h = held(
        QueueLimits {
            concurrency: 3,
            ..QueueLimits::default()
        },
        5,
    );
    for ty in ["install", "init", "identify", "capture"] {
        h.seed(TaskSpec::new(ty)).await;
    }
    let mut first = Vec::new();
    for _ in 0..3 {
        first.push(h.next_run().await);
    }
    assert_eq!(h.running().await, ["install", "init", "identify"]);
    h.finish(&first[1], done());
    let fourth = h.next_run().await;
    assert_eq!(fourth.id, "capture");
    assert_eq!(h.running().await.len(), 3);
}

#[actix::test]
async fn nothing_is_emitted_after_run_finished() {
    let mut h = held(QueueLimits::default(), 1);
    h.seed(TaskSpec::new("install")).await;
    h.queue.do_send(SeedingDone {
        error: None,
        usage: Default::default(),
        cost_usd: 0.0,
    });
    let task = h.next_run().await;
    h.finish(&task, done());
    h.events.until_finished().await;

    h.queue.do_send(Relabel {
        task_id: "install".into(),
        label: "Late label".into(),
    });
    h.queue.do_send(Activity {
        task_id: "install".into(),
        phrase: "late".into(),
        usage: None,
        cost_usd: None,
    });
    h.finish(&task, done());
    h.queue.do_send(Interrupt);
    assert_eq!(
        h.enqueue(Enqueuer::Orchestrator, TaskSpec::new("init"))
            .await,
        Err(GuardError::Closed)
    );
    h.settle().await;
    assert_eq!(
        h.events.names().last(),
        Some(&"run_finished"),
        "{:?}",
        h.events.names()
    );
}

#[actix::test]
async fn an_interrupt_requeues_running_tasks_and_ends_the_run() {
    let mut h = held(
        QueueLimits {
            concurrency: 2,
            ..QueueLimits::default()
        },
        2,
    );
    h.seed(TaskSpec::new("install")).await;
    h.seed(TaskSpec::new("init")).await;
    let a = h.next_run().await;
    h.next_run().await;
    h.queue.do_send(Interrupt);
    let outcome = h.events.until_finished().await;
    assert_eq!(outcome.verdict, Verdict::Interrupted);
    let requeued: Vec<(String, String)> = h
        .events
        .seen
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskRequeued { task, reason } => Some((task.id.clone(), reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        requeued,
        [
            ("install".to_string(), "interrupted".to_string()),
            ("init".to_string(), "interrupted".to_string())
        ]
    );
    // The interrupted attempt reports late: the task stays pending, attempt counted.
    h.finish(&a, done());
    let tasks = h.snapshot().await;
    assert!(tasks
        .iter()
        .all(|t| t.status == TaskStatus::Pending && t.attempts == 1));
}

// ---- whole runs ---------------------------------------------------------

struct Run {
    outcome: RunOutcome,
    events: Vec<QueueEvent>,
    _dir: tempfile::TempDir,
}

/// Runs `backend` over `catalogue` to its verdict and returns every event.
async fn run_with(
    limits: QueueLimits,
    catalogue: Catalogue,
    backend: impl FnOnce(std::path::PathBuf) -> Arc<dyn AgentBackend>,
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join(".posthog-wizard");
    let (rec, mut events) = recorder();
    let setup = RunSetup {
        state_dir: state_dir.clone(),
        run: run_info(limits.concurrency),
        limits,
        catalogue,
        backend: backend(state_dir),
        ui: UiMode::Quiet,
        resume: None,
        budget: None,
        subscribers: vec![rec],
        coalesce: Duration::from_millis(5),
        fail_queue_writes_after: None,
        asker: None,
        flush: Vec::new(),
    };
    let result = tokio::time::timeout(HANG_GUARD, orchestrated::run(setup))
        .await
        .expect("a run never hangs");
    let seen = events.until_finished().await;
    assert_eq!(seen, result.outcome, "the verdict event matches the result");
    assert!(
        result.storage_errors.is_empty(),
        "{:?}",
        result.storage_errors
    );
    Run {
        outcome: result.outcome,
        events: events.seen,
        _dir: dir,
    }
}

async fn stub_run(limits: QueueLimits, stub: impl FnOnce(StubBackend) -> StubBackend) -> Run {
    run_with(limits, stub_catalogue(), |state_dir| {
        Arc::new(stub(StubBackend::new(state_dir, Duration::from_millis(2))))
    })
    .await
}

fn status_of(run: &Run, id: &str) -> TaskStatus {
    final_tasks(&run.events)
        .get(id)
        .unwrap_or_else(|| panic!("no task {id}"))
        .status
        .clone()
}

#[actix::test]
async fn cap_one_never_runs_two_tasks_at_once() {
    let run = stub_run(QueueLimits::default(), |s| s).await;
    assert_eq!(run.outcome.verdict, Verdict::Success);
    assert_eq!(run.outcome.completed, 9);
    assert_eq!(max_running(&run.events), 1);
}

/// Tasks wait until three run at once (or give up after a while and still finish).
struct Rendezvous {
    barrier: tokio::sync::Barrier,
}

#[async_trait]
impl AgentBackend for Rendezvous {
    async fn run(&self, _job: AgentJob, _port: Arc<dyn TaskPort>) -> AttemptReport {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.barrier.wait()).await;
        AttemptReport::free(done())
    }

    async fn seed(&self, port: Arc<dyn TaskPort>) -> SeedReport {
        let mut error = None;
        for branch in ["a", "b", "c"] {
            let seeded = match port.enqueue(TaskSpec::new(format!("{branch}1"))).await {
                Ok(root) => port
                    .enqueue(TaskSpec::new(format!("{branch}2")).after([root]))
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = seeded {
                error = Some(e.to_string());
                break;
            }
        }
        SeedReport {
            error,
            ..SeedReport::default()
        }
    }
}

#[actix::test]
async fn cap_three_runs_three_independent_branches_at_once() {
    let types = ["a1", "a2", "b1", "b2", "c1", "c2"];
    let run = run_with(
        QueueLimits {
            concurrency: 3,
            ..QueueLimits::default()
        },
        Catalogue::from_triples(types.iter().map(|t| (*t, *t, "small"))),
        |_| {
            Arc::new(Rendezvous {
                barrier: tokio::sync::Barrier::new(3),
            })
        },
    )
    .await;
    assert_eq!(run.outcome.verdict, Verdict::Success);
    assert_eq!(max_running(&run.events), 3);
    // The three roots all started before any task completed.
    let first_done = run
        .events
        .iter()
        .position(|e| e.kind.name() == "task_completed")
        .unwrap();
    let mut roots: Vec<String> = recorder::starts(&run.events[..first_done]);
    roots.sort();
    assert_eq!(roots, ["a1", "b1", "c1"]);
}

#[actix::test]
async fn a_failure_skips_its_dependents_and_the_verdict_names_them() {
    let run = stub_run(QueueLimits::default(), |s| {
        s.with("plan-capture", StubBehaviour::Fail)
    })
    .await;
    assert_eq!(status_of(&run, "plan-capture"), TaskStatus::Failed);
    for id in ["capture", "build", "dashboard", "report"] {
        assert_eq!(
            status_of(&run, id),
            TaskStatus::Skipped {
                reason: "dependency plan-capture failed".into(),
                blocked_by: Some("plan-capture".into()),
            },
            "{id}"
        );
    }
    for id in ["install", "init", "identify", "error-tracking"] {
        assert_eq!(status_of(&run, id), TaskStatus::Completed, "{id}");
    }
    let o = &run.outcome;
    assert_eq!(o.verdict, Verdict::Failed);
    assert_eq!((o.completed, o.failed, o.blocked), (4, 1, 4));
    let named: Vec<&str> = o.problems.iter().map(|p| p.task_id.as_str()).collect();
    assert_eq!(
        named,
        ["plan-capture", "capture", "build", "dashboard", "report"]
    );
    assert!(
        o.message
            .starts_with("5 of 9 steps did not finish: plan-capture"),
        "{}",
        o.message
    );
}

#[actix::test]
async fn a_task_that_ends_without_reporting_is_retried() {
    let run = stub_run(
        QueueLimits {
            max_attempts: 3,
            ..QueueLimits::default()
        },
        |s| {
            s.with("install", StubBehaviour::NoReportOnce)
                .with("init", StubBehaviour::NoReport)
        },
    )
    .await;
    let tasks = final_tasks(&run.events);
    assert_eq!(tasks["install"].status, TaskStatus::Completed);
    assert_eq!(tasks["install"].attempts, 2);
    assert_eq!(tasks["init"].status, TaskStatus::Failed);
    assert_eq!(tasks["init"].attempts, 3, "re-queued while attempts < max");
    let requeues = |id: &str| {
        run.events
            .iter()
            .filter(|e| {
                matches!(&e.kind, EventKind::TaskRequeued { task, reason }
                    if task.id == id && reason.contains("without calling complete_task"))
            })
            .count()
    };
    assert_eq!((requeues("install"), requeues("init")), (1, 2));
}

#[actix::test]
async fn a_panicking_backend_fails_only_its_task() {
    let run = stub_run(QueueLimits::default(), |s| {
        s.with("identify", StubBehaviour::Panic)
    })
    .await;
    let tasks = final_tasks(&run.events);
    let identify = &tasks["identify"];
    assert_eq!(identify.status, TaskStatus::Failed);
    let error = identify.error.as_ref().unwrap();
    assert_eq!(error.kind, "panic");
    assert!(
        error.message.contains("panicked on purpose"),
        "{}",
        error.message
    );
    for id in [
        "install",
        "init",
        "error-tracking",
        "plan-capture",
        "capture",
    ] {
        assert_eq!(tasks[id].status, TaskStatus::Completed, "{id}");
    }
    for id in ["build", "dashboard", "report"] {
        assert!(tasks[id].status.blocks_dependents(), "{id}");
    }
    assert_eq!(run.outcome.verdict, Verdict::Failed);
}

#[actix::test]
async fn a_hung_task_is_cut_at_its_time_limit() {
    let graph = vec![
        ("install".to_string(), vec![]),
        ("init".to_string(), vec![]),
        (
            "identify".to_string(),
            vec!["install".to_string(), "init".to_string()],
        ),
    ];
    let run = stub_run(
        QueueLimits {
            max_attempts: 1,
            concurrency: 2,
            ..QueueLimits::default()
        },
        |s| {
            s.with_graph(graph)
                .with("install", StubBehaviour::Hang)
                .with_time_limit(Duration::from_millis(200))
        },
    )
    .await;
    let tasks = final_tasks(&run.events);
    let error = tasks["install"].error.as_ref().unwrap();
    assert_eq!(tasks["install"].status, TaskStatus::Failed);
    assert_eq!(error.kind, "timeout");
    assert_eq!(error.message, "the task ran past its time limit of 200ms");
    assert_eq!(tasks["init"].status, TaskStatus::Completed);
    assert!(tasks["identify"].status.blocks_dependents());
    assert_eq!(run.outcome.verdict, Verdict::Failed);
}

#[actix::test]
async fn a_seed_that_enqueues_nothing_fails_the_run_with_a_clear_message() {
    let run = stub_run(QueueLimits::default(), |s| s.with_graph(Vec::new())).await;
    assert_eq!(run.outcome.verdict, Verdict::Failed);
    assert_eq!(
        run.outcome.message,
        "Planning failed: the seeding agent enqueued no tasks."
    );
    let names: Vec<&str> = run.events.iter().map(|e| e.kind.name()).collect();
    assert_eq!(names, ["run_started", "seeding_finished", "run_finished"]);
}

#[actix::test]
async fn a_seed_that_is_refused_fails_the_run() {
    let graph = vec![("no-such-type".to_string(), vec![])];
    let run = stub_run(QueueLimits::default(), |s| s.with_graph(graph)).await;
    assert_eq!(run.outcome.verdict, Verdict::Failed);
    assert!(
        run.outcome
            .message
            .starts_with("Planning failed: enqueue no-such-type: unknown task type"),
        "{}",
        run.outcome.message
    );
}

#[actix::test]
async fn events_are_numbered_in_order() {
    let run = stub_run(
        QueueLimits {
            concurrency: 3,
            ..QueueLimits::default()
        },
        |s| s,
    )
    .await;
    let seqs: Vec<u64> = run.events.iter().map(|e| e.seq).collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected);
    assert_eq!(run.events[0].kind.name(), "run_started");
}
