//! The run's lifecycle: stopped means stopped, and nothing changes a finished run.
//!
//! Real task agents and a real queue actor over small test backends: an
//! interrupt cancels the attempt in flight (nothing it would have written
//! appears after `run_finished`) and keeps what it used; an interrupt during
//! seeding leaves the run unseeded, so a resume plans again; a budget counts
//! the seed. Tool work that would block (a FIFO) or run long (a huge diff)
//! cannot hold a task or the process past its end.

mod recorder;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use async_trait::async_trait;
use serde_json::json;
use wizard::actors::queue::{Budget, QueueActor, Start};
use wizard::actors::task_agent::TaskAgent;
use wizard::agent::{AgentBackend, AgentJob, AttemptReport, SeedReport, TaskPort};
use wizard::messages::{
    AttemptEnd, Enqueue, Enqueuer, Handoff, Interrupt, QueueFile, ReportStatus, RunTask,
    SeedingDone, TaskSpec, TaskStatus, Usage, Verdict,
};
use wizard::queue::{Catalogue, Mirror, QueueLimits, QueueState};
use wizard::tools::fs::{EditFile, ReadFile, SearchFiles, WriteFile};
use wizard::tools::{BashLimits, Permissions, Secrets, Tool, ToolContext};

use recorder::{recorder, run_info, Events};

fn catalogue() -> Catalogue {
    Catalogue::from_triples([("install", "Add the SDK", "small")])
}

fn usage(tokens: u64) -> Usage {
    Usage {
        input_tokens: tokens,
        ..Usage::default()
    }
}

/// An attempt that reports some usage, works for a while, then writes a file.
struct SlowWriter {
    marker: PathBuf,
}

#[async_trait]
impl AgentBackend for SlowWriter {
    async fn run(&self, _job: AgentJob, port: Arc<dyn TaskPort>) -> AttemptReport {
        port.activity("working".into(), Some(usage(100)), Some(0.5));
        tokio::time::sleep(Duration::from_millis(400)).await;
        let _ = std::fs::write(&self.marker, "written after the attempt was stopped");
        AttemptReport {
            end: AttemptEnd::Reported {
                status: ReportStatus::Done,
                handoff: Handoff::default(),
            },
            usage: usage(100),
            cost_usd: 0.5,
            provider_retries: 0,
        }
    }

    async fn seed(&self, _port: Arc<dyn TaskPort>) -> SeedReport {
        SeedReport::default()
    }
}

/// A queue actor with one real task agent running `backend`.
fn queue_with(
    backend: Arc<dyn AgentBackend>,
    budget: Option<Budget>,
) -> (Addr<QueueActor>, Events) {
    let (rec, events) = recorder();
    let state = QueueState::new(QueueLimits::default(), catalogue());
    let queue = QueueActor::create(|ctx| {
        let agent: Recipient<RunTask> = TaskAgent::new(backend, ctx.address()).start().recipient();
        let mut actor = QueueActor::new(state, run_info(1), Start::Fresh, vec![agent])
            .with_drain_grace(Duration::from_secs(1))
            .subscribe(rec);
        if let Some(b) = budget {
            actor = actor.with_budget(b);
        }
        actor
    });
    (queue, events)
}

fn mirror_of(events: &Events) -> QueueFile {
    let mut mirror = Mirror::new(QueueFile::new(&run_info(1)));
    for e in &events.seen {
        mirror.apply(e);
    }
    mirror.into_file()
}

