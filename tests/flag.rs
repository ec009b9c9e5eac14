//! The `wizard-orchestrator` decision against a loopback fake PostHog.

use std::time::Duration;

use wizard::messages::Variant;
use wizard::runner::flag::{
    decide_variant, FlagInputs, VariantSource, ANONYMOUS_ID_FILE, FLAG_KEY,
};
use wizard::telemetry::{TelemetrySetting, TelemetryTarget};
use wizard_fakes::posthog::{FakePostHog, FlagBehaviour};

const WIZARD_TOKEN: &str = "phc_wizard_telemetry_test";

fn inputs_for(fake: &FakePostHog) -> FlagInputs {
    let mut inputs = FlagInputs::new(TelemetrySetting::On(TelemetryTarget::new(
        fake.url(),
        WIZARD_TOKEN,
    )));
    inputs.email = Some("dev@example.com".into());
    inputs
}

#[tokio::test]
async fn flag_on_routes_to_the_orchestrator() {
    let fake = FakePostHog::start().await;
    fake.set_flag(FLAG_KEY, true);

    let decision = decide_variant(inputs_for(&fake), &reqwest::Client::new()).await;

    assert_eq!(decision.variant, Variant::Orchestrator);
    assert_eq!(decision.source, VariantSource::Flag);
    assert!(decision.reason.contains("is on"), "{}", decision.reason);
    assert_eq!(decision.distinct_id, "dev@example.com");
}

#[tokio::test]
async fn flag_request_follows_the_flags_v2_wire_format() {
    let fake = FakePostHog::start().await;
    fake.set_flag(FLAG_KEY, true);

    decide_variant(inputs_for(&fake), &reqwest::Client::new()).await;

    let requests = fake.flag_requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.query.get("v").map(String::as_str), Some("2"));
    assert_eq!(request.body["api_key"], WIZARD_TOKEN);
    assert_eq!(request.body["distinct_id"], "dev@example.com");
    assert_eq!(
        request.body["person_properties"]["email"],
        "dev@example.com"
    );
    assert_eq!(request.body["flag_keys_to_evaluate"][0], FLAG_KEY);
}

#[tokio::test]
async fn flag_off_routes_to_linear() {
    let fake = FakePostHog::start().await;
    fake.set_flag(FLAG_KEY, false);

    let decision = decide_variant(inputs_for(&fake), &reqwest::Client::new()).await;

    assert_eq!(decision.variant, Variant::Linear);
    assert_eq!(decision.source, VariantSource::Flag);
    assert!(decision.reason.contains("is off"), "{}", decision.reason);
}

#[tokio::test]
async fn flag_service_error_status_means_linear_with_the_status_in_the_reason() {
    let fake = FakePostHog::start().await;
    fake.set_flag(FLAG_KEY, true);
    fake.set_flag_behaviour(FlagBehaviour::Status(500));

    let decision = decide_variant(inputs_for(&fake), &reqwest::Client::new()).await;

    assert_eq!(decision.variant, Variant::Linear);
    assert_eq!(decision.source, VariantSource::FlagServiceFailed);
    assert!(decision.reason.contains("500"), "{}", decision.reason);
}

#[tokio::test]
async fn flag_service_that_never_answers_means_linear_after_the_timeout() {
    let fake = FakePostHog::start().await;
    fake.set_flag(FLAG_KEY, true);
    fake.set_flag_behaviour(FlagBehaviour::Hang);
    let mut inputs = inputs_for(&fake);
    inputs.timeout = Duration::from_millis(200);

    let decision = decide_variant(inputs, &reqwest::Client::new()).await;

    assert_eq!(decision.variant, Variant::Linear);
    assert_eq!(decision.source, VariantSource::FlagServiceFailed);
    assert!(
        decision.reason.contains("did not answer"),
        "{}",
        decision.reason
    );
    assert_eq!(
        fake.flag_requests().len(),
        1,
        "the request did reach the service"
    );
}

#[tokio::test]
async fn malformed_flag_answer_means_linear_with_the_reason() {
    let fake = FakePostHog::start().await;
    fake.set_flag_behaviour(FlagBehaviour::Malformed);

    let decision = decide_variant(inputs_for(&fake), &reqwest::Client::new()).await;

    assert_eq!(decision.variant, Variant::Linear);
    assert_eq!(decision.source, VariantSource::FlagServiceFailed);
    assert!(decision.reason.contains("not JSON"), "{}", decision.reason);
}

#[tokio::test]
async fn unreachable_flag_service_means_linear_with_the_reason() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut inputs = FlagInputs::new(TelemetrySetting::On(TelemetryTarget::new(
        closed,
        WIZARD_TOKEN,
    )));
    inputs.email = Some("dev@example.com".into());

    let decision = decide_variant(inputs, &reqwest::Client::new()).await;

    assert_eq!(decision.variant, Variant::Linear);
    assert_eq!(decision.source, VariantSource::FlagServiceFailed);
    assert!(decision.reason.contains("failed"), "{}", decision.reason);
}

#[tokio::test]
async fn cli_override_wins_without_any_request() {
    let fake = FakePostHog::start().await;
    fake.set_flag(FLAG_KEY, false);
    let mut inputs = inputs_for(&fake);
    inputs.cli_override = Some(Variant::Orchestrator);
    inputs.env_override = Some("0".into());

    let decision = decide_variant(inputs, &reqwest::Client::new()).await;

    assert_eq!(decision.variant, Variant::Orchestrator);
    assert_eq!(decision.source, VariantSource::CliFlag);
    assert!(
        decision.reason.contains("--orchestrator"),
        "{}",
        decision.reason
    );
    assert!(fake.flag_requests().is_empty());
}

