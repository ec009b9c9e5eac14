//! Reliability: budgets stop a run and a resume with a larger one finishes it;
//! storage faults give a clear message and leave the last good files intact.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use wizard::actors::queue::Budget;
use wizard::actors::ui::UiMode;
use wizard::agent::stub::{stub_catalogue, StubBackend};
use wizard::agent::{AgentBackend, AgentJob, AttemptReport, SeedReport, TaskPort};
use wizard::messages::{QueueFile, RunInfo, TaskStatus, Usage, Variant, Verdict};
use wizard::queue::QueueLimits;
use wizard::runner::orchestrated::{self, RunResult, RunSetup};

/// The stub graph, but every attempt costs one cent and 1,000 tokens.
struct Priced {
    inner: StubBackend,
}

#[async_trait]
impl AgentBackend for Priced {
    async fn run(&self, job: AgentJob, port: Arc<dyn TaskPort>) -> AttemptReport {
        let mut report = self.inner.run(job, port).await;
        report.usage = Usage {
            input_tokens: 900,
            output_tokens: 100,
            ..Usage::default()
        };
        report.cost_usd = 0.01;
        report
    }

    async fn seed(&self, port: Arc<dyn TaskPort>) -> SeedReport {
        self.inner.seed(port).await
    }
}

fn run_info(dir: &Path) -> RunInfo {
    RunInfo {
        run_id: "budget-run".into(),
        variant: Variant::Orchestrator,
        install_dir: dir.display().to_string(),
        created_at: chrono::Utc::now(),
        framework: None,
        concurrency: 1,
        content_hash: None,
    }
}

async fn priced_run(dir: &Path, budget: Budget, resume: Option<QueueFile>) -> RunResult {
    let state = dir.join(".posthog-wizard");
    let setup = RunSetup {
        state_dir: state.clone(),
        limits: QueueLimits::default(),
        catalogue: stub_catalogue(),
        backend: Arc::new(Priced {
            inner: StubBackend::new(state, Duration::from_millis(1)),
        }),
        ui: UiMode::Quiet,
        run: resume
            .as_ref()
            .map(|f| f.run_info())
            .unwrap_or_else(|| run_info(dir)),
        resume,
        budget: Some(budget),
        subscribers: Vec::new(),
        coalesce: Duration::from_millis(5),
        fail_queue_writes_after: None,
        asker: None,
        flush: Vec::new(),
    };
    orchestrated::run(setup).await
}

fn read_queue(dir: &Path) -> QueueFile {
    let text = std::fs::read_to_string(dir.join(".posthog-wizard/queue.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[actix::test]
async fn a_cost_budget_stops_new_tasks_and_a_larger_one_finishes_the_run() {
    let app = tempfile::tempdir().unwrap();
    let first = priced_run(
        app.path(),
        Budget {
            max_usd: Some(0.025),
            max_tokens: None,
        },
        None,
    )
    .await;
    assert_eq!(first.outcome.verdict, Verdict::BudgetExhausted);
    assert!(
        first.outcome.message.contains("cost budget"),
        "{}",
        first.outcome.message
    );
    assert!(
        first.outcome.message.contains("larger budget"),
        "{}",
        first.outcome.message
    );
    let saved = read_queue(app.path());
    let completed = saved
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Completed)
        .count();
    assert_eq!(
        completed, 3,
        "three one-cent tasks reach 2.5 cents; no fourth starts"
    );
    assert!(saved.tasks.iter().all(|t| t.status != TaskStatus::Running));
    assert!(first.outcome.never_ran > 0);

    let loaded = wizard::runner::resume::load(&app.path().join(".posthog-wizard"))
        .expect("a budget stop is resumable");
    let second = priced_run(
        app.path(),
        Budget {
            max_usd: Some(1.0),
            max_tokens: None,
        },
        Some(loaded.file),
    )
    .await;
    assert_eq!(
        second.outcome.verdict,
        Verdict::Success,
        "{}",
        second.outcome.message
    );
    assert_eq!(second.outcome.completed, 9);
    assert!(
        (second.outcome.cost_usd - 0.09).abs() < 1e-9,
        "each task paid once: {}",
        second.outcome.cost_usd
    );
}

#[actix::test]
async fn a_token_budget_stops_the_run_and_says_so() {
    let app = tempfile::tempdir().unwrap();
    let run = priced_run(
        app.path(),
        Budget {
            max_usd: None,
            max_tokens: Some(1_500),
        },
        None,
    )
    .await;
    assert_eq!(run.outcome.verdict, Verdict::BudgetExhausted);
    assert!(
        run.outcome.message.contains("token budget"),
        "{}",
        run.outcome.message
    );
    assert_eq!(run.outcome.completed, 2);
}

fn wizard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wizard"))
}

#[test]
fn an_unwritable_state_folder_is_a_clear_error_before_anything_runs() {
    let app = tempfile::tempdir().unwrap();
    // A file where the state folder must go: nothing can be created there (root ignores
    // permission bits, so a read-only mode would not stop this test's process).
    std::fs::write(app.path().join(".posthog-wizard"), "in the way").unwrap();
    let out = wizard()
        .arg("integrate")
        .arg(app.path())
        .args(["--provider", "stub", "--ui", "plain"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot create") && stderr.contains(".posthog-wizard"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(app.path().join(".posthog-wizard")).unwrap(),
        "in the way"
    );
}

#[test]
fn a_failing_queue_write_is_reported_and_the_last_good_file_stays_whole() {
    let app = tempfile::tempdir().unwrap();
    let out = wizard()
        .arg("integrate")
        .arg(app.path())
        .args([
            "--provider",
            "stub",
            "--stub-delay-ms",
            "30",
            "--ui",
            "plain",
        ])
        .env("WIZARD_FAIL_QUEUE_WRITES_AFTER", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("could not write") && stderr.contains("queue.json"),
        "{stderr}"
    );
    assert!(stderr.contains("injected storage fault"), "{stderr}");
    // The one good write is still there and parses; it is behind the run, not torn.
    let file = read_queue(app.path());
    assert!(
        file.outcome.is_none(),
        "the final write failed, so the good file predates the verdict"
    );
    let leftovers: BTreeSet<String> = std::fs::read_dir(app.path().join(".posthog-wizard"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no half-written temp files: {leftovers:?}"
    );
    // The write-ahead log still has everything: a resume would rebuild the run from it.
    let audit = std::fs::read_to_string(app.path().join(".posthog-wizard/audit.jsonl")).unwrap();
    assert!(audit
        .lines()
        .last()
        .unwrap_or_default()
        .contains("\"run_finished\""));
}
