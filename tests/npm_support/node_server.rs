//! The one shape of the Node server sample apps' end-to-end tests (Fastify, Hono, Koa,
//! NestJS, `node:http`): the app copied into a fresh git repository and integrated by the real
//! binary with its cassette, a real `npm install` (and build where the app has one), then
//! the server started with the env file the run wrote, driven through its routes, and the
//! planned events checked at a fake PostHog. Each test gives what differs: the app, its
//! framework label, its events and the flow that drives it.

use std::future::Future;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Instant;

use wizard_fakes::posthog::FakePostHog;

use super::{
    assert_check_passed_once, assert_commands_ran, assert_env_file, assert_events_reached,
    assert_npm_sdks_installed, assert_run_succeeded, free_port, integrate_with_cassette,
    processes_in, quiet, read, registry_reachable_for, sample_app, sample_app_repo, spawn_in_group,
    stop_group, wait_for_events,
};

/// The env file the init task writes, and its keys.
const ENV_FILE: &str = ".env";
const TOKEN_KEY: &str = "POSTHOG_PROJECT_TOKEN";
const HOST_KEY: &str = "POSTHOG_HOST";

/// What one Node server sample app's test needs to know.
pub struct NodeServerApp {
    /// The folder under `examples/` and the cassette's name.
    pub name: &'static str,
    /// The framework the run must detect.
    pub framework: &'static str,
    /// The planned server events the flow causes, and the captured exception.
    pub events: &'static [&'static str],
    /// The shared client module, which must not hold the token.
    pub client_source: &'static str,
    /// For an app with a build: a file the build check emits, a text it must contain, and
    /// what it means when it does not.
    pub built: Option<(&'static str, &'static str, &'static str)>,
    /// What `node --env-file=.env` runs.
    pub entry: &'static str,
}

/// Runs the whole test for `spec`; `drive` gets the server's base URL and answers the
/// signed-up user's id.
pub fn run<F, Fut>(test: &str, spec: &NodeServerApp, drive: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<String, String>>,
{
    if !registry_reachable_for(test) {
        return;
    }
    let whole = Instant::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let posthog = rt.block_on(FakePostHog::start());

    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    sample_app_repo(&sample_app(spec.name), &app);

    // 1. The run: scripted model, real tools, a real npm install (and build).
    let token = format!("phc_e2e_{}", uuid::Uuid::new_v4().simple());
    let label = format!("e2e {}", spec.name);
    let out = integrate_with_cassette(&label, &app, spec.name, &token, &posthog.url());
    let (queue, log) = assert_run_succeeded(&app, &out, &token);
    assert_eq!(queue.run.framework.as_deref(), Some(spec.framework));

    // 2. What the run left: the SDK declared, locked and installed, the build, the env file.
    assert_npm_sdks_installed(&app, &["posthog-node"]);
    assert_commands_ran(&log, &["npm install"]);
    if let Some((file, text, message)) = spec.built {
        assert_check_passed_once(&log, "npm run build --if-present");
        assert!(read(&app, file).contains(text), "{message}");
    }
    assert_env_file(
        &app,
        ENV_FILE,
        (TOKEN_KEY, HOST_KEY),
        &token,
        &posthog.url(),
    );
    assert!(
        !read(&app, spec.client_source).contains(&token),
        "the token is in source"
    );

    // 3. The verify step: the server sends its events to the run's host.
    let port = free_port();
    let server = serve(&app, spec.entry, port);
    let base = format!("http://127.0.0.1:{port}");
    let result = rt.block_on(drive(base));
    let events = rt.block_on(wait_for_events(&posthog, spec.events));
    stop_group(server);
    let user_id = result.unwrap_or_else(|e| panic!("the server did not serve the flow: {e}"));
    assert_events_reached(&posthog, &events, spec.events, &user_id, &token);
    let left = processes_in(&app);
    assert!(left.is_empty(), "processes left in the app: {left:?}");
    println!(
        "{label}: the whole test took {:.1}s",
        whole.elapsed().as_secs_f64()
    );
}

/// Starts the server as the report says, with the env file the run wrote.
fn serve(app: &Path, entry: &str, port: u16) -> Child {
    let mut cmd = quiet("node");
    cmd.args(["--env-file=.env", entry])
        .env("PORT", port.to_string())
        .current_dir(app)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    spawn_in_group(cmd)
}
