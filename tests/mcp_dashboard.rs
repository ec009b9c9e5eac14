//! The dashboard task through the PostHog MCP server, end to end: the real
//! `wizard integrate` binary, the replay provider, and a loopback fake MCP
//! server (rmcp's server side, `wizard_fakes::mcp::FakeMcp`).
//!
//! The cassette is the demo's (`content/cassettes/next-app.yaml`) with the
//! scripts of `tests/data/mcp/dashboard-scripts.yaml` swapped in: a dashboard
//! that calls the fake's tools as `mcp__posthog__<name>` and hands off the
//! dashboard's URL. With a personal API key the calls reach the fake with the
//! key as bearer; without one the task is offered no MCP tools, so the same
//! scripted calls are refused by the agent loop. (The demo's own cassette
//! skips the dashboard with its reason when there are no MCP tools;
//! `tests/demo_cassette.rs` pins that.)

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use wizard::messages::{QueueFile, TaskStatus, Verdict};
use wizard_fakes::mcp::FakeMcp;

/// The personal API key the fake accepts.
const KEY: &str = "phx_test_dashboard_key";

/// The URL the scripted dashboard hands off: the fake numbers its results
/// from 1, and the dashboard is the first call.
const DASHBOARD_URL: &str = "https://us.posthog.com/project/1/dashboard/1";

/// How long one run may take before the test calls it hung (at replay speed 0
/// it takes a few seconds).
const HANG_GUARD: Duration = Duration::from_secs(120);

