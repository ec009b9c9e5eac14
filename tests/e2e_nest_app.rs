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

use npm_support::drive::{client, expect_status, wait_until_serving};
use npm_support::node_server::{self, NodeServerApp};
use serde_json::{json, Value};

/// The planned server events the flow below causes, and the captured exception.
const EVENTS: &[&str] = &[
    "user_signed_up",
    "user_logged_in",
    "issue_opened",
    "issue_closed",
    "$exception",
];

const APP: NodeServerApp = NodeServerApp {
    name: "nest-app",
    framework: "NestJS",
    events: EVENTS,
    client_source: "src/lib/posthog.ts",
    built: Some((
        "dist/main.js",
        "posthog-node/nestjs",
        "nest build did not emit the interceptor's registration",
    )),
    entry: "dist/main.js",
};

#[test]
fn the_nest_app_is_integrated_built_and_sends_server_events_needs_npm_registry() {
    node_server::run(
        "the_nest_app_is_integrated_built_and_sends_server_events_needs_npm_registry",
        &APP,
        |base| async move { sign_up_and_work_an_issue(&base).await },
    );
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
