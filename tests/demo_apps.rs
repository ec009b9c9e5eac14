//! `wizard demo --app NAME`: any bundled sample app with a cassette of its name runs
//! offline, end to end through the real binary (the default app stays `next-app`,
//! which `tests/demo_cassette.rs` pins). Only the model is scripted: the queue, the
//! agent loop, the tools and the content's permissions are real, so a scripted call a
//! task may not make, or an `Edit` whose `old_string` is not in the file, shows up as
//! a refused or failed tool call in the log.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use wizard::messages::{QueueFile, Verdict};

/// What the agent loop logs when a tool call is refused or fails.
const TOOL_FAILURE_LOG: &str = "tool refused or failed";

/// Runs `wizard demo` at speed 0 with `args` into `dir`.
fn demo(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wizard"))
        .arg("demo")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .args(["--speed", "0", "--ui", "json"])
        .env("WIZARD_LOG", "info")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("POSTHOG_PROJECT_TOKEN")
        .env_remove("POSTHOG_HOST")
        .env_remove("WIZARD_ORCHESTRATOR")
        .stdin(Stdio::null())
        .output()
        .expect("run wizard demo")
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

#[test]
fn the_react_router_sample_app_is_integrated_offline_by_its_cassette() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    let out = demo(&app, &["--app", "react-router-app"]);
    let log = std::fs::read_to_string(app.join(".posthog-wizard/wizard.log")).unwrap_or_default();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr:\n{}\nlog:\n{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    let failures: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(TOOL_FAILURE_LOG))
        .collect();
    assert!(
        failures.is_empty(),
        "refused or failed tool calls:\n{}",
        failures.join("\n")
    );
    let queue: QueueFile = serde_json::from_str(&read(&app, ".posthog-wizard/queue.json")).unwrap();
    let outcome = queue.outcome.expect("an outcome");
    assert_eq!(outcome.verdict, Verdict::Success, "{}", outcome.message);
    assert_eq!(
        queue.run.framework.as_deref(),
        Some("React Router (framework mode)"),
        "detection ran on the copied app"
    );

    // The copy is the React Router app, and the integration the skills describe is in it.
    assert!(read(&app, "react-router.config.ts").contains("ssr: true"));
    let manifest = read(&app, "package.json");
    for sdk in ["posthog-js", "@posthog/react", "posthog-node"] {
        assert!(
            manifest.contains(&format!("\"{sdk}\"")),
            "{sdk} not declared"
        );
    }
    assert!(
        read(&app, "vite.config.ts").contains("noExternal: [\"posthog-js\", \"@posthog/react\"]")
    );
    let entry = read(&app, "app/entry.client.tsx");
    assert!(entry.contains("import.meta.env.VITE_PUBLIC_POSTHOG_PROJECT_TOKEN"));
    assert!(entry.contains("<PostHogProvider client={posthog}>"));
    assert!(read(&app, "app/routes.ts").contains("route(\"ingest/*\", \"routes/ingest.$.ts\")"));
    let root = read(&app, "app/root.tsx");
    assert!(root.contains("posthog.identify(user.id"));
    assert!(root.contains("onSubmit={() => posthog.reset()}"));
    assert!(root.contains("posthog.captureException(error)"));
    assert!(read(&app, "app/routes/login.tsx").contains("event: \"user_logged_in\""));
    let projects = read(&app, "app/routes/projects.tsx");
    assert!(projects.contains("event: \"project_created\""));
    assert!(projects.contains("posthog.capture(\"project_starred\""));
    let env = read(&app, ".env");
    assert!(env.contains("VITE_PUBLIC_POSTHOG_PROJECT_TOKEN="), "{env}");
    assert!(env.contains("VITE_PUBLIC_POSTHOG_HOST="), "{env}");
    assert!(app.join("posthog-setup-report.md").is_file());
}

#[test]
fn an_unknown_sample_app_is_refused_with_the_ones_there_are() {
    let tmp = tempfile::tempdir().unwrap();
    let out = demo(&tmp.path().join("app"), &["--app", "no-such-app"]);
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no sample app named \"no-such-app\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("next-app") && stderr.contains("react-router-app"),
        "{stderr}"
    );
    assert!(!tmp.path().join("app").exists(), "nothing was copied");
}
