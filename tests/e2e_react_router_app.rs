//! The real end to end for React Router 7: the sample app (`examples/react-router-app/`),
//! copied into a fresh git repository, integrated by the real `wizard integrate` binary
//! with its cassette as the model, then really installed and built (the cassette's
//! `build` step asks the Bash tool for `npm install` and `npm run build`, and here they
//! run), type-checked (`npm run typecheck`: React Router's typegen, then `tsc`), and
//! served: the built server is started, a user signs in and creates a project through
//! the app's own forms, and the server-side events must reach a fake PostHog (the run's
//! `--host`) under the signed-in user's id.
//!
//! Like `tests/e2e_next_app.rs` it needs the npm registry: without it, a loud SKIPPED
//! banner (a failure with `WIZARD_E2E_REQUIRE_NPM=1`). It shares that test's npm cache
//! and its nextest group, so npm tests run one at a time. It prints its wall time.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use wizard::messages::{QueueFile, Variant, Verdict};
use wizard_fakes::posthog::FakePostHog;

/// Set to `1` to make an unreachable npm registry a failure instead of a loud skip.
const REQUIRE_NPM: &str = "WIZARD_E2E_REQUIRE_NPM";
/// How long the registry check may take before the registry counts as unreachable.
const REGISTRY_CHECK_LIMIT: Duration = Duration::from_secs(20);
/// How long the run (install and build included) may take before the test calls it hung.
const HANG_GUARD: Duration = Duration::from_secs(12 * 60);
/// How long `npm run typecheck` may take.
const TYPECHECK_LIMIT: Duration = Duration::from_secs(5 * 60);
/// How long the built server may take to answer, and the events to arrive.
const SERVE_LIMIT: Duration = Duration::from_secs(60);
/// What the agent loop logs when a tool call is refused or fails.
const TOOL_FAILURE_LOG: &str = "tool refused or failed";
/// The env file the init task writes, and its keys.
const ENV_FILE: &str = ".env";
const TOKEN_KEY: &str = "VITE_PUBLIC_POSTHOG_PROJECT_TOKEN";
const HOST_KEY: &str = "VITE_PUBLIC_POSTHOG_HOST";
/// The SDKs the integration must declare and install.
const SDKS: [&str; 3] = ["posthog-js", "@posthog/react", "posthog-node"];
/// The sample app's seeded user (`app/lib/db.server.ts`).
const USER_ID: &str = "usr_1";
const USER_FORM: &str = "email=ada%40example.com&password=lovelace";

fn sample_app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/react-router-app")
}

/// The npm cache every npm end-to-end test shares (`tests/e2e_next_app.rs` too).
fn npm_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-npm-cache")
}

