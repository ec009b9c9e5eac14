//! The real end to end: the sample Next.js app (`examples/next-app/`), copied into a
//! fresh git repository, integrated by the real `wizard integrate` binary with the
//! demo cassette as its model, and then really installed and built: the cassette's
//! `build` step asks the Bash tool for `npm install` and `npm run build`, and here
//! (unlike `wizard demo`) they run.
//!
//! Only the model is scripted. Everything the issue asks of a good integration is
//! checked on the app the run leaves, through both runners: the SDKs in the manifest
//! and the lockfile, the token in a git-ignored `.env.local`, the init reading the env
//! vars, a capture in the browser and one on the server, a build that passed (exit
//! status in the log and the `.next` output on disk) and the setup report.
//!
//! This test needs the npm registry. It asks first (`npm ping`, 20 s); when the
//! registry cannot be reached it prints a loud SKIPPED banner on stderr and stdout
//! and returns, so it never passes silently (nextest shows this binary's output even
//! on success: `.config/nextest.toml`). With `WIZARD_E2E_REQUIRE_NPM=1` an unreachable
//! registry fails the test instead. CI does not set it: a CI machine without the
//! registry skips loudly rather than failing the whole suite.
//!
//! Both runs share one npm cache under Cargo's target tmp dir, so the second run (and
//! every later one on the same machine) installs from the cache; nextest runs the two
//! tests one after the other (a test group of one thread) so they do not fight over
//! two cores with two `next build`s at once.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use wizard::messages::{EventOutcome, QueueFile, Variant, Verdict};
use wizard_fakes::posthog::FakePostHog;

/// Set to `1` to make an unreachable npm registry a failure instead of a loud skip.
const REQUIRE_NPM: &str = "WIZARD_E2E_REQUIRE_NPM";

/// How long the registry check may take before the registry counts as unreachable.
const REGISTRY_CHECK_LIMIT: Duration = Duration::from_secs(20);

/// How long one whole run (install and build included) may take before the test
/// calls it hung. A run takes one to two minutes on two busy cores with a cold cache.
const HANG_GUARD: Duration = Duration::from_secs(12 * 60);

/// What the agent loop logs when a tool call is refused or fails.
const TOOL_FAILURE_LOG: &str = "tool refused or failed";

/// The env file the init task writes, and the keys it must hold.
const ENV_FILE: &str = ".env.local";
const TOKEN_KEY: &str = "NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN";
const HOST_KEY: &str = "NEXT_PUBLIC_POSTHOG_HOST";
/// The host a run without `--region` or `--host` uses.
/// The personal API key the run reads events back with (the fake PostHog accepts it).
const PERSONAL_KEY: &str = "phx_e2e_verify_0123456789";

/// The SDKs the integration must declare and install.
const SDKS: [&str; 2] = ["posthog-js", "posthog-node"];

/// The sample app in the source tree.
fn sample_app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/next-app")
}

/// The npm cache both runs share (and later runs on this machine reuse).
fn npm_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-npm-cache")
}

/// Why the registry cannot be used, or `None` when `npm ping` answered.
fn registry_problem() -> Option<String> {
    let child = Command::new("npm")
        .arg("ping")
        .env("npm_config_cache", npm_cache())
        .env("npm_config_update_notifier", "false")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(e) => return Some(format!("`npm` cannot be started: {e}")),
    };
    match wait_with_limit(child, REGISTRY_CHECK_LIMIT) {
        Waited::Exited(out) if out.status.success() => None,
        Waited::Exited(out) => Some(format!(
            "`npm ping` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Waited::TimedOut(mut child) => {
            let _ = child.kill();
            let _ = child.wait();
            Some(format!(
                "`npm ping` did not answer within {}s",
                REGISTRY_CHECK_LIMIT.as_secs()
            ))
        }
    }
}

