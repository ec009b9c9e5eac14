//! Apps that already have the product: a re-run on the demo's output changes
//! nothing and costs few model calls, and deliberate settings (the #1121 app:
//! `ui_host`, a custom proxy path, a guarded identify) survive a run.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wizard::messages::{QueueFile, TaskStatus};

fn wizard(args: &[&str], dir_arg: &Path, home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wizard"))
        .args(args)
        .arg(dir_arg)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("POSTHOG_PROJECT_TOKEN")
        .env_remove("WIZARD_ORCHESTRATOR")
        .output()
        .expect("wizard runs")
}

/// `wizard integrate` with the re-run cassette, offline.
fn rerun(dir: &Path, home: &Path) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_wizard"))
        .arg("integrate")
        .arg(dir)
        .args(["--provider", "replay", "--cassette", "next-app-rerun"])
        .args([
            "--replay-speed",
            "0",
            "--yes",
            "--orchestrator",
            "--skip-commands",
        ])
        .args(["--no-telemetry", "--ui", "json"])
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("POSTHOG_PROJECT_TOKEN")
        .env_remove("WIZARD_ORCHESTRATOR")
        .output()
        .expect("wizard runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The app's files outside the state folder, with their contents.
fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name() == ".posthog-wizard" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                out.insert(entry.path(), fs::read(entry.path()).unwrap());
            }
        }
    }
    out
}

/// Model calls the run's log records so far.
fn model_calls(app: &Path) -> usize {
    fs::read_to_string(app.join(".posthog-wizard/wizard.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("model call"))
        .count()
}

fn queue(app: &Path) -> QueueFile {
    serde_json::from_str(&fs::read_to_string(app.join(".posthog-wizard/queue.json")).unwrap())
        .unwrap()
}

#[test]
fn a_rerun_on_the_demos_output_changes_nothing_and_takes_a_few_calls_per_task() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    let home = tmp.path().join("home");
    let out = wizard(
        &["demo", "--speed", "0", "--ui", "json", "--dir"],
        &app,
        &home,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = model_calls(&app);
    assert!(fresh > 0, "the log records the fresh run's model calls");
    let before = files(&app);

    rerun(&app, &home);

    let calls = model_calls(&app) - fresh;
    let q = queue(&app);
    assert!(!q.tasks.is_empty());
    // "A few model calls per task" (issue 14): the seed and each check read, then report.
    // The fresh run's own count fell with issue 16's fewer turns (31 calls, now 17), so
    // a ratio to it would measure the fresh run, not the re-run.
    let tasks = q.tasks.len() + 1;
    assert!(
        calls <= 2 * tasks && calls < fresh,
        "the re-run took {calls} model calls for {tasks} agents (seed included), the fresh run {fresh}"
    );
    assert_eq!(files(&app), before, "the re-run changed a file");
    for t in &q.tasks {
        assert_eq!(t.status, TaskStatus::Completed, "{}", t.id);
        let handoff = t.handoff.as_ref().unwrap();
        assert!(
            handoff.did.starts_with("already in place:"),
            "{}: {}",
            t.id,
            handoff.did
        );
        assert!(handoff.files_touched.is_empty(), "{}", t.id);
    }
    let report = fs::read_to_string(app.join(".posthog-wizard/run-report.md")).unwrap();
    assert!(
        report.contains("- Kept (init): already in place:"),
        "{report}"
    );
    assert!(report.contains("- Added or changed: no file"), "{report}");
    assert!(
        report.contains("## PostHog found before the run"),
        "{report}"
    );
    assert!(report.contains("api_host /ingest"), "{report}");
}

#[test]
fn deliberate_settings_and_a_guarded_identify_survive_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/repos/posthog-custom");
    copy_tree(&fixture, &app);
    let before = files(&app);
    rerun(&app, &tmp.path().join("home"));
    assert_eq!(files(&app), before, "a deliberate setting was touched");
    let init = fs::read_to_string(app.join("instrumentation-client.ts")).unwrap();
    assert!(init.contains(r#"ui_host: "https://eu.posthog.com""#));
    assert!(init.contains(r#"api_host: "/relay-7f3a""#));
    let identify = fs::read_to_string(app.join("app/components/IdentifyUser.tsx")).unwrap();
    assert!(identify.contains("already identified"));
    // The report says what was found before the run.
    let report = fs::read_to_string(app.join(".posthog-wizard/run-report.md")).unwrap();
    for found in [
        "ui_host https://eu.posthog.com",
        "proxy_path /relay-7f3a",
        "identify ×1",
    ] {
        assert!(report.contains(found), "{found} missing from:\n{report}");
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}
