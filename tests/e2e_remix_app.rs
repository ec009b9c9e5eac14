//! The real end to end for Remix 2 (Vite): the sample app (`examples/remix-app/`), copied
//! into a fresh git repository, integrated by the real `wizard integrate` binary with its
//! cassette as the model (the cassette's `build` step asks the Bash tool for
//! `npm install`, and the runtime runs `remix vite:build` as that step's check; here both
//! run), type-checked (`npm run typecheck`: `tsc`, which checks the init's
//! `import.meta.env` and the loader types the identify edit reads), and served: the built
//! server is started with `remix-serve` (the app's `start` script) in its own process
//! group, a user signs in and creates a project through the app's own forms, and the
//! server-side events must reach a fake PostHog (the run's `--host`, which Vite inlined
//! into the server build) under the signed-in user's id, with the run's token. After the
//! server is stopped no process may be left in the app's folder.
//!
//! It needs the npm registry: without it, a loud SKIPPED banner (a failure with
//! `WIZARD_E2E_REQUIRE_NPM=1`). It shares the npm cache and the `npm-build` nextest group
//! with the other registry tests. It prints its wall time.

mod npm_support;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use npm_support::drive::{client, expect_status, post_form, set_cookies, wait_until_serving};
use npm_support::{
    assert_check_passed_once, assert_commands_ran, assert_env_file, assert_events_reached,
    assert_npm_sdks_installed, assert_run_succeeded, free_port, integrate_with_cassette,
    processes_in, quiet, read, registry_reachable_for, run_ok, sample_app, sample_app_repo,
    spawn_in_group, stop_group, wait_for_events,
};
use wizard_fakes::posthog::FakePostHog;

/// How long `npm run typecheck` may take.
const TYPECHECK_LIMIT: Duration = Duration::from_secs(5 * 60);
/// The env file the init task writes, and its keys.
const ENV_FILE: &str = ".env";
const TOKEN_KEY: &str = "VITE_PUBLIC_POSTHOG_PROJECT_TOKEN";
const HOST_KEY: &str = "VITE_PUBLIC_POSTHOG_HOST";
/// The SDKs the integration must declare and install.
const SDKS: [&str; 3] = ["posthog-js", "@posthog/react", "posthog-node"];
/// The planned server events the flow below causes.
const EVENTS: [&str; 2] = ["user_logged_in", "project_created"];
/// The sample app's seeded user (`app/lib/db.server.ts`).
const USER_ID: &str = "usr_1";
const USER_FORM: &str = "email=ada%40example.com&password=lovelace";

#[test]
fn the_remix_app_is_integrated_built_typechecked_and_sends_server_events_needs_npm_registry() {
    let test =
        "the_remix_app_is_integrated_built_typechecked_and_sends_server_events_needs_npm_registry";
    if !registry_reachable_for(test) {
        return;
    }
    let whole = Instant::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let posthog = rt.block_on(FakePostHog::start());

    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    sample_app_repo(&sample_app("remix-app"), &app);

    // 1. The run: scripted model, real tools, a real npm install and build.
    let token = format!("phc_e2e_{}", uuid::Uuid::new_v4().simple());
    let out = integrate_with_cassette("e2e remix-app", &app, "remix-app", &token, &posthog.url());
    let (queue, log) = assert_run_succeeded(&app, &out, &token);
    assert_eq!(queue.run.framework.as_deref(), Some("Remix"));

    // 2. What the run left: the SDKs locked and installed, the env file, one build.
    assert_npm_sdks_installed(&app, &SDKS);
    assert_commands_ran(&log, &["npm install"]);
    assert_check_passed_once(&log, "npm run build --if-present");
    assert!(
        read(&app, "build/server/index.js").contains(&posthog.url()),
        "the server build does not carry the run's host from {ENV_FILE}"
    );
    assert_env_file(
        &app,
        ENV_FILE,
        (TOKEN_KEY, HOST_KEY),
        &token,
        &posthog.url(),
    );
    assert!(
        !read(&app, "app/entry.client.tsx").contains(&token),
        "the token is in source"
    );

    // 3. The integration type-checks.
    let mut typecheck = quiet("npm");
    typecheck.args(["run", "typecheck"]).current_dir(&app);
    run_ok("npm run typecheck", typecheck, TYPECHECK_LIMIT);

    // 4. The built server, started as the app's `start` script does, sends its events.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = serve(&app, port);
    let flow = rt.block_on(sign_in_and_create_a_project(&base));
    let events = rt.block_on(wait_for_events(&posthog, &EVENTS));
    stop_group(server);
    flow.unwrap_or_else(|e| panic!("the built app did not serve the flow: {e}"));
    assert_events_reached(&posthog, &events, &EVENTS, USER_ID, &token);
    let left = processes_in(&app);
    assert!(left.is_empty(), "processes left in the app: {left:?}");
    println!(
        "e2e remix-app: the whole test took {:.1}s",
        whole.elapsed().as_secs_f64()
    );
}

/// `remix-serve build/server/index.js` (the app's `start` script) on `port`.
fn serve(app: &Path, port: u16) -> Child {
    let mut cmd = quiet(app.join("node_modules/.bin/remix-serve"));
    cmd.arg("build/server/index.js")
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("NODE_ENV", "production")
        .current_dir(app)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    spawn_in_group(cmd)
}

/// Signs in through the login form and creates a project through the projects form,
/// as a browser without JavaScript posts them.
async fn sign_in_and_create_a_project(base: &str) -> Result<(), String> {
    let client = client();
    wait_until_serving(&client, base).await?;
    let login = post_form(&client, &format!("{base}/login"), USER_FORM, None).await?;
    expect_status("login", &login, 302)?;
    let cookie = set_cookies(&login).ok_or("login set no session cookie")?;
    let created = post_form(
        &client,
        &format!("{base}/projects"),
        "name=Difference+Engine",
        Some(&cookie),
    )
    .await?;
    expect_status("creating a project", &created, 200)
}
