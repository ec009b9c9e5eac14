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

use std::path::Path;
use std::process::{Child, Stdio};

use npm_support::drive::{client, wait_until_serving};
use npm_support::python_server::{self, PythonServerApp};
use npm_support::{quiet, spawn_in_group};
use serde_json::Value;

/// The commands the cassette's build step runs, each of which must exit 0.
const BUILD_COMMANDS: &[&str] = &[
    "python3 -m venv .venv",
    ".venv/bin/pip install -r requirements.txt",
    ".venv/bin/python -m compileall -q main.py store.py",
    ".venv/bin/python -c \"import main\"",
];
/// The planned server events the flow below causes.
const EVENTS: &[&str] = &["user_logged_in", "note_created", "note_pinned"];
/// The sample app's seeded user (`store.py`).
const USER_ID: &str = "usr_1";
const USER_FORM: &str = "email=ada%40example.com&password=lovelace";

const APP: PythonServerApp = PythonServerApp {
    name: "fastapi-app",
    build_commands: BUILD_COMMANDS,
    events: EVENTS,
    user_id: USER_ID,
    client_source: "main.py",
};

#[test]
fn the_fastapi_app_is_integrated_installed_and_sends_server_events_needs_pip_index() {
    python_server::run(
        "the_fastapi_app_is_integrated_installed_and_sends_server_events_needs_pip_index",
        &APP,
        serve,
        |base| async move { sign_in_add_and_pin_a_note(&base).await },
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
    let client = client();
    wait_until_serving(&client, &format!("{base}/api/health")).await?;
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
