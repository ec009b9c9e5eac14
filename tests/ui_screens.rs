//! One snapshot per screen state that matters: seeding, tasks running, a
//! failure with its dependents skipped, a tiny terminal, and the outros.

mod scripted_run;

use std::path::{Path, PathBuf};

use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;
use scripted_run::{failed_build, two_running, Script, INSTALL_DIR};
use wizard::messages::{Variant, Verdict};
use wizard::report::ReportPaths;
use wizard::tools::asks::{Ask, Request};
use wizard::ui::outro::{outro_text, OutroContext};
use wizard::ui::review_screen::{self, ReviewFile, ReviewKey, ReviewScreen};
use wizard::ui::tui::render;
use wizard::ui::view::{Phase, RunView};

fn draw(view: &RunView, width: u16, height: u16, now_ms: u64) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| render(frame, view, now_ms, 3))
        .unwrap();
    terminal
}

fn running_view() -> RunView {
    let mut view = two_running().view();
    view.set_framework(Some("Next.js".into()));
    view.set_phase(Phase::Running);
    view
}

fn failed_view() -> RunView {
    let mut script = failed_build();
    script.finish(33_100, Verdict::Failed, "2 of 6 steps did not finish");
    let mut view = script.view();
    view.set_framework(Some("Next.js".into()));
    view
}

#[test]
fn seeding_before_any_task_shows_the_planning_state() {
    let mut script = Script::new();
    script.run_started(0);
    let mut view = script.view();
    view.set_framework(Some("Next.js".into()));
    insta::assert_snapshot!(draw(&view, 80, 12, 1_500).backend());
}

#[test]
fn the_seed_is_a_row_with_its_activity_from_launch_and_leaves_when_planned() {
    let mut script = Script::new();
    script
        .run_started(0)
        .seed_activity(300, "Reading package.json");
    let mut view = script.view();
    view.set_framework(Some("Next.js".into()));
    let screen = draw(&view, 80, 12, 500);
    insta::assert_snapshot!(screen.backend());

    // Planning beside running tasks: the seed's row comes first under Now.
    let mut script = two_running();
    script.seed_activity(2_400, "planning 9 steps");
    let screen = draw(&script.view(), 90, 16, 3_000);
    let text = format!("{}", screen.backend());
    assert!(text.contains("Planning  planning 9 steps"), "{text}");
    assert!(text.contains("Editing package.json"), "{text}");

    // Seeding finished: the row is gone and its phrase with it.
    script.seeding_finished(2_500);
    let text = format!("{}", draw(&script.view(), 90, 16, 3_000).backend());
    assert!(!text.contains("Planning"), "{text}");
}

#[test]
fn two_running_tasks_show_their_activity_under_now() {
    insta::assert_snapshot!(draw(&running_view(), 90, 16, 3_000).backend());
}

#[test]
fn a_permission_ask_opens_a_panel_naming_the_task_the_command_and_the_keys() {
    let mut view = running_view();
    view.set_ask(Some(Ask {
        task_id: "install-1".into(),
        task_type: "install".into(),
        request: Request::Command("npm run lint".into()),
        reason: Some("I want to run the linter before I touch the manifest".into()),
        detail: None,
        refusal: "command rule: npm run lint matches no allowed prefix".into(),
    }));
    insta::assert_snapshot!(draw(&view, 90, 16, 3_000).backend());
}

#[test]
fn a_failure_shows_red_and_its_dependents_skipped() {
    insta::assert_snapshot!(draw(&failed_view(), 100, 16, 40_000).backend());
}

#[test]
fn the_failed_glyph_is_red() {
    let terminal = draw(&failed_view(), 100, 16, 40_000);
    let buffer = terminal.backend().buffer();
    let cell = buffer
        .content()
        .iter()
        .find(|c| c.symbol() == "✗")
        .expect("a ✗ on screen");
    assert_eq!(cell.fg, Color::Red);
}

#[test]
fn a_20_by_5_terminal_keeps_the_header_a_row_and_the_totals() {
    insta::assert_snapshot!(draw(&running_view(), 20, 5, 3_000).backend());
}

