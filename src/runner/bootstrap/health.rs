//! Health: does the model provider accept our key, and does the PostHog host answer?
//!
//! The two probes run at once and each is bounded, so the check costs at most
//! one timeout. The model probe goes through [`AuthCheck`], a one-method trait
//! the provider clients implement with their cheapest authenticated request;
//! this module knows nothing about any provider. What follows from the report
//! is one pure function, [`HealthReport::decision`]: a rejected key stops the
//! run, an outage is a warning the user confirms (or `--yes`/`--ci` passes).

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

/// How long each probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the model provider's authenticated request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthProblem {
    /// The provider answered and refused the credential (401/403): the run cannot work.
    Rejected {
        /// What the provider said (never the key).
        detail: String,
    },
    /// The provider could not be reached or failed (network, timeout, 5xx).
    Unreachable {
        /// What went wrong.
        detail: String,
    },
}

/// A model provider that can prove our credential works with one cheap request.
#[async_trait]
pub trait AuthCheck: Send + Sync {
    /// Makes the cheapest authenticated request the provider offers.
    async fn check_auth(&self) -> Result<(), AuthProblem>;
}

/// What the model probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ModelHealth {
    /// The key works.
    Ok,
    /// The provider refused the key. Fatal.
    BadKey {
        /// What the provider said.
        detail: String,
    },
    /// The provider did not answer properly. A warning.
    Unreachable {
        /// What went wrong.
        detail: String,
    },
}

/// What the PostHog host probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PosthogHealth {
    /// The host answered.
    Ok,
    /// The host did not answer, or answered with a server error. A warning.
    Outage {
        /// What went wrong.
        detail: String,
    },
}

/// Both probes' results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    /// The model provider.
    pub model: ModelHealth,
    /// The PostHog host.
    pub posthog: PosthogHealth,
}

/// What the run does about a [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthDecision {
    /// Go on; show these warnings (maybe none).
    Proceed {
        /// One line each.
        warnings: Vec<String>,
    },
    /// Ask the user whether to go on despite these warnings.
    Ask {
        /// One line each.
        warnings: Vec<String>,
    },
    /// Stop with this message.
    Stop {
        /// What is wrong and what to do.
        message: String,
    },
}

impl HealthReport {
    /// The message that stops the run, when the model key was refused.
    pub fn fatal(&self) -> Option<String> {
        match &self.model {
            ModelHealth::BadKey { detail } => Some(format!(
                "the model provider refused the API key ({detail}); check the key and try again"
            )),
            _ => None,
        }
    }

    /// One line per problem the run may continue past.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let ModelHealth::Unreachable { detail } = &self.model {
            warnings.push(format!(
                "the model provider did not answer properly: {detail}"
            ));
        }
        if let PosthogHealth::Outage { detail } = &self.posthog {
            warnings.push(format!(
                "the PostHog host did not answer properly: {detail}"
            ));
        }
        warnings
    }

    /// Stop on a bad key; otherwise go on, asking first about warnings unless `assume_yes` (`--yes`/`--ci`).
    pub fn decision(&self, assume_yes: bool) -> HealthDecision {
        if let Some(message) = self.fatal() {
            return HealthDecision::Stop { message };
        }
        let warnings = self.warnings();
        if warnings.is_empty() || assume_yes {
            HealthDecision::Proceed { warnings }
        } else {
            HealthDecision::Ask { warnings }
        }
    }
}

/// Probes the model provider and the PostHog host at once, each within [`PROBE_TIMEOUT`].
pub async fn check_health(
    model: &dyn AuthCheck,
    posthog_host: &str,
    http: &reqwest::Client,
) -> HealthReport {
    check_health_within(model, posthog_host, http, PROBE_TIMEOUT).await
}

/// [`check_health`] with a chosen per-probe timeout.
pub async fn check_health_within(
    model: &dyn AuthCheck,
    posthog_host: &str,
    http: &reqwest::Client,
    timeout: Duration,
) -> HealthReport {
    let model_probe = async {
        match tokio::time::timeout(timeout, model.check_auth()).await {
            Ok(Ok(())) => ModelHealth::Ok,
            Ok(Err(AuthProblem::Rejected { detail })) => ModelHealth::BadKey { detail },
            Ok(Err(AuthProblem::Unreachable { detail })) => ModelHealth::Unreachable { detail },
            Err(_) => ModelHealth::Unreachable {
                detail: format!("no answer within {} s", timeout.as_secs_f32()),
            },
        }
    };
    let (model, posthog) = tokio::join!(model_probe, probe_posthog(posthog_host, http, timeout));
    HealthReport { model, posthog }
}

/// Any answer below 500 means the host is up: the root path of an ingestion
/// host need not be a page, it only has to answer.
async fn probe_posthog(host: &str, http: &reqwest::Client, timeout: Duration) -> PosthogHealth {
    let url = format!("{}/", host.trim_end_matches('/'));
    match http.get(&url).timeout(timeout).send().await {
        Ok(response) if response.status().is_server_error() => PosthogHealth::Outage {
            detail: format!("{url} answered {}", response.status()),
        },
        Ok(_) => PosthogHealth::Ok,
        Err(e) if e.is_timeout() => PosthogHealth::Outage {
            detail: format!("{url} did not answer within {} s", timeout.as_secs_f32()),
        },
        Err(e) => PosthogHealth::Outage {
            detail: format!(
                "{url} could not be reached: {}",
                crate::providers::retry::error_chain(&e)
            ),
        },
    }
}
