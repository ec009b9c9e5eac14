//! The real end to end for SvelteKit: the sample app (`examples/sveltekit-app/`, adapter-node),
//! copied into a fresh git repository, integrated by the real `wizard integrate` binary with
//! its cassette as the model (the cassette's `build` step asks the Bash tool for
//! `npm install`, and the runtime runs `vite build` as that step's check; here both run),
//! then checked with SvelteKit's own `npm run check` (`svelte-kit sync && svelte-check`) and
//! served: `node --env-file=.env build` in its own process group, a user signs in and
//! creates a project through the app's form actions, stars it through the JSON endpoint and
//! hits the failing report endpoint, and the planned server events and the exception that
//! `handleError` captures must reach a fake PostHog (the run's `--host`) under the signed-in
//! user's id, with the run's token. Before that, the run's own verify step started the same
//! build with the content's start command (`node --env-file=.env build`, the relay's host in
//! its env): its pages answered and the `/ingest` proxy forwarded, and it says that none of
//! the planned events left the app (they need a browser's signed-in form posts, which
//! `request_app` cannot make). After the server is stopped no process may be left in the
//! app's folder.
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
    processes_in, quiet, registry_reachable_for, run_ok, sample_app, sample_app_repo,
    spawn_in_group, stop_group, verification_of, wait_for_events_after, SERVE_LIMIT,
};
use serde_json::json;
use wizard::messages::EventOutcome;
use wizard_fakes::posthog::FakePostHog;

/// How long `npm run check` (svelte-check) may take.
const CHECK_LIMIT: Duration = Duration::from_secs(5 * 60);
/// The env file the init task writes, and its keys.
const ENV_FILE: &str = ".env";
const TOKEN_KEY: &str = "PUBLIC_POSTHOG_PROJECT_TOKEN";
const HOST_KEY: &str = "PUBLIC_POSTHOG_HOST";
/// The SDKs the integration must declare and install.
const SDKS: [&str; 2] = ["posthog-js", "posthog-node"];
/// The planned server events the flow below causes, and the captured exception.
const EVENTS: [&str; 4] = [
    "user_logged_in",
    "project_created",
    "project_starred",
    "$exception",
];
/// The sample app's seeded user and project (`src/lib/server/db.ts`).
const USER_ID: &str = "usr_1";
const USER_FORM: &str = "email=ada%40example.com&password=lovelace";
const PROJECT_ID: &str = "prj_1";
/// What a browser accepts for a page.
const HTML: &str = "text/html,application/xhtml+xml";

