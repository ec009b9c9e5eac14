//! Shared by the end-to-end tests that need a package registry (npm, and pip for the
//! Python sample apps): the registry probe with its loud SKIPPED banner, the caches
//! every run on a machine shares, waiting on a child with a limit while its pipes are
//! drained, stopping a run or a server, copying a sample app into a fresh git
//! repository, and the processes a run may have left behind.
//!
//! An unreachable registry is a loud skip, never a silent pass: the banner goes to
//! stderr and stdout (nextest shows these binaries' output even on success:
//! `.config/nextest.toml`). With `WIZARD_E2E_REQUIRE_NPM=1` it is a failure instead;
//! the same switch covers pip.
//!
//! Each test binary uses only part of this module, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use wizard_fakes::posthog::FakePostHog;

pub mod drive;
pub mod node_server;
pub mod python_server;

/// Set to `1` to make an unreachable registry a failure instead of a loud skip.
pub const REQUIRE_NPM: &str = "WIZARD_E2E_REQUIRE_NPM";

/// How long the registry check may take before the registry counts as unreachable.
pub const REGISTRY_CHECK_LIMIT: Duration = Duration::from_secs(20);

/// How long a served sample app may take to answer, and its events to arrive.
pub const SERVE_LIMIT: Duration = Duration::from_secs(60);

/// What a sample app's copy leaves out: what a local install, build or run in the
/// source tree may have left there.
const LEFT_OUT: [&str; 11] = [
    "node_modules",
    ".next",
    "build",
    "dist",
    ".nuxt",
    ".output",
    ".react-router",
    "package-lock.json",
    ".posthog-wizard",
    ".venv",
    "__pycache__",
];

/// The npm cache every npm end-to-end test shares (and later runs on this machine reuse).
pub fn npm_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-npm-cache")
}

/// The pip cache every Python end-to-end test shares, like [`npm_cache`].
pub fn pip_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-pip-cache")
}

/// The environment variables that would point a child at the caller's own PostHog
/// project, model provider or telemetry instead of the test's fakes.
pub const CALLER_SETTINGS: [&str; 9] = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "OPENAI_BASE_URL",
    "POSTHOG_PROJECT_TOKEN",
    "POSTHOG_HOST",
    "POSTHOG_PERSONAL_API_KEY",
    "WIZARD_ORCHESTRATOR",
    "WIZARD_TELEMETRY_HOST",
    "WIZARD_TELEMETRY_TOKEN",
];

/// A command with npm's and pip's noise, the shared caches, and none of the caller's
/// PostHog and model settings ([`CALLER_SETTINGS`]); stdin closed, stdout and stderr piped.
pub fn quiet(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("npm_config_cache", npm_cache())
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .env("npm_config_update_notifier", "false")
        .env("PIP_CACHE_DIR", pip_cache())
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1");
    for key in CALLER_SETTINGS {
        cmd.env_remove(key);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Why the npm registry cannot be used, or `None` when `npm ping` answered.
pub fn npm_registry_problem() -> Option<String> {
    let mut ping = Command::new("npm");
    ping.arg("ping")
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .env("npm_config_cache", npm_cache())
        .env("npm_config_update_notifier", "false")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    probe("npm ping", ping)
}

/// Why the Python package index cannot be used, or `None` when it answered: `python3`
/// must be able to make a venv (`venv` and `ensurepip` import), and the index's simple
/// page for `package` (pip's own first request; `PIP_INDEX_URL` when set) must answer.
/// Asked over HTTP: `pip index versions` takes half a minute on a loaded machine.
pub fn pip_index_problem(package: &str) -> Option<String> {
    let mut venv = quiet("python3");
    venv.args(["-c", "import venv, ensurepip"]);
    if let Some(problem) = probe("python3 -c 'import venv, ensurepip'", venv) {
        return Some(problem);
    }
    let index =
        std::env::var("PIP_INDEX_URL").unwrap_or_else(|_| "https://pypi.org/simple".to_string());
    let url = format!("{}/{package}/", index.trim_end_matches('/'));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return Some(format!("no runtime to ask {url}: {e}")),
    };
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(REGISTRY_CHECK_LIMIT)
            .build()
            .map_err(|e| e.to_string());
        let answer = match client {
            Ok(client) => client.get(&url).send().await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match answer {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("GET {url} answered {}", response.status())),
            Err(e) => Some(format!("GET {url} failed: {e}")),
        }
    })
}

