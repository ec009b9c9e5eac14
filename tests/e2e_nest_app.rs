//! The real end to end for NestJS: the sample app (`examples/nest-app/`, Nest 11 on the
//! Express platform), copied into a fresh git repository, integrated by the real
//! `wizard integrate` binary with its cassette as the model. The cassette's `build` step
//! asks the Bash tool for `npm install` and the runtime runs the build (`nest build`) as
//! that step's check; here both run, so the integration must compile. Then the built app
//! is started (`node --env-file=.env dist/main.js`, its own process group), a user signs
//! up and in (bearer tokens, an auth guard), opens and closes an issue and hits the
//! failing route, and the planned server events and the exception `PostHogInterceptor`
//! captures must reach a fake PostHog (the run's `--host`) under that user's id, with
//! the run's token. After the server is stopped no process may be left in the app's folder.
//!
//! It needs the npm registry: without it, a loud SKIPPED banner (a failure with
//! `WIZARD_E2E_REQUIRE_NPM=1`). It shares the npm cache and the `npm-build` nextest
//! group with the other registry tests. It prints its wall time.

mod npm_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Instant;

use npm_support::drive::{client, expect_status, wait_until_serving};
use npm_support::{
    assert_check_passed_once, assert_commands_ran, assert_env_file, assert_events_reached,
    assert_run_succeeded, free_port, integrate_with_cassette, processes_in, quiet,
    registry_reachable_for, sample_app_repo, spawn_in_group, stop_group, wait_for_events,
};
use serde_json::{json, Value};
use wizard_fakes::posthog::FakePostHog;

/// The env file the init task writes, and its keys.
const ENV_FILE: &str = ".env";
const TOKEN_KEY: &str = "POSTHOG_PROJECT_TOKEN";
const HOST_KEY: &str = "POSTHOG_HOST";
/// The planned server events the flow below causes, and the captured exception.
const EVENTS: [&str; 5] = [
    "user_signed_up",
    "user_logged_in",
    "issue_opened",
    "issue_closed",
    "$exception",
];

fn sample_app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/nest-app")
}

fn read(app: &Path, rel: &str) -> String {
    std::fs::read_to_string(app.join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

#[test]
fn the_nest_app_is_integrated_built_and_sends_server_events_needs_npm_registry() {
    let test = "the_nest_app_is_integrated_built_and_sends_server_events_needs_npm_registry";
    if !registry_reachable_for(test) {
        return;
    }
    let whole = Instant::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let posthog = rt.block_on(FakePostHog::start());

    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    sample_app_repo(&sample_app(), &app);

    // 1. The run: scripted model, real tools, a real npm install and nest build.
    let token = format!("phc_e2e_{}", uuid::Uuid::new_v4().simple());
    let out = integrate_with_cassette("e2e nest-app", &app, "nest-app", &token, &posthog.url());
    let (queue, log) = assert_run_succeeded(&app, &out, &token);
    assert_eq!(queue.run.framework.as_deref(), Some("NestJS"));

    // 2. What the run left: the SDK declared, locked and installed, the build, the env file.
    let manifest: Value = serde_json::from_str(&read(&app, "package.json")).unwrap();
    let lock: Value = serde_json::from_str(&read(&app, "package-lock.json")).unwrap();
    let declared = manifest["dependencies"]["posthog-node"].as_str();
    assert!(
        declared.is_some(),
        "package.json does not declare posthog-node"
    );
    assert_eq!(
        lock["packages"][""]["dependencies"]["posthog-node"].as_str(),
        declared
    );
    assert!(
        app.join("node_modules/posthog-node/package.json").is_file(),
        "posthog-node not installed"
    );
    assert_commands_ran(&log, &["npm install"]);
    assert_check_passed_once(&log, "npm run build --if-present");
    assert!(
        read(&app, "dist/main.js").contains("posthog-node/nestjs"),
        "nest build did not emit the interceptor's registration"
    );
    assert_env_file(
        &app,
        ENV_FILE,
        (TOKEN_KEY, HOST_KEY),
        &token,
        &posthog.url(),
    );
    assert!(
        !read(&app, "src/lib/posthog.ts").contains(&token),
        "the token is in source"
    );

    // 3. The verify step: the built app sends its events to the run's host.
    let port = free_port();
    let server = serve(&app, port);
    let base = format!("http://127.0.0.1:{port}");
    let result = rt.block_on(sign_up_and_work_an_issue(&base));
    let events = rt.block_on(wait_for_events(&posthog, &EVENTS));
    stop_group(server);
    let user_id = result.unwrap_or_else(|e| panic!("the app did not serve the flow: {e}"));
    assert_events_reached(&posthog, &events, &EVENTS, &user_id, &token);
    let left = processes_in(&app);
    assert!(left.is_empty(), "processes left in the app: {left:?}");
    println!(
        "e2e nest-app: the whole test took {:.1}s",
        whole.elapsed().as_secs_f64()
    );
}

/// Starts the built app as the report says, with the env file the run wrote.
fn serve(app: &Path, port: u16) -> Child {
    let mut cmd = quiet("node");
    cmd.args(["--env-file=.env", "dist/main.js"])
        .env("PORT", port.to_string())
        .current_dir(app)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    spawn_in_group(cmd)
}

/// Signs up and in, opens and closes an issue and calls the failing route; answers the
/// new user's id.
async fn sign_up_and_work_an_issue(base: &str) -> Result<String, String> {
    let client = client();
    wait_until_serving(&client, &format!("{base}/")).await?;
    let post = |path: &str, body: Value, token: Option<&str>| {
        let mut request = client.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let account = json!({"email": "ada@example.com", "password": "lovelace"});
    let signed_up = post("/auth/signup", account.clone(), None)
        .await
        .map_err(|e| e.to_string())?;
    expect_status("signup", &signed_up, 201)?;
    let signed_up: Value = signed_up.json().await.map_err(|e| e.to_string())?;
    let user_id = signed_up["user"]["id"]
        .as_str()
        .ok_or(format!("signup answered no user id: {signed_up}"))?
        .to_string();
    let login = post("/auth/login", account, None)
        .await
        .map_err(|e| e.to_string())?;
    expect_status("login", &login, 200)?;
    let login: Value = login.json().await.map_err(|e| e.to_string())?;
    let token = login["token"]
        .as_str()
        .ok_or(format!("login answered no token: {login}"))?;
    let opened = post("/issues", json!({"title": "The export fails"}), Some(token))
        .await
        .map_err(|e| e.to_string())?;
    expect_status("opening an issue", &opened, 201)?;
    let issue: Value = opened.json().await.map_err(|e| e.to_string())?;
    let issue_id = issue["id"]
        .as_str()
        .ok_or(format!("no issue id: {issue}"))?;
    let closed = post(&format!("/issues/{issue_id}/close"), json!({}), Some(token))
        .await
        .map_err(|e| e.to_string())?;
    expect_status("closing an issue", &closed, 200)?;
    let failed = client
        .get(format!("{base}/issues/export"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    expect_status("the failing route", &failed, 500)?;
    Ok(user_id)
}
