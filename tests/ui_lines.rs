//! The view folded from events, the plain and JSON lines, and the status table.

mod scripted_run;

use pretty_assertions::assert_eq;
use scripted_run::{failed_build, seeded, two_running, usage, Script};
use serde_json::Value;
use wizard::messages::{EventKind, QueueEvent, Variant, Verdict};
use wizard::ui::lines::{json_line, plain_line};
use wizard::ui::status::status_table;
use wizard::ui::view::{RunView, Silence};

/// The plain line for the last event of a script, with the view before that event.
fn last_plain(script: &Script) -> String {
    let (last, before) = script.events.split_last().unwrap();
    let mut view = RunView::new();
    for ev in before {
        view.apply(ev);
    }
    plain_line(last, &view).unwrap()
}

#[test]
fn responsiveness_is_measured_from_the_events() {
    let mut script = Script::new();
    script
        .run_started(1_000)
        .enqueue(1_400, "install", "Add the SDK", "small", &[])
        .enqueue(1_500, "init", "Initialise", "small", &[])
        .start(2_200, "install") // first start: 1.2 s after the run started
        .activity(4_000, "install", "Editing package.json", None)
        .complete(9_000, "install", usage(1, 1, 0), 0.0, "done", None) // first completion: 8 s; gap 5 s
        .start(9_100, "init")
        .relabel(15_000, "init", "Initialise on the client") // not a visible event
        .complete(19_100, "init", usage(1, 1, 0), 0.0, "done", None) // gap 10 s: the longest
        .finish(20_000, Verdict::Success, "All done.");
    let r = script.view().responsiveness();
    assert_eq!(r.to_first_start_ms, Some(1_200));
    assert_eq!(r.to_first_completion_ms, Some(8_000));
    assert_eq!(
        r.longest_silence,
        Some(Silence {
            from_ms: 9_100,
            to_ms: 19_100
        })
    );
}

#[test]
fn the_silence_before_the_first_task_counts() {
    let mut script = Script::new();
    script
        .run_started(0)
        .enqueue(100, "install", "Add the SDK", "small", &[])
        .start(14_000, "install")
        .complete(15_000, "install", usage(1, 1, 0), 0.0, "done", None);
    let silence = script.view().responsiveness().longest_silence.unwrap();
    assert_eq!((silence.from_ms, silence.to_ms), (0, 14_000));
}

#[test]
fn totals_count_not_needed_as_done_and_include_running_attempts() {
    let view = failed_build().view();
    let totals = view.totals();
    // install, init, capture completed + identify not needed; build failed, report blocked.
    assert_eq!((totals.done, totals.total), (4, 6));
    assert_eq!((totals.failed, totals.blocked), (1, 1));

    let running = two_running().view();
    let totals = running.totals();
    // Only the live attempts' usage so far: (800+120+2400) + (1500+300).
    assert_eq!(totals.usage.total(), 5_120);
    let share = totals.cache_hit_share().unwrap();
    assert!((share - 2_400.0 / 4_700.0).abs() < 1e-9);
}

#[test]
fn next_lists_ready_tasks_or_else_the_first_pending() {
    let view = two_running().view();
    // identify and capture wait for init, build for install+capture: nothing is ready.
    let next: Vec<&str> = view.next().iter().map(|r| r.id()).collect();
    assert_eq!(next, ["identify"]);

    let mut script = two_running();
    script.complete(3_000, "init", usage(1, 1, 0), 0.0, "done", None);
    let view = script.view();
    let next: Vec<&str> = view.next().iter().map(|r| r.id()).collect();
    assert_eq!(next, ["identify", "capture"]);
}

#[test]
fn running_shows_the_latest_activity_and_a_retry_remembers_why() {
    let view = two_running().view();
    let now: Vec<(&str, Option<&str>)> = view.running().map(|r| (r.id(), r.activity())).collect();
    assert_eq!(
        now,
        [
            ("install", Some("Editing package.json")),
            ("init", Some("Editing app/layout.tsx"))
        ]
    );

    let view = failed_build().view();
    let build = view.row("build").unwrap();
    assert_eq!(build.attempts.len(), 2);
    assert_eq!(build.attempts[0].end_ms, Some(21_000));
    assert_eq!(build.elapsed_ms(99_999), Some(33_000 - 21_010));
    assert_eq!(
        build.failure_reason(),
        Some("npm install exited with code 1: peer dependency conflict with react@19")
    );
}

