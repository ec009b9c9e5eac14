//! The demo cassette end to end: the real `wizard demo` binary replays
//! `content/cassettes/next-app.yaml` on a fresh copy of the sample app, and the
//! app it leaves must be the good integration in `tests/data/next-app-integration/`.
//!
//! Only the model is scripted: the queue, the agent loop, the tools and their
//! permissions are real, so a scripted call that a task may not make, or an
//! `Edit` whose `old_string` is not in the file, fails here (the agent loop
//! hands a tool error back to the "model" and goes on, so every run also checks
//! the log for refused or failed tool calls).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::Value;
use wizard::messages::{QueueFile, TaskStatus, Verdict};

/// How long one demo run may take before the test calls it hung (a run at speed 0
/// takes well under a second).
const HANG_GUARD: Duration = Duration::from_secs(120);

/// The token `wizard demo` uses when no project token is given.
const DEMO_TOKEN: &str = "phc_demo_placeholder";

/// What the agent loop logs when a tool call is refused or fails.
const TOOL_FAILURE_LOG: &str = "tool refused or failed";

/// The sample app as `wizard demo` copies it.
fn sample_app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/next-app")
}

/// The files a good integration leaves.
fn target() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/next-app-integration")
}

/// One finished `wizard demo` run.
struct DemoRun {
    _tmp: tempfile::TempDir,
    app: PathBuf,
    out: Output,
}

impl DemoRun {
    fn stdout(&self) -> String {
        String::from_utf8(self.out.stdout.clone()).expect("stdout is UTF-8")
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    fn state(&self, name: &str) -> PathBuf {
        self.app.join(".posthog-wizard").join(name)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.app.join(rel))
            .unwrap_or_else(|e| panic!("cannot read {rel} in the app: {e}"))
    }

    fn queue(&self) -> QueueFile {
        let text = std::fs::read_to_string(self.state("queue.json")).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("queue.json does not parse: {e}"))
    }

    /// Asserts exit 0, with the run's stderr and failed tool calls as the message.
    fn assert_succeeded(&self) {
        assert_eq!(
            self.out.status.code(),
            Some(0),
            "wizard demo failed.\nstderr:\n{}\nlog:\n{}",
            self.stderr(),
            std::fs::read_to_string(self.state("wizard.log")).unwrap_or_default()
        );
    }

    /// Asserts the log records no refused or failed tool call.
    fn assert_every_tool_call_succeeded(&self) {
        let log = std::fs::read_to_string(self.state("wizard.log")).unwrap();
        let failures: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(TOOL_FAILURE_LOG))
            .collect();
        assert!(
            failures.is_empty(),
            "scripted tool calls were refused or failed:\n{}",
            failures.join("\n")
        );
    }
}

/// Runs `wizard demo --dir <tmp>/app --ui json` with `extra` flags to the end.
fn demo(extra: &[&str]) -> DemoRun {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wizard"))
        .arg("demo")
        .arg("--dir")
        .arg(&app)
        .args(["--ui", "json"])
        .args(extra)
        // Tool failures are logged at info; make sure the filter keeps them.
        .env("WIZARD_LOG", "info")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("POSTHOG_PROJECT_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out_reader = drain(child.stdout.take().unwrap());
    let err_reader = drain(child.stderr.take().unwrap());
    let deadline = Instant::now() + HANG_GUARD;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("wizard demo did not finish within {HANG_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    };
    DemoRun {
        _tmp: tmp,
        app,
        out,
    }
}

/// Reads a child's pipe to its end on a thread, so a full pipe cannot stall the child.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Every file under `root`, as `/`-separated paths relative to it, skipping `skip` dirs.
fn files_under(root: &Path, skip: &[&str]) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, skip: &[&str], out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if path.is_dir() {
                if !skip.contains(&rel.as_str()) {
                    walk(root, &path, skip, out);
                }
            } else {
                out.insert(rel);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, skip, &mut out);
    out
}

/// The integration's files: the target mirror without its README.
fn target_files() -> BTreeSet<String> {
    let mut files = files_under(&target(), &[]);
    files.remove("README.md");
    files
}

/// Asserts the app holds exactly the sample app plus the target files (each byte
/// for byte) plus `.env.local`, and nothing else outside the run's own directory.
fn assert_app_is_the_target_integration(run: &DemoRun) {
    let integration = target_files();
    assert!(
        integration.len() >= 8,
        "the target mirror lost files: {integration:?}"
    );
    for rel in &integration {
        let want = std::fs::read_to_string(target().join(rel)).unwrap();
        assert_eq!(
            run.read(rel),
            want,
            "{rel} differs from tests/data/next-app-integration/{rel}"
        );
    }
    let sample = files_under(&sample_app(), &[]);
    for rel in sample.difference(&integration) {
        let want = std::fs::read_to_string(sample_app().join(rel)).unwrap();
        assert_eq!(
            run.read(rel),
            want,
            "{rel} is not part of the integration, yet it changed"
        );
    }
    // The run's own folder is checked above for the files the target puts there (the plan).
    let mut expected: BTreeSet<String> = sample
        .union(&integration)
        .filter(|rel| !rel.starts_with(".posthog-wizard/"))
        .cloned()
        .collect();
    expected.insert(".env.local".into());
    assert_eq!(
        files_under(&run.app, &[".posthog-wizard"]),
        expected,
        "the app holds other files than the sample app, the integration and .env.local"
    );
}

/// The default graph the seed must enqueue: (id, dependsOn), in enqueue order.
fn expected_graph() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("install", vec![]),
        ("init", vec![]),
        // The plan reads product code, which init does not change: it runs beside init.
        ("plan-capture", vec![]),
        ("identify", vec!["init"]),
        ("error-tracking", vec!["init"]),
        ("capture", vec!["plan-capture", "identify"]),
        (
            "build",
            vec!["install", "init", "identify", "error-tracking", "capture"],
        ),
        ("verify", vec!["build"]),
        ("dashboard", vec!["capture"]),
        ("report", vec!["build", "dashboard"]),
    ]
}