#[test]
fn a_long_queue_scrolls_to_keep_unfinished_work_in_sight() {
    let mut script = two_running();
    script
        .seeding_finished(3_100)
        .complete(
            3_200,
            "install",
            Default::default(),
            0.0,
            "Added the SDK",
            None,
        )
        .complete(5_000, "init", Default::default(), 0.0, "Initialised", None)
        .start(5_010, "identify")
        .not_needed(6_500, "identify", "the app has no sign-in")
        .start(6_600, "capture")
        .complete(9_000, "capture", Default::default(), 0.0, "Captured", None)
        .start(9_100, "build");
    // Four of six rows fit: two finished rows scroll away, the running build stays.
    let text = draw(&script.view(), 100, 10, 12_000).backend().to_string();
    assert!(text.contains("2 above · 0 below"), "{text}");
    assert!(text.contains("Install and build"), "{text}");
    assert!(!text.contains("Add the SDK to package.json"), "{text}");
}

#[test]
fn rendering_at_tiny_and_odd_sizes_never_panics() {
    let views = [Script::new().view(), running_view(), failed_view()];
    let sizes = (0..=24u16)
        .flat_map(|w| (0..=9u16).map(move |h| (w, h)))
        .chain([(1, 1), (2, 40), (300, 2), (20, 5), (7, 3), (500, 120)]);
    for (w, h) in sizes {
        for view in &views {
            let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
            terminal
                .draw(|frame| render(frame, view, 10_000, 7))
                .unwrap();
        }
    }
}

fn reports() -> ReportPaths {
    ReportPaths {
        markdown: PathBuf::from(INSTALL_DIR).join(".posthog-wizard/run-report.md"),
        timeline: PathBuf::from(INSTALL_DIR).join(".posthog-wizard/timeline.svg"),
    }
}

fn context() -> OutroContext<'static> {
    OutroContext {
        product: "PostHog",
        user_report: Some("posthog-setup-report.md"),
        install_dir: Path::new(INSTALL_DIR),
        variant: Variant::Orchestrator,
    }
}

#[test]
fn outro_after_success_counts_steps_and_surfaces_the_build_conflict() {
    let mut script = two_running();
    script
        .complete(
            3_000,
            "install",
            Default::default(),
            0.0,
            "Added the SDK",
            None,
        )
        .complete(4_000, "init", Default::default(), 0.0, "Initialised", None)
        .start(4_100, "identify")
        .not_needed(4_500, "identify", "the app has no sign-in")
        .start(4_600, "capture")
        .complete(
            6_000,
            "capture",
            Default::default(),
            0.0,
            "Captured 3 events",
            None,
        )
        .start(6_100, "build")
        .complete(
            9_000,
            "build",
            Default::default(),
            0.0,
            "Installed and built",
            Some("react@19 peer warning from the SDK; the build passes"),
        )
        .start(9_100, "report")
        .complete(
            9_900,
            "report",
            Default::default(),
            0.0,
            "Wrote the report",
            None,
        );
    let outcome = script.outcome(Verdict::Success, "All 6/6 steps done.");
    let view = script.view();
    insta::assert_snapshot!(outro_text(&outcome, &view, Some(&reports()), &context()));
}

#[test]
fn outro_after_failure_lists_every_problem_and_how_to_resume() {
    let script = failed_build();
    let outcome = script.outcome(Verdict::Failed, "2 of 6 steps did not finish");
    let view = script.view();
    let text = outro_text(&outcome, &view, Some(&reports()), &context());
    assert!(text.contains("⊘ report — dependency build failed"));
    insta::assert_snapshot!(text);
}

#[test]
fn outro_after_an_interrupt_says_how_to_continue() {
    let script = two_running();
    let outcome = script.outcome(
        Verdict::Interrupted,
        "Interrupted after 0/6 steps; run `wizard resume` to continue.",
    );
    let view = script.view();
    let text = outro_text(&outcome, &view, Some(&reports()), &context());
    assert!(text.contains("wizard resume /home/dev/shop-app"));
    insta::assert_snapshot!(text);
}