/// Checks the registry for `test`: true to go on; false (after a loud banner) to skip.
/// Panics instead of skipping when `WIZARD_E2E_REQUIRE_NPM=1`.
fn registry_reachable_for(test: &str) -> bool {
    let Some(problem) = registry_problem() else {
        return true;
    };
    if std::env::var(REQUIRE_NPM).is_ok_and(|v| v == "1") {
        panic!("{test}: the npm registry is unreachable and {REQUIRE_NPM}=1: {problem}");
    }
    let rule = "=".repeat(78);
    let banner = format!(
        "{rule}\nSKIPPED: the npm registry is unreachable, so {test} did NOT run.\n\
         Reason: {problem}\n\
         Nothing was checked. Set {REQUIRE_NPM}=1 to make this a failure.\n{rule}"
    );
    eprintln!("{banner}");
    println!("{banner}");
    false
}

/// A child waited on with a limit.
enum Waited {
    Exited(Output),
    /// Still running at the limit; the child is handed back to be stopped.
    TimedOut(Child),
}

/// Waits for `child` (its pipes drained on threads so a full pipe cannot stall it) up
/// to `limit`.
fn wait_with_limit(mut child: Child, limit: Duration) -> Waited {
    let out_reader = child.stdout.take().map(drain);
    let err_reader = child.stderr.take().map(drain);
    let deadline = Instant::now() + limit;
    let status: ExitStatus = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            // The caller decides how to stop it (a wizard run gets a SIGTERM first).
            Ok(None) => return Waited::TimedOut(child),
            Err(e) => panic!("cannot wait for a child process: {e}"),
        }
    };
    let join = |reader: Option<std::thread::JoinHandle<Vec<u8>>>| {
        reader.map(|r| r.join().unwrap()).unwrap_or_default()
    };
    Waited::Exited(Output {
        status,
        stdout: join(out_reader),
        stderr: join(err_reader),
    })
}

/// Reads a child's pipe to its end on a thread.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Copies the sample app's sources into `to`, leaving out what a local `npm install`
/// or build in the source tree may have left there.
fn copy_sample_app(from: &Path, to: &Path) {
    const LEFT_OUT: [&str; 4] = [
        "node_modules",
        ".next",
        "package-lock.json",
        ".posthog-wizard",
    ];
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if LEFT_OUT.iter().any(|skip| name == *skip) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_sample_app(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// Runs git in `dir` with a fixed identity; panics on failure. Returns the status.
fn git(dir: &Path, args: &[&str]) -> ExitStatus {
    Command::new("git")
        .args([
            "-c",
            "user.name=wizard e2e",
            "-c",
            "user.email=e2e@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run git {args:?}: {e}"))
}

/// One finished `wizard integrate` run on a fresh copy of the sample app.
struct E2eRun {
    _tmp: tempfile::TempDir,
    app: PathBuf,
    /// The project token the run was given.
    token: String,
    /// The PostHog host the run was given (the fake's url).
    host: String,
    out: Output,
}

impl E2eRun {
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.app.join(rel)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel))
            .unwrap_or_else(|e| panic!("cannot read {rel} in the app: {e}"))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path(".posthog-wizard/wizard.log")).unwrap_or_default()
    }

    fn queue(&self) -> QueueFile {
        serde_json::from_str(&self.read(".posthog-wizard/queue.json"))
            .unwrap_or_else(|e| panic!("queue.json does not parse: {e}"))
    }
}