#[test]
fn demo_seeds_the_default_graph_and_every_task_completes_or_is_not_needed() {
    let run = demo(&["--speed", "0", "--concurrency", "2"]);
    run.assert_succeeded();
    run.assert_every_tool_call_succeeded();

    let queue = run.queue();
    let graph: Vec<(String, Vec<String>)> = queue
        .tasks
        .iter()
        .map(|t| (t.id.clone(), t.depends_on.clone()))
        .collect();
    let want: Vec<(String, Vec<String>)> = expected_graph()
        .into_iter()
        .map(|(id, deps)| (id.into(), deps.into_iter().map(String::from).collect()))
        .collect();
    assert_eq!(graph, want, "the seed's graph");

    let outcome = queue.outcome.as_ref().expect("the run has an outcome");
    assert_eq!(outcome.verdict, Verdict::Success, "{}", outcome.message);
    let mut skipped = BTreeMap::new();
    for task in &queue.tasks {
        match &task.status {
            TaskStatus::Completed => {
                assert!(task.handoff.is_some(), "{} has no handoff", task.id)
            }
            TaskStatus::Skipped {
                reason,
                blocked_by: None,
            } => {
                skipped.insert(task.id.clone(), reason.clone());
            }
            other => panic!("{} ended {other:?}", task.id),
        }
        assert_eq!(task.attempts, 1, "{} needed a retry", task.id);
    }
    assert_eq!(
        skipped.keys().map(String::as_str).collect::<Vec<_>>(),
        ["dashboard", "identify", "verify"],
        "only identify, dashboard and (offline: no app is started) verify are skipped"
    );
    assert!(
        skipped["identify"].contains("no users"),
        "identify's reason: {}",
        skipped["identify"]
    );
    assert!(
        skipped["dashboard"].contains("MCP tools are not available"),
        "dashboard's reason: {}",
        skipped["dashboard"]
    );
}

#[test]
fn demo_records_every_tasks_checks_and_never_counts_a_skipped_command_as_passed() {
    let run = demo(&["--speed", "0"]);
    run.assert_succeeded();
    let queue = run.queue();
    let handoff = |id: &str| {
        queue
            .tasks
            .iter()
            .find(|t| t.id == id)
            .and_then(|t| t.handoff.clone())
            .unwrap_or_else(|| panic!("{id} has no handoff"))
    };
    for id in ["init", "error-tracking", "capture"] {
        let checks = handoff(id).file_checks;
        assert!(!checks.is_empty(), "{id} recorded no file checks");
        assert!(checks.iter().all(|c| c.passed), "{id}: {checks:?}");
    }
    let init = handoff("init").file_checks;
    assert!(
        init.iter().any(|c| c
            .expect
            .starts_with("at most 1 match(es) of /posthog\\.init\\(/")
            && c.found == 1),
        "{init:?}"
    );
    // The offline demo runs no commands: build's check is recorded, as not run.
    let build = handoff("build").checks;
    assert_eq!(build.len(), 1, "{build:?}");
    assert_eq!(build[0].command, "npm run build --if-present");
    assert!(
        build[0].not_run.is_some() && !build[0].passed(),
        "{build:?}"
    );
    let report = std::fs::read_to_string(run.state("run-report.md")).unwrap();
    assert!(
        report.contains("- Checks: ○ `npm run build --if-present` not run"),
        "{report}"
    );
}

