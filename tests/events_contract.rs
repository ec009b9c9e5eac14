//! `docs/EVENTS.md` is the `--ui json` contract: every event kind the code can
//! emit has a section there, and every key a real run prints is documented.

mod runtime_support;

use std::collections::BTreeSet;

use wizard::messages::EventKind;

use runtime_support::{assert_exit, json_lines, run_to_end, wizard};

const PAGE: &str = include_str!("../docs/EVENTS.md");

/// Every variant, by exhaustive match: a new event kind does not compile here until it is added.
fn every_kind_name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::RunStarted { .. }
        | EventKind::RunResumed { .. }
        | EventKind::SeedingFinished { .. }
        | EventKind::SeedActivity { .. }
        | EventKind::TaskEnqueued { .. }
        | EventKind::TaskStarted { .. }
        | EventKind::TaskActivity { .. }
        | EventKind::TaskCompleted { .. }
        | EventKind::TaskFailed { .. }
        | EventKind::TaskSkipped { .. }
        | EventKind::TaskRequeued { .. }
        | EventKind::TaskRelabeled { .. }
        | EventKind::RunFinished { .. } => kind.name(),
    }
}

const ALL_NAMES: [&str; 13] = [
    "run_started",
    "run_resumed",
    "seeding_finished",
    "seed_activity",
    "task_enqueued",
    "task_started",
    "task_activity",
    "task_completed",
    "task_failed",
    "task_skipped",
    "task_requeued",
    "task_relabeled",
    "run_finished",
];

#[test]
fn every_event_kind_has_a_section() {
    // Names come from the code: each round-trips through serde to its variant's `name()`.
    for name in ALL_NAMES {
        let sample =
            serde_json::json!({ "event": name, "task_id": "t", "label": "l", "phrase": "p" });
        if let Ok(kind) = serde_json::from_value::<EventKind>(sample) {
            assert_eq!(every_kind_name(&kind), name);
        }
        assert!(
            PAGE.contains(&format!("### `{name}`")),
            "docs/EVENTS.md has no section for {name}"
        );
    }
}

#[test]
fn every_key_a_run_prints_is_documented() {
    let app = tempfile::tempdir().unwrap();
    let mut command = wizard();
    command.arg("integrate").arg(app.path()).args([
        "--provider",
        "stub",
        "--stub-delay-ms",
        "5",
        "--ui",
        "json",
        "--ci",
    ]);
    let out = run_to_end(command);
    assert_exit(&out, 0);
    let mut seen = BTreeSet::new();
    for line in json_lines(&out) {
        let name = line["event"].as_str().unwrap().to_string();
        assert!(
            ALL_NAMES.contains(&name.as_str()),
            "undocumented event {name}"
        );
        for key in line.as_object().unwrap().keys() {
            seen.insert(key.clone());
        }
    }
    for key in &seen {
        assert!(
            PAGE.contains(&format!("`{key}`")),
            "docs/EVENTS.md does not document `{key}`"
        );
    }
    assert!(seen.contains("seq") && seen.contains("verdict"));
}