/// Copies the sample app into a fresh git repo and runs `wizard integrate` on it with
/// the demo cassette and `runner` flags; prints the wall time of the run as `label`.
fn integrate(label: &str, runner: &[&str], host: &str) -> E2eRun {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    copy_sample_app(&sample_app(), &app);
    assert!(
        !app.join("package-lock.json").exists(),
        "the sample app must start without a lockfile"
    );
    // A committed, clean tree: "ignored by git" can then be asked of git itself.
    assert!(git(&app, &["init", "-q"]).success(), "git init failed");
    assert!(git(&app, &["add", "-A"]).success(), "git add failed");
    assert!(
        git(&app, &["commit", "-q", "-m", "The sample app"]).success(),
        "git commit failed"
    );

    let token = format!("phc_e2e_{}", uuid::Uuid::new_v4().simple());
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_wizard"))
        .arg("integrate")
        .arg(&app)
        .args(["--provider", "replay", "--cassette", "next-app"])
        .args(["--replay-speed", "0"])
        .args(runner)
        .args(["--yes", "--project-token", &token, "--ui", "json"])
        .args(["--host", host])
        // Tool failures are logged at info; make sure the filter keeps them.
        .env("WIZARD_LOG", "info")
        .env("npm_config_cache", npm_cache())
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .env("npm_config_update_notifier", "false")
        .env("NEXT_TELEMETRY_DISABLED", "1")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("ANTHROPIC_AUTH_TOKEN")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("POSTHOG_PROJECT_TOKEN")
        .env_remove("POSTHOG_HOST")
        .env("POSTHOG_PERSONAL_API_KEY", PERSONAL_KEY)
        .env_remove("WIZARD_ORCHESTRATOR")
        .env_remove("WIZARD_TELEMETRY_HOST")
        .env_remove("WIZARD_TELEMETRY_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = match wait_with_limit(child, HANG_GUARD) {
        Waited::Exited(out) => out,
        Waited::TimedOut(child) => {
            stop_hung_run(child);
            let log =
                std::fs::read_to_string(app.join(".posthog-wizard/wizard.log")).unwrap_or_default();
            panic!(
                "{label}: wizard integrate did not finish within {}s.\nlog:\n{log}",
                HANG_GUARD.as_secs()
            );
        }
    };
    let wall = started.elapsed();
    let line = format!(
        "e2e next-app ({label}): wizard integrate with a real npm install and next build took {:.1}s",
        wall.as_secs_f64()
    );
    println!("{line}");
    E2eRun {
        _tmp: tmp,
        app,
        token,
        host: host.to_string(),
        out,
    }
}

/// A fake PostHog on a loopback port, served by its own runtime while the test waits on
/// the wizard; it accepts [`PERSONAL_KEY`] on its query API.
fn fake_posthog() -> (tokio::runtime::Runtime, FakePostHog) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(FakePostHog::start());
    fake.set_personal_api_key(PERSONAL_KEY);
    (runtime, fake)
}

/// The verify step started `next start`, the subscribe route sent `subscription_created`
/// to the (fake) PostHog, the run read it back and said so, the `/ingest` proxy answered,
/// and no process is left running in the app's directory.
fn assert_events_verified(run: &E2eRun, fake: &FakePostHog) {
    assert!(
        fake.events()
            .iter()
            .any(|e| e["event"] == "subscription_created"),
        "the fake PostHog never received subscription_created; log:\n{}",
        run.log()
    );
    let queue = run.queue();
    let verify = queue
        .tasks
        .iter()
        .find(|t| t.task_type == "verify")
        .expect("a verify task ran");
    let v = verify
        .handoff
        .as_ref()
        .and_then(|h| h.verification.clone())
        .unwrap_or_else(|| panic!("verify left no verification: {verify:?}"));
    let reached: Vec<&str> = v
        .events
        .iter()
        .filter(|e| e.outcome == EventOutcome::Reached)
        .map(|e| e.event.as_str())
        .collect();
    assert_eq!(reached, ["subscription_created"], "{v:?}");
    assert!(
        run.stderr()
            .contains("verified: 1 of 2 planned events reached PostHog"),
        "the outro does not say what was verified:\n{}",
        run.stderr()
    );
    let ingest = v
        .requests
        .iter()
        .find(|r| r.path.starts_with("/ingest/"))
        .expect("the verify agent requested the /ingest proxy");
    assert!(
        ingest.status.is_some_and(|s| s != 404),
        "the /ingest proxy did not answer: {ingest:?}"
    );
    let subscribe = v
        .requests
        .iter()
        .find(|r| r.path == "/api/subscribe")
        .expect("the subscribe route was requested");
    assert_eq!(subscribe.status, Some(200));
    // Build's check is the build itself, run for real.
    let build = queue.tasks.iter().find(|t| t.task_type == "build").unwrap();
    let checks = &build.handoff.as_ref().unwrap().checks;
    assert!(
        checks.iter().any(|c| c.passed()),
        "build's check did not pass: {checks:?}"
    );
    let left = processes_in(&run.app);
    assert!(
        left.is_empty(),
        "processes left running in the app: {left:?}"
    );
}