#[actix::test]
async fn an_interrupt_stops_the_attempt_nothing_is_written_after_the_end_and_its_usage_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("late.txt");
    let (queue, mut events) = queue_with(
        Arc::new(SlowWriter {
            marker: marker.clone(),
        }),
        None,
    );
    queue
        .send(Enqueue {
            by: Enqueuer::Orchestrator,
            spec: TaskSpec::new("install"),
        })
        .await
        .unwrap()
        .unwrap();
    queue.do_send(SeedingDone {
        error: None,
        usage: Usage::default(),
        cost_usd: 0.0,
    });
    events.until_task("task_started", "install").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    queue.do_send(Interrupt);
    let outcome = events.until_finished().await;
    assert_eq!(outcome.verdict, Verdict::Interrupted);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !marker.exists(),
        "the stopped attempt wrote its file after run_finished"
    );
    assert_eq!(
        outcome.usage.total(),
        100,
        "the stopped attempt's usage counts"
    );
    let file = mirror_of(&events);
    let task = &file.tasks[0];
    assert_eq!(task.status, TaskStatus::Pending);
    assert_eq!(task.usage.total(), 100, "the saved queue keeps the usage");
    assert_eq!(
        events.names().last(),
        Some(&"run_finished"),
        "{:?}",
        events.names()
    );
}

#[actix::test]
async fn a_late_seeding_done_does_not_change_a_finished_run_and_a_resume_seeds_again() {
    let (queue, mut events) = queue_with(
        Arc::new(SlowWriter {
            marker: PathBuf::from("/nonexistent/never"),
        }),
        None,
    );
    queue.do_send(Interrupt);
    events.until_finished().await;
    queue.do_send(SeedingDone {
        error: None,
        usage: Usage::default(),
        cost_usd: 0.0,
    });
    // A round trip through the queue lets the late message through first.
    let _ = queue.send(wizard::messages::Snapshot).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    events.drain();
    assert!(
        !events.names().contains(&"seeding_finished"),
        "{:?}",
        events.names()
    );
    assert!(
        !mirror_of(&events).seeded,
        "an interrupted seed must be run again"
    );
}

/// A seed that reports what it used and then plans for a long time.
struct SlowSeed;

#[async_trait]
impl AgentBackend for SlowSeed {
    async fn run(&self, _job: AgentJob, _port: Arc<dyn TaskPort>) -> AttemptReport {
        AttemptReport {
            end: AttemptEnd::NoReport {
                detail: "unused".into(),
            },
            usage: Usage::default(),
            cost_usd: 0.0,
            provider_retries: 0,
        }
    }

    async fn seed(&self, port: Arc<dyn TaskPort>) -> SeedReport {
        port.activity("planning".into(), Some(usage(70)), Some(0.25));
        tokio::time::sleep(Duration::from_secs(30)).await;
        SeedReport::default()
    }
}

#[actix::test]
async fn an_interrupt_during_seeding_stops_the_seed_keeps_its_usage_and_leaves_the_run_unseeded() {
    let dir = tempfile::tempdir().unwrap();
    let (rec, mut events) = recorder();
    let setup = wizard::runner::orchestrated::RunSetup {
        state_dir: dir.path().join(".posthog-wizard"),
        limits: QueueLimits::default(),
        catalogue: catalogue(),
        backend: Arc::new(SlowSeed),
        ui: wizard::actors::ui::UiMode::Quiet,
        run: run_info(1),
        resume: None,
        budget: None,
        subscribers: vec![rec],
        flush: Vec::new(),
        coalesce: Duration::from_millis(5),
        fail_queue_writes_after: None,
        asker: None,
    };
    let run = actix::spawn(wizard::runner::orchestrated::run(setup));
    events.until("run_started", |_| true).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The runner listens for SIGINT like a user's Ctrl-C.
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGINT).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the interrupted run ends within its grace period")
        .unwrap();
    assert_eq!(result.outcome.verdict, Verdict::Interrupted);
    assert_eq!(result.outcome.usage.total(), 70, "the seed's usage counts");
    events.until_finished().await;
    assert!(!events.names().contains(&"seeding_finished"));
    let saved: QueueFile = serde_json::from_slice(
        &std::fs::read(dir.path().join(".posthog-wizard/queue.json")).unwrap(),
    )
    .unwrap();
    assert!(!saved.seeded, "a resume must seed again");
}

