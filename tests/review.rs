//! `--review`: the run works in a scratch copy; the app changes only on confirmation.

mod pty_support;
mod runtime_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use portable_pty::CommandBuilder;
use wizard_fakes::{FakeAnthropic, FakeServer};

use pty_support::Pty;

use runtime_support::{
    assert_exit, cassette_text, changed, content_dir, fingerprint, fixture_app, run_to_end, wizard,
    Played, FIXTURE_PROJECT_TOKEN,
};

fn e2e_fake() -> FakeServer {
    let played = std::sync::Arc::new(Played::new(&cassette_text("e2e.yaml", None)));
    FakeAnthropic::scripted_builder(move |body| played.answer(body)).start_background()
}

fn run(app: &Path, extra: &[&str]) -> Output {
    let fake = e2e_fake();
    let content = content_dir();
    let mut command = wizard();
    command
        .arg("integrate")
        .arg(app)
        .args([
            "--orchestrator",
            "--review",
            "--no-telemetry",
            "--ui",
            "json",
            "--content",
        ])
        .arg(content.path())
        .args(extra)
        .env("ANTHROPIC_BASE_URL", fake.base_url())
        .env("ANTHROPIC_API_KEY", "test-key")
        // A host that answers, so the health check has no warning to ask about.
        .env("POSTHOG_HOST", fake.base_url());
    run_to_end(command)
}

/// The app's own files (the run state aside).
fn app_files(app: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    fingerprint(app)
        .into_iter()
        .filter(|(p, _)| !p.starts_with(".posthog-wizard") && !p.starts_with(".git"))
        .collect()
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ci_review_writes_only_the_patch() {
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let before = app_files(&app);
    let out = run(&app, &["--ci"]);
    assert_exit(&out, 0);
    assert!(
        changed(&before, &app_files(&app)).is_empty(),
        "the app is unchanged"
    );
    let patch = std::fs::read_to_string(app.join(".posthog-wizard/changes.patch")).unwrap();
    assert!(
        patch.contains("+    \"sdk-fixture\": \"^1.0.0\","),
        "{patch}"
    );
    assert!(patch.contains("b/lib/analytics.ts"), "{patch}");
    assert!(
        patch.contains(".env.local: env file changed (values not shown)"),
        "{patch}"
    );
    assert!(
        !patch.contains(FIXTURE_PROJECT_TOKEN),
        "no secret in the patch"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("package.json (changed)"), "{stderr}");
}

#[test]
fn without_a_confirmation_nothing_is_applied() {
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let before = app_files(&app);
    // No --yes, and stdin is not a terminal: the question cannot be answered, so no.
    let out = run(&app, &[]);
    assert_exit(&out, 0);
    assert!(changed(&before, &app_files(&app)).is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was applied"));
}

#[test]
fn yes_applies_the_scratch_worktree_of_a_clean_repo() {
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    git(&app, &["init", "-q"]);
    git(
        &app,
        &["-c", "user.email=t@t", "-c", "user.name=t", "add", "."],
    );
    git(
        &app,
        &[
            "-c",
            "user.email=t@t",
            "-c",
            "user.name=t",
            "commit",
            "-qm",
            "app",
        ],
    );
    let out = run(&app, &["--yes"]);
    assert_exit(&out, 0);
    let manifest = std::fs::read_to_string(app.join("package.json")).unwrap();
    assert!(manifest.contains("sdk-fixture"), "{manifest}");
    assert!(app.join("lib/analytics.ts").exists());
    let env = std::fs::read_to_string(app.join(".env.local")).unwrap();
    assert!(env.contains(FIXTURE_PROJECT_TOKEN));
    // The scratch worktree is gone again.
    let list = Command::new("git")
        .arg("-C")
        .arg(&app)
        .args(["worktree", "list"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&list.stdout).lines().count(), 1);
}

#[test]
fn in_the_tui_the_review_screen_shows_the_diff_and_a_applies_it() {
    let fake = e2e_fake();
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let before = app_files(&app);
    let mut pty = Pty::spawn(
        tui_review(&fake, &app, root.path(), content.path()),
        30,
        110,
    );
    let screen = pty.wait_for("nothing is applied yet");
    assert!(screen.contains("Files"), "{screen}");
    assert!(screen.contains("A lib/analytics.ts"), "{screen}");
    assert!(screen.contains("M package.json"), "{screen}");
    assert!(screen.contains("[a] apply"), "{screen}");
    // Files are listed by path: the env file first, its values never shown.
    assert!(screen.contains("values not shown"), "{screen}");
    assert!(!screen.contains(FIXTURE_PROJECT_TOKEN), "{screen}");
    assert!(
        changed(&before, &app_files(&app)).is_empty(),
        "the app is unchanged while the review is on screen"
    );
    // .env.local, .gitignore, lib/analytics.ts, package.json, setup-report.md.
    pty.press("jj");
    pty.wait_for("+export const token");
    pty.press("j");
    let screen = pty.wait_for("\"sdk-fixture\"");
    assert!(
        screen.contains("+    \"sdk-fixture\": \"^1.0.0\","),
        "{screen}"
    );
    assert!(changed(&before, &app_files(&app)).is_empty());
    pty.press("a");
    let (code, screen) = pty.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("applied 5 files"), "{screen}");
    let manifest = std::fs::read_to_string(app.join("package.json")).unwrap();
    assert!(manifest.contains("sdk-fixture"), "{manifest}");
    assert!(app.join("lib/analytics.ts").exists());
}

/// `integrate --review --ui tui` of the scripted run, for a pty.
fn tui_review(fake: &FakeServer, app: &Path, root: &Path, content: &Path) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_wizard"));
    cmd.arg("integrate");
    cmd.arg(app);
    cmd.args([
        "--orchestrator",
        "--review",
        "--no-telemetry",
        "--ui",
        "tui",
        "--content",
    ]);
    cmd.arg(content);
    cmd.env("ANTHROPIC_BASE_URL", fake.base_url());
    cmd.env("ANTHROPIC_API_KEY", "test-key");
    cmd.env("POSTHOG_HOST", fake.base_url());
    cmd.env("POSTHOG_PROJECT_TOKEN", FIXTURE_PROJECT_TOKEN);
    cmd.env("XDG_CONFIG_HOME", root.join("config"));
    for var in [
        "ANTHROPIC_AUTH_TOKEN",
        "OPENAI_BASE_URL",
        "POSTHOG_PERSONAL_API_KEY",
        "WIZARD_ORCHESTRATOR",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn in_the_tui_q_on_the_review_screen_applies_nothing() {
    let fake = e2e_fake();
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let before = app_files(&app);
    let mut pty = Pty::spawn(
        tui_review(&fake, &app, root.path(), content.path()),
        30,
        110,
    );
    pty.wait_for("[q] cancel");
    pty.press("q");
    let (code, screen) = pty.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("nothing was applied"), "{screen}");
    assert!(changed(&before, &app_files(&app)).is_empty());
    assert!(
        app.join(".posthog-wizard/changes.patch").exists(),
        "the patch stays"
    );
}
