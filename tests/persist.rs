//! What a run leaves in `<installDir>/.posthog-wizard/`: `queue.json`,
//! `audit.jsonl`, `handoffs/`, `.gitignore`, and that they stay parseable
//! through every write, a burst of events and a Ctrl-C of the real binary.

mod recorder;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use serde_json::{json, Value};
use wizard::actors::persist::PersistActor;
use wizard::actors::ui::UiMode;
use wizard::agent::stub::{stub_catalogue, StubBackend, StubBehaviour};
use wizard::messages::GetStats;
use wizard::messages::{
    EventKind, Flush, QueueEvent, QueueFile, TaskHandoff, TaskSpec, TaskStatus, Verdict,
};
use wizard::queue::{QueueLimits, QueueState};
use wizard::runner::orchestrated::{self, RunSetup};

use recorder::{final_tasks, recorder, run_info, HANG_GUARD};

struct Finished {
    dir: tempfile::TempDir,
    events: Vec<QueueEvent>,
}

impl Finished {
    fn state_dir(&self) -> PathBuf {
        self.dir.path().join(".posthog-wizard")
    }
}

/// Runs the stub graph (with `plan-capture` failing, so every status shows up) to its verdict.
async fn finished_run(concurrency: usize, coalesce: Duration) -> Finished {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join(".posthog-wizard");
    let (rec, mut events) = recorder();
    let backend = StubBackend::new(state_dir.clone(), Duration::from_millis(2))
        .with("plan-capture", StubBehaviour::Fail)
        .with("error-tracking", StubBehaviour::Skip);
    let setup = RunSetup {
        state_dir,
        limits: QueueLimits {
            concurrency,
            ..QueueLimits::default()
        },
        catalogue: stub_catalogue(),
        backend: Arc::new(backend),
        ui: UiMode::Quiet,
        run: run_info(concurrency),
        resume: None,
        budget: None,
        subscribers: vec![rec],
        coalesce,
        fail_queue_writes_after: None,
        asker: None,
        flush: Vec::new(),
    };
    let result = tokio::time::timeout(HANG_GUARD, orchestrated::run(setup))
        .await
        .expect("a run never hangs");
    assert!(
        result.storage_errors.is_empty(),
        "{:?}",
        result.storage_errors
    );
    events.until_finished().await;
    Finished {
        dir,
        events: events.seen,
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}\n{text}", path.display()))
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    keys
}

fn has_all(value: &Value, wanted: &[&str], what: &str) {
    let present = keys(value);
    for key in wanted {
        assert!(
            present.contains(key),
            "{what} lacks `{key}`; has {present:?}"
        );
    }
}

// ---- the files of a finished run ----------------------------------------

#[actix::test]
async fn queue_json_has_the_documented_shape_and_round_trips() {
    let run = finished_run(2, Duration::from_millis(5)).await;
    let value = read_json(&run.state_dir().join("queue.json"));

    has_all(
        &value,
        &[
            "version",
            "runId",
            "variant",
            "installDir",
            "createdAt",
            "tasks",
        ],
        "queue.json",
    );
    assert_eq!(value["version"], 1);
    assert_eq!(value["variant"], "orchestrator");
    let tasks = value["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 9);
    for task in tasks {
        let what = format!("task {}", task["id"]);
        has_all(
            task,
            &[
                "id",
                "type",
                "label",
                "status",
                "dependsOn",
                "inputs",
                "model",
                "attempts",
                "maxAttempts",
                "enqueuedBy",
                "depth",
                "createdAt",
                "startedAt",
                "finishedAt",
                "handoff",
                "error",
                "usage",
                "costUsd",
            ],
            &what,
        );
        assert_eq!(
            keys(&task["usage"]),
            [
                "cacheReadTokens",
                "cacheWriteTokens",
                "inputTokens",
                "outputTokens"
            ],
            "{what}"
        );
        assert_eq!(
            task["status"] == "skipped",
            task.get("reason").is_some_and(Value::is_string),
            "{what}: a reason exactly when skipped"
        );
    }
    let capture = tasks.iter().find(|t| t["id"] == "capture").unwrap();
    assert_eq!(capture["status"], "skipped");
    assert_eq!(capture["reason"], "dependency plan-capture failed");
    assert_eq!(capture["dependsOn"], json!(["plan-capture"]));
    let failed = tasks.iter().find(|t| t["id"] == "plan-capture").unwrap();
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["attempts"], 2);
    assert_eq!(failed["error"]["type"], "self-reported");

    // Round trip: typed and back, nothing lost or renamed.
    let file: QueueFile = serde_json::from_value(value.clone()).expect("parses as QueueFile");
    assert_eq!(serde_json::to_value(&file).unwrap(), value);
    assert_eq!(file.last_seq, run.events.last().unwrap().seq);
    assert_eq!(file.outcome.as_ref().unwrap().verdict, Verdict::Failed);
    let mirror = final_tasks(&run.events);
    for t in &file.tasks {
        assert_eq!(&**t, &mirror[&t.id], "queue.json agrees with the events");
    }
}

