//! The real end to end for Hono on Node: the sample app (`examples/hono-app/`, TypeScript
//! on `@hono/node-server`), copied into a fresh git repository, integrated by the real
//! `wizard integrate` binary with its cassette as the model. The cassette's `build` step
//! asks the Bash tool for `npm install` and the runtime runs the build (`tsc`) as that
//! step's check; here both run, so the integration must type-check. Then the built server
//! is started (`node --env-file=.env dist/index.js`, its own process group), a user signs
//! up and in through the forms (a session cookie), saves and archives a link and hits the
//! failing route, and the planned server events and the captured exception must reach a
//! fake PostHog (the run's `--host`) under that user's id, with the run's token. After
//! the server is stopped no process may be left in the app's folder.
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
    "link_saved",
    "link_archived",
    "$exception",
];
const ACCOUNT: &str = "email=ada%40example.com&password=lovelace";

const APP: NodeServerApp = NodeServerApp {
    name: "hono-app",
    framework: "Node.js (Hono)",
    events: EVENTS,
    client_source: "src/lib/posthog.ts",
    built: Some((
        "dist/lib/posthog.js",
        "process.env.POSTHOG_PROJECT_TOKEN",
        "tsc did not emit the shared client",
    )),
    entry: "dist/index.js",
};

#[test]
fn the_hono_app_is_integrated_built_and_sends_server_events_needs_npm_registry() {
    node_server::run(
        "the_hono_app_is_integrated_built_and_sends_server_events_needs_npm_registry",
        &APP,
        |base| async move { sign_up_and_work_through_the_list(&base).await },
    );
}

/// Signs up and in through the forms, saves and archives a link and calls the failing
/// route; answers the new user's id.
async fn sign_up_and_work_through_the_list(base: &str) -> Result<String, String> {
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
    let body = "url=https%3A%2F%2Fexample.com%2Fnotes&title=Notes";
    let saved = post_form(&client, &format!("{base}/links"), body, Some(&cookie)).await?;
    expect_status("saving a link", &saved, 302)?;
    let links: Value = get("/api/links")
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let link_id = links[0]["id"].as_str().ok_or(format!("no link: {links}"))?;
    let archive = format!("{base}/links/{link_id}/archive");
    let archived = post_form(&client, &archive, "", Some(&cookie)).await?;
    expect_status("archiving a link", &archived, 302)?;
    let failed = get("/api/digest").await.map_err(|e| e.to_string())?;
    expect_status("the failing route", &failed, 500)?;
    Ok(user_id)
}
