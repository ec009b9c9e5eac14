//! The real end to end for React Router 7 in library mode (a data router in a Vite
//! single-page app): the sample app (`examples/react-router-library-app/`), copied into a
//! fresh git repository, integrated by the real `wizard integrate` binary with its
//! cassette as the model. The cassette's `build` step asks the Bash tool for
//! `npm install`, and the runtime runs the build (`tsc --noEmit && vite build`) as that
//! step's check: here both run. The verify step serves the built app (`vite preview`,
//! the content's start command) and requests its pages.
//!
//! The app has no server, so no event can reach PostHog without a browser, and this
//! test runs the wizard without one (`WIZARD_BROWSER=none`; the Vue app's test drives
//! Chromium). What is asserted instead: the build passed once, the bundle holds the init with the run's
//! token and host (Vite inlines `VITE_PUBLIC_*` at build time) and the planned event
//! names, and the verify step and the outro say each planned event is "not verified
//! (needs a browser)" rather than claiming anything. No process may be left in the
//! app's folder.
//!
//! It needs the npm registry: without it, a loud SKIPPED banner (a failure with
//! `WIZARD_E2E_REQUIRE_NPM=1`). It shares the npm cache and the `npm-build` nextest
//! group with the other registry tests. It prints its wall time.

mod npm_support;

use std::time::Instant;

use npm_support::{
    assert_commands_ran, assert_env_file, assert_npm_sdks_installed, assert_run_succeeded, bundle,
    integrate_with_cassette_env, processes_in, read, registry_reachable_for, sample_app,
    sample_app_repo, verification_of,
};
use wizard::messages::EventOutcome;
use wizard_fakes::posthog::FakePostHog;

/// The env file the init task writes, and its keys.
const ENV_FILE: &str = ".env";
const TOKEN_KEY: &str = "VITE_PUBLIC_POSTHOG_PROJECT_TOKEN";
const HOST_KEY: &str = "VITE_PUBLIC_POSTHOG_HOST";
/// The build agent's check (`content/agents/build.md`): the app's `tsc && vite build`.
const BUILD_CHECK: &str = "npm run build --if-present";
/// The planned events, all in the browser.
const EVENTS: [&str; 3] = ["user_logged_in", "note_created", "note_pinned"];
/// The SDKs the integration must declare and install.
const SDKS: [&str; 2] = ["posthog-js", "@posthog/react"];

#[test]
fn the_react_router_library_app_is_integrated_installed_and_built_and_its_browser_events_are_not_claimed_needs_npm_registry(
) {
    let test = "the_react_router_library_app_is_integrated_installed_and_built_and_its_browser_events_are_not_claimed_needs_npm_registry";
    if !registry_reachable_for(test) {
        return;
    }
    let whole = Instant::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let posthog = rt.block_on(FakePostHog::start());

    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    sample_app_repo(&sample_app("react-router-library-app"), &app);

    // 1. The run: scripted model, real tools, a real npm install and build.
    let token = format!("phc_e2e_{}", uuid::Uuid::new_v4().simple());
    // This test pins the run without a browser (the Vue app's test drives one), so it
    // holds on a machine that has Chromium too.
    let out = integrate_with_cassette_env(
        "e2e react-router-library-app",
        &app,
        "react-router-library-app",
        &token,
        &posthog.url(),
        &[("WIZARD_BROWSER", "none")],
    );
    let (queue, log) = assert_run_succeeded(&app, &out, &token);
    assert_eq!(
        queue.run.framework.as_deref(),
        Some("React Router (library mode)")
    );

    // 2. What the run left: the SDKs declared, locked and installed, the env file.
    assert_npm_sdks_installed(&app, &SDKS);
    assert_commands_ran(&log, &["npm install"]);
    assert_env_file(
        &app,
        ENV_FILE,
        (TOKEN_KEY, HOST_KEY),
        &token,
        &posthog.url(),
    );
    assert!(
        !read(&app, "src/main.tsx").contains(&token),
        "the token is in source"
    );

    // 3. The build (type-check included) ran once, as the build step's check, and passed.
    let checks: Vec<_> = queue
        .tasks
        .iter()
        .filter_map(|t| t.handoff.as_ref())
        .flat_map(|h| h.checks.clone())
        .filter(|c| c.command == BUILD_CHECK)
        .collect();
    assert!(
        checks.len() == 1 && checks[0].passed(),
        "the build check did not pass once: {checks:?}"
    );

    // 4. The bundle: the init with the env values Vite inlined, and the planned events.
    let js = bundle(&app);
    assert!(js.contains(&token), "the bundle lacks the run's token");
    assert!(
        js.contains(&posthog.url()),
        "the bundle lacks the run's host"
    );
    for event in EVENTS {
        assert!(js.contains(event), "the bundle lacks {event}");
    }

    // 5. The verify step served the built app and claims nothing it cannot see.
    let v = verification_of(&queue);
    let home = v
        .requests
        .iter()
        .find(|r| r.path == "/")
        .expect("the verify agent requested /");
    assert_eq!(home.status, Some(200), "the built app did not serve /");
    let events: Vec<(&str, EventOutcome, &str)> = v
        .events
        .iter()
        .map(|e| (e.event.as_str(), e.outcome, e.detail.as_str()))
        .collect();
    let expected: Vec<(&str, EventOutcome, &str)> = EVENTS
        .iter()
        .map(|e| (*e, EventOutcome::NotChecked, "needs a browser"))
        .collect();
    assert_eq!(events, expected);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("verified: 0 of 3 planned events reached PostHog"),
        "the outro does not say what was verified:\n{stderr}"
    );
    assert!(
        stderr.contains("not verified: user_logged_in (needs a browser), note_created (needs a browser), note_pinned (needs a browser)"),
        "the outro does not say the browser events are not verified:\n{stderr}"
    );
    assert!(
        read(&app, "posthog-setup-report.md").contains("not verified (needs a browser)"),
        "the report does not say the browser events are not verified"
    );
    let left = processes_in(&app);
    assert!(left.is_empty(), "processes left in the app: {left:?}");
    println!(
        "e2e react-router-library-app: the whole test took {:.1}s",
        whole.elapsed().as_secs_f64()
    );
}
