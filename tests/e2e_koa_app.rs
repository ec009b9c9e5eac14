//! The real end to end for Koa: the sample app (`examples/koa-app/`, Koa 3 with
//! `@koa/router`), copied into a fresh git repository, integrated by the real
//! `wizard integrate` binary with its cassette as the model (the cassette's `build` step
//! asks the Bash tool for `npm install`, and here it runs; the app has no build script).
//! Then the server is started (`node --env-file=.env server.js`, its own process group),
//! a user signs up and in through the forms (a signed session cookie), adds a habit,
//! checks in and hits the failing route, and the planned server events and the exception
//! the error middleware hands to `app.on('error')` must reach a fake PostHog (the run's
//! `--host`) under that user's id, with the run's token. After the server is stopped no
//! process may be left in the app's folder.
//!
//! It needs the npm registry: without it, a loud SKIPPED banner (a failure with
//! `WIZARD_E2E_REQUIRE_NPM=1`). It shares the npm cache and the `npm-build` nextest
//! group with the other registry tests. It prints its wall time.

mod npm_support;

use npm_support::drive::{client, expect_status, post_form, set_cookies, wait_until_serving};
use npm_support::node_server::{self, NodeServerApp};
use serde_json::Value;

/// The planned server events the flow below causes, and the captured exception.
const EVENTS: &[&str] = &[
    "user_signed_up",
    "user_logged_in",
    "habit_created",
    "habit_checked_in",
    "$exception",
];
const ACCOUNT: &str = "email=ada%40example.com&password=lovelace";

const APP: NodeServerApp = NodeServerApp {
    name: "koa-app",
    framework: "Node.js (Koa)",
    events: EVENTS,
    client_source: "lib/posthog.js",
    built: None,
    entry: "server.js",
};

#[test]
fn the_koa_app_is_integrated_installed_and_sends_server_events_needs_npm_registry() {
    node_server::run(
        "the_koa_app_is_integrated_installed_and_sends_server_events_needs_npm_registry",
        &APP,
        |base| async move { sign_up_and_keep_a_habit(&base).await },
    );
}

/// Signs up and in through the forms, adds a habit, checks in and calls the failing
/// route; answers the new user's id.
async fn sign_up_and_keep_a_habit(base: &str) -> Result<String, String> {
    let client = client();
    wait_until_serving(&client, &format!("{base}/")).await?;
    let signed_up = post_form(&client, &format!("{base}/signup"), ACCOUNT, None).await?;
    expect_status("signup", &signed_up, 302)?;
    let signed_in = post_form(&client, &format!("{base}/login"), ACCOUNT, None).await?;
    expect_status("login", &signed_in, 302)?;
    let cookie = set_cookies(&signed_in).ok_or("login set no session cookie")?;
    let get = |path: &str| {
        client
            .get(format!("{base}{path}"))
            .header("cookie", &cookie)
            .send()
    };
    let me: Value = get("/api/me")
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let user_id = me["id"]
        .as_str()
        .ok_or(format!("no user id: {me}"))?
        .to_string();
    let added = post_form(
        &client,
        &format!("{base}/habits"),
        "name=Read",
        Some(&cookie),
    )
    .await?;
    expect_status("adding a habit", &added, 302)?;
    let habits: Value = get("/api/habits")
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let habit_id = habits[0]["id"]
        .as_str()
        .ok_or(format!("no habit: {habits}"))?;
    let check_in = format!("{base}/habits/{habit_id}/check-in");
    let checked_in = post_form(&client, &check_in, "", Some(&cookie)).await?;
    expect_status("checking in", &checked_in, 302)?;
    let failed = get("/api/export").await.map_err(|e| e.to_string())?;
    expect_status("the failing route", &failed, 500)?;
    Ok(user_id)
}
