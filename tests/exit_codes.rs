//! Each documented exit code, produced by the real binary (README, "Exit codes").
//! 3 (authentication) is produced in `auth_login.rs` and `e2e_fake_models.rs`,
//! 130 (interrupted) in `cli_integrate.rs` and `persist.rs`.

mod runtime_support;

use std::process::Output;

use wizard_fakes::{Answer, FakeAnthropic, FakeServer};

use runtime_support::{
    assert_exit, cassette_text, content_dir, fixture_app, run_to_end, wizard, Played,
};

fn run(fake: &FakeServer, extra: &[&str]) -> Output {
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let mut command = wizard();
    command
        .arg("integrate")
        .arg(&app)
        .args([
            "--orchestrator",
            "--ci",
            "--no-telemetry",
            "--ui",
            "json",
            "--content",
        ])
        .arg(content.path())
        .args(extra)
        .env("ANTHROPIC_BASE_URL", fake.base_url())
        .env("ANTHROPIC_API_KEY", "test-key");
    run_to_end(command)
}

fn e2e_fake() -> FakeServer {
    let played = std::sync::Arc::new(Played::new(&cassette_text("e2e.yaml", None)));
    FakeAnthropic::scripted_builder(move |body| played.answer(body)).start_background()
}

#[test]
fn exit_0_when_every_task_completes() {
    assert_exit(&run(&e2e_fake(), &[]), 0);
}

#[test]
fn exit_1_when_a_task_fails() {
    // A model that never reports: the seed ends without its report, and the run fails.
    let fake = FakeAnthropic::scripted_builder(|_| Answer::text("I am not sure what to do."))
        .start_background();
    assert_exit(&run(&fake, &["--max-attempts", "1"]), 1);
}

#[test]
fn exit_2_on_a_usage_error() {
    let out = run_to_end({
        let mut c = wizard();
        c.args(["integrate", ".", "--concurrency", "many"]);
        c
    });
    assert_exit(&out, 2);
}

#[test]
fn exit_4_when_a_budget_stops_the_run() {
    let out = run(&e2e_fake(), &["--max-tokens", "1"]);
    assert_exit(&out, 4);
    let last = runtime_support::json_lines(&out).pop().unwrap();
    assert_eq!(last["verdict"], "budget_exhausted");
}
