//! Permission asks through the real binary: the install task of a scripted run
//! asks for `npm run lint`, which its permissions do not give (Bash is
//! disallowed for it). Non-interactive runs refuse naming `--allow-command`
//! and exit 10 when the run then fails; `--allow-command` grants it in
//! advance; in a terminal the user answers "allow once" and the command runs.
//! The same for a tool install's `allowedTools` do not list (`detect_package_manager`),
//! granted in advance by `--allow-tool`.

mod pty_support;
mod runtime_support;

use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use portable_pty::CommandBuilder;
use serde_json::Value;
use wizard_fakes::{FakeAnthropic, FakeServer};

use pty_support::Pty;

use runtime_support::{
    assert_exit, caller, cassette_text, content_dir, fixture_app, run_to_end, wizard, Caller,
    Played, FIXTURE_PROJECT_TOKEN,
};

const E2E_INSTALL_FIRST_TURN: &str = "  install:
    - turn:
        - text: Reading the manifest
        - tool: Read
          input: {file_path: package.json}";

const LINT_FIRST_TURN: &str = "  install:
    - turn:
        - text: I want to run the linter before I touch the manifest
        - tool: Bash
          input: {command: npm run lint}";

/// A tool install's `allowedTools` do not list (build's do).
const DETECT_FIRST_TURN: &str = "  install:
    - turn:
        - text: I want to know which package manager the app uses
        - tool: detect_package_manager
          input: {}";

/// The e2e cassette with install asking for `npm run lint` first; install reports `status`.
fn lint_fake(status: &str) -> FakeServer {
    install_fake(LINT_FIRST_TURN, status)
}

/// The e2e cassette with install's first turn replaced by `first_turn`; install reports `status`.
fn install_fake(first_turn: &str, status: &str) -> FakeServer {
    let text = cassette_text("e2e.yaml", None);
    assert!(text.contains(E2E_INSTALL_FIRST_TURN));
    let mut text = text.replacen(E2E_INSTALL_FIRST_TURN, first_turn, 1);
    if status != "done" {
        let done =
            "            status: done\n            handoff:\n              goals: Declare the SDK";
        assert!(text.contains(done));
        text = text.replacen(
            done,
            &format!("            status: {status}\n            handoff:\n              goals: Declare the SDK"),
            1,
        );
    }
    let played = Arc::new(Played::new(&text));
    FakeAnthropic::scripted_builder(move |body| played.answer(body)).start_background()
}

/// The tool result install's Bash call got back (the text of its second request).
fn lint_result(fake: &FakeServer) -> (String, bool) {
    for r in fake.requests() {
        if !matches!(caller(&r.body), Some(Caller::Task { task_type, .. }) if task_type == "install")
        {
            continue;
        }
        for m in r.body["messages"].as_array().into_iter().flatten() {
            for block in m["content"].as_array().into_iter().flatten() {
                if block["type"] == "tool_result" {
                    let text = match &block["content"] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    return (text, block["is_error"] == true);
                }
            }
        }
    }
    panic!("install never got a tool result");
}

fn run(fake: &FakeServer, app: &Path, extra: &[&str]) -> Output {
    let content = content_dir();
    let mut command = wizard();
    command
        .arg("integrate")
        .arg(app)
        .args([
            "--orchestrator",
            "--no-telemetry",
            "--ui",
            "json",
            "--content",
        ])
        .arg(content.path())
        .args(extra)
        .env("ANTHROPIC_BASE_URL", fake.base_url())
        .env("ANTHROPIC_API_KEY", "test-key");
    run_to_end(command)
}

