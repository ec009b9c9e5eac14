//! The real end to end for React Router 7: the sample app (`examples/react-router-app/`),
//! copied into a fresh git repository, integrated by the real `wizard integrate` binary
//! with its cassette as the model, then really installed and built (the cassette's
//! `build` step asks the Bash tool for `npm install`, and the runtime runs the build as
//! that step's check; here both run), type-checked (`npm run typecheck`: React Router's typegen, then `tsc`), and
//! served: the built server is started, a user signs in and creates a project through
//! the app's own forms, and the server-side events must reach a fake PostHog (the run's
//! `--host`) under the signed-in user's id.
//!
//! Like `tests/e2e_next_app.rs` it needs the npm registry: without it, a loud SKIPPED
//! banner (a failure with `WIZARD_E2E_REQUIRE_NPM=1`). It shares that test's npm cache
//! and its nextest group, so npm tests run one at a time. It prints its wall time.

mod npm_support;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use npm_support::{
    any_file_contains, assert_npm_sdks_installed, free_port, git, quiet, read,
    registry_reachable_for, sample_app, sample_app_repo, stop, wait_with_limit, Waited,
};
use serde_json::Value;
use wizard::messages::{QueueFile, Variant, Verdict};
use wizard_fakes::posthog::FakePostHog;

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
    sample_app_repo(&sample_app("react-router-app"), &app);

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
    assert_npm_sdks_installed(&app, &SDKS);
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
    let ok = "bash finished command=npm install exit=0";
    assert!(
        log.contains(ok),
        "wizard.log does not show `npm install` exiting 0:\n{log}"
    );
    // The build is the build step's check, run once by the runtime.
    let builds: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("check finished") && l.contains("npm run build --if-present"))
        .collect();
    assert!(
        builds.len() == 1 && builds[0].contains("exit=0"),
        "the build check did not run once and pass: {builds:#?}\n{log}"
    );
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