#[test]
fn outro_without_reports_says_so_instead_of_pointing_nowhere() {
    let script = two_running();
    let outcome = script.outcome(Verdict::Interrupted, "Interrupted");
    let text = outro_text(&outcome, &script.view(), None, &context());
    assert!(text.contains("could not be written"));
    assert!(!text.contains("run-report.md"));
}

fn review_files() -> Vec<ReviewFile> {
    let long: String = (1..=40)
        .map(|i| format!("+export const line{i} = {i};\n"))
        .collect();
    vec![
        ReviewFile {
            path: "lib/analytics.ts".into(),
            what: "added",
            diff: format!(
                "diff --wizard a/lib/analytics.ts b/lib/analytics.ts\n--- /dev/null\n+++ b/lib/analytics.ts\n@@ -0,0 +1,40 @@\n{long}"
            ),
        },
        ReviewFile {
            path: "package.json".into(),
            what: "changed",
            diff: "diff --wizard a/package.json b/package.json\n--- a/package.json\n+++ b/package.json\n@@ -2,4 +2,5 @@\n   \"dependencies\": {\n-    \"next\": \"15.0.0\"\n+    \"next\": \"15.0.0\",\n+    \"posthog-js\": \"^1.200.0\"\n   }\n".into(),
        },
    ]
}

fn draw_review(screen: &ReviewScreen, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| review_screen::render(frame, screen))
        .unwrap();
    terminal
}

#[test]
fn the_review_screen_lists_the_files_and_shows_the_first_diff() {
    let screen = ReviewScreen::new("/home/me/app", review_files());
    insta::assert_snapshot!(draw_review(&screen, 90, 14).backend());
}

#[test]
fn the_review_screen_moves_to_the_next_file_and_scrolls_its_diff() {
    let mut screen = ReviewScreen::new("/home/me/app", review_files());
    let page = review_screen::diff_height(14);
    assert_eq!(screen.press(ReviewKey::PageDown, page), None);
    let text = draw_review(&screen, 90, 14).backend().to_string();
    assert!(text.contains("line10 = 10"), "scrolled a page: {text}");
    assert!(
        !text.contains("@@ -0,0"),
        "the top is scrolled away: {text}"
    );
    screen.press(ReviewKey::NextFile, page);
    let text = draw_review(&screen, 90, 14).backend().to_string();
    assert!(
        text.contains("posthog-js"),
        "the second file's diff: {text}"
    );
    assert!(text.contains("package.json · 1/9"), "from its top: {text}");
}

#[test]
fn the_review_screen_colors_added_lines_green_and_removed_lines_red() {
    let mut screen = ReviewScreen::new("/home/me/app", review_files());
    screen.press(ReviewKey::NextFile, 10);
    let terminal = draw_review(&screen, 90, 14);
    let buffer = terminal.backend().buffer();
    let row_of = |needle: &str| {
        (0..buffer.area.height)
            .find(|&y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
                    .contains(needle)
            })
            .unwrap_or_else(|| panic!("{needle} on screen"))
    };
    let first_colored = |y: u16, ch: &str| {
        (0..buffer.area.width)
            .map(|x| &buffer[(x, y)])
            .filter(|c| c.symbol() == ch)
            .map(|c| c.fg)
            .find(|fg| *fg != Color::Reset)
    };
    assert_eq!(
        first_colored(row_of("\"posthog-js\""), "+"),
        Some(Color::Green)
    );
    assert_eq!(
        first_colored(row_of("-    \"next\""), "-"),
        Some(Color::Red)
    );
}

#[test]
fn the_review_screen_at_tiny_sizes_never_panics() {
    let screen = ReviewScreen::new("/home/me/app", review_files());
    for (w, h) in (0..=24u16).flat_map(|w| (0..=6u16).map(move |h| (w, h))) {
        draw_review(&screen, w, h);
    }
    draw_review(&ReviewScreen::new("/app", Vec::new()), 40, 10);
}
