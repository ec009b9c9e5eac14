//! The real end to end for Nuxt: the sample app (`examples/nuxt-app/`, Nuxt 4),
//! copied into a fresh git repository, integrated by the real `wizard integrate`
//! binary with its cassette as the model. The cassette's `build` step asks the Bash
//! tool for `npm install --ignore-scripts` (build-and-verify: `@posthog/cli`'s
//! postinstall fetches a binary from GitHub), and the runtime runs `nuxt build` as
//! that step's check: here both run, with `@posthog/nuxt` and `posthog-node` from the
//! registry. The verify step starts the built server (the content's start command)
//! and signs in through the login route.
//!
//! Then the test serves the built app itself (`node .output/server/index.mjs`, its own
//! process group, no `.env`: the module's runtime config carries what `nuxt build`
//! read), signs in, creates a note and calls the failing route, and the planned server
//! events must reach a fake PostHog (the run's `--host`) under the user's id with the
//! run's token, and the failure as an `$exception` from the module's Nitro hook. After
//! the server is stopped no process may be left in the app's folder.
//!
//! It needs the npm registry: without it, a loud SKIPPED banner (a failure with
//! `WIZARD_E2E_REQUIRE_NPM=1`). It shares the npm cache and the `npm-build` nextest
//! group with the other registry tests. It prints its wall time.

mod npm_support;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use npm_support::{
    assert_commands_ran, assert_env_file, assert_events_reached, assert_run_succeeded, free_port,
    integrate_with_cassette, processes_in, quiet, read, registry_reachable_for, sample_app,
    sample_app_repo, spawn_in_group, stop_group, wait_for_events, SERVE_LIMIT,
};
use serde_json::{json, Value};
use wizard_fakes::posthog::FakePostHog;

/// The env file the init task writes, and its keys.
const ENV_FILE: &str = ".env";
const TOKEN_KEY: &str = "NUXT_PUBLIC_POSTHOG_PROJECT_TOKEN";
const HOST_KEY: &str = "NUXT_PUBLIC_POSTHOG_HOST";
/// The build agent's check (`content/agents/build.md`): the app's `nuxt build`.
const BUILD_CHECK: &str = "npm run build --if-present";
/// The SDKs the integration must declare and install.
const SDKS: [&str; 2] = ["@posthog/nuxt", "posthog-node"];
/// The planned server events the flow below causes.
const EVENTS: [&str; 2] = ["user_logged_in", "note_created"];
/// The sample app's seeded user (`server/utils/db.ts`).
const USER_ID: &str = "usr_1";
/// What `/api/report` throws.
const ROUTE_ERROR: &str = "the weekly report is not implemented";

