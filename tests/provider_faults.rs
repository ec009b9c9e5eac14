//! Provider faults through a whole run: the loopback Messages server answers 30% of
//! requests with a fault (429 with retry-after, 529, 500, a reset connection, a stream
//! cut mid-event, a stalled stream, a malformed delta). The run still completes; the
//! retries are bounded, shown as task activity, and counted in queue.json and the report.

mod runtime_support;

use serde_json::Value;
use wizard::messages::{QueueFile, Verdict};
use wizard_fakes::{FakeAnthropic, Faults};

use runtime_support::{
    cassette_text, content_dir, fixture_app, json_lines, run_to_end, wizard, Played,
};

fn faults(seed: u64) -> Faults {
    Faults {
        rate_429: 0.08,
        rate_529: 0.05,
        rate_500: 0.05,
        rate_reset: 0.04,
        rate_cut_stream: 0.04,
        rate_stall: 0.02,
        rate_malformed_delta: 0.02,
        seed,
    }
}

#[test]
fn a_run_at_a_thirty_percent_fault_rate_completes_and_counts_its_retries() {
    let f = faults(FAULT_SEEDS[0]);
    let total = f.rate_429
        + f.rate_529
        + f.rate_500
        + f.rate_reset
        + f.rate_cut_stream
        + f.rate_stall
        + f.rate_malformed_delta;
    assert!((total - 0.30).abs() < 1e-9, "30% combined: {total}");

    // Faults are drawn in request order and the seed's requests interleave with the
    // tasks', so on some schedules every fault lands on the seed, which has no task row to
    // count retries on. Such a run proves nothing about the counting: try the next seed.
    for seed in FAULT_SEEDS {
        if let Some(checked) = run_under_faults(faults(seed)) {
            return checked;
        }
    }
    panic!("no seed in {FAULT_SEEDS:?} put a fault on a task's request");
}

/// Seeds tried in turn until a task (not only the seed) meets a fault.
const FAULT_SEEDS: [u64; 4] = [11, 12, 13, 14];

/// True when the server saw one task request twice: a task's request was retried.
fn a_task_request_was_retried(fake: &wizard_fakes::FakeServer) -> bool {
    let bodies: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.body.to_string())
        .collect();
    bodies.iter().enumerate().any(|(i, body)| {
        body.contains("Task id: ") && bodies[..i].iter().any(|earlier| earlier == body)
    })
}

/// One whole run under `f`; `None` when no task request met a fault.
fn run_under_faults(f: Faults) -> Option<()> {
    let played = std::sync::Arc::new(Played::new(&cassette_text("e2e.yaml", None)));
    let fake = FakeAnthropic::scripted_builder(move |body| played.answer(body))
        .expect_key("test-key")
        .faults(f)
        .start_background();
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let mut command = wizard();
    command
        .arg("integrate")
        .arg(&app)
        .args([
            "--orchestrator",
            "--yes",
            "--provider",
            "anthropic",
            "--content",
        ])
        .arg(content.path())
        .args(["--concurrency", "2", "--max-attempts", "3", "--ui", "json"])
        .env("ANTHROPIC_BASE_URL", fake.base_url())
        .env("ANTHROPIC_API_KEY", "test-key")
        .env("WIZARD_PROVIDER_IDLE_TIMEOUT_MS", "1500")
        .env("WIZARD_PROVIDER_RETRY_BASE_MS", "20");
    let out = run_to_end(command);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let text = std::fs::read_to_string(app.join(".posthog-wizard/queue.json")).unwrap();
    let file: QueueFile = serde_json::from_str(&text).unwrap();
    assert_eq!(
        file.outcome.as_ref().map(|o| o.verdict),
        Some(Verdict::Success)
    );
    if !a_task_request_was_retried(&fake) {
        return None;
    }
    let retries: u32 = file.tasks.iter().map(|t| t.provider_retries).sum();
    assert!(retries > 0, "faults were met and retried");

    // Retries are visible while they happen.
    let lines = json_lines(&out);
    let busy = lines
        .iter()
        .filter(|l| l["event"] == "task_activity")
        .filter(|l| {
            l["phrase"]
                .as_str()
                .is_some_and(|p| p.starts_with("Model busy"))
        })
        .count();
    assert!(busy > 0, "retries show as task activity");
    // Bounded: the server saw more requests than answers, but not without limit.
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    let answered = lines
        .iter()
        .filter(|l: &&Value| l["event"] == "task_completed")
        .count();
    assert!(
        posts > answered,
        "{posts} requests for {answered} completed tasks"
    );
    assert!(posts < 200, "retries are bounded: {posts} requests");

    let report = std::fs::read_to_string(app.join(".posthog-wizard/run-report.md")).unwrap();
    assert!(
        report.contains("| Retries |"),
        "the report has a retries column"
    );
    Some(())
}
