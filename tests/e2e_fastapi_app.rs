//! The real end to end for FastAPI: the sample app (`examples/fastapi-app/`), copied
//! into a fresh git repository, integrated by the real `wizard integrate` binary with
//! its cassette as the model. The cassette's `build` step asks the Bash tool for
//! `python3 -m venv .venv`, a `.venv` pip install of `requirements.txt`, `compileall`
//! and an import of the app, and here they run. Then the app is served with uvicorn
//! (in its own process group), a user signs in, adds a note through the form and pins
//! it through the JSON API, and the planned server events must reach a fake PostHog
//! (the run's `--host`) under the signed-in user's id, with the run's token. After the
//! server is stopped no process may be left in the app's folder.
//!
//! It needs the Python package index: without it, a loud SKIPPED banner (a failure
//! with `WIZARD_E2E_REQUIRE_NPM=1`, the switch every registry e2e test shares). pip's
//! cache is shared with later runs under Cargo's target tmp dir, and the test runs in
//! the `npm-build` nextest group, one registry test at a time. It prints its wall time.

mod npm_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use npm_support::{
    assert_commands_ran, assert_env_file, assert_events_reached, assert_python_sdk_installed,
    assert_run_succeeded, free_port, integrate_with_cassette, pip_index_reachable_for,
    processes_in, quiet, sample_app_repo, spawn_in_group, stop_group, wait_for_events, SERVE_LIMIT,
};
use serde_json::Value;
use wizard_fakes::posthog::FakePostHog;

/// The env file the init task writes, and its keys.
const ENV_FILE: &str = ".env";
const TOKEN_KEY: &str = "POSTHOG_PROJECT_TOKEN";
const HOST_KEY: &str = "POSTHOG_HOST";
/// The commands the cassette's build step runs, each of which must exit 0.
const BUILD_COMMANDS: [&str; 4] = [
    "python3 -m venv .venv",
    ".venv/bin/pip install -r requirements.txt",
    ".venv/bin/python -m compileall -q main.py store.py",
    ".venv/bin/python -c \"import main\"",
];
/// The planned server events the flow below causes.
const EVENTS: [&str; 3] = ["user_logged_in", "note_created", "note_pinned"];
/// The sample app's seeded user (`store.py`).
const USER_ID: &str = "usr_1";
const USER_FORM: &str = "email=ada%40example.com&password=lovelace";

fn sample_app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fastapi-app")
}

fn read(app: &Path, rel: &str) -> String {
    std::fs::read_to_string(app.join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

#[test]
fn the_fastapi_app_is_integrated_installed_and_sends_server_events_needs_pip_index() {
    let test = "the_fastapi_app_is_integrated_installed_and_sends_server_events_needs_pip_index";
    if !pip_index_reachable_for(test, "posthog") {
        return;
    }
    let whole = Instant::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let posthog = rt.block_on(FakePostHog::start());

    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    sample_app_repo(&sample_app(), &app);

    // 1. The run: scripted model, real tools, a real venv and pip install.
    let token = format!("phc_e2e_{}", uuid::Uuid::new_v4().simple());
    let out = integrate_with_cassette(
        "e2e fastapi-app",
        &app,
        "fastapi-app",
        &token,
        &posthog.url(),
    );
    let (queue, log) = assert_run_succeeded(&app, &out, &token);

    // 2. What the run left: the SDK declared and installed, the env file, the commands.
    assert!(
        read(&app, "requirements.txt")
            .lines()
            .any(|l| l.trim().starts_with("posthog")),
        "requirements.txt does not declare posthog"
    );
    assert_commands_ran(&log, &BUILD_COMMANDS);
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
    let main = read(&app, "main.py");
    assert!(!main.contains(&token), "the token is in source");
    let report = read(&app, "posthog-setup-report.md");
    for event in EVENTS {
        assert!(report.contains(event), "the report does not list {event}");
    }

    // 3. The verify step: the served app sends its events to the run's host.
    let port = free_port();
    let server = serve(&app, port);
    let base = format!("http://127.0.0.1:{port}");
    let result = rt.block_on(sign_in_add_and_pin_a_note(&base));
    let events = rt.block_on(wait_for_events(&posthog, &EVENTS));
    stop_group(server);
    result.unwrap_or_else(|e| panic!("the app did not serve the flow: {e}"));
    assert_events_reached(&posthog, &events, &EVENTS, USER_ID, &token);
    let left = processes_in(&app);
    assert!(left.is_empty(), "processes left in the app: {left:?}");
    println!(
        "e2e fastapi-app: the whole test took {:.1}s",
        whole.elapsed().as_secs_f64()
    );
}

/// Starts uvicorn on `port` in its own process group.
fn serve(app: &Path, port: u16) -> Child {
    let mut cmd = quiet(app.join(".venv/bin/uvicorn"));
    cmd.args(["main:app", "--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .current_dir(app)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    spawn_in_group(cmd)
}

/// Signs in through the login form, adds a note through the notes form, and pins it
/// through the JSON API.
async fn sign_in_add_and_pin_a_note(base: &str) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + SERVE_LIMIT;
    while client
        .get(format!("{base}/api/health"))
        .send()
        .await
        .is_err()
    {
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
        .post(format!("{base}/notes"))
        .header("content-type", form)
        .header("cookie", &cookie)
        .body("title=Difference+Engine&body=Gears+and+columns")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if created.status() != 303 {
        return Err(format!("adding a note answered {}", created.status()));
    }
    let notes: Value = client
        .get(format!("{base}/api/notes"))
        .header("cookie", &cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let id = notes[0]["id"]
        .as_str()
        .ok_or(format!("no note in /api/notes: {notes}"))?;
    let pinned = client
        .post(format!("{base}/api/notes/{id}/pin"))
        .header("cookie", &cookie)
        .json(&serde_json::json!({"pinned": true}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !pinned.status().is_success() {
        return Err(format!("pinning the note answered {}", pinned.status()));
    }
    Ok(())
}