/// Runs `cmd` up to [`REGISTRY_CHECK_LIMIT`]; why it failed, or `None`.
fn probe(what: &str, mut cmd: Command) -> Option<String> {
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return Some(format!("`{what}` cannot be started: {e}")),
    };
    match wait_with_limit(child, REGISTRY_CHECK_LIMIT) {
        Waited::Exited(out) if out.status.success() => None,
        Waited::Exited(out) => Some(format!(
            "`{what}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Waited::TimedOut(mut child) => {
            let _ = child.kill();
            let _ = child.wait();
            Some(format!(
                "`{what}` did not answer within {}s",
                REGISTRY_CHECK_LIMIT.as_secs()
            ))
        }
    }
}

/// Checks the npm registry for `test`: true to go on; false (after a loud banner) to
/// skip. Panics instead of skipping when `WIZARD_E2E_REQUIRE_NPM=1`.
pub fn registry_reachable_for(test: &str) -> bool {
    go_on_or_skip(test, "the npm registry", npm_registry_problem())
}

/// Checks the Python package index for `test`, like [`registry_reachable_for`];
/// `package` is what pip asks the index about.
pub fn pip_index_reachable_for(test: &str, package: &str) -> bool {
    go_on_or_skip(test, "the Python package index", pip_index_problem(package))
}

/// True when there is no `problem`; otherwise the loud banner and false, or a panic
/// under `WIZARD_E2E_REQUIRE_NPM=1`.
fn go_on_or_skip(test: &str, registry: &str, problem: Option<String>) -> bool {
    let Some(problem) = problem else {
        return true;
    };
    if std::env::var(REQUIRE_NPM).is_ok_and(|v| v == "1") {
        panic!("{test}: {registry} is unreachable and {REQUIRE_NPM}=1: {problem}");
    }
    let rule = "=".repeat(78);
    let banner = format!(
        "{rule}\nSKIPPED: {registry} is unreachable, so {test} did NOT run.\n\
         Reason: {problem}\n\
         Nothing was checked. Set {REQUIRE_NPM}=1 to make this a failure.\n{rule}"
    );
    eprintln!("{banner}");
    println!("{banner}");
    false
}

/// A child waited on with a limit.
pub enum Waited {
    Exited(Output),
    /// Still running at the limit; the child is handed back to be stopped.
    TimedOut(Child),
}

/// Waits for `child` (its pipes drained on threads so a full pipe cannot stall it) up
/// to `limit`.
pub fn wait_with_limit(mut child: Child, limit: Duration) -> Waited {
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

/// Waits for `child` up to `limit`; kills it at the limit and answers the limit.
pub fn wait_or_kill(child: Child, limit: Duration) -> Result<Output, Duration> {
    match wait_with_limit(child, limit) {
        Waited::Exited(out) => Ok(out),
        Waited::TimedOut(mut child) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(limit)
        }
    }
}

