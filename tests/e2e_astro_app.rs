//! The real end to end for Astro: the sample app (`examples/astro-app/`, `output: 'server'`
//! with `@astrojs/node`), copied into a fresh git repository, integrated by the real
//! `wizard integrate` binary with its cassette as the model (the cassette's `build` step asks
//! the Bash tool for `npm install`, and the runtime runs the build script, `astro check &&
//! astro build`, as that step's check; here both run). Then the built server is started
//! (`node dist/server/entry.mjs`, its own process group), a user signs in through the login
//! page's form and subscribes to the newsletter through the JSON endpoint, and the planned
//! server events must reach a fake PostHog (the run's `--host`) under the signed-in user's
//! id, with the run's token; the page carries the user's id for the browser's identify and
//! the client bundle carries the token. Before that, the run's own verify step started the
//! same build with the content's start command and subscribed once through the endpoint:
//! its request answered and its `newsletter_subscribed` reached the fake PostHog (the
//! verification can only say "sent": the host is inlined at build time, so no relay can
//! stand in front of it, and there is no personal key to read events back). After the
//! server is stopped no process may be left in the app's folder.
//!
//! It needs the npm registry: without it, a loud SKIPPED banner (a failure with
//! `WIZARD_E2E_REQUIRE_NPM=1`). It shares the npm cache and the `npm-build` nextest group
//! with the other registry tests. It prints its wall time.

mod npm_support;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use npm_support::{
    any_file_contains, assert_commands_ran, assert_env_file, assert_events_reached,
    assert_npm_sdks_installed, assert_run_succeeded, free_port, integrate_with_cassette,
    processes_in, quiet, registry_reachable_for, sample_app, sample_app_repo, spawn_in_group,
    stop_group, verification_of, wait_for_events_after, SERVE_LIMIT,
};
use serde_json::json;
use wizard::messages::EventOutcome;
use wizard_fakes::posthog::FakePostHog;

/// The env file the init task writes, and its keys.
const ENV_FILE: &str = ".env";
const TOKEN_KEY: &str = "PUBLIC_POSTHOG_PROJECT_TOKEN";
const HOST_KEY: &str = "PUBLIC_POSTHOG_HOST";
/// The SDKs the integration must declare and install.
const SDKS: [&str; 2] = ["posthog-js", "posthog-node"];
/// The planned server events the flow below causes.
const EVENTS: [&str; 2] = ["user_logged_in", "newsletter_subscribed"];
/// The sample app's seeded user (`src/lib/db.ts`).
const USER_ID: &str = "usr_1";
const USER_FORM: &str = "email=ada%40example.com&password=lovelace";

#[test]
fn the_astro_app_is_integrated_checked_built_and_sends_server_events_needs_npm_registry() {
    let test =
        "the_astro_app_is_integrated_checked_built_and_sends_server_events_needs_npm_registry";
    if !registry_reachable_for(test) {
        return;
    }
    let whole = Instant::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let posthog = rt.block_on(FakePostHog::start());

    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    sample_app_repo(&sample_app("astro-app"), &app);

    // 1. The run: scripted model, real tools, a real npm install, astro check and build.
    let token = format!("phc_e2e_{}", uuid::Uuid::new_v4().simple());
    let out = integrate_with_cassette("e2e astro-app", &app, "astro-app", &token, &posthog.url());
    let (queue, log) = assert_run_succeeded(&app, &out, &token);
    assert_eq!(queue.run.framework.as_deref(), Some("Astro"));

    // 2. What the run left: the SDKs locked and installed, the env file, one build.
    assert_npm_sdks_installed(&app, &SDKS);
    assert_commands_ran(&log, &["npm install"]);
    // The build script is `astro check && astro build`: one check, Astro's own included.
    let builds: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("check finished") && l.contains("npm run build --if-present"))
        .collect();
    assert!(
        builds.len() == 1 && builds[0].contains("exit=0"),
        "the build check did not run once and pass: {builds:#?}\n{log}"
    );
    assert!(
        app.join("dist/server/entry.mjs").is_file(),
        "no @astrojs/node server build"
    );
    // Astro inlines PUBLIC_ variables at build time, into the pages' scripts.
    assert!(
        any_file_contains(&app.join("dist/client"), &token),
        "the client bundle does not carry the token from {ENV_FILE}"
    );
    assert_env_file(
        &app,
        ENV_FILE,
        (TOKEN_KEY, HOST_KEY),
        &token,
        &posthog.url(),
    );
    assert!(
        !any_file_contains(&app.join("src"), &token),
        "the token is in source"
    );

    // 3. The run's verify step started the build (`node dist/server/entry.mjs`) and
    // subscribed once; the event went straight to the host the build inlined.
    let v = verification_of(&queue);
    let status = |method: &str, path: &str| {
        v.requests
            .iter()
            .find(|r| r.method == method && r.path == path)
            .unwrap_or_else(|| panic!("the verify agent did not {method} {path}: {v:?}"))
            .status
    };
    assert_eq!(status("GET", "/"), Some(200), "{v:?}");
    assert_eq!(status("POST", "/api/subscribe"), Some(201), "{v:?}");
    let subscribed = v
        .events
        .iter()
        .find(|e| e.event == "newsletter_subscribed")
        .expect("newsletter_subscribed is planned");
    assert_eq!(subscribed.outcome, EventOutcome::Sent, "{v:?}");
    let during_run = posthog.events();
    assert!(
        during_run
            .iter()
            .any(|e| e["event"] == "newsletter_subscribed"),
        "the verify step's subscription did not reach PostHog; got {during_run:?}"
    );

    // 4. The built server, started by the test, sends its events to the run's host.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = serve(&app, port);
    let result = rt.block_on(sign_in_and_subscribe(&base));
    let events = rt.block_on(wait_for_events_after(&posthog, during_run.len(), &EVENTS));
    stop_group(server);
    result.unwrap_or_else(|e| panic!("the built site did not serve the flow: {e}"));
    assert_events_reached(&posthog, &events, &EVENTS, USER_ID, &token);
    let left = processes_in(&app);
    assert!(left.is_empty(), "processes left in the app: {left:?}");
    println!(
        "e2e astro-app: the whole test took {:.1}s",
        whole.elapsed().as_secs_f64()
    );
}

/// Starts the standalone server the Node adapter built.
fn serve(app: &Path, port: u16) -> Child {
    let mut cmd = quiet("node");
    cmd.arg("dist/server/entry.mjs")
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .current_dir(app)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    spawn_in_group(cmd)
}

/// Signs in through the login page's form, checks that the account page hands the
/// browser the user's id, and subscribes to the newsletter through the endpoint.
async fn sign_in_and_subscribe(base: &str) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + SERVE_LIMIT;
    while client.get(format!("{base}/")).send().await.is_err() {
        if Instant::now() > deadline {
            return Err("the server did not start".to_string());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let login = client
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", base)
        .body(USER_FORM)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if login.status() != 303 {
        return Err(format!("login answered {}", login.status()));
    }
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("login set no session cookie")?
        .to_string();
    let account = client
        .get(format!("{base}/account"))
        .header("cookie", &cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    if !account.contains(&format!("data-id=\"{USER_ID}\"")) {
        return Err(format!(
            "the account page does not hand the browser the user's id:\n{account}"
        ));
    }
    let subscribed = client
        .post(format!("{base}/api/subscribe"))
        .header("origin", base)
        .header("cookie", &cookie)
        .json(&json!({"email": "ada@example.com"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if subscribed.status() != 201 {
        return Err(format!("subscribing answered {}", subscribed.status()));
    }
    Ok(())
}
