//! The real end to end for Flask: the sample app (`examples/flask-app/`), copied into a
//! fresh git repository, integrated by the real `wizard integrate` binary with its
//! cassette as the model. The cassette's `build` step asks the Bash tool for
//! `python3 -m venv .venv`, a `.venv` pip install of `requirements.txt`, `compileall`
//! and an import of the app, and here they run. Then the app is served with `flask run`
//! (which loads `.env`; its own process group), a user signs in, adds a bookmark through
//! the form and archives it through the JSON API, and the planned server events must
//! reach a fake PostHog (the run's `--host`) under the signed-in user's id, with the
//! run's token. After the server is stopped no process may be left in the app's folder.
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
    ".venv/bin/python -m compileall -q app.py store.py",
    ".venv/bin/python -c \"import app\"",
];
/// The planned server events the flow below causes.
const EVENTS: &[&str] = &["user_logged_in", "bookmark_added", "bookmark_archived"];
/// The sample app's seeded user (`store.py`).
const USER_ID: &str = "usr_1";
const USER_FORM: &str = "email=ada%40example.com&password=lovelace";

const APP: PythonServerApp = PythonServerApp {
    name: "flask-app",
    build_commands: BUILD_COMMANDS,
    events: EVENTS,
    user_id: USER_ID,
    client_source: "app.py",
};

#[test]
fn the_flask_app_is_integrated_installed_and_sends_server_events_needs_pip_index() {
    python_server::run(
        "the_flask_app_is_integrated_installed_and_sends_server_events_needs_pip_index",
        &APP,
        serve,
        |base| async move { sign_in_add_and_archive_a_bookmark(&base).await },
    );
}

/// Starts `flask run` on `port` in its own process group (it loads `.env`).
fn serve(app: &Path, port: u16) -> Child {
    let mut cmd = quiet(app.join(".venv/bin/flask"));
    cmd.args(["--app", "app", "run", "--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .current_dir(app)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    spawn_in_group(cmd)
}

/// Signs in through the login form, adds a bookmark through the bookmarks form, and
/// archives it through the JSON API.
async fn sign_in_add_and_archive_a_bookmark(base: &str) -> Result<(), String> {
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
    let added = client
        .post(format!("{base}/bookmarks"))
        .header("content-type", form)
        .header("cookie", &cookie)
        .body("url=https%3A%2F%2Fposthog.com%2Fdocs&title=PostHog+docs")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if added.status() != 302 {
        return Err(format!("adding a bookmark answered {}", added.status()));
    }
    let bookmarks: Value = client
        .get(format!("{base}/api/bookmarks"))
        .header("cookie", &cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let id = bookmarks[0]["id"]
        .as_str()
        .ok_or(format!("no bookmark in /api/bookmarks: {bookmarks}"))?;
    let archived = client
        .post(format!("{base}/api/bookmarks/{id}/archive"))
        .header("cookie", &cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !archived.status().is_success() {
        return Err(format!(
            "archiving the bookmark answered {}",
            archived.status()
        ));
    }
    Ok(())
}
