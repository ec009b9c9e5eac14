//! A `--ui json` reader that stops reading must not stall the run.
//!
//! The UI's lines go through a bounded channel to a writer thread; before,
//! they were written on the thread the queue and every agent share, so a full
//! pipe stopped dispatch until the reader came back. Here the real binary
//! (stub provider) writes into a pipe shrunk to one page, which its first
//! lines fill; nobody reads it for 5 s, and meanwhile the run must start its
//! tasks and finish, as its write-ahead log (`audit.jsonl`) shows.

use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg};
use wizard::messages::{EventKind, QueueEvent};

const PAUSE: Duration = Duration::from_secs(5);

fn logged_events(dir: &Path) -> Vec<QueueEvent> {
    let text = std::fs::read_to_string(dir.join(".posthog-wizard/audit.jsonl")).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn a_json_reader_paused_for_five_seconds_does_not_delay_task_starts() {
    let app = tempfile::tempdir().unwrap();
    let (mut reader, writer) = std::io::pipe().expect("a pipe");
    // One page: the run's first few lines fill it, so every later write would wait.
    let size = fcntl(writer.as_fd(), FcntlArg::F_SETPIPE_SZ(4096)).expect("the pipe shrinks");
    assert!(size <= 8192, "the pipe holds {size} bytes");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wizard"))
        .arg("integrate")
        .arg(app.path())
        .args([
            "--provider",
            "stub",
            "--stub-delay-ms",
            "5",
            "--concurrency",
            "2",
            "--ui",
            "json",
        ])
        .stdout(writer)
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let launched = Instant::now();

    // Do not read; watch the log until the run is over or the pause ends.
    let mut events = Vec::new();
    while launched.elapsed() < PAUSE {
        std::thread::sleep(Duration::from_millis(100));
        events = logged_events(app.path());
        if events
            .iter()
            .any(|e| matches!(e.kind, EventKind::RunFinished { .. }))
        {
            break;
        }
    }
    let finished_while_paused = launched.elapsed() < PAUSE;
    let starts = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::TaskStarted { .. }))
        .count();
    // Hold the pause to its end, then read everything.
    std::thread::sleep(PAUSE.saturating_sub(launched.elapsed()));
    let mut out = String::new();
    reader.read_to_string(&mut out).expect("stdout reads");
    let status = child.wait().expect("the binary exits");

    assert!(
        out.len() > 4096,
        "the run printed more than the pipe holds ({} bytes), so a blocking write would have waited",
        out.len()
    );
    assert!(
        starts >= 3,
        "tasks started while stdout was not read ({starts} starts in the log)"
    );
    assert!(
        finished_while_paused,
        "the run finished while stdout was not read (log: {} events)",
        events.len()
    );
    assert!(status.success(), "the run succeeds: {status:?}");

    // Every transition reached the reader, in order (only activity may be dropped under lag).
    let printed: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let seqs: Vec<u64> = printed.iter().filter_map(|v| v["seq"].as_u64()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "lines keep their order"
    );
    let final_log = logged_events(app.path());
    let transitions: Vec<u64> = final_log
        .iter()
        .filter(|e| !matches!(e.kind, EventKind::TaskActivity { .. }))
        .map(|e| e.seq)
        .collect();
    for seq in transitions {
        assert!(seqs.contains(&seq), "event {seq} was printed");
    }
}
