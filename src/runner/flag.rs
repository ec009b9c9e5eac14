//! The `wizard-orchestrator` flag: which runner this run uses, and why.
//!
//! One place decides, [`decide_variant`], in this order:
//! 1. `--orchestrator` / `--linear`;
//! 2. `WIZARD_ORCHESTRATOR=1|0`;
//! 3. the flag, evaluated remotely by PostHog's `/flags/?v=2` against the
//!    wizard's own telemetry project, for the user identified by email
//!    (`--email`, else git's `user.email`) or else by an anonymous id kept in
//!    the user's config dir.
//!
//! Overrides win without any request. Anything that goes wrong with the flag
//! service (not configured, telemetry off, timeout, bad status, malformed
//! body) means the linear runner, the baseline, and the reason says which.
//! The distinct id is resolved in every case, so telemetry can use it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::messages::Variant;
use crate::telemetry::{TelemetrySetting, TelemetryTarget};

/// The flag's key in the wizard's telemetry project.
pub const FLAG_KEY: &str = "wizard-orchestrator";

/// How long the flag service may take before the run goes linear.
pub const FLAG_TIMEOUT: Duration = Duration::from_secs(2);

/// The anonymous id's file, under the user's config dir.
pub const ANONYMOUS_ID_FILE: &str = "posthog-wizard/anonymous-id";

/// Everything the decision looks at.
#[derive(Debug, Clone)]
pub struct FlagInputs {
    /// `--orchestrator` (`Some(Orchestrator)`) or `--linear` (`Some(Linear)`).
    pub cli_override: Option<Variant>,
    /// The raw value of `WIZARD_ORCHESTRATOR`, when set.
    pub env_override: Option<String>,
    /// The wizard's telemetry project, which serves the flag.
    pub service: TelemetrySetting,
    /// `--email`.
    pub email: Option<String>,
    /// Where to ask git for `user.email` (the app's dir); `None` skips git.
    pub git_dir: Option<PathBuf>,
    /// The config dir that holds the anonymous id; `None` means the user's
    /// (`dirs::config_dir()`).
    pub config_dir: Option<PathBuf>,
    /// How long the flag service may take.
    pub timeout: Duration,
}

impl FlagInputs {
    /// Inputs with no overrides, no email, no git, the user's config dir, and [`FLAG_TIMEOUT`].
    pub fn new(service: TelemetrySetting) -> Self {
        Self {
            cli_override: None,
            env_override: None,
            service,
            email: None,
            git_dir: None,
            config_dir: None,
            timeout: FLAG_TIMEOUT,
        }
    }
}

/// What decided the variant, as a stable name for telemetry (the reason is for people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VariantSource {
    /// `--orchestrator` or `--linear`.
    CliFlag,
    /// `WIZARD_ORCHESTRATOR`.
    EnvOverride,
    /// The flag service answered.
    Flag,
    /// The flag service failed: timeout, status, body.
    FlagServiceFailed,
    /// Telemetry is off or not configured, so there is no flag service.
    NoFlagService,
}

impl VariantSource {
    /// The snake_case name.
    pub fn name(&self) -> &'static str {
        match self {
            VariantSource::CliFlag => "cli_flag",
            VariantSource::EnvOverride => "env_override",
            VariantSource::Flag => "flag",
            VariantSource::FlagServiceFailed => "flag_service_failed",
            VariantSource::NoFlagService => "no_flag_service",
        }
    }
}

/// Which runner, why, and who the user is to telemetry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantDecision {
    /// The runner.
    pub variant: Variant,
    /// What decided it.
    pub source: VariantSource,
    /// One line for the user: which override, or what the flag service said.
    pub reason: String,
    /// The user's distinct id: their email, or the anonymous id.
    pub distinct_id: String,
}

impl VariantDecision {
    /// The flags the service evaluated for this run, key → value (none when it did not answer).
    pub fn flags(&self) -> Vec<(String, String)> {
        match self.source {
            VariantSource::Flag => vec![(
                FLAG_KEY.to_string(),
                (self.variant == Variant::Orchestrator).to_string(),
            )],
            _ => Vec::new(),
        }
    }
}

/// Decides the variant. Never fails: every problem means linear, with the reason.
///
/// With telemetry off (or not configured) nobody receives the distinct id, so
/// it is a fresh one for this run: no git lookup, no file in the config dir.
pub async fn decide_variant(inputs: FlagInputs, http: &reqwest::Client) -> VariantDecision {
    let identity = match inputs.service {
        TelemetrySetting::On(_) => {
            resolve_identity(
                inputs.email.clone(),
                inputs.git_dir.clone(),
                inputs.config_dir.clone(),
            )
            .await
        }
        TelemetrySetting::Off { .. } => Identity {
            distinct_id: uuid::Uuid::new_v4().to_string(),
            email: None,
        },
    };
    let (variant, source, reason) = choose(&inputs, &identity, http).await;
    tracing::info!(variant = variant.name(), source = source.name(), %reason, "variant decided");
    VariantDecision {
        variant,
        source,
        reason,
        distinct_id: identity.distinct_id,
    }
}

