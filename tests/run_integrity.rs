//! A run is one run: a fresh start moves the previous run aside, a resume never
//! replays another run's events, and a damaged or odd saved queue is refused or
//! repaired with a clear message, never a hang or a silent drop. A failed run
//! can be resumed: what failed (and what it blocked) runs again.

mod recorder;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use wizard::actors::persist::AuditLog;
use wizard::agent::stub::{stub_catalogue, StubBackend, StubBehaviour};
use wizard::messages::{
    EventKind, QueueEvent, QueueFile, TaskSpec, TaskStatus, Verdict, QUEUE_FILE_VERSION,
};
use wizard::queue::{Catalogue, QueueLimits, QueueState};
use wizard::runner::integrate::archive_old_run;
use wizard::runner::orchestrated::{self, RunSetup};
use wizard::runner::resume::{self, ResumeError};

use recorder::run_info;

const STUB: &[&str] = &[
    "--provider",
    "stub",
    "--stub-delay-ms",
    "15",
    "--ui",
    "json",
];

fn wizard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wizard"))
}

fn state(dir: &Path) -> std::path::PathBuf {
    dir.join(".posthog-wizard")
}

fn queue(dir: &Path) -> QueueFile {
    serde_json::from_slice(&std::fs::read(state(dir).join("queue.json")).unwrap()).unwrap()
}

/// `integrate` killed after it printed `k` events (all of them with `usize::MAX`).
fn integrate_and_kill_after(dir: &Path, extra: &[&str], k: usize) {
    let mut child = wizard()
        .arg("integrate")
        .arg(dir)
        .args(STUB)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut seen = 0;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        seen += 1;
        if seen == k {
            let _ = child.kill();
            break;
        }
    }
    let _ = child.wait();
}

fn archives(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(state(dir).join("previous"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    found.sort();
    found
}

#[test]
fn a_rerun_killed_and_resumed_never_mixes_with_the_run_before() {
    let app = tempfile::tempdir().unwrap();
    integrate_and_kill_after(app.path(), &[], usize::MAX);
    let first = queue(app.path());
    assert_eq!(first.outcome.as_ref().unwrap().verdict, Verdict::Success);

    integrate_and_kill_after(app.path(), &["--yes"], 4);
    let archived = archives(app.path());
    assert_eq!(archived.len(), 1, "run 1 was moved aside: {archived:?}");
    let old: QueueFile =
        serde_json::from_slice(&std::fs::read(archived[0].join("queue.json")).unwrap()).unwrap();
    assert_eq!(old.run.run_id, first.run.run_id);

    let out = wizard()
        .arg("resume")
        .arg(app.path())
        .args(STUB)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let second = queue(app.path());
    assert_ne!(
        second.run.run_id, first.run.run_id,
        "run 2 is a run of its own"
    );
    assert_eq!(second.outcome.as_ref().unwrap().verdict, Verdict::Success);
    assert!(
        second
            .tasks
            .iter()
            .all(|t| t.status == TaskStatus::Completed),
        "run 2's own tasks all ran: {:?}",
        second
            .tasks
            .iter()
            .map(|t| (&t.id, &t.status))
            .collect::<Vec<_>>()
    );
    let log = std::fs::read_to_string(state(app.path()).join("audit.jsonl")).unwrap();
    assert!(
        !log.contains(&first.run.run_id),
        "run 1's events are not in run 2's log"
    );
}

#[test]
fn fresh_over_a_corrupt_queue_archives_it_first() {
    let app = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(state(app.path())).unwrap();
    std::fs::write(state(app.path()).join("queue.json"), "{ not json").unwrap();
    let out = wizard()
        .arg("integrate")
        .arg(app.path())
        .args(STUB)
        .arg("--fresh")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archived = archives(app.path());
    assert_eq!(archived.len(), 1);
    assert_eq!(
        std::fs::read_to_string(archived[0].join("queue.json")).unwrap(),
        "{ not json"
    );
}

#[test]
fn archives_made_within_one_second_get_distinct_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut made = Vec::new();
    for i in 0..5 {
        std::fs::write(dir.path().join("queue.json"), format!("{i}")).unwrap();
        made.push(archive_old_run(dir.path()).unwrap().unwrap());
    }
    made.sort();
    made.dedup();
    assert_eq!(made.len(), 5, "{made:?}");
    for (i, path) in made.iter().enumerate() {
        assert!(path.join("queue.json").exists(), "{i}");
    }
    assert!(
        archive_old_run(dir.path()).unwrap().is_none(),
        "nothing to move"
    );
}

// ---- the saved queue ------------------------------------------------------

fn catalogue() -> Catalogue {
    Catalogue::from_triples([("install", "Install", "small"), ("build", "Build", "small")])
}

/// A saved queue of `install` and `build` (which depends on it), both pending.
fn saved_file() -> QueueFile {
    let mut q = QueueState::new(QueueLimits::default(), catalogue());
    let by = wizard::messages::Enqueuer::Orchestrator;
    q.enqueue(&by, TaskSpec::new("install")).unwrap();
    q.enqueue(&by, TaskSpec::new("build").after(["install"]))
        .unwrap();
    let mut file = QueueFile::new(&run_info(1));
    file.seeded = true;
    file.tasks = q.tasks().to_vec();
    file
}

fn write_queue(dir: &Path, file: &QueueFile) {
    std::fs::write(dir.join("queue.json"), serde_json::to_vec(file).unwrap()).unwrap();
}

fn corrupt_message(result: Result<resume::Loaded, ResumeError>) -> String {
    match result {
        Err(e @ ResumeError::Corrupt { .. }) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_queue_of_a_future_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = saved_file();
    file.version = QUEUE_FILE_VERSION + 1;
    write_queue(dir.path(), &file);
    let message = corrupt_message(resume::load(dir.path()));
    assert!(message.contains("newer wizard"), "{message}");
}

#[test]
fn a_queue_with_a_duplicate_id_is_refused_not_hung_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = saved_file();
    let copy = file.tasks[0].clone();
    file.tasks.push(copy);
    write_queue(dir.path(), &file);
    let message = corrupt_message(resume::load(dir.path()));
    assert!(
        message.contains("\"install\" appears more than once"),
        "{message}"
    );
}

#[test]
fn a_reordered_queue_is_put_back_in_order_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = saved_file();
    file.tasks.reverse();
    write_queue(dir.path(), &file);
    let loaded = resume::load(dir.path()).unwrap();
    let ids: Vec<&str> = loaded.file.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["install", "build"]);
    assert!(
        loaded
            .notices()
            .iter()
            .any(|n| n.contains("put back in order")),
        "{:?}",
        loaded.notices()
    );
    // Restoring the reordered tasks directly never makes `build` ready before `install`.
    let (state, _) = QueueState::restore(QueueLimits::default(), catalogue(), file.tasks, true);
    assert_eq!(state.ready_tasks(), ["install"]);
}