#[test]
fn demo_leaves_the_target_integration_byte_for_byte() {
    let run = demo(&["--speed", "0", "--concurrency", "2"]);
    run.assert_succeeded();
    assert_app_is_the_target_integration(&run);
}

#[test]
fn demo_writes_the_event_plan_in_the_wizards_folder_not_the_app_root() {
    let run = demo(&["--speed", "0"]);
    run.assert_succeeded();
    let plan: Vec<Value> = serde_json::from_str(&run.read(".posthog-wizard/event-plan.json"))
        .expect("the plan is JSON in .posthog-wizard/");
    assert_eq!(plan.len(), 2, "{plan:?}");
    assert!(
        !run.app.join(".posthog-events.json").exists() && !run.app.join("event-plan.json").exists(),
        "a plan file was left at the app root"
    );
    // The folder ignores itself, so the plan never shows in the user's repository.
    let ignore = run.read(".posthog-wizard/.gitignore");
    assert_eq!(ignore.trim(), "*");
    // The plan-capture task reported writing it there.
    let queue = run.queue();
    let plan_task = queue
        .tasks
        .iter()
        .find(|t| t.task_type == "plan-capture")
        .expect("a plan-capture task");
    assert_eq!(
        plan_task.handoff.as_ref().map(|h| h.files_touched.clone()),
        Some(vec![".posthog-wizard/event-plan.json".to_string()])
    );
}

#[test]
fn demo_writes_the_placeholder_token_and_host_to_a_gitignored_env_local() {
    let run = demo(&["--speed", "0", "--concurrency", "2"]);
    run.assert_succeeded();

    let env = run.read(".env.local");
    let lines: BTreeSet<&str> = env.lines().collect();
    assert_eq!(
        lines,
        BTreeSet::from([
            "NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN=phc_demo_placeholder",
            "NEXT_PUBLIC_POSTHOG_HOST=https://us.i.posthog.com",
        ])
    );

    let (gitignore, err) = ignore::gitignore::Gitignore::new(run.app.join(".gitignore"));
    assert!(err.is_none(), "the app's .gitignore parses: {err:?}");
    assert!(
        gitignore
            .matched_path_or_any_parents(run.app.join(".env.local"), false)
            .is_ignore(),
        ".env.local is not ignored by the app's .gitignore"
    );
}

#[test]
fn demo_keeps_the_token_out_of_everything_but_env_local() {
    let run = demo(&["--speed", "0", "--concurrency", "2"]);
    run.assert_succeeded();

    assert!(!run.stdout().contains(DEMO_TOKEN), "the token is on stdout");
    assert!(!run.stderr().contains(DEMO_TOKEN), "the token is on stderr");
    for rel in files_under(&run.app, &[]) {
        if rel == ".env.local" {
            continue;
        }
        let bytes = std::fs::read(run.app.join(&rel)).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(DEMO_TOKEN),
            "the token is in {rel}"
        );
    }
}

#[test]
fn demo_declares_both_sdks_and_captures_in_the_browser_and_the_route() {
    let run = demo(&["--speed", "0", "--concurrency", "2"]);
    run.assert_succeeded();

    let manifest: Value = serde_json::from_str(&run.read("package.json")).unwrap();
    for sdk in ["posthog-js", "posthog-node"] {
        assert!(
            manifest["dependencies"][sdk].is_string(),
            "package.json does not declare {sdk}"
        );
    }

    let button = run.read("app/components/SubscribeButton.tsx");
    assert!(
        button.starts_with("\"use client\";"),
        "the button is a client file"
    );
    assert!(
        button.contains("posthog.capture("),
        "no capture in the button"
    );
    let route = run.read("app/api/subscribe/route.ts");
    assert!(
        route.contains("posthog.capture("),
        "no capture in the route"
    );

    let plan: Vec<Value> =
        serde_json::from_str(&run.read(".posthog-wizard/event-plan.json")).unwrap();
    let report = run.read("posthog-setup-report.md");
    assert!(!plan.is_empty(), "the event plan is empty");
    for event in &plan {
        let name = event["event"]
            .as_str()
            .expect("each planned event has a name");
        assert!(
            report.contains(&format!("| `{name}` |")),
            "the setup report's events table does not list {name}"
        );
        let file = event["file"]
            .as_str()
            .expect("each planned event has a file");
        assert!(
            run.read(file).contains(&format!("\"{name}\"")),
            "{name} is not captured in its planned file {file}"
        );
    }
}

