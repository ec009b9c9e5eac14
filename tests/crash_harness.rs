//! The crash harness: SIGKILL the real binary after the k-th event, for every k
//! of a run, resume it to completion, and check that nothing was lost or done twice.
//!
//! Runs on the stub provider (no model), so one run is a fraction of a second;
//! a longer version with random kill points lives in `bench/`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wizard::messages::{EventKind, QueueEvent, QueueFile, TaskHandoff, TaskStatus, Verdict};

const GUARD: Duration = Duration::from_secs(60);

fn wizard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wizard"))
}

const RUN_FLAGS: &[&str] = &[
    "--provider",
    "stub",
    "--stub-delay-ms",
    "15",
    "--concurrency",
    "2",
    "--ui",
    "json",
];

/// The demo run: the sample app, the demo cassette on the replay provider, no waiting.
const DEMO_FLAGS: &[&str] = &[
    "--provider",
    "replay",
    "--cassette",
    "next-app",
    "--replay-speed",
    "0",
    "--orchestrator",
    "--yes",
    "--skip-commands",
    "--concurrency",
    "2",
    "--ui",
    "json",
];

/// Runs `integrate` and SIGKILLs it right after it printed `k` events. Returns how many it printed.
fn run_and_kill_after(dir: &Path, k: usize) -> usize {
    run_with_and_kill_after(dir, RUN_FLAGS, k)
}

fn run_with_and_kill_after(dir: &Path, flags: &[&str], k: usize) -> usize {
    let mut child = wizard()
        .arg("integrate")
        .arg(dir)
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
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
    seen
}

fn resume_to_end(dir: &Path) -> std::process::Output {
    resume_with(dir, RUN_FLAGS)
}

fn resume_with(dir: &Path, flags: &[&str]) -> std::process::Output {
    let start = Instant::now();
    let out = wizard()
        .arg("resume")
        .arg(dir)
        .args(flags)
        .stderr(Stdio::piped())
        .output()
        .expect("the binary starts");
    assert!(start.elapsed() < GUARD, "resume did not finish");
    out
}

fn queue(dir: &Path) -> Option<QueueFile> {
    let text = std::fs::read_to_string(dir.join(".posthog-wizard/queue.json")).ok()?;
    Some(
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("queue.json does not parse: {e}\n{text}")),
    )
}

fn audit(dir: &Path) -> Vec<QueueEvent> {
    let text = std::fs::read_to_string(dir.join(".posthog-wizard/audit.jsonl")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut events = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str::<QueueEvent>(line) {
            Ok(e) => events.push(e),
            // A torn line is allowed only where a kill cut it: then the next line starts a new write.
            Err(_) if i + 1 < lines.len() || !line.is_empty() => {}
            Err(e) => panic!("audit line {i} does not parse: {e}"),
        }
    }
    events
}

/// Checks the invariants after a kill and a resume.
fn check_finished(dir: &Path, k: usize) {
    let file = queue(dir).unwrap_or_else(|| panic!("k={k}: no queue.json after resume"));
    let outcome = file
        .outcome
        .clone()
        .unwrap_or_else(|| panic!("k={k}: the resumed run has no verdict"));
    assert_eq!(
        outcome.verdict,
        Verdict::Success,
        "k={k}: {}",
        outcome.message
    );
    assert!(
        file.tasks.iter().all(|t| t.status.satisfies_dependents()),
        "k={k}: every task completed or was not needed"
    );

    let events = audit(dir);
    let mut completed: BTreeMap<String, usize> = BTreeMap::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    for e in &events {
        match &e.kind {
            EventKind::TaskCompleted { task } => {
                *completed.entry(task.id.clone()).or_default() += 1;
                done.insert(task.id.clone());
            }
            EventKind::TaskStarted { task } => {
                assert!(
                    !done.contains(&task.id),
                    "k={k}: {} started again after it completed",
                    task.id
                );
            }
            _ => {}
        }
    }
    for (id, n) in &completed {
        assert_eq!(*n, 1, "k={k}: {id} completed {n} times");
    }
    for t in file
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Completed)
    {
        let path = dir
            .join(".posthog-wizard/handoffs")
            .join(format!("{}.json", t.id));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("k={k}: no handoff for {}", t.id));
        let h: TaskHandoff = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("k={k}: bad handoff {}: {e}", t.id));
        assert_eq!(h.task_id, t.id);
    }
}