/// Runs `cmd` to its end within `limit`, and panics with its output unless it succeeded.
pub fn run_ok(what: &str, mut cmd: Command, limit: Duration) -> Output {
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("`{what}` cannot be started: {e}"));
    let out = wait_or_kill(child, limit)
        .unwrap_or_else(|limit| panic!("`{what}` ran past {}s", limit.as_secs()));
    assert!(
        out.status.success(),
        "`{what}` failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Reads a child's pipe to its end on a thread.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Stops a child: SIGTERM first (a wizard run ends its tasks and their command groups
/// itself), SIGKILL if it has not gone within 30 s.
pub fn stop(mut child: Child) {
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

/// Copies the sample app's sources into `to`, leaving out what a local install or
/// build in the source tree may have left there ([`LEFT_OUT`]).
pub fn copy_sample_app(from: &Path, to: &Path) {
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

/// Copies the sample app into `to` and commits it in a fresh git repository, so that
/// "ignored by git" can be asked of git itself.
pub fn sample_app_repo(from: &Path, to: &Path) {
    copy_sample_app(from, to);
    assert!(git(to, &["init", "-q"]).success(), "git init failed");
    assert!(git(to, &["add", "-A"]).success(), "git add failed");
    assert!(
        git(to, &["commit", "-q", "-m", "The sample app"]).success(),
        "git commit failed"
    );
}

/// Runs git in `dir` with a fixed identity; returns its status.
pub fn git(dir: &Path, args: &[&str]) -> ExitStatus {
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

/// Processes whose working directory is `dir` or below it (Linux `/proc`).
pub fn processes_in(dir: &Path) -> Vec<String> {
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

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Spawns `cmd` in its own process group (so [`stop_group`] ends its workers too).
pub fn spawn_in_group(mut cmd: Command) -> Child {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.spawn().expect("the server starts")
}

/// Stops a server started in its own process group: SIGTERM to the whole group (the
/// server then flushes PostHog's queue at exit), SIGKILL to the group after 30 s.
pub fn stop_group(mut child: Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        use nix::sys::signal::{killpg, Signal};
        let group = nix::unistd::Pid::from_raw(pid);
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = killpg(group, Signal::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The fake's events once every one of `names` has arrived (or the limit passed).
pub async fn wait_for_events(posthog: &FakePostHog, names: &[&str]) -> Vec<Value> {
    wait_for_events_after(posthog, 0, names).await
}

/// The fake's events after the first `seen` (those a run's verify step caused), once
/// every one of `names` is among them (or the limit passed).
pub async fn wait_for_events_after(
    posthog: &FakePostHog,
    seen: usize,
    names: &[&str],
) -> Vec<Value> {
    let deadline = Instant::now() + SERVE_LIMIT;
    loop {
        let events: Vec<Value> = posthog.events().into_iter().skip(seen).collect();
        let all = names
            .iter()
            .all(|n| events.iter().any(|e| e["event"] == *n));
        if all || Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The sample app `name` under `examples/`.
pub fn sample_app(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

/// The text of `rel` in `app`; panics with the file's name when it cannot be read.
pub fn read(app: &Path, rel: &str) -> String {
    std::fs::read_to_string(app.join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

/// True when any file under `root` contains `needle` (build output, say).
pub fn any_file_contains(root: &Path, needle: &str) -> bool {
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                dirs.push(path);
            } else if std::fs::read(&path)
                .is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle))
            {
                return true;
            }
        }
    }
    false
}

/// The JavaScript a Vite build emitted (`dist/assets/*.js`), joined.
pub fn bundle(app: &Path) -> String {
    let assets = app.join("dist/assets");
    let entries = std::fs::read_dir(&assets)
        .unwrap_or_else(|e| panic!("no build output in {}: {e}", assets.display()));
    let mut js = String::new();
    for path in entries.flatten().map(|e| e.path()) {
        if path.extension().is_some_and(|x| x == "js") {
            js.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    js
}

/// The verification the run's verify task left in its handoff: the requests it made to
/// the app the runtime started with the framework's start command, and the outcomes.
pub fn verification_of(queue: &wizard::messages::QueueFile) -> wizard::messages::Verification {
    let verify = queue
        .tasks
        .iter()
        .find(|t| t.task_type == "verify")
        .expect("a verify task ran");
    verify
        .handoff
        .as_ref()
        .and_then(|h| h.verification.clone())
        .unwrap_or_else(|| panic!("verify left no verification: {verify:?}"))
}

/// How long a sample app's run (its install included) may take before it counts as hung.
pub const HANG_GUARD: Duration = Duration::from_secs(10 * 60);

/// What the agent loop logs when a tool call is refused or fails.
pub const TOOL_FAILURE_LOG: &str = "tool refused or failed";

/// Runs `wizard integrate` on `app` with `cassette` as the model (orchestrator, cap 2,
/// speed 0), the run's `token` and `host`; stops it at [`HANG_GUARD`]. Prints its wall
/// time as `label`.
pub fn integrate_with_cassette(
    label: &str,
    app: &Path,
    cassette: &str,
    token: &str,
    host: &str,
) -> Output {
    integrate_with_cassette_env(label, app, cassette, token, host, &[])
}

/// [`integrate_with_cassette`] with `env` set for the run.
pub fn integrate_with_cassette_env(
    label: &str,
    app: &Path,
    cassette: &str,
    token: &str,
    host: &str,
    env: &[(&str, &str)],
) -> Output {
    let started = Instant::now();
    let child = quiet(env!("CARGO_BIN_EXE_wizard"))
        .envs(env.iter().copied())
        .arg("integrate")
        .arg(app)
        .args(["--provider", "replay", "--cassette", cassette])
        .args([
            "--replay-speed",
            "0",
            "--orchestrator",
            "--concurrency",
            "2",
        ])
        .args(["--yes", "--project-token", token, "--host", host])
        .args(["--ui", "json", "--no-telemetry"])
        // Tool failures are logged at info; make sure the filter keeps them.
        .env("WIZARD_LOG", "info")
        .spawn()
        .expect("the wizard starts");
    let out = match wait_with_limit(child, HANG_GUARD) {
        Waited::Exited(out) => out,
        Waited::TimedOut(child) => {
            stop(child);
            panic!(
                "{label}: wizard integrate did not finish within {}s",
                HANG_GUARD.as_secs()
            );
        }
    };
    println!(
        "{label}: wizard integrate took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    out
}

/// Asserts the run in `app` exited 0 with a success verdict, no refused or failed tool
/// call, and `token` on neither stdout nor stderr; answers its queue and its log.
pub fn assert_run_succeeded(
    app: &Path,
    out: &Output,
    token: &str,
) -> (wizard::messages::QueueFile, String) {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let log = std::fs::read_to_string(app.join(".posthog-wizard/wizard.log")).unwrap_or_default();
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}\nlog:\n{log}");
    let failures: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(TOOL_FAILURE_LOG))
        .collect();
    assert!(
        failures.is_empty(),
        "refused or failed tool calls:\n{}",
        failures.join("\n")
    );
    let queue: wizard::messages::QueueFile = serde_json::from_str(
        &std::fs::read_to_string(app.join(".posthog-wizard/queue.json")).expect("queue.json"),
    )
    .expect("queue.json parses");
    assert_eq!(queue.run.variant, wizard::messages::Variant::Orchestrator);
    let outcome = queue.outcome.as_ref().expect("an outcome");
    assert_eq!(
        outcome.verdict,
        wizard::messages::Verdict::Success,
        "{}",
        outcome.message
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(token),
        "the token is on stdout"
    );
    assert!(!stderr.contains(token), "the token is on stderr");
    (queue, log)
}

/// Asserts that `wizard.log` shows each command exiting 0.
pub fn assert_commands_ran(log: &str, commands: &[&str]) {
    for command in commands {
        let ok = format!("bash finished command={command} exit=0");
        assert!(
            log.contains(&ok),
            "wizard.log does not show `{command}` exiting 0:\n{log}"
        );
    }
}

/// Asserts that the runtime ran `command` as a task's check exactly once and it exited 0
/// (the build task's `npm run build --if-present`).
pub fn assert_check_passed_once(log: &str, command: &str) {
    let runs: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("check finished") && l.contains(command))
        .collect();
    assert!(
        runs.len() == 1 && runs[0].contains("exit=0"),
        "the check `{command}` did not run once and pass: {runs:#?}\n{log}"
    );
}

/// Asserts that each of `sdks` is declared in the app's `package.json`, locked at that
/// range in `package-lock.json` and installed in `node_modules`.
pub fn assert_npm_sdks_installed(app: &Path, sdks: &[&str]) {
    let manifest: Value = serde_json::from_str(&read(app, "package.json")).unwrap();
    let lock: Value = serde_json::from_str(&read(app, "package-lock.json")).unwrap();
    for sdk in sdks {
        let declared = manifest["dependencies"][sdk].as_str();
        assert!(declared.is_some(), "package.json does not declare {sdk}");
        assert_eq!(
            lock["packages"][""]["dependencies"][sdk].as_str(),
            declared,
            "{sdk}"
        );
        assert!(
            app.join(format!("node_modules/{sdk}/package.json"))
                .is_file(),
            "{sdk} not installed"
        );
    }
}

/// Asserts that the Python SDK imports from the app's `.venv`.
pub fn assert_python_sdk_installed(app: &Path) {
    let sdk = quiet(app.join(".venv/bin/python"))
        .args([
            "-c",
            "import posthog.version; print(posthog.version.VERSION)",
        ])
        .current_dir(app)
        .output()
        .unwrap();
    assert!(
        sdk.status.success(),
        "posthog is not installed in .venv: {}",
        String::from_utf8_lossy(&sdk.stderr)
    );
}

/// Asserts that the app's env file holds the run's token and host under `keys`
/// (token, host) and that git ignores it.
pub fn assert_env_file(app: &Path, env_file: &str, keys: (&str, &str), token: &str, host: &str) {
    let env: std::collections::BTreeMap<String, String> =
        dotenvy::from_path_iter(app.join(env_file))
            .unwrap()
            .map(|item| item.unwrap())
            .collect();
    assert_eq!(env.get(keys.0).map(String::as_str), Some(token));
    assert_eq!(env.get(keys.1).map(String::as_str), Some(host));
    assert!(
        git(app, &["check-ignore", "-q", env_file]).success(),
        "git does not ignore {env_file}"
    );
}

/// Asserts that each named event reached PostHog under `user_id`, and that every
/// batch was sent with the run's token.
pub fn assert_events_reached(
    posthog: &FakePostHog,
    events: &[Value],
    names: &[&str],
    user_id: &str,
    token: &str,
) {
    for name in names {
        let event = events
            .iter()
            .find(|e| e["event"] == *name)
            .unwrap_or_else(|| panic!("{name} did not reach PostHog; got {events:?}"));
        assert_eq!(event["distinct_id"], user_id, "{name}: {event}");
    }
    assert!(
        posthog
            .batches()
            .iter()
            .all(|batch| batch.decoded.contains(token)),
        "a batch is not sent with the run's token"
    );
}