#[tokio::test]
async fn env_override_wins_over_the_flag_without_any_request() {
    let fake = FakePostHog::start().await;
    fake.set_flag(FLAG_KEY, true);
    let mut inputs = inputs_for(&fake);
    inputs.env_override = Some("0".into());

    let decision = decide_variant(inputs, &reqwest::Client::new()).await;

    assert_eq!(decision.variant, Variant::Linear);
    assert_eq!(decision.source, VariantSource::EnvOverride);
    assert!(
        decision.reason.contains("WIZARD_ORCHESTRATOR"),
        "{}",
        decision.reason
    );
    assert!(fake.flag_requests().is_empty());
}

#[tokio::test]
async fn linear_flag_override_wins_over_an_on_flag() {
    let fake = FakePostHog::start().await;
    fake.set_flag(FLAG_KEY, true);
    let mut inputs = inputs_for(&fake);
    inputs.cli_override = Some(Variant::Linear);

    let decision = decide_variant(inputs, &reqwest::Client::new()).await;

    assert_eq!(decision.variant, Variant::Linear);
    assert_eq!(decision.source, VariantSource::CliFlag);
    assert!(fake.flag_requests().is_empty());
}

#[tokio::test]
async fn unrecognised_env_override_is_ignored_and_said() {
    let fake = FakePostHog::start().await;
    fake.set_flag(FLAG_KEY, true);
    let mut inputs = inputs_for(&fake);
    inputs.env_override = Some("maybe".into());

    let decision = decide_variant(inputs, &reqwest::Client::new()).await;

    assert_eq!(decision.variant, Variant::Orchestrator);
    assert_eq!(decision.source, VariantSource::Flag);
    assert!(decision.reason.contains("ignored"), "{}", decision.reason);
}

#[tokio::test]
async fn no_telemetry_project_means_linear_with_no_flag_service_configured() {
    let no_env = |_: &str| None;
    let inputs = FlagInputs::new(TelemetrySetting::resolve(false, &no_env));

    let decision = decide_variant(inputs, &reqwest::Client::new()).await;

    assert_eq!(decision.variant, Variant::Linear);
    assert_eq!(decision.source, VariantSource::NoFlagService);
    assert_eq!(decision.reason, "no flag service configured");
}

#[tokio::test]
async fn telemetry_off_means_no_flag_request_no_kept_id_and_linear() {
    let fake = FakePostHog::start().await;
    fake.set_flag(FLAG_KEY, true);
    let url = fake.url();
    let env = move |name: &str| match name {
        "WIZARD_TELEMETRY_HOST" => Some(url.clone()),
        "WIZARD_TELEMETRY_TOKEN" => Some(WIZARD_TOKEN.to_string()),
        "DO_NOT_TRACK" => Some("1".to_string()),
        _ => None,
    };
    let config = tempfile::tempdir().unwrap();
    let mut inputs = FlagInputs::new(TelemetrySetting::resolve(false, &env));
    inputs.config_dir = Some(config.path().to_path_buf());

    let decision = decide_variant(inputs, &reqwest::Client::new()).await;

    assert_eq!(decision.variant, Variant::Linear);
    assert_eq!(decision.source, VariantSource::NoFlagService);
    assert!(
        decision.reason.contains("DO_NOT_TRACK"),
        "{}",
        decision.reason
    );
    assert!(fake.flag_requests().is_empty());
    assert!(!config.path().join(ANONYMOUS_ID_FILE).exists());
}

#[tokio::test]
async fn without_an_email_the_anonymous_id_is_created_once_and_reused() {
    let fake = FakePostHog::start().await;
    fake.set_flag(FLAG_KEY, true);
    let config = tempfile::tempdir().unwrap();
    let inputs = || {
        let mut inputs = FlagInputs::new(TelemetrySetting::On(TelemetryTarget::new(
            fake.url(),
            WIZARD_TOKEN,
        )));
        inputs.config_dir = Some(config.path().to_path_buf());
        inputs
    };

    let first = decide_variant(inputs(), &reqwest::Client::new()).await;
    let second = decide_variant(inputs(), &reqwest::Client::new()).await;

    assert!(
        uuid::Uuid::parse_str(&first.distinct_id).is_ok(),
        "{}",
        first.distinct_id
    );
    assert_eq!(first.distinct_id, second.distinct_id);
    let stored = std::fs::read_to_string(config.path().join(ANONYMOUS_ID_FILE)).unwrap();
    assert_eq!(stored.trim(), first.distinct_id);
    let requests = fake.flag_requests();
    assert_eq!(requests[0].body["distinct_id"], first.distinct_id.as_str());
    assert!(requests[0].body["person_properties"].get("email").is_none());
}

#[tokio::test]
async fn git_user_email_identifies_the_user_when_no_email_flag_is_given() {
    let fake = FakePostHog::start().await;
    fake.set_flag(FLAG_KEY, true);
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(repo.path())
            .status()
            .unwrap();
        assert!(status.success());
    };
    git(&["init", "-q"]);
    git(&["config", "user.email", "from-git@example.com"]);
    let mut inputs = FlagInputs::new(TelemetrySetting::On(TelemetryTarget::new(
        fake.url(),
        WIZARD_TOKEN,
    )));
    inputs.git_dir = Some(repo.path().to_path_buf());

    let decision = decide_variant(inputs, &reqwest::Client::new()).await;

    assert_eq!(decision.distinct_id, "from-git@example.com");
    assert_eq!(
        fake.flag_requests()[0].body["person_properties"]["email"],
        "from-git@example.com"
    );
}
