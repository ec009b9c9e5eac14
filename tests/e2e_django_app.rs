//! The real end to end for Django: the sample app (`examples/django-app/`), copied into
//! a fresh git repository, integrated by the real `wizard integrate` binary with its
//! cassette as the model. The cassette's `build` step asks the Bash tool for
//! `python3 -m venv .venv`, a `.venv` pip install of `requirements.txt`, `compileall`
//! and `manage.py check`, and here they run. Then, as the app's README says, the test
//! runs `manage.py migrate` (it creates the demo account) and `manage.py runserver`
//! (its own process group; `settings.py` loads `.env`); the demo user signs in through
//! the CSRF-protected form, adds a book and finishes it through the JSON API, and the
//! planned server events must reach a fake PostHog (the run's `--host`) under the
//! signed-in user's id, with the run's token. After the server is stopped no process may
//! be left in the app's folder.
//!
//! It needs the Python package index: without it, a loud SKIPPED banner (a failure
//! with `WIZARD_E2E_REQUIRE_NPM=1`, the switch every registry e2e test shares). pip's
//! cache is shared with later runs under Cargo's target tmp dir, and the test runs in
//! the `npm-build` nextest group, one registry test at a time. It prints its wall time.

mod npm_support;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use npm_support::drive::{client, wait_until_serving};
use npm_support::python_server::{self, PythonServerApp};
use npm_support::{quiet, run_ok, spawn_in_group};
use serde_json::Value;

/// The commands the cassette's build step runs, each of which must exit 0.
const BUILD_COMMANDS: &[&str] = &[
    "python3 -m venv .venv",
    ".venv/bin/pip install -r requirements.txt",
    ".venv/bin/python -m compileall -q manage.py reading books",
    ".venv/bin/python manage.py check",
];
/// How long `manage.py migrate` may take.
const MIGRATE_LIMIT: Duration = Duration::from_secs(120);
/// The planned server events the flow below causes.
const EVENTS: &[&str] = &["user_logged_in", "book_added", "book_finished"];
/// The demo account (`books/migrations/0001_demo_user.py`): the first user, so pk 1.
const USER_ID: &str = "1";
const USER_FORM: &str = "email=ada%40example.com&password=lovelace";

const APP: PythonServerApp = PythonServerApp {
    name: "django-app",
    build_commands: BUILD_COMMANDS,
    events: EVENTS,
    user_id: USER_ID,
    client_source: "books/apps.py",
};

#[test]
fn the_django_app_is_integrated_installed_and_sends_server_events_needs_pip_index() {
    python_server::run(
        "the_django_app_is_integrated_installed_and_sends_server_events_needs_pip_index",
        &APP,
        serve,
        |base| async move { sign_in_add_and_finish_a_book(&base).await },
    );
}

/// Migrates the database (the demo account), then starts `manage.py runserver` on
/// `port` in its own process group.
fn serve(app: &Path, port: u16) -> Child {
    let python = app.join(".venv/bin/python");
    let mut migrate = quiet(&python);
    migrate
        .args(["manage.py", "migrate", "--verbosity", "0"])
        .current_dir(app);
    run_ok("manage.py migrate", migrate, MIGRATE_LIMIT);
    let mut cmd = quiet(&python);
    cmd.args(["manage.py", "runserver", "--noreload"])
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(app)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    spawn_in_group(cmd)
}

/// The value of cookie `name` among a response's `set-cookie` headers.
fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_string))
}

/// Signs in through the login form (with Django's CSRF token), adds a book through the
/// reading list's form, and finishes it through the JSON API.
async fn sign_in_add_and_finish_a_book(base: &str) -> Result<(), String> {
    let client = client();
    wait_until_serving(&client, &format!("{base}/api/health/")).await?;
    let form_page = client
        .get(format!("{base}/login/"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let csrf = cookie(&form_page, "csrftoken").ok_or("the login page set no csrftoken")?;
    let form = "application/x-www-form-urlencoded";
    let login = client
        .post(format!("{base}/login/"))
        .header("content-type", form)
        .header("cookie", format!("csrftoken={csrf}"))
        .header("x-csrftoken", &csrf)
        .body(USER_FORM)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if login.status() != 302 {
        return Err(format!("login answered {}", login.status()));
    }
    let session = cookie(&login, "sessionid").ok_or("login set no session cookie")?;
    // Django rotates the CSRF token at login.
    let csrf = cookie(&login, "csrftoken").unwrap_or(csrf);
    let cookies = format!("csrftoken={csrf}; sessionid={session}");
    let added = client
        .post(format!("{base}/books/"))
        .header("content-type", form)
        .header("cookie", &cookies)
        .header("x-csrftoken", &csrf)
        .body("title=Middlemarch&author=George+Eliot")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if added.status() != 302 {
        return Err(format!("adding a book answered {}", added.status()));
    }
    let books: Value = client
        .get(format!("{base}/api/books/"))
        .header("cookie", &cookies)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let id = books[0]["id"]
        .as_str()
        .ok_or(format!("no book in /api/books/: {books}"))?;
    let finished = client
        .post(format!("{base}/api/books/{id}/finish/"))
        .header("cookie", &cookies)
        .header("x-csrftoken", &csrf)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !finished.status().is_success() {
        return Err(format!("finishing the book answered {}", finished.status()));
    }
    Ok(())
}