#[test]
fn relabel_and_resume_update_rows() {
    let mut script = two_running();
    script.relabel(2_500, "init", "Initialise in instrumentation-client.ts");
    let mut view = script.view();
    assert_eq!(
        view.row("init").unwrap().task.label,
        "Initialise in instrumentation-client.ts"
    );
    view.apply(&QueueEvent {
        seq: 99,
        t_ms: 3_000,
        kind: EventKind::RunResumed {
            run: Script::run_info(Variant::Orchestrator),
            requeued: vec!["init".into()],
        },
    });
    assert_eq!(view.running().count(), 1);
}

#[test]
fn the_seeds_activity_is_a_plain_line_and_a_json_event_and_counts_as_a_beat() {
    let mut s = Script::new();
    s.run_started(0).seed_activity(400, "Reading package.json");
    assert_eq!(last_plain(&s), "  · planning  Reading package.json");
    let json: Value = serde_json::from_str(&json_line(s.events.last().unwrap())).unwrap();
    assert_eq!(json["event"], "seed_activity");
    assert_eq!(json["phrase"], "Reading package.json");
    let view = s.view();
    assert_eq!(view.seed_activity(), Some("Reading package.json"));
    // The seed's phrase is visible progress: the silence since launch ends at it.
    let silence = view.responsiveness().longest_silence.unwrap();
    assert_eq!(silence.ms(), 400);
}

#[test]
fn plain_lines_read_like_the_tui() {
    let mut s = seeded();
    s.start(700, "install");
    assert_eq!(
        last_plain(&s),
        "▶ install  Add the SDK to package.json (small)"
    );
    s.activity(900, "install", "Editing package.json", None);
    assert_eq!(last_plain(&s), "  · install  Editing package.json");
    s.complete(1_900, "install", Default::default(), 0.0, "done", None);
    assert_eq!(last_plain(&s), "✓ install  1.2s");

    let s = failed_build();
    assert_eq!(last_plain(&s), "⊘ report  dependency build failed");
    let failed = s
        .events
        .iter()
        .find(|e| e.kind.name() == "task_failed")
        .unwrap();
    assert_eq!(
        plain_line(failed, &s.view()).unwrap(),
        "✗ build  npm install exited with code 1: peer dependency conflict with react@19"
    );
    let requeued = s
        .events
        .iter()
        .find(|e| e.kind.name() == "task_requeued")
        .unwrap();
    assert_eq!(
        plain_line(requeued, &s.view()).unwrap(),
        "↻ build  retrying: npm install exited with code 1"
    );
}

#[test]
fn a_completed_line_has_the_same_duration_whether_or_not_the_view_saw_it_first() {
    let mut s = seeded();
    s.start(700, "install")
        .complete(1_900, "install", usage(1_000, 200, 0), 0.0042, "done", None);
    let after = s.view();
    assert_eq!(
        plain_line(s.events.last().unwrap(), &after).unwrap(),
        "✓ install  1.2s  1.2k tokens  $0.004"
    );
}

/// Every kind of event, once.
fn one_of_each() -> Vec<QueueEvent> {
    let mut s = failed_build();
    s.relabel(33_050, "report", "Write the report");
    s.finish(33_100, Verdict::Failed, "2 of 6 steps did not finish");
    let mut events = s.events.clone();
    events.push(QueueEvent {
        seq: 999,
        t_ms: 40_000,
        kind: EventKind::RunResumed {
            run: Script::run_info(Variant::Orchestrator),
            requeued: vec!["build".into()],
        },
    });
    events
}

#[test]
fn every_event_kind_is_one_parseable_json_object_with_t_ms_and_event() {
    let events = one_of_each();
    let mut names: Vec<&str> = Vec::new();
    for ev in &events {
        let line = json_line(ev);
        assert!(!line.contains('\n'), "one line: {line}");
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["t_ms"], ev.t_ms, "{line}");
        assert_eq!(value["event"], ev.kind.name(), "{line}");
        if !names.contains(&ev.kind.name()) {
            names.push(ev.kind.name());
        }
    }
    names.sort();
    assert_eq!(
        names,
        [
            "run_finished",
            "run_resumed",
            "run_started",
            "task_activity",
            "task_completed",
            "task_enqueued",
            "task_failed",
            "task_relabeled",
            "task_requeued",
            "task_skipped",
            "task_started",
        ]
    );
}

