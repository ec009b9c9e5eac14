//! The one shape of the Python sample apps' end-to-end tests (Flask, FastAPI, Django): the
//! app copied into a fresh git repository and integrated by the real binary with its
//! cassette, whose build step makes a real venv, installs with pip and compiles and imports
//! the app; then the server started in its own process group, driven through its routes,
//! and the planned events checked at a fake PostHog. Each test gives what differs: the
//! app, its build commands, its events, how it is served and the flow that drives it.

use std::future::Future;
use std::path::Path;
use std::process::Child;
use std::time::Instant;

use wizard_fakes::posthog::FakePostHog;

use super::{
    assert_commands_ran, assert_env_file, assert_events_reached, assert_python_sdk_installed,
    assert_run_succeeded, free_port, integrate_with_cassette, pip_index_reachable_for,
    processes_in, read, sample_app, sample_app_repo, stop_group, wait_for_events,
};

/// The env file the init task writes, and its keys.
const ENV_FILE: &str = ".env";
const TOKEN_KEY: &str = "POSTHOG_PROJECT_TOKEN";
const HOST_KEY: &str = "POSTHOG_HOST";

/// What one Python sample app's test needs to know.
pub struct PythonServerApp {
    /// The folder under `examples/` and the cassette's name.
    pub name: &'static str,
    /// The commands the cassette's build step runs, each of which must exit 0.
    pub build_commands: &'static [&'static str],
    /// The planned server events the flow causes.
    pub events: &'static [&'static str],
    /// The id the flow's signed-in user has in the app.
    pub user_id: &'static str,
    /// The module that creates the PostHog client, which must not hold the token.
    pub client_source: &'static str,
}

/// Runs the whole test for `spec`: `serve` starts the integrated app on a port in its own
/// process group, and `drive` gets the server's base URL and walks the flow.
pub fn run<S, F, Fut>(test: &str, spec: &PythonServerApp, serve: S, drive: F)
where
    S: FnOnce(&Path, u16) -> Child,
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    if !pip_index_reachable_for(test, "posthog") {
        return;
    }
    let whole = Instant::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let posthog = rt.block_on(FakePostHog::start());

    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    sample_app_repo(&sample_app(spec.name), &app);

    // 1. The run: scripted model, real tools, a real venv and pip install.
    let token = format!("phc_e2e_{}", uuid::Uuid::new_v4().simple());
    let label = format!("e2e {}", spec.name);
    let out = integrate_with_cassette(&label, &app, spec.name, &token, &posthog.url());
    let (queue, log) = assert_run_succeeded(&app, &out, &token);

    // 2. What the run left: the SDK declared and installed, the env file, the commands.
    assert!(
        read(&app, "requirements.txt")
            .lines()
            .any(|l| l.trim().starts_with("posthog")),
        "requirements.txt does not declare posthog"
    );
    assert_commands_ran(&log, spec.build_commands);
    assert_python_sdk_installed(&app);
    // The npm build check does not apply to a Python app: recorded as not run, not failed.
    let build = queue.tasks.iter().find(|t| t.task_type == "build").unwrap();
    let checks = &build.handoff.as_ref().expect("build's handoff").checks;
    assert!(
        !checks.is_empty() && checks.iter().all(|c| c.not_run.is_some()),
        "build's npm check should be recorded as not run: {checks:?}"
    );
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
    let report = read(&app, "posthog-setup-report.md");
    for event in spec.events {
        assert!(report.contains(event), "the report does not list {event}");
    }

    // 3. The verify step: the served app sends its events to the run's host.
    let port = free_port();
    let server = serve(&app, port);
    let result = rt.block_on(drive(format!("http://127.0.0.1:{port}")));
    let events = rt.block_on(wait_for_events(&posthog, spec.events));
    stop_group(server);
    result.unwrap_or_else(|e| panic!("the app did not serve the flow: {e}"));
    assert_events_reached(&posthog, &events, spec.events, spec.user_id, &token);
    let left = processes_in(&app);
    assert!(left.is_empty(), "processes left in the app: {left:?}");
    println!(
        "{label}: the whole test took {:.1}s",
        whole.elapsed().as_secs_f64()
    );
}