#[test]
fn the_nuxt_app_is_integrated_built_and_sends_server_events_needs_npm_registry() {
    let test = "the_nuxt_app_is_integrated_built_and_sends_server_events_needs_npm_registry";
    if !registry_reachable_for(test) {
        return;
    }
    let whole = Instant::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let posthog = rt.block_on(FakePostHog::start());

    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    sample_app_repo(&sample_app("nuxt-app"), &app);

    // 1. The run: scripted model, real tools, a real npm install and nuxt build.
    let token = format!("phc_e2e_{}", uuid::Uuid::new_v4().simple());
    let out = integrate_with_cassette("e2e nuxt-app", &app, "nuxt-app", &token, &posthog.url());
    let (queue, log) = assert_run_succeeded(&app, &out, &token);
    assert_eq!(queue.run.framework.as_deref(), Some("Nuxt"));

    // 2. What the run left: the SDKs declared, locked and installed, the env file.
    let manifest: Value = serde_json::from_str(&read(&app, "package.json")).unwrap();
    let lock: Value = serde_json::from_str(&read(&app, "package-lock.json")).unwrap();
    for sdk in SDKS {
        let declared = manifest["dependencies"][sdk].as_str();
        assert!(declared.is_some(), "package.json does not declare {sdk}");
        assert_eq!(lock["packages"][""]["dependencies"][sdk].as_str(), declared);
        assert!(
            app.join("node_modules")
                .join(sdk)
                .join("package.json")
                .is_file(),
            "{sdk} not installed"
        );
    }
    assert_commands_ran(&log, &["npm install --ignore-scripts"]);
    assert_env_file(
        &app,
        ENV_FILE,
        (TOKEN_KEY, HOST_KEY),
        &token,
        &posthog.url(),
    );
    assert!(
        !read(&app, "nuxt.config.ts").contains(&token),
        "the token is in source"
    );

    // 3. `nuxt build` ran once, as the build step's check, and passed.
    let checks: Vec<_> = queue
        .tasks
        .iter()
        .filter_map(|t| t.handoff.as_ref())
        .flat_map(|h| h.checks.clone())
        .filter(|c| c.command == BUILD_CHECK)
        .collect();
    assert!(
        checks.len() == 1 && checks[0].passed(),
        "the build check did not pass once: {checks:?}"
    );

    // 4. The verify step started the built server: the login route and the proxy answered.
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
    let login = v
        .requests
        .iter()
        .find(|r| r.path == "/api/login")
        .expect("the verify agent signed in");
    assert_eq!(login.status, Some(200), "{v:?}");
    let ingest = v
        .requests
        .iter()
        .find(|r| r.path.starts_with("/ingest/"))
        .expect("the verify agent requested the /ingest proxy");
    assert!(
        ingest.status.is_some_and(|s| s != 404),
        "the /ingest proxy did not answer: {ingest:?}"
    );

    // 5. The built server, served as its README says, sends its events to the run's host.
    let port = free_port();
    let server = serve(&app, port);
    let base = format!("http://127.0.0.1:{port}");
    let flow = rt.block_on(sign_in_and_write_a_note(&base));
    let events = rt.block_on(wait_for_events(&posthog, &EVENTS));
    // Not just any `$exception`: where PostHog is out of reach the verify step's proxy
    // request failed and was captured too.
    let route_failed = rt.block_on(wait_for_exception(&posthog, ROUTE_ERROR));
    stop_group(server);
    flow.unwrap_or_else(|e| panic!("the server did not serve the flow: {e}"));
    assert_events_reached(&posthog, &events, &EVENTS, USER_ID, &token);
    assert!(
        route_failed,
        "the failing route's error did not reach PostHog as an $exception; got {:?}",
        posthog.events()
    );
    let left = processes_in(&app);
    assert!(left.is_empty(), "processes left in the app: {left:?}");
    println!(
        "e2e nuxt-app: the whole test took {:.1}s",
        whole.elapsed().as_secs_f64()
    );
}

/// Starts the built server as its README says (`npm start`'s command), without `.env`.
fn serve(app: &Path, port: u16) -> Child {
    let mut cmd = quiet("node");
    cmd.arg(".output/server/index.mjs")
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .current_dir(app)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    spawn_in_group(cmd)
}

/// True once an `$exception` naming `message` has arrived (false after [`SERVE_LIMIT`]).
async fn wait_for_exception(posthog: &FakePostHog, message: &str) -> bool {
    let deadline = Instant::now() + SERVE_LIMIT;
    loop {
        let arrived = posthog
            .events()
            .iter()
            .any(|e| e["event"] == "$exception" && e.to_string().contains(message));
        if arrived || Instant::now() > deadline {
            return arrived;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Signs in through the login route, creates a note with the session cookie and calls
/// the failing route.
async fn sign_in_and_write_a_note(base: &str) -> Result<(), String> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + SERVE_LIMIT;
    while client.get(format!("{base}/login")).send().await.is_err() {
        if Instant::now() > deadline {
            return Err("the server did not start".to_string());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let login = client
        .post(format!("{base}/api/login"))
        .json(&json!({"email": "ada@example.com", "password": "lovelace"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if login.status() != 200 {
        return Err(format!("login answered {}", login.status()));
    }
    let cookie = login
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("notes_session="))
        .and_then(|v| v.split(';').next())
        .ok_or("login set no session cookie")?
        .to_string();
    let created = client
        .post(format!("{base}/api/notes"))
        .header(reqwest::header::COOKIE, &cookie)
        .json(&json!({"title": "Standup", "body": "Ship the notes app"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if created.status() != 201 {
        return Err(format!("creating a note answered {}", created.status()));
    }
    let failed = client
        .get(format!("{base}/api/report"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if failed.status() != 500 {
        return Err(format!("the failing route answered {}", failed.status()));
    }
    Ok(())
}