#[test]
fn json_keys_come_in_the_documented_order() {
    let events = one_of_each();
    let keys = |name: &str| -> Vec<String> {
        let ev = events.iter().find(|e| e.kind.name() == name).unwrap();
        let value: serde_json::Map<String, Value> = serde_json::from_str(&json_line(ev)).unwrap();
        value.keys().cloned().collect()
    };
    assert_eq!(
        keys("task_failed")[..12],
        [
            "t_ms", "event", "task", "type", "app", "label", "model", "status", "reason",
            "attempts", "usage", "costUsd"
        ]
    );
    assert_eq!(
        keys("task_activity"),
        ["t_ms", "event", "task", "usage", "costUsd", "phrase", "seq"]
    );
    let finished = keys("run_finished");
    assert_eq!(finished[..4], ["t_ms", "event", "usage", "costUsd"]);
    assert!(finished.contains(&"verdict".to_string()) && finished.contains(&"message".to_string()));
}

#[test]
fn json_lines_carry_reasons_and_verdicts() {
    let events = one_of_each();
    let find = |name: &str| -> Value {
        let ev = events.iter().find(|e| e.kind.name() == name).unwrap();
        serde_json::from_str(&json_line(ev)).unwrap()
    };
    let skipped = find("task_skipped");
    // identify (not needed) is the first skip, then report (blocked).
    assert_eq!(skipped["reason"], "the app has no sign-in");
    let failed = find("task_failed");
    assert_eq!(failed["attempts"], 2);
    assert_eq!(failed["status"], "failed");
    let finished = find("run_finished");
    assert_eq!(finished["verdict"], "failed");
    assert_eq!(finished["message"], "2 of 6 steps did not finish");
    assert_eq!(find("task_activity")["phrase"], "Editing package.json");
}

#[test]
fn the_status_table_lists_every_task_with_its_reason() {
    let script = failed_build();
    let table = status_table(&script.tasks());
    for task in script.tasks() {
        assert!(table.contains(&task.id), "{table}");
    }
    insta::assert_snapshot!(table);
}

/// Escape sequences in a label, an activity, a conflict and the app's path never reach
/// the terminal or the report as they are, and a newline in a conflict forges no line.
#[test]
fn escape_sequences_from_a_model_are_printed_as_text() {
    let evil_label = "Add \u{1b}[2J\u{1b}]0;pwned\u{7}the SDK";
    let evil_conflict =
        "check env\n✓ PostHog is set up: 9/9 steps.\nNext: run \u{1b}]52;c;cm0gLXJm\u{7}";
    let mut script = Script::new();
    script
        .run_started(0)
        .enqueue(100, "install", evil_label, "small", &[])
        .start(200, "install")
        .activity(300, "install", "Reading \u{1b}[31mapp/\u{9b}x.tsx", None)
        .complete(
            900,
            "install",
            usage(1, 1, 0),
            0.0,
            "done\u{1b}[1A",
            Some(evil_conflict),
        )
        .finish(1_000, Verdict::Success, "All done.");
    let mut view = RunView::new();
    let mut printed = Vec::new();
    for ev in &script.events {
        view.apply(ev);
        printed.push(plain_line(ev, &view).unwrap());
    }
    let report = wizard::report::run_report_markdown(&view);
    let outro = wizard::ui::outro::outro_text(
        view.outcome().unwrap(),
        &view,
        None,
        &wizard::ui::outro::OutroContext {
            product: "PostHog",
            user_report: None,
            install_dir: std::path::Path::new("/tmp/app\u{1b}]0;x\u{7}"),
            variant: Variant::Orchestrator,
        },
    );
    for text in printed.iter().chain([&report, &outro]) {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "a control character is printed: {text:?}"
        );
    }
    for line in &printed {
        assert!(!line.contains('\n'), "{line:?}");
    }
    assert!(printed[1].contains("\\x1b[2J"), "{}", printed[1]);
    assert!(view.rows()[0].task.label.contains("\\x1b]0;pwned\\x07"));
    // The conflict stays on its own line of the outro: nothing forged a second headline.
    assert_eq!(
        outro.lines().filter(|l| l.starts_with("✓ ")).count(),
        1,
        "{outro}"
    );
    assert_eq!(
        outro.lines().filter(|l| l.starts_with("Next:")).count(),
        1,
        "{outro}"
    );
    assert!(report.contains("\\x1b]52;c;"), "{report}");
}