#[test]
fn demo_run_report_lists_every_task_and_the_timeline_is_drawn() {
    let run = demo(&["--speed", "0", "--concurrency", "2"]);
    run.assert_succeeded();

    let report = std::fs::read_to_string(run.state("run-report.md")).unwrap();
    for (id, _) in expected_graph() {
        assert!(
            report.contains(&format!("| {id} | {id} |")),
            "run-report.md has no row for {id}"
        );
    }
    let svg = std::fs::read_to_string(run.state("timeline.svg")).unwrap();
    assert!(svg.contains("<svg"), "timeline.svg is not an SVG");
    for (id, _) in expected_graph() {
        assert!(svg.contains(id), "timeline.svg does not show {id}");
    }
}

#[test]
fn linear_demo_leaves_the_same_app_as_the_orchestrator() {
    let run = demo(&["--speed", "0", "--linear"]);
    run.assert_succeeded();
    run.assert_every_tool_call_succeeded();

    let queue = run.queue();
    let tasks: Vec<(&str, &TaskStatus)> = queue
        .tasks
        .iter()
        .map(|t| (t.id.as_str(), &t.status))
        .collect();
    // The verify step runs after the linear agent, as in the orchestrator; offline it is
    // skipped before any model turn, every planned event "not verified".
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert_eq!(tasks[0], ("linear", &TaskStatus::Completed));
    assert!(
        matches!(
            tasks[1],
            (
                "verify",
                TaskStatus::Skipped {
                    blocked_by: None,
                    ..
                }
            )
        ),
        "{tasks:?}"
    );
    assert_eq!(queue.tasks[1].depends_on, ["linear"]);
    let verification = queue.tasks[1]
        .handoff
        .as_ref()
        .unwrap()
        .verification
        .as_ref();
    assert_eq!(verification.map(|v| v.events.len()), Some(2));
    let handoff = queue.tasks[0].handoff.as_ref().unwrap();
    assert!(
        handoff.did.starts_with("PostHog is set up"),
        "the linear run's report is its last text: {}",
        handoff.did
    );
    // The steps' checks ran at its end of turn: the build recorded as not run (never
    // passed), the assertions that hold whether or not a step applied, all passing.
    assert_eq!(handoff.checks.len(), 1, "{:?}", handoff.checks);
    assert_eq!(handoff.checks[0].command, "npm run build --if-present");
    assert!(!handoff.checks[0].passed());
    assert!(
        handoff.file_checks.len() >= 5 && handoff.file_checks.iter().all(|c| c.passed),
        "{:?}",
        handoff.file_checks
    );
    assert_app_is_the_target_integration(&run);
}

/// The JSON lines of a run as (event, task id).
fn event_lines(run: &DemoRun) -> Vec<(String, Option<String>)> {
    run.stdout()
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("stdout has a line that is not JSON ({e}): {line}"));
            (
                v["event"].as_str().unwrap_or_default().to_string(),
                v["task"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn demo_with_concurrency_two_runs_install_and_init_at_once() {
    // At speed 0 each task's turns take no time at all, so whether install
    // finishes before the seed's next call enqueues init is a race. A tenth of
    // real time gives install three model waits (over 100 ms) while the seed
    // enqueues init straight after it, in the same turn.
    let run = demo(&["--speed", "0.1", "--concurrency", "2"]);
    run.assert_succeeded();

    let events = event_lines(&run);
    let at = |name: &str, id: &str| {
        events
            .iter()
            .position(|(e, t)| e == name && t.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("no {name} for {id} in the JSON lines"))
    };
    let both_started = at("task_started", "install").max(at("task_started", "init"));
    let first_done = at("task_completed", "install").min(at("task_completed", "init"));
    assert!(
        both_started < first_done,
        "install and init did not overlap: {events:?}"
    );
}

// The same integration with the real npm install and next build is `tests/e2e_next_app.rs`.