/// The scripted run in a terminal, shown with `ui`.
fn pty_command(
    fake: &FakeServer,
    app: &Path,
    root: &Path,
    content: &Path,
    ui: &str,
) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_wizard"));
    cmd.arg("integrate");
    cmd.arg(app);
    cmd.args([
        "--orchestrator",
        "--yes",
        "--no-telemetry",
        "--ui",
        ui,
        "--content",
    ]);
    cmd.arg(content);
    cmd.env("ANTHROPIC_BASE_URL", fake.base_url());
    cmd.env("ANTHROPIC_API_KEY", "test-key");
    cmd.env("POSTHOG_PROJECT_TOKEN", FIXTURE_PROJECT_TOKEN);
    cmd.env("XDG_CONFIG_HOME", root.join("config"));
    for var in [
        "ANTHROPIC_AUTH_TOKEN",
        "OPENAI_BASE_URL",
        "POSTHOG_PERSONAL_API_KEY",
        "POSTHOG_HOST",
        "WIZARD_ORCHESTRATOR",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn a_non_interactive_run_refuses_naming_the_flag_and_exits_10_when_blocked() {
    let fake = lint_fake("failed");
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    // --yes answers the run's questions but never grants a permission.
    let out = run(&fake, &app, &["--ci", "--yes"]);
    assert_exit(&out, 10);
    let (result, is_error) = lint_result(&fake);
    assert!(is_error, "{result}");
    assert!(
        result.contains("--allow-command \"npm run lint\""),
        "{result}"
    );
    let audit = std::fs::read_to_string(app.join(".posthog-wizard/audit.jsonl")).unwrap();
    assert!(
        audit.contains("Asked to run `npm run lint`: denied (not interactive)"),
        "the ask is in audit.jsonl"
    );
    let report = std::fs::read_to_string(app.join(".posthog-wizard/run-report.md")).unwrap();
    assert!(report.contains("## Permission asks"), "{report}");
    assert!(
        report.contains("--allow-command \"npm run lint\""),
        "{report}"
    );
}

#[test]
fn allow_command_grants_it_in_advance() {
    let fake = lint_fake("done");
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let out = run(&fake, &app, &["--ci", "--allow-command", "npm run lint"]);
    assert_exit(&out, 0);
    let (result, _) = lint_result(&fake);
    assert!(!result.contains("permission denied"), "{result}");
    // npm ran: the fixture has no lint script, and npm says so.
    assert!(result.contains("lint"), "{result}");
}

#[test]
fn in_a_terminal_allow_once_runs_the_command() {
    let fake = lint_fake("done");
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let cmd = pty_command(&fake, &app, root.path(), content.path(), "plain");
    let mut pty = Pty::spawn(cmd, 40, 160);
    let text = pty.wait_for("[o] allow once");
    assert!(text.contains("asks to run `npm run lint`"), "{text}");
    assert!(text.contains("why: I want to run the linter"), "{text}");
    assert!(text.contains("(install)"), "the task is named: {text}");
    pty.press("o\r");
    let (code, screen) = pty.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    let (result, _) = lint_result(&fake);
    assert!(
        !result.contains("permission denied"),
        "allowed once, it ran: {result}"
    );
}

#[test]
fn in_the_tui_o_on_the_ask_panel_runs_the_command() {
    let fake = lint_fake("done");
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let cmd = pty_command(&fake, &app, root.path(), content.path(), "tui");
    let mut pty = Pty::spawn(cmd, 40, 120);
    let shown = pty.wait_for("[o] allow once");
    assert!(shown.contains("Permission ask"), "{shown}");
    assert!(shown.contains("asks to run `npm run lint`"), "{shown}");
    assert!(shown.contains("why: I want to run the linter"), "{shown}");
    assert!(shown.contains("(install)"), "the task is named: {shown}");
    pty.press("o");
    let (code, screen) = pty.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    let (result, is_error) = lint_result(&fake);
    assert!(
        !result.contains("permission denied") && !result.contains("Asked to allow it"),
        "allowed once, it ran: {result}"
    );
    assert!(!is_error || result.contains("lint"), "{result}");
    let audit = std::fs::read_to_string(app.join(".posthog-wizard/audit.jsonl")).unwrap();
    assert!(
        audit.contains("Asked to run `npm run lint`: allowed once"),
        "the answer is in audit.jsonl"
    );
}

/// The e2e cassette with install asking for `npm run lint` twice, in two turns, then going on.
fn lint_twice_fake() -> FakeServer {
    let text = cassette_text("e2e.yaml", None);
    assert!(text.contains(E2E_INSTALL_FIRST_TURN));
    let twice = format!(
        "{LINT_FIRST_TURN}\n    - turn:\n        - text: Once more, to be sure\n        - tool: Bash\n          input: {{command: npm run lint}}"
    );
    let played = Arc::new(Played::new(&text.replacen(
        E2E_INSTALL_FIRST_TURN,
        &twice,
        1,
    )));
    FakeAnthropic::scripted_builder(move |body| played.answer(body)).start_background()
}

/// Every tool result install got back, in order (from its longest conversation).
fn install_results(fake: &FakeServer) -> Vec<(String, bool)> {
    let last = fake
        .requests()
        .into_iter()
        .filter(|r| {
            matches!(caller(&r.body), Some(Caller::Task { task_type, .. }) if task_type == "install")
        })
        .max_by_key(|r| r.body["messages"].as_array().map_or(0, Vec::len))
        .expect("install sent a request");
    let mut out = Vec::new();
    for m in last.body["messages"].as_array().into_iter().flatten() {
        for block in m["content"].as_array().into_iter().flatten() {
            if block["type"] == "tool_result" {
                let text = match &block["content"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.push((text, block["is_error"] == true));
            }
        }
    }
    out
}

/// The scripted run on a pty under the TUI, with `env` set too.
fn tui_run(
    fake: &FakeServer,
    app: &Path,
    root: &Path,
    content: &Path,
    env: &[(&str, &str)],
) -> Pty {
    let mut cmd = pty_command(fake, app, root, content, "tui");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Pty::spawn(cmd, 40, 120)
}

fn audit(app: &Path) -> String {
    std::fs::read_to_string(app.join(".posthog-wizard/audit.jsonl")).unwrap()
}

#[test]
fn in_the_tui_r_allows_the_command_for_the_rest_of_the_run() {
    let fake = lint_twice_fake();
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let mut pty = tui_run(&fake, &app, root.path(), content.path(), &[]);
    let screen = pty.wait_for("[r] allow for this run");
    assert!(screen.contains("asks to run `npm run lint`"), "{screen}");
    pty.press("r");
    let (code, screen) = pty.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    let results = install_results(&fake);
    let lint: Vec<&(String, bool)> = results.iter().take(2).collect();
    assert_eq!(lint.len(), 2, "{results:?}");
    for (text, _) in &lint {
        assert!(
            !text.contains("permission denied") && !text.contains("Asked to allow it"),
            "both runs of the command ran: {text}"
        );
    }
    let audit = audit(&app);
    assert_eq!(
        audit
            .matches("Asked to run `npm run lint`: allowed for this run")
            .count(),
        1,
        "asked once: {audit}"
    );
    assert!(
        audit.contains("Asked to run `npm run lint`: allowed by a grant"),
        "the second call was not asked again: {audit}"
    );
}

#[test]
fn in_the_tui_d_refuses_and_the_agent_reads_why() {
    let fake = lint_fake("done");
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let mut pty = tui_run(&fake, &app, root.path(), content.path(), &[]);
    pty.wait_for("[d] deny");
    pty.press("d");
    let (code, screen) = pty.wait_for_exit();
    // The agent read the refusal and went on without the linter.
    assert_eq!(code, 0, "{screen}");
    let (result, is_error) = lint_result(&fake);
    assert!(is_error, "{result}");
    assert!(result.contains("the user denied it"), "{result}");
    assert!(
        audit(&app).contains("Asked to run `npm run lint`: denied\""),
        "the answer is in audit.jsonl"
    );
}

#[test]
fn in_the_tui_an_unanswered_ask_times_out_as_a_refusal_with_its_reason() {
    let fake = lint_fake("failed");
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let mut pty = tui_run(
        &fake,
        &app,
        root.path(),
        content.path(),
        &[("WIZARD_ASK_TIMEOUT_MS", "1500")],
    );
    pty.wait_for("Permission ask");
    // Nobody presses a key.
    let (code, screen) = pty.wait_for_exit();
    assert_eq!(
        code, 10,
        "blocked by a permission no one answered: {screen}"
    );
    let (result, is_error) = lint_result(&fake);
    assert!(is_error, "{result}");
    assert!(
        result.contains("Asked to allow it: no one answered within 1500ms"),
        "{result}"
    );
    assert!(audit(&app).contains("Asked to run `npm run lint`: no answer (denied)"));
    let report = std::fs::read_to_string(app.join(".posthog-wizard/run-report.md")).unwrap();
    assert!(
        report.contains("--allow-command \"npm run lint\""),
        "{report}"
    );
}

#[test]
fn in_the_tui_env_files_are_refused_without_an_ask() {
    // Install tries to write .env.local and to read it with a command: hard refusals, never asks.
    let text = cassette_text("e2e.yaml", None);
    let env_turn = "  install:
    - turn:
        - text: I want the token in the env file
        - tool: Write
          input: {file_path: .env.local, content: \"X=1\\n\"}
        - tool: Bash
          input: {command: cat .env.local}";
    let played = Arc::new(Played::new(&text.replacen(
        E2E_INSTALL_FIRST_TURN,
        env_turn,
        1,
    )));
    let fake = FakeAnthropic::scripted_builder(move |body| played.answer(body)).start_background();
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    // Were either asked, the panel would wait for a key: a minute's timeout makes that a hang.
    let mut pty = tui_run(
        &fake,
        &app,
        root.path(),
        content.path(),
        &[("WIZARD_ASK_TIMEOUT_MS", "60000")],
    );
    let (code, screen) = pty.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    let results = install_results(&fake);
    assert!(results.len() >= 2, "{results:?}");
    for (text, is_error) in results.iter().take(2) {
        assert!(*is_error, "refused: {text}");
        assert!(text.contains("permission denied"), "{text}");
        assert!(!text.contains("Asked to allow it"), "not asked: {text}");
        assert!(!text.contains("--allow-"), "no flag can grant it: {text}");
    }
    assert!(!audit(&app).contains("Asked to"), "no ask in audit.jsonl");
}

#[test]
fn while_a_task_waits_on_an_ask_the_other_tasks_keep_running() {
    let fake = lint_fake("done");
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let mut cmd = pty_command(&fake, &app, root.path(), content.path(), "tui");
    cmd.args(["--concurrency", "2"]);
    let mut pty = Pty::spawn(cmd, 40, 120);
    pty.wait_for("Permission ask");
    // Init does not depend on install: it finishes while install's ask is on screen.
    let screen = pty.wait_for("✓ Initialise the SDK");
    assert!(screen.contains("Permission ask"), "still asking: {screen}");
    pty.press("o");
    let (code, screen) = pty.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
}

#[test]
fn a_tool_the_task_may_not_use_is_refused_naming_allow_tool_when_not_interactive() {
    let fake = install_fake(DETECT_FIRST_TURN, "failed");
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    // --yes answers the run's questions but never grants a tool.
    let out = run(&fake, &app, &["--ci", "--yes"]);
    assert_exit(&out, 10);
    let (result, is_error) = lint_result(&fake);
    assert!(is_error, "{result}");
    assert!(
        result.contains("tool rule: detect_package_manager is not in this task's allowedTools"),
        "{result}"
    );
    assert!(
        result.contains("re-run with --allow-tool detect_package_manager"),
        "{result}"
    );
    assert!(
        audit(&app)
            .contains("Asked to use the tool detect_package_manager: denied (not interactive)"),
        "the ask is in audit.jsonl"
    );
    let report = std::fs::read_to_string(app.join(".posthog-wizard/run-report.md")).unwrap();
    assert!(
        report.contains("| use the tool detect_package_manager | I want to know which package manager the app uses |"),
        "{report}"
    );
    assert!(
        report.contains("`--allow-tool detect_package_manager`"),
        "{report}"
    );
}

#[test]
fn allow_tool_grants_a_tool_in_advance() {
    let fake = install_fake(DETECT_FIRST_TURN, "done");
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let out = run(
        &fake,
        &app,
        &["--ci", "--allow-tool", "detect_package_manager"],
    );
    assert_exit(&out, 0);
    let (result, is_error) = lint_result(&fake);
    assert!(!is_error, "the tool ran: {result}");
    // The tool's own answer: the fixture is an npm app.
    assert!(result.contains("npm"), "{result}");
    assert!(
        audit(&app).contains("Asked to use the tool detect_package_manager: allowed by a grant"),
        "the grant is in audit.jsonl"
    );
}

#[test]
fn in_a_terminal_allow_once_runs_a_tool_the_task_may_not_use() {
    let fake = install_fake(DETECT_FIRST_TURN, "done");
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let cmd = pty_command(&fake, &app, root.path(), content.path(), "plain");
    let mut pty = Pty::spawn(cmd, 40, 160);
    let screen = pty.wait_for("[o] allow once");
    assert!(
        screen.contains("(install) asks to use the tool detect_package_manager"),
        "{screen}"
    );
    assert!(
        screen.contains("why: I want to know which package manager"),
        "{screen}"
    );
    pty.press("o\r");
    let (code, screen) = pty.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    let (result, is_error) = lint_result(&fake);
    assert!(!is_error, "allowed once, it ran: {result}");
    assert!(result.contains("npm"), "{result}");
    assert!(audit(&app).contains("Asked to use the tool detect_package_manager: allowed once"));
}

#[test]
fn in_the_tui_the_ask_panel_names_the_tool_and_its_arguments_and_d_refuses_it() {
    // check_env_keys names an env file: that is its job, so it is asked about, not refused.
    let keys_turn = "  install:
    - turn:
        - text: I want to see whether the key is already set
        - tool: check_env_keys
          input: {file_path: .env.local, keys: [POSTHOG_KEY]}";
    let fake = install_fake(keys_turn, "done");
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let mut pty = tui_run(&fake, &app, root.path(), content.path(), &[]);
    let screen = pty.wait_for("[d] deny");
    assert!(screen.contains("Permission ask"), "{screen}");
    assert!(
        screen.contains("asks to use the tool check_env_keys"),
        "{screen}"
    );
    assert!(
        screen.contains(r#"with: {"file_path":".env.local","keys":["POSTHOG_KEY"]}"#),
        "{screen}"
    );
    assert!(
        screen.contains("why: I want to see whether the key is already set"),
        "{screen}"
    );
    pty.press("d");
    let (code, screen) = pty.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    let (result, is_error) = lint_result(&fake);
    assert!(is_error, "{result}");
    assert!(result.contains("the user denied it"), "{result}");
    assert!(audit(&app).contains("Asked to use the tool check_env_keys: denied\""));
}