/// What the agent loop logs when a tool call is refused or fails.
const TOOL_FAILURE_LOG: &str = "tool refused or failed";

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Copies the tree at `from` into `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The demo cassette with this test's scripts swapped in, as YAML.
fn dashboard_cassette() -> String {
    let read = |rel: &str| -> serde_yaml_ng::Value {
        let text = std::fs::read_to_string(repo(rel)).unwrap();
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
    };
    let mut cassette = read("content/cassettes/next-app.yaml");
    let overlay = read("tests/data/mcp/dashboard-scripts.yaml");
    let scripts = cassette["scripts"]
        .as_mapping_mut()
        .expect("the demo cassette has scripts");
    let replacements = overlay["scripts"]
        .as_mapping()
        .expect("the overlay has scripts");
    for (task_type, script) in replacements {
        assert!(
            scripts.contains_key(task_type),
            "the demo cassette has no {task_type:?} script to replace"
        );
        scripts.insert(task_type.clone(), script.clone());
    }
    serde_yaml_ng::to_string(&cassette).unwrap()
}

/// One finished `wizard integrate` run on a copy of the sample app.
struct Run {
    _tmp: tempfile::TempDir,
    app: PathBuf,
    out: Output,
}

impl Run {
    fn state(&self, rel: &str) -> PathBuf {
        self.app.join(".posthog-wizard").join(rel)
    }

    fn queue(&self) -> QueueFile {
        let text = std::fs::read_to_string(self.state("queue.json")).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("queue.json does not parse: {e}"))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.state("wizard.log")).unwrap_or_default()
    }

    /// The log lines of refused or failed tool calls.
    fn tool_failures(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains(TOOL_FAILURE_LOG))
            .map(str::to_string)
            .collect()
    }

    fn assert_succeeded(&self) {
        assert_eq!(
            self.out.status.code(),
            Some(0),
            "wizard integrate failed.\nstderr:\n{}\nlog:\n{}",
            String::from_utf8_lossy(&self.out.stderr),
            self.log()
        );
    }
}

/// Runs `wizard integrate` with the dashboard cassette against the fake MCP at
/// `mcp_url`; `key` is the personal API key in the environment, if any.
async fn integrate(mcp_url: &str, key: Option<&str>) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    copy_tree(&repo("examples/next-app"), &app);
    let cassette = tmp.path().join("dashboard.yaml");
    std::fs::write(&cassette, dashboard_cassette()).unwrap();

    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_wizard"));
    cmd.arg("integrate")
        .arg(&app)
        .args(["--provider", "replay", "--cassette"])
        .arg(&cassette)
        .args([
            "--replay-speed",
            "0",
            "--orchestrator",
            // No npm here: build's check is recorded as not run and verify starts no app.
            "--skip-commands",
            "--yes",
            "--no-telemetry",
            "--ui",
            "json",
            "--mcp-url",
            mcp_url,
        ])
        .env("WIZARD_LOG", "info")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("ANTHROPIC_AUTH_TOKEN")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("POSTHOG_PROJECT_TOKEN")
        .env_remove("POSTHOG_PERSONAL_API_KEY")
        .env_remove("MCP_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(key) = key {
        cmd.env("POSTHOG_PERSONAL_API_KEY", key);
    }
    let out = tokio::time::timeout(HANG_GUARD, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("wizard integrate did not finish within {HANG_GUARD:?}"))
        .unwrap();
    Run {
        _tmp: tmp,
        app,
        out,
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_key_the_dashboard_task_creates_the_dashboard_through_mcp() {
    let fake = FakeMcp::start(KEY).await;
    let run = integrate(&fake.url(), Some(KEY)).await;
    run.assert_succeeded();
    assert!(
        run.tool_failures().is_empty(),
        "scripted tool calls were refused or failed:\n{}",
        run.tool_failures().join("\n")
    );

    // The fake got the calls, each request with the key as bearer.
    let calls = fake.calls();
    let tools: Vec<&str> = calls.iter().map(|c| c.tool.as_str()).collect();
    assert_eq!(
        tools,
        [
            "dashboard-create",
            "insight-create-from-query",
            "insight-create-from-query"
        ]
    );
    assert_eq!(calls[0].arguments["name"], "Analytics basics (wizard)");
    assert!(calls[1..].iter().all(|c| c.arguments["dashboard_id"] == 1));
    assert_eq!(fake.unauthorised(), 0, "a request had no or a wrong bearer");
    let bearers = fake.bearers();
    assert!(!bearers.is_empty());
    assert!(
        bearers.iter().all(|b| b == KEY),
        "bearers seen: {bearers:?}"
    );

    // The dashboard completed with its URL handed off, and the report ran after it.
    let queue = run.queue();
    let outcome = queue.outcome.as_ref().expect("the run has an outcome");
    assert_eq!(outcome.verdict, Verdict::Success, "{}", outcome.message);
    let task = |id: &str| {
        queue
            .tasks
            .iter()
            .find(|t| t.id == id)
            .unwrap_or_else(|| panic!("no {id} task in the queue"))
    };
    let dashboard = task("dashboard");
    assert_eq!(dashboard.status, TaskStatus::Completed);
    let handoff = dashboard.handoff.as_ref().expect("the dashboard's handoff");
    assert!(
        handoff.did.contains(DASHBOARD_URL),
        "the handoff has no dashboard URL: {handoff:?}"
    );
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(run.state("handoffs/dashboard.json")).unwrap(),
    )
    .unwrap();
    assert!(
        saved.to_string().contains(DASHBOARD_URL),
        "handoffs/dashboard.json: {saved}"
    );
    let report = task("report");
    assert_eq!(report.status, TaskStatus::Completed);
    assert!(report.depends_on.iter().any(|d| d == "dashboard"));

    // The key was only ever a bearer: it is in no file the run left, nor its output.
    let mut leaks: Vec<String> = files_under(&run.app)
        .into_iter()
        .filter(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).contains(KEY))
        .map(|p| p.display().to_string())
        .collect();
    for (name, bytes) in [("stdout", &run.out.stdout), ("stderr", &run.out.stderr)] {
        if String::from_utf8_lossy(bytes).contains(KEY) {
            leaks.push(name.into());
        }
    }
    assert!(
        leaks.is_empty(),
        "the personal API key leaked into {leaks:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_key_the_dashboard_task_gets_no_mcp_tools() {
    let fake = FakeMcp::start(KEY).await;
    let run = integrate(&fake.url(), None).await;
    run.assert_succeeded();

    assert_eq!(fake.requests_answered(), 0, "the MCP server was reached");
    assert_eq!(fake.unauthorised(), 0, "the MCP server was tried");
    assert!(fake.calls().is_empty());

    // The scripted calls were refused by the agent loop: the tools do not exist.
    let failures = run.tool_failures();
    for tool in [
        "mcp__posthog__dashboard-create",
        "mcp__posthog__insight-create-from-query",
    ] {
        let refusal = format!("there is no tool named {tool}");
        assert!(
            failures.iter().any(|l| l.contains(&refusal)),
            "no refusal of {tool}; tool failures:\n{}",
            failures.join("\n")
        );
    }
    assert_eq!(
        failures.len(),
        3,
        "only the three MCP calls fail:\n{}",
        failures.join("\n")
    );
}