fn event(seq: u64, kind: EventKind) -> QueueEvent {
    QueueEvent { seq, t_ms: 0, kind }
}

#[test]
fn a_damaged_line_mid_log_is_reported_and_later_events_are_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = saved_file();
    let build = file.tasks.pop().unwrap();
    let install = file.tasks[0].clone();
    file.tasks.clear();
    write_queue(dir.path(), &file);
    let mut log = AuditLog::new(dir.path()).for_run(&file.run.run_id);
    log.append(&event(1, EventKind::RunStarted { run: run_info(1) }));
    log.append(&event(2, EventKind::TaskEnqueued { task: install }));
    drop(log);
    let mut text = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    text.push_str("{\"seq\": 3, \"event\": \"task_enq\n");
    std::fs::write(dir.path().join("audit.jsonl"), text).unwrap();
    let mut log = AuditLog::new(dir.path()).for_run(&file.run.run_id);
    log.append(&event(4, EventKind::TaskEnqueued { task: build }));
    drop(log);

    let loaded = resume::load(dir.path()).unwrap();
    assert_eq!(loaded.damaged_lines, [3]);
    let ids: Vec<&str> = loaded.file.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        ["install", "build"],
        "the event after the damage was replayed"
    );
    assert!(loaded.notices().iter().any(|n| n.contains("line 3")));
}