/// Processes whose working directory is `dir` or below it (Linux `/proc`).
fn processes_in(dir: &Path) -> Vec<String> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        if let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) {
            if cwd.starts_with(&dir) {
                let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                found.push(format!(
                    "{} {}",
                    entry.file_name().to_string_lossy(),
                    String::from_utf8_lossy(&cmd).replace('\0', " ")
                ));
            }
        }
    }
    found
}

/// Stops a hung run: SIGTERM first, so the wizard ends its tasks and their command
/// groups (npm, next) itself; SIGKILL if it does not go.
fn stop_hung_run(mut child: Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        use nix::sys::signal::{kill, Signal};
        let _ = kill(nix::unistd::Pid::from_raw(pid), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Asserts everything the issue asks of an integrated and built app.
fn assert_integrated_and_built(run: &E2eRun) {
    assert_run_succeeded(run);
    assert_sdks_declared_and_locked(run);
    assert_env_file_holds_the_run_credentials_and_is_ignored(run);
    assert_client_init_reads_the_env_vars(run);
    assert_captures_in_the_browser_and_on_the_server(run);
    assert_install_and_build_passed(run);
    assert_setup_report_lists_the_planned_events(run);
    assert_token_kept_off_the_terminal(run);
}

/// Exit 0, a success verdict in queue.json, the outro on stderr, no failed tool call.
fn assert_run_succeeded(run: &E2eRun) {
    assert_eq!(
        run.out.status.code(),
        Some(0),
        "wizard integrate failed.\nstderr:\n{}\nlog:\n{}",
        run.stderr(),
        run.log()
    );
    let queue = run.queue();
    let outcome = queue.outcome.as_ref().expect("queue.json has an outcome");
    assert_eq!(outcome.verdict, Verdict::Success, "{}", outcome.message);
    assert!(
        run.stderr().contains("PostHog is set up"),
        "the outro on stderr does not say the integration is set up:\n{}",
        run.stderr()
    );
    for line in run.stdout().lines() {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "--ui json printed a line that is not JSON: {line}"
        );
    }
    let failures: Vec<String> = run
        .log()
        .lines()
        .filter(|l| l.contains(TOOL_FAILURE_LOG))
        .map(str::to_string)
        .collect();
    assert!(
        failures.is_empty(),
        "scripted tool calls were refused or failed:\n{}",
        failures.join("\n")
    );
}

/// Both SDKs in package.json, and the lockfile npm wrote resolves and installed them.
fn assert_sdks_declared_and_locked(run: &E2eRun) {
    let manifest: Value = serde_json::from_str(&run.read("package.json")).unwrap();
    let lock: Value = serde_json::from_str(&run.read("package-lock.json"))
        .unwrap_or_else(|e| panic!("package-lock.json does not parse: {e}"));
    for sdk in SDKS {
        let declared = manifest["dependencies"][sdk].as_str();
        assert!(declared.is_some(), "package.json does not declare {sdk}");
        assert_eq!(
            lock["packages"][""]["dependencies"][sdk].as_str(),
            declared,
            "package-lock.json's root does not carry package.json's {sdk}"
        );
        let locked = &lock["packages"][format!("node_modules/{sdk}")];
        assert!(
            locked["version"].is_string() && locked["integrity"].is_string(),
            "package-lock.json does not resolve {sdk}: {locked}"
        );
        assert!(
            run.path(&format!("node_modules/{sdk}/package.json"))
                .is_file(),
            "npm install did not install {sdk}"
        );
    }
}

/// `.env.local` holds the run's token and the host, and git ignores it.
fn assert_env_file_holds_the_run_credentials_and_is_ignored(run: &E2eRun) {
    let values: BTreeMap<String, String> = dotenvy::from_path_iter(run.path(ENV_FILE))
        .unwrap_or_else(|e| panic!("cannot read {ENV_FILE}: {e}"))
        .map(|item| item.unwrap_or_else(|e| panic!("{ENV_FILE} does not parse: {e}")))
        .collect();
    assert_eq!(
        values.get(TOKEN_KEY),
        Some(&run.token),
        "{ENV_FILE} does not hold the run's token under {TOKEN_KEY}"
    );
    assert_eq!(
        values.get(HOST_KEY).map(String::as_str),
        Some(run.host.as_str()),
        "{ENV_FILE} does not hold the host under {HOST_KEY}"
    );
    assert!(
        git(&run.app, &["check-ignore", "-q", ENV_FILE]).success(),
        "git does not ignore {ENV_FILE}"
    );
}

/// The browser init reads the token from the env var (no literal), and the build
/// inlined the value from `.env.local` into the client bundle: the env var reached it.
fn assert_client_init_reads_the_env_vars(run: &E2eRun) {
    let init = run.read("instrumentation-client.ts");
    assert!(
        init.contains("from \"posthog-js\""),
        "instrumentation-client.ts does not import posthog-js:\n{init}"
    );
    // The skill guards the init against a missing token: the env var is read into
    // `token`, and only a present token initialises.
    assert!(
        init.contains(&format!("const token = process.env.{TOKEN_KEY};"))
            && init.contains("posthog.init(token, {"),
        "instrumentation-client.ts does not initialise posthog from {TOKEN_KEY}:\n{init}"
    );
    assert!(
        !init.contains(&run.token),
        "instrumentation-client.ts holds the token itself, not the env var"
    );
    assert!(
        files_containing(&run.path(".next/static"), &run.token)
            .next()
            .is_some(),
        "the built client bundle does not carry the token from {ENV_FILE}"
    );
}

/// At least one `posthog.capture` in a client component and one in a route handler.
fn assert_captures_in_the_browser_and_on_the_server(run: &E2eRun) {
    let sources = source_files(&run.app);
    let captures: Vec<&(String, String)> = sources
        .iter()
        .filter(|(_, text)| text.contains("posthog.capture("))
        .collect();
    let client = captures.iter().any(|(_, text)| {
        let first = text.trim_start();
        first.starts_with("\"use client\"") || first.starts_with("'use client'")
    });
    let server = captures.iter().any(|(rel, _)| {
        let name = rel.rsplit('/').next().unwrap_or_default();
        rel.starts_with("app/") && (name == "route.ts" || name == "route.js")
    });
    let files: Vec<&str> = captures.iter().map(|(rel, _)| rel.as_str()).collect();
    assert!(
        client,
        "no posthog.capture in a client component: {files:?}"
    );
    assert!(server, "no posthog.capture in a route handler: {files:?}");
}

/// The log shows both npm commands exited 0, and the build output is on disk and
/// holds every planned event (so it is a build of the integrated code).
fn assert_install_and_build_passed(run: &E2eRun) {
    let log = run.log();
    for command in ["npm install", "npm run build"] {
        let ok = format!("bash finished command={command} exit=0");
        assert!(
            log.contains(&ok),
            "wizard.log does not show `{command}` exiting 0:\n{}",
            log.lines()
                .filter(|l| l.contains("bash"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let build_id = run.path(".next/BUILD_ID");
    assert!(
        std::fs::read_to_string(&build_id).is_ok_and(|id| !id.trim().is_empty()),
        "next build left no .next/BUILD_ID"
    );
    for event in planned_events(run) {
        let built = files_containing(&run.path(".next/static"), &event)
            .chain(files_containing(&run.path(".next/server"), &event))
            .next();
        assert!(
            built.is_some(),
            "the .next build output does not contain the planned event {event}"
        );
    }
}

/// `posthog-setup-report.md` exists and names every planned event.
fn assert_setup_report_lists_the_planned_events(run: &E2eRun) {
    let report = run.read("posthog-setup-report.md");
    for event in planned_events(run) {
        assert!(
            report.contains(&event),
            "posthog-setup-report.md does not list the event {event}"
        );
    }
}

/// The token went to `.env.local` only: it is not on stdout or stderr.
fn assert_token_kept_off_the_terminal(run: &E2eRun) {
    assert!(!run.stdout().contains(&run.token), "the token is on stdout");
    assert!(!run.stderr().contains(&run.token), "the token is on stderr");
}

/// The event names in the event plan the run wrote (at least one).
fn planned_events(run: &E2eRun) -> Vec<String> {
    let plan: Vec<Value> = serde_json::from_str(&run.read(".posthog-events.json"))
        .unwrap_or_else(|e| panic!(".posthog-events.json does not parse: {e}"));
    let events: Vec<String> = plan
        .iter()
        .map(|e| {
            e["event"]
                .as_str()
                .unwrap_or_else(|| panic!("a planned event has no name: {e}"))
                .to_string()
        })
        .collect();
    assert!(!events.is_empty(), "the event plan is empty");
    events
}

/// The app's own source files (relative path, text), outside dependencies, build
/// output and git.
fn source_files(app: &Path) -> Vec<(String, String)> {
    const SKIP: [&str; 4] = ["node_modules", ".next", ".git", ".posthog-wizard"];
    let mut out = Vec::new();
    let mut dirs = vec![app.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !SKIP.contains(&name.as_str()) {
                    dirs.push(path);
                }
            } else if [".ts", ".tsx", ".js", ".jsx", ".mjs"]
                .iter()
                .any(|ext| name.ends_with(ext))
            {
                let rel = path
                    .strip_prefix(app)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&path).unwrap_or_default()));
            }
        }
    }
    out
}

