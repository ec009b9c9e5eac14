//! `run-report.md` and `timeline.svg` as written to a run's state dir.

mod scripted_run;

use quick_xml::events::Event;
use quick_xml::Reader;
use scripted_run::{failed_build, usage, Script};
use wizard::messages::Verdict;
use wizard::report::{run_report_markdown, timeline_svg, write_reports};

/// Parses the whole document, returning the `class` of every `rect`.
fn rect_classes(svg: &str) -> Vec<String> {
    let mut reader = Reader::from_str(svg);
    let mut classes = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if e.name().as_ref() == b"rect" => {
                let class = e
                    .try_get_attribute("class")
                    .unwrap()
                    .map(|a| String::from_utf8(a.value.to_vec()).unwrap())
                    .unwrap_or_default();
                classes.push(class);
            }
            Ok(_) => {}
            Err(e) => panic!(
                "timeline.svg is not XML at {}: {e}\n{svg}",
                reader.buffer_position()
            ),
        }
    }
    classes
}

fn bars(svg: &str) -> usize {
    rect_classes(svg)
        .iter()
        .filter(|c| c.split(' ').next() == Some("bar"))
        .count()
}

fn finished_failed_run() -> Script {
    let mut script = failed_build();
    script.finish(33_100, Verdict::Failed, "2 of 6 steps did not finish");
    script
}

#[test]
fn both_reports_are_written_into_the_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".posthog-wizard");
    let paths = write_reports(&state, &finished_failed_run().view()).unwrap();
    assert_eq!(paths.markdown, state.join("run-report.md"));
    assert_eq!(paths.timeline, state.join("timeline.svg"));
    let md = std::fs::read_to_string(&paths.markdown).unwrap();
    let svg = std::fs::read_to_string(&paths.timeline).unwrap();
    assert!(md.starts_with("# Run report"));
    assert_eq!(bars(&svg), 5);
    // Nothing but the two reports is left behind (no temp files).
    assert_eq!(std::fs::read_dir(&state).unwrap().count(), 2);
}

#[test]
fn the_markdown_report_lists_every_task_and_the_responsiveness_figures() {
    let script = finished_failed_run();
    let md = run_report_markdown(&script.view());
    for task in script.tasks() {
        assert!(
            md.contains(&format!("| {} | {} |", task.id, task.task_type)),
            "{} missing:\n{md}",
            task.id
        );
    }
    assert!(md.contains("- Time to first task start: 700ms"), "{md}");
    assert!(md.contains("- Time to first completion: 3.2s"), "{md}");
    // The longest gap is build's second attempt with no activity: 21.01 s → 33.0 s.
    assert!(
        md.contains("- Longest silence: 11.9s (from 21.0s to 33.0s after the start)"),
        "{md}"
    );
    assert!(
        md.contains("Created instrumentation-client.ts"),
        "handoff summaries are in:\n{md}"
    );
    insta::assert_snapshot!(md);
}

#[test]
fn the_timeline_has_one_bar_per_task_that_ran_and_marks_failures_and_skips() {
    let svg = timeline_svg(&finished_failed_run().view());
    let classes = rect_classes(&svg);
    // install, init, identify (ran, then not needed), capture, build; report never ran.
    assert_eq!(bars(&svg), 5);
    assert_eq!(classes.iter().filter(|c| *c == "bar failed").count(), 1);
    // build's first attempt is drawn as an earlier attempt, not a second bar.
    assert_eq!(classes.iter().filter(|c| *c == "retry").count(), 1);
    // report was blocked without running: a thin grey marker.
    assert_eq!(classes.iter().filter(|c| *c == "skip").count(), 1);
    assert!(svg.contains(">✗</text>"));
}

#[test]
fn labels_with_markup_are_escaped() {
    let mut script = Script::new();
    script
        .run_started(0)
        .enqueue(
            100,
            "capture",
            "Track <Checkout> & \"orders\"",
            "large",
            &[],
        )
        .start(200, "capture")
        .complete(2_000, "capture", usage(10, 10, 0), 0.0, "done <ok>", None)
        .finish(2_100, Verdict::Success, "All 1/1 steps done.");
    let svg = timeline_svg(&script.view());
    assert_eq!(bars(&svg), 1);
    assert!(svg.contains("Track &lt;Checkout&gt; &amp; &quot;orders&quot;"));
    assert!(!svg.contains("<Checkout>"));
}

#[test]
fn a_run_still_going_draws_open_bars_to_the_latest_event() {
    let mut script = Script::new();
    script
        .run_started(0)
        .enqueue(100, "install", "Add the SDK", "small", &[])
        .start(200, "install")
        .activity(5_000, "install", "Editing package.json", None);
    let svg = timeline_svg(&script.view());
    let classes = rect_classes(&svg);
    assert_eq!(classes.iter().filter(|c| *c == "bar open").count(), 1);
    let md = run_report_markdown(&script.view());
    assert!(md.contains("had not finished"));
}
