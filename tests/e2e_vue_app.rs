//! The real end to end for a client-only app: the Vue 3 (Vite) sample app
//! (`examples/vue-app/`), copied into a fresh git repository, integrated by the real
//! `wizard integrate` binary with its cassette as the model. The cassette's `build`
//! step asks the Bash tool for `npm install`, and the runtime runs the build
//! (`vue-tsc --noEmit && vite build`) as that step's check: here both run. The verify
//! step serves the built app (`vite preview`, the content's start command) and
//! requests its pages.
//!
//! The app has no server, so its events reach PostHog only from a browser; Vite inlines
//! `VITE_PUBLIC_*` at build time, so no relay can stand in front of the host. Asserted
//! always: the build passed once, and the bundle holds the init with the run's token and
//! host and the planned event names. With a Chromium on the machine, the verify agent
//! (`browse_app`, scripted in the cassette) signs in, adds a book and finishes it in the
//! headless browser: real posthog-js sends the three planned events straight to the
//! fake PostHog (a loopback http host), the browser records them with the fake's 200,
//! and the outro says "verified: 3 of 3"; no browser process is left. Without one (a
//! loud banner; a failure with `WIZARD_REQUIRE_BROWSER=1`), the verify step and the
//! outro say each planned event is "not verified (needs a browser)" rather than
//! claiming anything. No process may be left in the app's folder.
//!
//! It needs the npm registry: without it, a loud SKIPPED banner (a failure with
//! `WIZARD_E2E_REQUIRE_NPM=1`). It shares the npm cache and the `npm-build` nextest
//! group with the other registry tests. It prints its wall time.

mod browser_support;
mod npm_support;

use std::time::Instant;

use browser_support::{browser_for, marked_processes};
use npm_support::{
    assert_commands_ran, assert_env_file, assert_npm_sdks_installed, assert_run_succeeded, bundle,
    integrate_with_cassette, processes_in, read, registry_reachable_for, sample_app,
    sample_app_repo, verification_of,
};
use wizard::messages::EventOutcome;
use wizard_fakes::posthog::FakePostHog;

/// The env file the init task writes, and its keys.
const ENV_FILE: &str = ".env";
const TOKEN_KEY: &str = "VITE_PUBLIC_POSTHOG_PROJECT_TOKEN";
const HOST_KEY: &str = "VITE_PUBLIC_POSTHOG_HOST";
/// The build agent's check (`content/agents/build.md`): the app's `vue-tsc && vite build`.
const BUILD_CHECK: &str = "npm run build --if-present";
/// The planned events, all in the browser.
const EVENTS: [&str; 3] = ["user_logged_in", "book_added", "book_finished"];

#[test]
fn the_vue_app_is_integrated_installed_and_built_and_its_browser_events_are_verified_in_a_browser_or_not_claimed_needs_npm_registry(
) {
    let test = "the_vue_app_is_integrated_installed_and_built_and_its_browser_events_are_verified_in_a_browser_or_not_claimed_needs_npm_registry";
    if !registry_reachable_for(test) {
        return;
    }
    let browser = browser_for(test);
    let whole = Instant::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let posthog = rt.block_on(FakePostHog::start());

    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    sample_app_repo(&sample_app("vue-app"), &app);

    // 1. The run: scripted model, real tools, a real npm install and build.
    let token = format!("phc_e2e_{}", uuid::Uuid::new_v4().simple());
    let out = integrate_with_cassette("e2e vue-app", &app, "vue-app", &token, &posthog.url());
    let (queue, log) = assert_run_succeeded(&app, &out, &token);
    assert_eq!(queue.run.framework.as_deref(), Some("Vue (Vite)"));

    // 2. What the run left: the SDK declared, locked and installed, the env file.
    assert_npm_sdks_installed(&app, &["posthog-js"]);
    assert_commands_ran(&log, &["npm install"]);
    assert_env_file(
        &app,
        ENV_FILE,
        (TOKEN_KEY, HOST_KEY),
        &token,
        &posthog.url(),
    );
    assert!(
        !read(&app, "src/main.ts").contains(&token),
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
    let stderr = String::from_utf8_lossy(&out.stderr);
    if browser.is_some() {
        // Each planned event left the browser's page for the fake host and was accepted.
        for event in &v.events {
            assert_eq!(
                event.outcome,
                EventOutcome::Reached,
                "{}: {}",
                event.event,
                event.detail
            );
            let to = format!("to {}/", posthog.url());
            assert!(
                event.detail.starts_with("seen leaving the browser as ")
                    && event.detail.contains(&to)
                    && event.detail.ends_with("the host answered 200"),
                "{}: {}",
                event.event,
                event.detail
            );
        }
        let names: Vec<&str> = v.events.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(names, EVENTS);
        let received: Vec<String> = posthog
            .events()
            .iter()
            .filter_map(|e| e["event"].as_str().map(str::to_string))
            .collect();
        for event in EVENTS {
            assert!(
                received.iter().any(|r| r == event),
                "the fake PostHog did not receive {event}: {received:?}"
            );
        }
        assert!(
            stderr.contains("verified: 3 of 3 planned events reached PostHog"),
            "the outro does not say all three were verified:\n{stderr}"
        );
        let left = marked_processes(&app.canonicalize().unwrap());
        assert!(left.is_empty(), "processes of the run left: {left:?}");
    } else {
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
        assert!(
            stderr.contains("verified: 0 of 3 planned events reached PostHog"),
            "the outro does not say what was verified:\n{stderr}"
        );
        assert!(
            stderr.contains("not verified: user_logged_in (needs a browser), book_added (needs a browser), book_finished (needs a browser)"),
            "the outro does not say the browser events are not verified:\n{stderr}"
        );
    }
    assert!(
        read(&app, "posthog-setup-report.md").contains("not verified (needs a browser)"),
        "the report does not say what happens without a browser"
    );
    let left = processes_in(&app);
    assert!(left.is_empty(), "processes left in the app: {left:?}");
    println!(
        "e2e vue-app: the whole test took {:.1}s",
        whole.elapsed().as_secs_f64()
    );
}