#[test]
fn a_kill_after_any_event_resumes_to_success_without_repeating_work() {
    // How many events a whole run prints.
    let probe = tempfile::tempdir().unwrap();
    let total = run_and_kill_after(probe.path(), usize::MAX);
    assert!(total > 20, "a stub run prints its events ({total})");

    for k in 1..total {
        let app = tempfile::tempdir().unwrap();
        let seen = run_and_kill_after(app.path(), k);
        assert_eq!(
            seen, k,
            "the run printed at least {k} events before the kill"
        );
        // Whatever the kill left must parse.
        let left = queue(app.path());
        let _ = audit(app.path());
        if left
            .and_then(|f| f.outcome)
            .is_some_and(|o| o.verdict == Verdict::Success)
        {
            // The kill came after the run had finished: nothing to resume.
            check_finished(app.path(), k);
            continue;
        }
        let out = resume_to_end(app.path());
        assert_eq!(
            out.status.code(),
            Some(0),
            "k={k}: resume failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        check_finished(app.path(), k);
    }
}

#[test]
fn resume_of_a_finished_run_says_so_and_keeps_its_verdict() {
    let app = tempfile::tempdir().unwrap();
    run_and_kill_after(app.path(), usize::MAX);
    let out = resume_to_end(app.path());
    assert_eq!(out.status.code(), Some(0), "the verdict was success");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nothing to resume: the run already finished"),
        "{stderr}"
    );
}

#[test]
fn resume_appends_a_run_resumed_event_and_keeps_the_run_id() {
    let app = tempfile::tempdir().unwrap();
    run_and_kill_after(app.path(), 8);
    let before = audit(app.path());
    let run_id = match &before[0].kind {
        EventKind::RunStarted { run } => run.run_id.clone(),
        other => panic!("the first event starts the run: {other:?}"),
    };
    let out = resume_to_end(app.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = audit(app.path());
    let resumed = after
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::RunResumed { run, .. } => Some(run.run_id.clone()),
            _ => None,
        })
        .expect("a run_resumed event");
    assert_eq!(resumed, run_id);
    let seqs: Vec<u64> = after.iter().map(|e| e.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seq keeps increasing across the resume"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn sample_app(root: &Path) -> std::path::PathBuf {
    let app = root.join("app");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/next-app"),
        &app,
    );
    app
}

/// The demo run (real tools, replayed model) killed after every event it prints.
#[test]
fn the_demo_run_killed_after_any_event_resumes_to_success_without_repeating_work() {
    let probe = tempfile::tempdir().unwrap();
    let total = run_with_and_kill_after(&sample_app(probe.path()), DEMO_FLAGS, usize::MAX);
    assert!(total > 30, "the demo run prints its events ({total})");

    for k in 1..total {
        let root = tempfile::tempdir().unwrap();
        let app = sample_app(root.path());
        let seen = run_with_and_kill_after(&app, DEMO_FLAGS, k);
        assert_eq!(
            seen, k,
            "the run printed at least {k} events before the kill"
        );
        let left = queue(&app);
        let _ = audit(&app);
        if left
            .and_then(|f| f.outcome)
            .is_some_and(|o| o.verdict == Verdict::Success)
        {
            check_finished(&app, k);
            continue;
        }
        let out = resume_with(&app, DEMO_FLAGS);
        assert_eq!(
            out.status.code(),
            Some(0),
            "k={k}: resume failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        check_finished(&app, k);
    }
}