#[test]
fn the_sveltekit_app_is_integrated_built_checked_and_sends_server_events_needs_npm_registry() {
    let test =
        "the_sveltekit_app_is_integrated_built_checked_and_sends_server_events_needs_npm_registry";
    if !registry_reachable_for(test) {
        return;
    }
    let whole = Instant::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let posthog = rt.block_on(FakePostHog::start());

    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    sample_app_repo(&sample_app("sveltekit-app"), &app);

    // 1. The run: scripted model, real tools, a real npm install and build.
    let token = format!("phc_e2e_{}", uuid::Uuid::new_v4().simple());
    let out = integrate_with_cassette(
        "e2e sveltekit-app",
        &app,
        "sveltekit-app",
        &token,
        &posthog.url(),
    );
    let (queue, log) = assert_run_succeeded(&app, &out, &token);
    assert_eq!(queue.run.framework.as_deref(), Some("SvelteKit"));

    // 2. What the run left: the SDKs locked and installed, the env file, one build.
    assert_npm_sdks_installed(&app, &SDKS);
    assert_commands_ran(&log, &["npm install"]);
    let builds: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("check finished") && l.contains("npm run build --if-present"))
        .collect();
    assert!(
        builds.len() == 1 && builds[0].contains("exit=0"),
        "the build check did not run once and pass: {builds:#?}\n{log}"
    );
    assert!(
        app.join("build/index.js").is_file(),
        "no adapter-node build"
    );
    // `$env/dynamic/public` is read when the server starts: the build carries no token.
    assert!(
        !any_file_contains(&app.join("build"), &token),
        "the token was baked into the build"
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

    // 3. SvelteKit's own check: the generated route types and svelte-check.
    let mut check = quiet("npm");
    check.args(["run", "check"]).current_dir(&app);
    run_ok("npm run check", check, CHECK_LIMIT);

    // 4. The run's verify step started the build behind a recording relay: its pages and
    // the /ingest proxy answered, and it claims no planned event.
    let v = verification_of(&queue);
    assert!(
        v.method.starts_with("a recording relay in front of "),
        "{v:?}"
    );
    let home = v
        .requests
        .iter()
        .find(|r| r.path == "/")
        .expect("the verify agent requested /");
    assert_eq!(home.status, Some(200), "{v:?}");
    let ingest = v
        .requests
        .iter()
        .find(|r| r.path.starts_with("/ingest/"))
        .expect("the verify agent requested the /ingest proxy");
    assert!(
        ingest.status.is_some_and(|s| s != 404),
        "the /ingest proxy did not answer: {ingest:?}"
    );
    let outcomes: Vec<(&str, EventOutcome)> = v
        .events
        .iter()
        .map(|e| (e.event.as_str(), e.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("user_logged_in", EventOutcome::NotSeen),
            ("project_created", EventOutcome::NotSeen),
            ("project_starred", EventOutcome::NotSeen),
        ],
        "{v:?}"
    );
    // What the verify step caused (the proxy's failure, where PostHog is out of reach,
    // is an `$exception`) is not the flow's.
    let during_run = posthog.events().len();

    // 5. The built server, started by the test, sends its events to the run's host.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = serve(&app, port, &base);
    let result = rt.block_on(sign_in_create_star_and_fail(&base, &token));
    let events = rt.block_on(wait_for_events_after(&posthog, during_run, &EVENTS));
    stop_group(server);
    result.unwrap_or_else(|e| panic!("the built app did not serve the flow: {e}"));
    assert_events_reached(&posthog, &events, &EVENTS, USER_ID, &token);
    let left = processes_in(&app);
    assert!(left.is_empty(), "processes left in the app: {left:?}");
    println!(
        "e2e sveltekit-app: the whole test took {:.1}s",
        whole.elapsed().as_secs_f64()
    );
}

/// Starts the adapter-node build as the report says (`node --env-file=.env build`); ORIGIN
/// tells SvelteKit its own origin, which its CSRF check compares form posts with.
fn serve(app: &Path, port: u16, base: &str) -> Child {
    let mut cmd = quiet("node");
    cmd.args(["--env-file=.env", "build"])
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("ORIGIN", base)
        .current_dir(app)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    spawn_in_group(cmd)
}

/// Signs in through the login form action, creates a project through the create action,
/// stars the seeded project through the JSON endpoint and calls the failing report.
async fn sign_in_create_star_and_fail(base: &str, token: &str) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + SERVE_LIMIT;
    let home = loop {
        if let Ok(home) = client.get(format!("{base}/")).send().await {
            break home;
        }
        if Instant::now() > deadline {
            return Err("the server did not start".to_string());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    // The browser gets the token with the page, from the server's env.
    let page = home.text().await.map_err(|e| e.to_string())?;
    if !page.contains(token) {
        return Err(format!(
            "the page does not hand the browser the token:\n{page}"
        ));
    }
    let form = "application/x-www-form-urlencoded";
    // A browser's plain form post: SvelteKit answers it with the redirect itself, not
    // the JSON action result it gives `use:enhance`'s fetch.
    let login = client
        .post(format!("{base}/login"))
        .header("content-type", form)
        .header("accept", HTML)
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
    let created = client
        .post(format!("{base}/projects?/create"))
        .header("content-type", form)
        .header("accept", HTML)
        .header("origin", base)
        .header("cookie", &cookie)
        .body("name=Difference+Engine")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !created.status().is_success() {
        return Err(format!("creating a project answered {}", created.status()));
    }
    let starred = client
        .post(format!("{base}/api/projects/{PROJECT_ID}/star"))
        .header("origin", base)
        .header("cookie", &cookie)
        .json(&json!({"starred": true}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !starred.status().is_success() {
        return Err(format!("starring a project answered {}", starred.status()));
    }
    let failed = client
        .get(format!("{base}/api/report"))
        .header("cookie", &cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if failed.status() != 500 {
        return Err(format!("the failing report answered {}", failed.status()));
    }
    Ok(())
}