/// Files under `root` (recursively) whose text contains `needle`.
fn files_containing(root: &Path, needle: &str) -> impl Iterator<Item = PathBuf> {
    let needle = needle.to_string();
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.into_iter().filter(move |path| {
        std::fs::read(path).is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains(&needle))
    })
}

#[test]
fn orchestrator_with_cap_two_integrates_and_builds_the_sample_app_needs_npm_registry() {
    let test = "orchestrator_with_cap_two_integrates_and_builds_the_sample_app_needs_npm_registry";
    if !registry_reachable_for(test) {
        return;
    }
    let (_runtime, fake) = fake_posthog();
    let run = integrate(
        "orchestrator, cap 2",
        &["--orchestrator", "--concurrency", "2"],
        &fake.url(),
    );
    assert_integrated_and_built(&run);
    assert_events_verified(&run, &fake);
    let queue = run.queue();
    assert_eq!(queue.run.variant, Variant::Orchestrator);
    assert_eq!(queue.run.concurrency, 2);
    assert!(queue.tasks.len() > 1, "the orchestrator ran one task only");
}

#[test]
fn linear_integrates_and_builds_the_sample_app_needs_npm_registry() {
    let test = "linear_integrates_and_builds_the_sample_app_needs_npm_registry";
    if !registry_reachable_for(test) {
        return;
    }
    let (_runtime, fake) = fake_posthog();
    let run = integrate("linear", &["--linear"], &fake.url());
    assert_integrated_and_built(&run);
    let queue = run.queue();
    assert_eq!(queue.run.variant, Variant::Linear);
    let ids: Vec<&str> = queue.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["linear"], "the linear runner runs one agent");
}