#[actix::test]
async fn audit_jsonl_is_one_event_per_line_in_event_order() {
    let run = finished_run(3, Duration::from_millis(5)).await;
    let text = std::fs::read_to_string(run.state_dir().join("audit.jsonl")).unwrap();
    let lines: Vec<QueueEvent> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l}: {e}")))
        .collect();
    assert!(text.ends_with('\n'));
    assert!(
        lines.windows(2).all(|w| w[0].seq < w[1].seq),
        "seq strictly increasing"
    );
    assert_eq!(
        lines, run.events,
        "the audit log is the event stream, in order"
    );
    assert_eq!(lines.last().unwrap().kind.name(), "run_finished");
}

#[actix::test]
async fn every_completed_task_leaves_its_handoff_and_the_folder_ignores_itself() {
    let run = finished_run(2, Duration::from_millis(5)).await;
    let state = run.state_dir();
    let completed: Vec<String> = final_tasks(&run.events)
        .into_values()
        .filter(|t| t.status == TaskStatus::Completed)
        .map(|t| t.id)
        .collect();
    assert_eq!(completed, ["identify", "init", "install"]);
    for id in &completed {
        let path = state.join("handoffs").join(format!("{id}.json"));
        let handoff: TaskHandoff = serde_json::from_value(read_json(&path)).unwrap();
        assert_eq!(&handoff.task_id, id);
        assert_eq!(handoff.handoff.did, "wrote its stub file");
    }
    let skipped: TaskHandoff =
        serde_json::from_value(read_json(&state.join("handoffs/error-tracking.json"))).unwrap();
    assert_eq!(
        skipped.handoff.did, "not needed for this app",
        "a task that reported itself not needed leaves its handoff too"
    );
    for blocked in ["capture", "build", "dashboard", "report"] {
        assert!(
            !state
                .join("handoffs")
                .join(format!("{blocked}.json"))
                .exists(),
            "{blocked} never ran, so it left no handoff"
        );
    }
    assert_eq!(
        std::fs::read_to_string(state.join(".gitignore")).unwrap(),
        "*\n"
    );
}

// ---- every write --------------------------------------------------------

/// Feeds a recorded run to a fresh persister one event at a time, flushing
/// after each, and reads `queue.json` back after every write.
#[actix::test]
async fn queue_json_parses_after_every_write() {
    let recorded = finished_run(2, Duration::from_millis(5)).await.events;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".posthog-wizard");
    let persist = PersistActor::fresh(state.clone(), &run_info(2))
        .with_coalesce(Duration::from_secs(3600))
        .start();
    let mut writes = 0;
    for (i, event) in recorded.iter().enumerate() {
        persist.send(event.clone()).await.unwrap();
        persist
            .send(Flush)
            .await
            .unwrap()
            .expect("the write succeeds");
        let stats = persist.send(GetStats).await.unwrap();
        if stats.queue_writes == writes {
            assert!(
                matches!(event.kind, EventKind::TaskActivity { .. }),
                "only activity skips a write, not {}",
                event.kind.name()
            );
            continue;
        }
        writes = stats.queue_writes;
        let file: QueueFile =
            serde_json::from_value(read_json(&state.join("queue.json"))).expect("parses");
        assert_eq!(file.last_seq, event.seq);
        let mirror = final_tasks(&recorded[..=i]);
        assert_eq!(file.tasks.len(), mirror.len());
        for t in &file.tasks {
            assert_eq!(&**t, &mirror[&t.id]);
        }
    }
    assert!(writes > 10, "{writes} writes");
}