/// A command with npm's noise and the caller's PostHog and model settings removed.
fn quiet(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("npm_config_cache", npm_cache())
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .env("npm_config_update_notifier", "false")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("ANTHROPIC_AUTH_TOKEN")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("POSTHOG_PROJECT_TOKEN")
        .env_remove("POSTHOG_HOST")
        .env_remove("POSTHOG_PERSONAL_API_KEY")
        .env_remove("WIZARD_ORCHESTRATOR")
        .env_remove("WIZARD_TELEMETRY_HOST")
        .env_remove("WIZARD_TELEMETRY_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Checks the registry: true to go on; false (after a loud banner) to skip.
fn registry_reachable_for(test: &str) -> bool {
    let problem = match quiet("npm").arg("ping").spawn() {
        Err(e) => Some(format!("`npm` cannot be started: {e}")),
        Ok(child) => match wait_with_limit(child, REGISTRY_CHECK_LIMIT) {
            Waited::Exited(out) if out.status.success() => None,
            Waited::Exited(out) => Some(format!(
                "`npm ping` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Waited::TimedOut(mut child) => {
                let _ = child.kill();
                let _ = child.wait();
                Some("`npm ping` did not answer in time".to_string())
            }
        },
    };
    let Some(problem) = problem else {
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

enum Waited {
    Exited(Output),
    TimedOut(Child),
}

/// Waits for `child` (its pipes drained on threads) up to `limit`.
fn wait_with_limit(mut child: Child, limit: Duration) -> Waited {
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        pipe.map(|mut p| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = p.read_to_end(&mut buf);
                buf
            })
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let status: ExitStatus = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Ok(None) => return Waited::TimedOut(child),
            Err(e) => panic!("cannot wait for a child process: {e}"),
        }
    };
    let join = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.map(|h| h.join().unwrap()).unwrap_or_default()
    };
    Waited::Exited(Output {
        status,
        stdout: join(out),
        stderr: join(err),
    })
}

/// Stops a child: SIGTERM first (a wizard run ends its command groups itself), then SIGKILL.
fn stop(mut child: Child) {
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

/// Copies the sample app's sources, leaving out what a local install or build left there.
fn copy_sample_app(from: &Path, to: &Path) {
    const LEFT_OUT: [&str; 5] = [
        "node_modules",
        "build",
        ".react-router",
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

fn git(dir: &Path, args: &[&str]) -> ExitStatus {
    Command::new("git")
        .args([
            "-c",
            "user.name=wizard e2e",
            "-c",
            "user.email=e2e@example.com",
        ])
        .args([
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

fn read(app: &Path, rel: &str) -> String {
    std::fs::read_to_string(app.join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

/// Files under `root` whose bytes contain `needle`.
fn any_file_contains(root: &Path, needle: &str) -> bool {
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

#[test]
fn the_react_router_app_is_integrated_built_typechecked_and_sends_server_events_needs_npm_registry()
{
    let test = "the_react_router_app_is_integrated_built_typechecked_and_sends_server_events_needs_npm_registry";
    if !registry_reachable_for(test) {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let posthog = rt.block_on(FakePostHog::start());

    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    copy_sample_app(&sample_app(), &app);
    assert!(git(&app, &["init", "-q"]).success());
    assert!(git(&app, &["add", "-A"]).success());
    assert!(git(&app, &["commit", "-q", "-m", "The sample app"]).success());

    // 1. The run: scripted model, real tools, real npm install and build.
    let token = format!("phc_e2e_{}", uuid::Uuid::new_v4().simple());
    let started = Instant::now();
    let child = quiet(env!("CARGO_BIN_EXE_wizard"))
        .arg("integrate")
        .arg(&app)
        .args(["--provider", "replay", "--cassette", "react-router-app"])
        .args([
            "--replay-speed",
            "0",
            "--orchestrator",
            "--concurrency",
            "2",
        ])
        .args(["--yes", "--project-token", &token, "--host", &posthog.url()])
        .args(["--ui", "json", "--no-telemetry"])
        .env("WIZARD_LOG", "info")
        .spawn()
        .unwrap();
    let out = match wait_with_limit(child, HANG_GUARD) {
        Waited::Exited(out) => out,
        Waited::TimedOut(child) => {
            stop(child);
            panic!(
                "wizard integrate did not finish within {}s",
                HANG_GUARD.as_secs()
            );
        }
    };
    println!(
        "e2e react-router-app: wizard integrate with a real npm install and react-router build took {:.1}s",
        started.elapsed().as_secs_f64()
    );
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
    let queue: QueueFile = serde_json::from_str(&read(&app, ".posthog-wizard/queue.json")).unwrap();
    assert_eq!(queue.run.variant, Variant::Orchestrator);
    let outcome = queue.outcome.as_ref().expect("an outcome");
    assert_eq!(outcome.verdict, Verdict::Success, "{}", outcome.message);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(&token),
        "the token is on stdout"
    );
    assert!(!stderr.contains(&token), "the token is on stderr");

    // 2. What the run left: the SDKs locked and installed, the env file, the commands.
    let manifest: Value = serde_json::from_str(&read(&app, "package.json")).unwrap();
    let lock: Value = serde_json::from_str(&read(&app, "package-lock.json")).unwrap();
    for sdk in SDKS {
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
    let env: BTreeMap<String, String> = dotenvy::from_path_iter(app.join(ENV_FILE))
        .unwrap()
        .map(|item| item.unwrap())
        .collect();
    assert_eq!(env.get(TOKEN_KEY), Some(&token));
    assert_eq!(env.get(HOST_KEY), Some(&posthog.url()));
    assert!(
        git(&app, &["check-ignore", "-q", ENV_FILE]).success(),
        "git does not ignore {ENV_FILE}"
    );
    for command in ["npm install", "npm run build"] {
        let ok = format!("bash finished command={command} exit=0");
        assert!(
            log.contains(&ok),
            "wizard.log does not show `{command}` exiting 0:\n{log}"
        );
    }
    assert!(
        app.join("build/server/index.js").is_file(),
        "no server build"
    );
    assert!(
        any_file_contains(&app.join("build/client"), &token),
        "the client bundle does not carry the token from {ENV_FILE}"
    );
    assert!(
        !read(&app, "app/entry.client.tsx").contains(&token),
        "the token is in source"
    );

    // 3. The integration type-checks (React Router's route types included).
    let typecheck = quiet("npm")
        .args(["run", "typecheck"])
        .current_dir(&app)
        .spawn()
        .unwrap();
    match wait_with_limit(typecheck, TYPECHECK_LIMIT) {
        Waited::Exited(out) => assert!(
            out.status.success(),
            "npm run typecheck failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Waited::TimedOut(child) => {
            stop(child);
            panic!("npm run typecheck did not finish in time");
        }
    }

    // 4. The verify step: the built server sends its events to the run's host.
    let port = free_port();
    let server = quiet(app.join("node_modules/.bin/react-router-serve"))
        .arg("build/server/index.js")
        .current_dir(&app)
        .env("PORT", port.to_string())
        .env("NODE_ENV", "production")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let result = rt.block_on(sign_in_and_create_a_project(&base));
    let events = rt.block_on(wait_for_events(
        &posthog,
        &["user_logged_in", "project_created"],
    ));
    stop(server);
    result.unwrap_or_else(|e| panic!("the built app did not serve the flow: {e}"));
    for name in ["user_logged_in", "project_created"] {
        let event = events
            .iter()
            .find(|e| e["event"] == name)
            .unwrap_or_else(|| panic!("{name} did not reach PostHog; got {events:?}"));
        assert_eq!(event["distinct_id"], USER_ID, "{name}: {event}");
    }
    let batch = posthog.batches().into_iter().next().expect("a batch");
    assert!(
        batch.decoded.contains(&token),
        "the batch is not sent with the run's token"
    );
}

/// Signs in through the login form and creates a project through the projects form.
async fn sign_in_and_create_a_project(base: &str) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + SERVE_LIMIT;
    while client.get(base).send().await.is_err() {
        if Instant::now() > deadline {
            return Err("the server did not start".to_string());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let form = "application/x-www-form-urlencoded";
    let login = client
        .post(format!("{base}/login"))
        .header("content-type", form)
        .body(USER_FORM)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if login.status() != 302 {
        return Err(format!("login answered {}", login.status()));
    }
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("login set no session cookie")?
        .to_string();
    let created = client
        .post(format!("{base}/projects"))
        .header("content-type", form)
        .header("cookie", cookie)
        .body("name=Difference+Engine")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !created.status().is_success() {
        return Err(format!("creating a project answered {}", created.status()));
    }
    Ok(())
}

/// The fake's events once every one of `names` has arrived (or the limit passed).
async fn wait_for_events(posthog: &FakePostHog, names: &[&str]) -> Vec<Value> {
    let deadline = Instant::now() + SERVE_LIMIT;
    loop {
        let events = posthog.events();
        let all = names
            .iter()
            .all(|n| events.iter().any(|e| e["event"] == *n));
        if all || Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