#[test]
fn events_of_another_run_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = saved_file();
    write_queue(dir.path(), &file);
    let mut log = AuditLog::new(dir.path()).for_run("another-run");
    log.append(&event(1, EventKind::RunStarted { run: run_info(1) }));
    drop(log);
    match resume::load(dir.path()) {
        Err(e @ ResumeError::OtherRun { .. }) => {
            assert!(e.to_string().contains("another run"), "{e}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

// ---- a failed run resumes ---------------------------------------------------

async fn stub_run(
    state_dir: &Path,
    backend: StubBackend,
    resume: Option<QueueFile>,
) -> wizard::messages::RunOutcome {
    let run = match &resume {
        Some(f) => f.run_info(),
        None => run_info(1),
    };
    let setup = RunSetup {
        state_dir: state_dir.to_path_buf(),
        limits: QueueLimits::default(),
        catalogue: stub_catalogue(),
        backend: Arc::new(backend),
        ui: wizard::actors::ui::UiMode::Quiet,
        run,
        resume,
        budget: None,
        subscribers: Vec::new(),
        flush: Vec::new(),
        coalesce: Duration::from_millis(5),
        fail_queue_writes_after: None,
        asker: None,
    };
    orchestrated::run(setup).await.outcome
}

#[actix::test]
async fn a_failed_run_resumes_by_retrying_what_failed_and_what_it_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join(".posthog-wizard");
    let failing = StubBackend::new(state_dir.clone(), Duration::from_millis(1))
        .with("capture", StubBehaviour::Fail);
    let outcome = stub_run(&state_dir, failing, None).await;
    assert_eq!(outcome.verdict, Verdict::Failed);
    assert!(outcome.blocked > 0);

    let file = match resume::load(&state_dir) {
        Err(ResumeError::Finished { file, .. }) => *file,
        other => panic!("a failed run is finished: {other:?}"),
    };
    let done_before: Vec<(String, Option<chrono::DateTime<chrono::Utc>>)> = file
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Completed)
        .map(|t| (t.id.clone(), t.finished_at))
        .collect();
    let (file, retried) = resume::retry_failed(file);
    assert_eq!(retried, outcome.failed + outcome.blocked);

    let healthy = StubBackend::new(state_dir.clone(), Duration::from_millis(1));
    let outcome = stub_run(&state_dir, healthy, Some(file)).await;
    assert_eq!(outcome.verdict, Verdict::Success, "{}", outcome.message);
    let after = queue(dir.path());
    for (id, finished) in done_before {
        let t = after.tasks.iter().find(|t| t.id == id).unwrap();
        assert_eq!(t.finished_at, finished, "{id} was not run again");
        assert_eq!(t.attempts, 1, "{id}");
    }
}

// ---- resume keeps how the run was started ------------------------------------

#[test]
fn a_plain_resume_keeps_the_content_and_provider_the_run_started_with() {
    let work = tempfile::tempdir().unwrap();
    let content = work.path().join("content");
    let out = wizard()
        .args(["content", "export"])
        .arg(&content)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let product = content.join("product.yaml");
    let text = std::fs::read_to_string(&product).unwrap();
    std::fs::write(
        &product,
        text.replace("name: PostHog", "name: Acme Analytics"),
    )
    .unwrap();

    let app = work.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    let content_arg = content.display().to_string();
    integrate_and_kill_after(&app, &["--content", &content_arg], 4);

    // No --content, no --provider: both come from the run.
    let out = wizard()
        .arg("resume")
        .arg(&app)
        .args(["--ui", "json"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Acme Analytics is set up"), "{stderr}");
}

// ---- storage errors accumulate -------------------------------------------------

#[actix::test]
async fn a_failed_handoff_write_is_still_reported_at_the_end_after_good_writes() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join(".posthog-wizard");
    std::fs::create_dir_all(&state_dir).unwrap();
    // A file where the handoffs folder should be: every handoff write fails,
    // while queue.json keeps being written fine.
    std::fs::write(state_dir.join("handoffs"), "not a folder").unwrap();
    let setup = RunSetup {
        state_dir: state_dir.clone(),
        limits: QueueLimits::default(),
        catalogue: stub_catalogue(),
        backend: Arc::new(StubBackend::new(
            state_dir.clone(),
            Duration::from_millis(1),
        )),
        ui: wizard::actors::ui::UiMode::Quiet,
        run: run_info(1),
        resume: None,
        budget: None,
        subscribers: Vec::new(),
        flush: Vec::new(),
        coalesce: Duration::from_millis(1),
        fail_queue_writes_after: None,
        asker: None,
    };
    let result = orchestrated::run(setup).await;
    assert_eq!(result.outcome.verdict, Verdict::Success);
    assert!(result.persist.queue_writes > 1, "later writes succeeded");
    assert!(
        result
            .storage_errors
            .iter()
            .any(|e| e.contains("could not write a handoff")),
        "{:?}",
        result.storage_errors
    );
    let paths =
        wizard::report::write_reports_with_errors(&state_dir, &result.view, &result.storage_errors)
            .unwrap();
    let report = std::fs::read_to_string(paths.markdown).unwrap();
    assert!(report.contains("could not write a handoff"), "{report}");
}

#[test]
fn a_successful_run_with_storage_errors_says_so_and_does_not_exit_zero() {
    let app = tempfile::tempdir().unwrap();
    let out = wizard()
        .arg("integrate")
        .arg(app.path())
        .args(STUB)
        .env("WIZARD_FAIL_QUEUE_WRITES_AFTER", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is set up"), "{stderr}");
    assert!(stderr.contains("storage error"), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
}