/// Reads `queue.json` over and over while a run rewrites it: an atomic
/// rename means no read ever sees half a file.
#[actix::test]
async fn queue_json_is_never_seen_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".posthog-wizard");
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let path = state.join("queue.json");
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut parsed = 0;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    if let Err(e) = serde_json::from_str::<QueueFile>(&text) {
                        return Err(format!("a torn read: {e}\n{text}"));
                    }
                    parsed += 1;
                }
                std::thread::yield_now();
            }
            Ok(parsed)
        })
    };
    let (rec, mut events) = recorder();
    let setup = RunSetup {
        state_dir: state.clone(),
        limits: QueueLimits {
            concurrency: 3,
            ..QueueLimits::default()
        },
        catalogue: stub_catalogue(),
        backend: Arc::new(StubBackend::new(state.clone(), Duration::from_millis(3))),
        ui: UiMode::Quiet,
        run: run_info(3),
        resume: None,
        budget: None,
        subscribers: vec![rec],
        coalesce: Duration::ZERO,
        fail_queue_writes_after: None,
        asker: None,
        flush: Vec::new(),
    };
    tokio::time::timeout(HANG_GUARD, orchestrated::run(setup))
        .await
        .expect("a run never hangs");
    events.until_finished().await;
    stop.store(true, Ordering::Relaxed);
    let parsed = reader.join().unwrap().unwrap();
    assert!(parsed > 0, "the reader saw the file at least once");
}

// ---- coalescing ---------------------------------------------------------

#[actix::test]
async fn a_burst_of_events_is_coalesced_into_fewer_queue_writes() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".posthog-wizard");
    let mut q = QueueState::new(QueueLimits::default(), stub_catalogue());
    let mut burst = Vec::new();
    for n in 0..30 {
        let (_, kinds) = q
            .enqueue(
                &wizard::messages::Enqueuer::Orchestrator,
                TaskSpec::new("capture").with_inputs(json!({ "event": n })),
            )
            .unwrap();
        burst.extend(kinds);
    }
    let events: Vec<QueueEvent> = burst
        .into_iter()
        .enumerate()
        .map(|(i, kind)| QueueEvent {
            seq: i as u64 + 1,
            t_ms: 0,
            kind,
        })
        .collect();
    let persist = PersistActor::fresh(state.clone(), &run_info(1))
        .with_coalesce(Duration::from_millis(50))
        .start();
    for e in &events {
        persist.do_send(e.clone());
    }
    persist.send(Flush).await.unwrap().unwrap();
    let stats = persist.send(GetStats).await.unwrap();
    assert!(
        stats.queue_writes >= 1 && (stats.queue_writes as usize) < events.len(),
        "{} writes for {} events",
        stats.queue_writes,
        events.len()
    );
    let file: QueueFile = serde_json::from_value(read_json(&state.join("queue.json"))).unwrap();
    assert_eq!(file.tasks.len(), 30, "the last write holds the whole burst");
    assert_eq!(file.last_seq, 30);
}

#[test]
fn the_audit_log_gets_every_event_in_order_and_is_not_coalesced() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = wizard::actors::persist::AuditLog::new(dir.path());
    for seq in 1..=30u64 {
        log.append(&QueueEvent {
            seq,
            t_ms: seq,
            kind: EventKind::TaskRelabeled {
                task_id: "install".into(),
                label: format!("label {seq}"),
            },
        });
    }
    log.sync();
    assert_eq!(log.error(), None);
    let text = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let seqs: Vec<u64> = text
        .lines()
        .map(|l| serde_json::from_str::<QueueEvent>(l).unwrap().seq)
        .collect();
    assert_eq!(seqs, (1..=30).collect::<Vec<_>>());
}

#[test]
fn an_audit_log_that_cannot_be_written_reports_the_error_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the state folder should be: nothing can be created under it.
    let blocked = dir.path().join("state");
    std::fs::write(&blocked, "not a folder").unwrap();
    let mut log = wizard::actors::persist::AuditLog::new(&blocked);
    log.append(&QueueEvent {
        seq: 1,
        t_ms: 0,
        kind: EventKind::TaskRelabeled {
            task_id: "a".into(),
            label: "b".into(),
        },
    });
    let error = log.error().expect("the failure is remembered");
    assert!(error.contains("audit.jsonl"), "{error}");
}

// ---- Ctrl-C of the real binary ------------------------------------------