async fn choose(
    inputs: &FlagInputs,
    identity: &Identity,
    http: &reqwest::Client,
) -> (Variant, VariantSource, String) {
    use VariantSource::*;
    match inputs.cli_override {
        Some(variant @ Variant::Orchestrator) => {
            return (variant, CliFlag, "--orchestrator given".into())
        }
        Some(variant @ Variant::Linear) => return (variant, CliFlag, "--linear given".into()),
        None => {}
    }
    let mut ignored = None;
    if let Some(raw) = &inputs.env_override {
        match parse_switch(raw) {
            Some(true) => {
                return (
                    Variant::Orchestrator,
                    EnvOverride,
                    "WIZARD_ORCHESTRATOR is on".into(),
                )
            }
            Some(false) => {
                return (
                    Variant::Linear,
                    EnvOverride,
                    "WIZARD_ORCHESTRATOR is off".into(),
                )
            }
            None => ignored = Some("WIZARD_ORCHESTRATOR is neither 1 nor 0 and was ignored; "),
        }
    }
    let (variant, source, reason) = match &inputs.service {
        TelemetrySetting::Off { reason } => (Variant::Linear, NoFlagService, reason.clone()),
        TelemetrySetting::On(target) => evaluate(target, identity, inputs.timeout, http).await,
    };
    (
        variant,
        source,
        format!("{}{reason}", ignored.unwrap_or("")),
    )
}

/// `1/true/yes/on` → true, `0/false/no/off` → false, anything else → none.
fn parse_switch(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Asks the flag service; linear on any failure.
async fn evaluate(
    target: &TelemetryTarget,
    identity: &Identity,
    timeout: Duration,
    http: &reqwest::Client,
) -> (Variant, VariantSource, String) {
    let request = flags_request(target, identity, http);
    let answer = tokio::time::timeout(timeout, async move {
        let response = request.send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, body))
    })
    .await;
    let seconds = timeout.as_secs_f32();
    let (status, body) = match answer {
        Err(_) => return failed(format!("it did not answer within {seconds} s")),
        Ok(Err(e)) if e.is_timeout() => {
            return failed(format!("it did not answer within {seconds} s"))
        }
        Ok(Err(e)) if e.is_connect() => return failed("it could not be reached".into()),
        Ok(Err(e)) => return failed(format!("the request failed ({e})")),
        Ok(Ok(answer)) => answer,
    };
    if !status.is_success() {
        return failed(format!("it answered {status}"));
    }
    match read_flag(&body) {
        Ok(true) => (
            Variant::Orchestrator,
            VariantSource::Flag,
            format!("flag {FLAG_KEY} is on for you"),
        ),
        Ok(false) => (
            Variant::Linear,
            VariantSource::Flag,
            format!("flag {FLAG_KEY} is off for you"),
        ),
        Err(why) => failed(why),
    }
}

fn failed(why: String) -> (Variant, VariantSource, String) {
    (
        Variant::Linear,
        VariantSource::FlagServiceFailed,
        format!("the flag service failed ({why}), so the linear runner is used"),
    )
}

/// The `/flags/?v=2` request, as PostHog's server SDKs send it.
fn flags_request(
    target: &TelemetryTarget,
    identity: &Identity,
    http: &reqwest::Client,
) -> reqwest::RequestBuilder {
    let mut person = serde_json::Map::new();
    person.insert("$app_name".into(), json!("wizard"));
    if let Some(email) = &identity.email {
        person.insert("email".into(), json!(email));
    }
    let body = json!({
        "api_key": target.token(),
        "distinct_id": identity.distinct_id,
        "person_properties": person,
        "flag_keys_to_evaluate": [FLAG_KEY],
        "sent_at": chrono::Utc::now().to_rfc3339(),
    });
    http.post(format!("{}/flags/?v=2", target.host()))
        .header(
            reqwest::header::USER_AGENT,
            concat!("wizard/", env!("CARGO_PKG_VERSION")),
        )
        .json(&body)
}

