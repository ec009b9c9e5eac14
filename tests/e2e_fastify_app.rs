//! The real end to end for a Node server that is not Express: the Fastify sample app
//! (`examples/fastify-app/`), copied into a fresh git repository, integrated by the
//! real `wizard integrate` binary with its cassette as the model (the cassette's
//! `build` step asks the Bash tool for `npm install`, and here it runs). Then the
//! server is started (`node --env-file=.env server.js`, its own process group), a
//! user signs up, signs in, adds and completes a to-do and hits the failing route,
//! and the planned server events and the captured exception must reach a fake
//! PostHog (the run's `--host`) under that user's id, with the run's token. After the
//! server is stopped no process may be left in the app's folder.
//!
//! It needs the npm registry: without it, a loud SKIPPED banner (a failure with
//! `WIZARD_E2E_REQUIRE_NPM=1`). It shares the npm cache and the `npm-build` nextest
//! group with the other registry tests. It prints its wall time.

mod npm_support;

use npm_support::drive::{client, wait_until_serving};
use npm_support::node_server::{self, NodeServerApp};
use serde_json::{json, Value};

/// The planned server events the flow below causes, and the captured exception.
const EVENTS: &[&str] = &[
    "user_signed_up",
    "user_logged_in",
    "todo_created",
    "todo_completed",
    "$exception",
];

const APP: NodeServerApp = NodeServerApp {
    name: "fastify-app",
    framework: "Node.js (Fastify)",
    events: EVENTS,
    client_source: "lib/posthog.js",
    built: None,
    entry: "server.js",
};

#[test]
fn the_fastify_app_is_integrated_installed_and_sends_server_events_needs_npm_registry() {
    node_server::run(
        "the_fastify_app_is_integrated_installed_and_sends_server_events_needs_npm_registry",
        &APP,
        |base| async move { sign_up_and_work_through_the_todos(&base).await },
    );
}

/// Signs up, signs in, adds and completes a to-do and calls the failing route;
/// answers the new user's id.
async fn sign_up_and_work_through_the_todos(base: &str) -> Result<String, String> {
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
    let signed_up = post("/api/signup", account.clone(), None)
        .await
        .map_err(|e| e.to_string())?;
    if signed_up.status() != 201 {
        return Err(format!("signup answered {}", signed_up.status()));
    }
    let signed_up: Value = signed_up.json().await.map_err(|e| e.to_string())?;
    let user_id = signed_up["user"]["id"]
        .as_str()
        .ok_or(format!("signup answered no user id: {signed_up}"))?
        .to_string();
    let login: Value = post("/api/login", account, None)
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let token = login["token"]
        .as_str()
        .ok_or(format!("login answered no token: {login}"))?;
    let created = post(
        "/api/todos",
        json!({"title": "Write the notes"}),
        Some(token),
    )
    .await
    .map_err(|e| e.to_string())?;
    if created.status() != 201 {
        return Err(format!("adding a to-do answered {}", created.status()));
    }
    let todo: Value = created.json().await.map_err(|e| e.to_string())?;
    let todo_id = todo["id"].as_str().ok_or(format!("no to-do id: {todo}"))?;
    let completed = post(
        &format!("/api/todos/{todo_id}/complete"),
        json!({}),
        Some(token),
    )
    .await
    .map_err(|e| e.to_string())?;
    if !completed.status().is_success() {
        return Err(format!(
            "completing a to-do answered {}",
            completed.status()
        ));
    }
    let failed = client
        .get(format!("{base}/api/report"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if failed.status() != 500 {
        return Err(format!("the failing route answered {}", failed.status()));
    }
    Ok(user_id)
}
