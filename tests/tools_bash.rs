//! `Bash` against real processes: allow-listed commands, exit statuses, timeouts,
//! output caps and the head/tail filters.

#![cfg(unix)]

use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use wizard::tools::bash::RunCommand;
use wizard::tools::{BashLimits, Permissions, Secrets, Tool, ToolContext, ToolError};

fn ctx(dir: &Path, bash: &[&str]) -> ToolContext {
    ToolContext {
        install_dir: dir.canonicalize().unwrap(),
        permissions: Permissions {
            allowed_tools: vec!["Bash".into()],
            bash: bash.iter().map(|s| s.to_string()).collect(),
            ..Permissions::default()
        },
        secrets: Secrets::default(),
        bash: BashLimits::default(),
        package_managers: Vec::new(),
        fences: Default::default(),
    }
}

async fn run(ctx: &ToolContext, input: serde_json::Value) -> Result<String, ToolError> {
    RunCommand.call(ctx, input).await.map(|o| o.content)
}

#[tokio::test]
async fn an_allowed_command_runs_in_the_install_dir() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("marker.txt"), "").unwrap();
    let c = ctx(dir.path(), &["echo", "ls"]);
    let out = run(&c, json!({"command": "echo 'hello  world'"}))
        .await
        .unwrap();
    assert_eq!(out, "$ echo 'hello  world'\nhello  world\n[exit status 0]");
    let out = run(&c, json!({"command": "ls"})).await.unwrap();
    assert_eq!(out, "$ ls\nmarker.txt\n[exit status 0]");
}

#[tokio::test]
async fn a_non_zero_exit_is_a_result_showing_the_status_and_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path(), &["ls", "false"]);
    let out = run(&c, json!({"command": "false"})).await.unwrap();
    assert_eq!(out, "$ false\n(no output)\n[exit status 1]");
    let out = run(&c, json!({"command": "ls no-such-file"}))
        .await
        .unwrap();
    assert!(out.contains("no-such-file"), "stderr is captured: {out}");
    assert!(!out.ends_with("[exit status 0]"), "{out}");
}

#[tokio::test]
async fn a_command_past_its_timeout_is_killed_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path(), &["sleep"]);
    let out = run(&c, json!({"command": "sleep 5", "timeout_ms": 300}))
        .await
        .unwrap();
    assert_eq!(
        out,
        "$ sleep 5\n(no output)\n[timed out after 0.3s; the command and its children were killed]"
    );
}

#[tokio::test]
async fn a_timed_out_command_still_returns_what_it_printed() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("build.log"),
        "compiling…\nstill compiling\n",
    )
    .unwrap();
    let mut c = ctx(dir.path(), &["tail -f"]);
    // The call asks for a minute; the run's maximum wins.
    c.bash.max_timeout = Duration::from_millis(400);
    let out = run(
        &c,
        json!({"command": "tail -f build.log", "timeout_ms": 60_000}),
    )
    .await
    .unwrap();
    assert!(out.contains("compiling…\nstill compiling\n"), "{out}");
    assert!(out.ends_with("[timed out after 0.4s; the command and its children were killed]"));
}

#[tokio::test]
async fn fifty_megabytes_of_output_keep_only_the_tail_within_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path(), &["seq"]);
    let out = run(&c, json!({"command": "seq 1 7000000"})).await.unwrap();
    // 7,000,000 numbers of up to 7 digits plus newlines: about 54 MB.
    assert!(
        out.contains("bytes of earlier output cut; showing the last 30000]"),
        "{}",
        &out[..200]
    );
    assert!(out.ends_with("6999999\n7000000\n[exit status 0]"));
    assert!(!out.contains("\n1\n2\n3\n"));
    assert!(out.len() < 30_000 + 200, "output is {} bytes", out.len());
}

#[tokio::test]
async fn a_trailing_tail_keeps_the_last_lines() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path(), &["seq"]);
    let out = run(&c, json!({"command": "seq 1 100 | tail -n 3"}))
        .await
        .unwrap();
    assert_eq!(out, "$ seq 1 100 | tail -n 3\n98\n99\n100\n[exit status 0]");
}

#[tokio::test]
async fn a_trailing_head_keeps_the_first_lines_of_a_huge_output() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path(), &["seq"]);
    let out = run(&c, json!({"command": "seq 1 7000000 | head -n 2"}))
        .await
        .unwrap();
    assert_eq!(out, "$ seq 1 7000000 | head -n 2\n1\n2\n[exit status 0]");
}