/// Reads the flag from a `/flags` answer: the v2 `flags` map, or the legacy
/// `featureFlags` map. A variant string counts as on only when it is `orchestrator`.
fn read_flag(body: &[u8]) -> Result<bool, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("its answer is not JSON: {e}"))?;
    let quota_limited = value
        .get("quotaLimited")
        .and_then(Value::as_array)
        .is_some_and(|limits| limits.iter().any(|l| l == "feature_flags"));
    if quota_limited {
        return Err("the project's flag quota is used up".into());
    }
    if let Some(flags) = value.get("flags").and_then(Value::as_object) {
        let flag = flags
            .get(FLAG_KEY)
            .ok_or_else(|| format!("its answer has no {FLAG_KEY}"))?;
        if flag.get("failed").and_then(Value::as_bool) == Some(true) {
            return Err(format!("it could not evaluate {FLAG_KEY}"));
        }
        if let Some(variant) = flag.get("variant").and_then(Value::as_str) {
            return Ok(variant == "orchestrator");
        }
        return flag
            .get("enabled")
            .and_then(Value::as_bool)
            .ok_or_else(|| format!("its {FLAG_KEY} entry has no enabled field"));
    }
    if let Some(flags) = value.get("featureFlags").and_then(Value::as_object) {
        return Ok(match flags.get(FLAG_KEY) {
            Some(Value::Bool(on)) => *on,
            Some(Value::String(variant)) => variant == "orchestrator",
            _ => false,
        });
    }
    Err("its answer has neither flags nor featureFlags".into())
}

/// Who the user is to the flag service and telemetry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    distinct_id: String,
    email: Option<String>,
}

/// Email from the flag, else git; else the anonymous id. Disk and git run on the blocking pool.
async fn resolve_identity(
    email: Option<String>,
    git_dir: Option<PathBuf>,
    config_dir: Option<PathBuf>,
) -> Identity {
    let work = move || {
        let email = email
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .or_else(|| git_dir.as_deref().and_then(git_user_email));
        match email {
            Some(email) => Identity {
                distinct_id: email.clone(),
                email: Some(email),
            },
            None => Identity {
                distinct_id: anonymous_id(config_dir.or_else(dirs::config_dir).as_deref()),
                email: None,
            },
        }
    };
    match tokio::task::spawn_blocking(work).await {
        Ok(identity) => identity,
        Err(e) => {
            tracing::warn!("identity lookup stopped: {e}");
            Identity {
                distinct_id: uuid::Uuid::new_v4().to_string(),
                email: None,
            }
        }
    }
}

/// `git config user.email` run in `dir` (so a repository's own setting wins).
pub fn git_user_email(dir: &Path) -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["config", "user.email"])
        .current_dir(dir)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let email = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (!email.is_empty()).then_some(email)
}

/// The anonymous id kept in `config_dir/posthog-wizard/anonymous-id`,
/// created once (a uuid v4). When it cannot be kept, a fresh id for this run.
pub fn anonymous_id(config_dir: Option<&Path>) -> String {
    let Some(config_dir) = config_dir else {
        return uuid::Uuid::new_v4().to_string();
    };
    let path = config_dir.join(ANONYMOUS_ID_FILE);
    if let Some(id) = read_id(&path) {
        return id;
    }
    let id = uuid::Uuid::new_v4().to_string();
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|_| {
            use std::io::Write;
            // create_new: when two runs race, the first id written is the one kept.
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)?;
            file.write_all(id.as_bytes())
        });
    match written {
        Ok(()) => id,
        Err(_) => read_id(&path).unwrap_or_else(|| {
            tracing::warn!("cannot keep an anonymous id in {}", path.display());
            id
        }),
    }
}

fn read_id(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let id = text.trim();
    uuid::Uuid::parse_str(id).ok().map(|_| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_answer_with_flag_enabled_reads_on() {
        let body = br#"{"flags":{"wizard-orchestrator":{"key":"wizard-orchestrator","enabled":true,"variant":null}}}"#;
        assert_eq!(read_flag(body), Ok(true));
    }

    #[test]
    fn v2_answer_with_failed_flag_is_an_error() {
        let body = br#"{"flags":{"wizard-orchestrator":{"enabled":false,"failed":true}},"errorsWhileComputingFlags":true}"#;
        assert!(read_flag(body).is_err());
    }

    #[test]
    fn legacy_feature_flags_answer_is_understood() {
        assert_eq!(
            read_flag(br#"{"featureFlags":{"wizard-orchestrator":true}}"#),
            Ok(true)
        );
        assert_eq!(read_flag(br#"{"featureFlags":{"other":true}}"#), Ok(false));
    }

    #[test]
    fn multivariate_answer_is_on_only_for_the_orchestrator_variant() {
        let on = br#"{"flags":{"wizard-orchestrator":{"enabled":true,"variant":"orchestrator"}}}"#;
        let control = br#"{"flags":{"wizard-orchestrator":{"enabled":true,"variant":"control"}}}"#;
        assert_eq!(read_flag(on), Ok(true));
        assert_eq!(read_flag(control), Ok(false));
    }

    #[test]
    fn quota_limited_answer_is_an_error() {
        assert!(read_flag(br#"{"flags":{},"quotaLimited":["feature_flags"]}"#).is_err());
    }

    #[test]
    fn env_switch_reads_common_spellings() {
        assert_eq!(parse_switch(" 1 "), Some(true));
        assert_eq!(parse_switch("TRUE"), Some(true));
        assert_eq!(parse_switch("0"), Some(false));
        assert_eq!(parse_switch("off"), Some(false));
        assert_eq!(parse_switch("maybe"), None);
    }
}