/// The child's stdout, read line by line on a thread.
fn stdout_lines(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let out = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_with_guard(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the wizard did not exit within {HANG_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigint_mid_run_leaves_both_files_flushed() {
    let app = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wizard"))
        .args(["integrate"])
        .arg(app.path())
        .args([
            "--ui",
            "json",
            "--concurrency",
            "2",
            "--provider",
            "stub",
            "--stub-delay-ms",
            "400",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stdout_lines(&mut child);
    loop {
        let line = lines
            .recv_timeout(HANG_GUARD)
            .expect("the run starts its first task");
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        if event["event"] == "task_started" {
            break;
        }
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = wait_with_guard(&mut child);
    assert_eq!(status.code(), Some(130), "an interrupted run exits 130");

    let state = app.path().join(".posthog-wizard");
    let file: QueueFile = serde_json::from_value(read_json(&state.join("queue.json")))
        .expect("queue.json parses after a Ctrl-C");
    assert!(
        file.tasks.iter().all(|t| t.status != TaskStatus::Running),
        "no task is left running"
    );
    assert_eq!(file.outcome.as_ref().unwrap().verdict, Verdict::Interrupted);

    let audit: Vec<QueueEvent> = std::fs::read_to_string(state.join("audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every audit line parses"))
        .collect();
    // Some task is always running in this run (each takes 400 ms), so the
    // interrupt caught at least one mid-attempt.
    let interrupted: Vec<&str> = audit
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskRequeued { task, reason } if reason == "interrupted" => {
                Some(task.id.as_str())
            }
            _ => None,
        })
        .collect();
    assert!(!interrupted.is_empty(), "an attempt was cut short");
    for id in &interrupted {
        let t = file.tasks.iter().find(|t| t.id == *id).unwrap();
        assert_eq!(
            (&t.status, t.attempts),
            (&TaskStatus::Pending, 1),
            "{id} was interrupted: pending again, its attempt counted"
        );
    }
    let last = audit.last().unwrap().clone();
    match last.kind {
        EventKind::RunFinished { outcome } => assert_eq!(outcome.verdict, Verdict::Interrupted),
        other => panic!("the audit log ends with {}", other.name()),
    }
    assert_eq!(
        file.last_seq, last.seq,
        "queue.json reflects the last event"
    );
}

#[test]
fn a_torn_last_line_is_cut_before_the_next_event_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let event = |seq: u64| QueueEvent {
        seq,
        t_ms: seq,
        kind: EventKind::TaskRelabeled {
            task_id: "install".into(),
            label: format!("label {seq}"),
        },
    };
    let first = serde_json::to_string(&event(1)).unwrap();
    // A whole line, then half of another (as a power cut could leave it).
    std::fs::write(
        dir.path().join("audit.jsonl"),
        format!("{first}\n{{\"seq\":2,\"t_"),
    )
    .unwrap();
    let mut log = wizard::actors::persist::AuditLog::new(dir.path());
    log.append(&event(2));
    assert_eq!(log.error(), None);
    let text = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let seqs: Vec<u64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<QueueEvent>(l)
                .expect("every line parses")
                .seq
        })
        .collect();
    assert_eq!(seqs, [1, 2]);
}

#[test]
fn a_torn_line_longer_than_a_read_block_is_cut_back_to_the_last_whole_line() {
    // The tail is read backwards in 64 KB blocks: a torn line of 100 KB spans two.
    let dir = tempfile::tempdir().unwrap();
    let event = |seq: u64, label: String| QueueEvent {
        seq,
        t_ms: seq,
        kind: EventKind::TaskRelabeled {
            task_id: "install".into(),
            label,
        },
    };
    let mut text = String::new();
    for seq in 1..=2000 {
        text.push_str(&serde_json::to_string(&event(seq, format!("label {seq}"))).unwrap());
        text.push('\n');
    }
    let torn = serde_json::to_string(&event(2001, "x".repeat(100_000))).unwrap();
    text.push_str(&torn[..torn.len() - 10]);
    std::fs::write(dir.path().join("audit.jsonl"), &text).unwrap();

    let mut log = wizard::actors::persist::AuditLog::new(dir.path());
    log.append(&event(2001, "after the cut".into()));
    assert_eq!(log.error(), None);
    let seqs: Vec<u64> = std::fs::read_to_string(dir.path().join("audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<QueueEvent>(l)
                .expect("every line parses")
                .seq
        })
        .collect();
    assert_eq!(seqs.len(), 2001);
    assert_eq!(seqs.last(), Some(&2001));
}