#[actix::test]
async fn the_budget_counts_what_the_seed_spent() {
    let (queue, mut events) = queue_with(
        Arc::new(SlowWriter {
            marker: PathBuf::from("/nonexistent/never"),
        }),
        Some(Budget {
            max_usd: None,
            max_tokens: Some(50),
        }),
    );
    queue
        .send(Enqueue {
            by: Enqueuer::Orchestrator,
            spec: TaskSpec::new("install"),
        })
        .await
        .unwrap()
        .unwrap();
    // The task is already running; the seed's report puts the run over its budget.
    events.until_task("task_started", "install").await;
    queue.do_send(SeedingDone {
        error: None,
        usage: usage(60),
        cost_usd: 0.0,
    });
    let outcome = events.until_finished().await;
    assert_eq!(outcome.verdict, Verdict::BudgetExhausted);
    assert_eq!(
        outcome.completed, 0,
        "the budget stop cancels the running attempt"
    );
}

// ---- tools that cannot hold a task past its end ----------------------------

fn ctx(dir: &Path) -> ToolContext {
    ToolContext {
        install_dir: dir.canonicalize().unwrap(),
        permissions: Permissions {
            allowed_tools: ["Read", "Write", "Edit", "Grep"].map(String::from).to_vec(),
            write: vec!["**".into()],
            ..Permissions::default()
        },
        secrets: Secrets::default(),
        bash: BashLimits::default(),
        package_managers: Vec::new(),
        fences: Default::default(),
    }
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn a_fifo_is_refused_by_read_edit_write_and_grep_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("pipe"));
    let ctx = ctx(dir.path());
    let calls: Vec<(&dyn Tool, serde_json::Value)> = vec![
        (&ReadFile, json!({"file_path": "pipe"})),
        (
            &EditFile,
            json!({"file_path": "pipe", "old_string": "a", "new_string": "b"}),
        ),
        (&WriteFile, json!({"file_path": "pipe", "content": "x"})),
        (&SearchFiles, json!({"pattern": "a", "path": "pipe"})),
    ];
    for (tool, input) in calls {
        let name = tool.spec().name;
        let result = tokio::time::timeout(Duration::from_secs(5), tool.call(&ctx, input))
            .await
            .unwrap_or_else(|_| panic!("{name} blocked on a FIFO"));
        let err = result.expect_err("a FIFO is refused").to_string();
        assert!(
            err.contains("not a regular file") || err.contains("not a directory"),
            "{name}: {err}"
        );
    }
    let meta = std::fs::symlink_metadata(dir.path().join("pipe")).unwrap();
    assert!(!meta.is_file(), "the FIFO was not replaced");
}

#[tokio::test]
async fn an_edit_of_a_stopped_task_is_not_applied() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, "hello\n").unwrap();
    let token = wizard::cancel::CancellationToken::new();
    token.cancel();
    let ctx = ctx(dir.path());
    let result = wizard::cancel::scope(
        token,
        EditFile.call(
            &ctx,
            json!({"file_path": "a.txt", "old_string": "hello", "new_string": "bye"}),
        ),
    )
    .await;
    assert!(result.is_err(), "{result:?}");
    // The abandoned worker may still be running: give it time to (not) write.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello\n");
}

#[tokio::test]
async fn a_replace_all_over_a_huge_file_is_quick_because_its_diff_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..100_000).map(|i| format!("line {i} old\n")).collect();
    std::fs::write(dir.path().join("big.txt"), text).unwrap();
    let started = Instant::now();
    let out = EditFile
        .call(
            &ctx(dir.path()),
            json!({"file_path": "big.txt", "old_string": "old", "new_string": "new", "replace_all": true}),
        )
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        out.content.contains("100000 replacements"),
        "{}",
        out.content
    );
    assert!(out.content.contains("diff cut"));
    let after = std::fs::read_to_string(dir.path().join("big.txt")).unwrap();
    assert!(after.starts_with("line 0 new\n"));
}