#[tokio::test]
async fn a_program_that_does_not_exist_is_a_failure_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path(), &["wizard-no-such-program"]);
    let err = run(&c, json!({"command": "wizard-no-such-program --x"}))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ToolError::Failed("cannot run `wizard-no-such-program`: it was not found on PATH".into())
    );
}

#[tokio::test]
async fn a_command_outside_the_allow_list_never_runs() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path(), &["echo"]);
    let err = run(&c, json!({"command": "touch created"}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ToolError::Denied(m) if m.contains("bash rule") && m.contains("`echo`"))
    );
    assert!(!dir.path().join("created").exists());
}

#[tokio::test]
async fn secrets_are_redacted_from_output_and_removed_from_the_child_environment() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ctx(dir.path(), &["echo", "printenv"]);
    c.secrets.insert("provider_key", "sk-test-0123456789");
    let out = run(&c, json!({"command": "echo key=sk-test-0123456789"}))
        .await
        .unwrap();
    assert_eq!(
        out,
        "$ echo key=[redacted]\nkey=[redacted]\n[exit status 0]"
    );

    // This test binary is its own process under nextest, so the variable stays local to it.
    std::env::set_var("WIZARD_TEST_PROVIDER_KEY", "sk-test-0123456789");
    let out = run(&c, json!({"command": "printenv WIZARD_TEST_PROVIDER_KEY"}))
        .await
        .unwrap();
    assert_eq!(
        out,
        "$ printenv WIZARD_TEST_PROVIDER_KEY\n(no output)\n[exit status 1]"
    );
}

#[tokio::test]
async fn a_background_child_holding_the_output_open_does_not_turn_success_into_a_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // The background `sleep` inherits the pipes, like a dev server a build script
    // forgot to stop.
    fs::write(dir.path().join("bg.sh"), "sleep 30 &\necho started\n").unwrap();
    let c = ctx(dir.path(), &["sh bg.sh"]);
    let out = run(&c, json!({"command": "sh bg.sh", "timeout_ms": 20_000}))
        .await
        .unwrap();
    assert_eq!(out, "$ sh bg.sh\nstarted\n[exit status 0]");
}

#[tokio::test]
async fn with_a_skip_reason_allowed_commands_are_checked_but_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ctx(dir.path(), &["touch"]);
    c.bash.skip_reason = Some("the demo does not run commands".into());
    let out = run(&c, json!({"command": "touch made-by-bash"}))
        .await
        .unwrap();
    assert_eq!(
        out,
        "$ touch made-by-bash\n(not run: the demo does not run commands)"
    );
    assert!(
        !dir.path().join("made-by-bash").exists(),
        "the command did not run"
    );
    let refused = run(&c, json!({"command": "rm -rf /"})).await.unwrap_err();
    assert!(
        matches!(refused, ToolError::Denied(_)),
        "the allow-list still applies: {refused}"
    );
}

#[tokio::test]
async fn installs_sharing_a_workspace_lock_never_run_at_once() {
    use wizard::tools::install_lock::InstallLock;
    use wizard::tools::PackageManagerRule;
    let dir = tempfile::tempdir().unwrap();
    // A package manager whose install command is `sleep`: the lock is what keeps two apart.
    let sleeper = PackageManagerRule {
        name: "sleeper".into(),
        lockfiles: vec![],
        install: "sleep".into(),
        add: "sleep".into(),
        run: "echo".into(),
        default: true,
    };
    let lock = InstallLock::new();
    let with_lock = |lock: Option<InstallLock>| {
        let mut c = ctx(dir.path(), &["sleep"]);
        c.package_managers = vec![sleeper.clone()];
        c.bash.install_lock = lock;
        c
    };
    let (a, b) = (with_lock(Some(lock.clone())), with_lock(Some(lock.clone())));
    let start = std::time::Instant::now();
    let (ra, rb) = tokio::join!(
        run(&a, json!({"command": "sleep 0.4"})),
        run(&b, json!({"command": "sleep 0.4"}))
    );
    ra.unwrap();
    rb.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(800),
        "one after the other: {:?}",
        start.elapsed()
    );
    // Two workspace roots (two locks) install side by side.
    let (a, b) = (
        with_lock(Some(InstallLock::new())),
        with_lock(Some(InstallLock::new())),
    );
    let start = std::time::Instant::now();
    let (ra, rb) = tokio::join!(
        run(&a, json!({"command": "sleep 0.4"})),
        run(&b, json!({"command": "sleep 0.4"}))
    );
    ra.unwrap();
    rb.unwrap();
    assert!(
        start.elapsed() < Duration::from_millis(800),
        "{:?}",
        start.elapsed()
    );
}
