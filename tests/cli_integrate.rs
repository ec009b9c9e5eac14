//! The real `wizard` binary: `integrate` with the stub backend, the run lock,
//! `--ui json` output, and `status`.

mod recorder;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use wizard::messages::{EventKind, QueueEvent, QueueFile, TaskHandoff, TaskStatus, Verdict};

use recorder::{max_running, HANG_GUARD};

fn wizard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wizard"))
}

/// Runs `wizard integrate DIR --ui json` with `extra` flags to the end.
fn integrate(dir: &Path, extra: &[&str]) -> Output {
    let mut child = wizard()
        .arg("integrate")
        .arg(dir)
        .args(["--ui", "json"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + HANG_GUARD;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("wizard integrate did not finish within {HANG_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// The run's events: every stdout line must be a flat JSON event (`t_ms`, `event`, `seq`),
/// and stdout must show exactly the events `audit.jsonl` recorded, in order. Returns the
/// recorded (full) events.
fn events_in(out: &Output, dir: &Path) -> Vec<QueueEvent> {
    let stdout = String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8");
    let printed: Vec<(u64, String)> = stdout
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("stdout has a line that is not JSON ({e}): {line}"));
            assert!(
                v.get("t_ms").and_then(|t| t.as_u64()).is_some(),
                "no t_ms: {line}"
            );
            let seq = v
                .get("seq")
                .and_then(|t| t.as_u64())
                .unwrap_or_else(|| panic!("no seq: {line}"));
            let event = v
                .get("event")
                .and_then(|t| t.as_str())
                .unwrap_or_else(|| panic!("no event: {line}"));
            (seq, event.to_string())
        })
        .collect();
    let audit = std::fs::read_to_string(dir.join(".posthog-wizard/audit.jsonl")).unwrap();
    let recorded: Vec<QueueEvent> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("every audit line parses"))
        .collect();
    let recorded_names: Vec<(u64, String)> = recorded
        .iter()
        .map(|e| (e.seq, e.kind.name().to_string()))
        .collect();
    assert_eq!(
        printed, recorded_names,
        "stdout shows exactly the recorded events"
    );
    recorded
}

fn position(events: &[QueueEvent], name: &str, id: &str) -> usize {
    events
        .iter()
        .position(|e| e.kind.name() == name && e.kind.task().is_some_and(|t| t.id == id))
        .unwrap_or_else(|| panic!("no {name} for {id}"))
}

fn read_queue(dir: &Path) -> QueueFile {
    let path = dir.join(".posthog-wizard/queue.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("queue.json does not parse: {e}"))
}

#[test]
fn concurrency_three_runs_install_and_init_together_and_leaves_the_run_files() {
    let app = tempfile::tempdir().unwrap();
    let out = integrate(
        app.path(),
        &[
            "--concurrency",
            "3",
            "--provider",
            "stub",
            "--stub-delay-ms",
            "200",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = events_in(&out, app.path());

    let started =
        position(&events, "task_started", "install").max(position(&events, "task_started", "init"));
    let completed = position(&events, "task_completed", "install").min(position(
        &events,
        "task_completed",
        "init",
    ));
    assert!(
        started < completed,
        "install and init both started before either completed"
    );
    assert!(max_running(&events) <= 3);

    let queue = read_queue(app.path());
    assert_eq!(queue.tasks.len(), 9);
    assert!(queue
        .tasks
        .iter()
        .all(|t| t.status == TaskStatus::Completed));
    assert_eq!(queue.outcome.unwrap().verdict, Verdict::Success);

    let state = app.path().join(".posthog-wizard");

    for t in &queue.tasks {
        let path = state.join("handoffs").join(format!("{}.json", t.id));
        let text = std::fs::read_to_string(&path).unwrap();
        let handoff: TaskHandoff = serde_json::from_str(&text).unwrap();
        assert_eq!(handoff.task_id, t.id);
    }
}

#[test]
fn concurrency_one_never_overlaps_two_tasks() {
    let app = tempfile::tempdir().unwrap();
    let out = integrate(
        app.path(),
        &[
            "--concurrency",
            "1",
            "--provider",
            "stub",
            "--stub-delay-ms",
            "5",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let events = events_in(&out, app.path());
    assert_eq!(recorder::starts(&events).len(), 9);
    assert_eq!(max_running(&events), 1);
}

#[test]
fn json_ui_prints_only_json_events_on_stdout() {
    let app = tempfile::tempdir().unwrap();
    let out = integrate(app.path(), &["--provider", "stub", "--stub-delay-ms", "1"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    for line in stdout.lines() {
        let value: Value = serde_json::from_str(line).expect("a JSON line");
        assert!(value["event"].is_string(), "every line is an event: {line}");
    }
    let events = events_in(&out, app.path());
    assert_eq!(events.first().unwrap().kind.name(), "run_started");
    match &events.last().unwrap().kind {
        EventKind::RunFinished { outcome } => assert_eq!(outcome.verdict, Verdict::Success),
        other => panic!("the last line is {}", other.name()),
    }
}

/// Waits until a running wizard has printed its first `task_started`.
fn wait_for_first_task(child: &mut Child) {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if line.contains("\"task_started\"") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(HANG_GUARD)
        .expect("the first wizard starts a task");
}

#[test]
fn a_second_wizard_on_the_same_dir_is_refused() {
    let app = tempfile::tempdir().unwrap();
    let mut first = wizard()
        .arg("integrate")
        .arg(app.path())
        .args([
            "--ui",
            "json",
            "--provider",
            "stub",
            "--stub-delay-ms",
            "400",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_first_task(&mut first);

    let second = integrate(app.path(), &["--provider", "stub", "--stub-delay-ms", "1"]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("another wizard is already running"),
        "says why: {stderr}"
    );
    assert!(second.stdout.is_empty(), "the refused run printed nothing");

    // Stop the first one; it keeps its files.
    Command::new("kill")
        .args(["-INT", &first.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + HANG_GUARD;
    let status = loop {
        if let Some(status) = first.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = first.kill();
            panic!("the first wizard did not stop");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    assert!(!read_queue(app.path()).tasks.is_empty());
}

#[test]
fn status_prints_every_task() {
    let app = tempfile::tempdir().unwrap();
    let run = integrate(app.path(), &["--provider", "stub", "--stub-delay-ms", "1"]);
    assert_eq!(run.status.code(), Some(0));
    let out = wizard().arg("status").arg(app.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let queue = read_queue(app.path());
    let mut lines = stdout.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with("ID"), "a header row first: {header}");
    let rows: Vec<&str> = lines.take_while(|l| !l.trim().is_empty()).collect();
    assert_eq!(rows.len(), queue.tasks.len(), "{stdout}");
    for (line, task) in rows.iter().zip(&queue.tasks) {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&words[..3], [task.id.as_str(), "✓", "completed"], "{line}");
        assert!(line.contains(&task.label), "{line}");
        assert!(line.contains(&task.model), "{line}");
    }
    assert!(
        stdout.contains("All 9/9 steps done."),
        "the verdict follows the table: {stdout}"
    );
}

#[test]
fn status_without_a_run_says_so() {
    let app = tempfile::tempdir().unwrap();
    let out = wizard().arg("status").arg(app.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no run found"), "{stderr}");
}
