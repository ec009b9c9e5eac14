//! The `posthog` provider: PostHog's LLM gateway, which speaks the Anthropic
//! Messages API at `https://gateway.{us,eu}.posthog.com/wizard` and takes the
//! PostHog sign-in (or a personal API key) as its bearer.
//!
//! It is the Anthropic client with another base URL, bearer auth, and the
//! headers PostHog's wizard sends (its `buildAgentEnv` / `buildGatewayHeaders`,
//! `src/lib/agent/agent-interface.ts`, `harness/pi/gateway.ts`): Bedrock
//! fallback on Anthropic 5xx, the run's tags as `X-POSTHOG-PROPERTY-<key>`
//! (the gateway copies them onto each `$ai_generation`: `VARIANT`, `run_id`,
//! `program_id`, `integration`, `build`, `call_type`), and each evaluated
//! `wizard…` feature flag as `X-POSTHOG-FLAG-<KEY IN CAPITALS>: <value>`. A 401
//! names the PostHog credential and its fix.

use super::anthropic::{AnthropicConfig, AnthropicCredential};
use super::retry::RetryPolicy;
use crate::auth::PostHogAccess;
use crate::runner::bootstrap::Region;

/// The gateway for a region, or `WIZARD_LLM_GATEWAY_URL` when set.
pub fn gateway_url(region: Option<Region>, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    if let Some(url) = lookup("WIZARD_LLM_GATEWAY_URL")
        .map(|v| v.trim().trim_end_matches('/').to_string())
        .filter(|v| !v.is_empty())
    {
        return url;
    }
    match region {
        Some(Region::Eu) => "https://gateway.eu.posthog.com/wizard".into(),
        _ => "https://gateway.us.posthog.com/wizard".into(),
    }
}

/// Prefix of the headers the gateway turns into `$ai_generation` properties.
pub const PROPERTY_HEADER_PREFIX: &str = "X-POSTHOG-PROPERTY-";
/// Prefix of the headers that carry the run's feature flags.
pub const FLAG_HEADER_PREFIX: &str = "X-POSTHOG-FLAG-";

/// What the gateway is told about the run, as the original tags its traces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayTags {
    /// `orchestrator` or `base` (linear); unknown before the variant is decided.
    pub variant: Option<String>,
    /// The run's id.
    pub run_id: Option<String>,
    /// The detected framework's id.
    pub integration: Option<String>,
    /// `prod`, `dev` or `ci`.
    pub build: Option<String>,
    /// Evaluated feature flags, key → value (`true`, `false` or a variant name).
    pub flags: Vec<(String, String)>,
}

impl GatewayTags {
    /// The headers, in the original's order: Bedrock fallback, properties, flags.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut out = vec![(
            "x-posthog-use-bedrock-fallback".to_string(),
            "true".to_string(),
        )];
        let properties = [
            ("VARIANT", self.variant.as_deref()),
            ("program_id", Some("posthog-integration")),
            ("integration", self.integration.as_deref()),
            ("run_id", self.run_id.as_deref()),
            ("build", self.build.as_deref()),
            ("call_type", Some("agent")),
        ];
        for (key, value) in properties {
            if let Some(value) = value {
                out.push((format!("{PROPERTY_HEADER_PREFIX}{key}"), value.to_string()));
            }
        }
        // Only the wizard's own flags travel, as in the original.
        for (key, value) in &self.flags {
            if key.to_ascii_lowercase().starts_with("wizard") {
                out.push((
                    format!("{FLAG_HEADER_PREFIX}{}", key.to_ascii_uppercase()),
                    value.clone(),
                ));
            }
        }
        out
    }
}

/// The Anthropic client's config for the gateway, telling it `tags`.
pub fn gateway_config(
    access: &PostHogAccess,
    tags: &GatewayTags,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> AnthropicConfig {
    let url = gateway_url(access.region, lookup);
    let mut config = AnthropicConfig::new(
        url.clone(),
        AnthropicCredential::AuthToken(access.bearer.clone()),
    );
    config.retry = RetryPolicy::from_env_with(lookup);
    config.extra_headers = tags.headers();
    config
        .extra_headers
        .push(("user-agent".into(), crate::auth::USER_AGENT.into()));
    config.auth_hint = Some(format!(
        "The refused credential is {}, sent to PostHog's LLM gateway at {url}; {}.",
        access.source.describe(),
        access.source.fix()
    ));
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AccessSource;
    use crate::providers::credential::ApiSecret;

    fn access(region: Option<Region>) -> PostHogAccess {
        PostHogAccess {
            bearer: ApiSecret::new("pha_x"),
            source: AccessSource::ApiKeyEnv,
            api_host: "https://eu.posthog.com".into(),
            region,
            project: None,
            ingestion_host: "https://eu.i.posthog.com".into(),
        }
    }

    #[test]
    fn the_gateway_follows_the_region_unless_overridden() {
        assert_eq!(
            gateway_url(Some(Region::Eu), &|_| None),
            "https://gateway.eu.posthog.com/wizard"
        );
        assert_eq!(
            gateway_url(None, &|_| None),
            "https://gateway.us.posthog.com/wizard"
        );
        let over = |n: &str| {
            (n == "WIZARD_LLM_GATEWAY_URL").then(|| "http://127.0.0.1:9/wizard/".to_string())
        };
        assert_eq!(
            gateway_url(Some(Region::Eu), &over),
            "http://127.0.0.1:9/wizard"
        );
    }

    #[test]
    fn the_config_carries_bearer_variant_and_a_named_credential() {
        let tags = GatewayTags {
            variant: Some("orchestrator".into()),
            ..GatewayTags::default()
        };
        let config = gateway_config(&access(Some(Region::Us)), &tags, &|_| None);
        assert!(matches!(
            config.credential,
            AnthropicCredential::AuthToken(_)
        ));
        assert!(config
            .extra_headers
            .contains(&("X-POSTHOG-PROPERTY-VARIANT".into(), "orchestrator".into())));
        let hint = config.auth_hint.unwrap();
        assert!(hint.contains("POSTHOG_PERSONAL_API_KEY"), "{hint}");
        assert!(!hint.contains("pha_x"));
    }

    #[test]
    fn the_headers_are_the_originals_tags_and_wizard_flags() {
        let tags = GatewayTags {
            variant: Some("orchestrator".into()),
            run_id: Some("r1".into()),
            integration: Some("nextjs".into()),
            build: Some("ci".into()),
            flags: vec![
                ("wizard-orchestrator".into(), "true".into()),
                ("someone-elses-flag".into(), "on".into()),
            ],
        };
        let headers = tags.headers();
        let expected: Vec<(String, String)> = [
            ("x-posthog-use-bedrock-fallback", "true"),
            ("X-POSTHOG-PROPERTY-VARIANT", "orchestrator"),
            ("X-POSTHOG-PROPERTY-program_id", "posthog-integration"),
            ("X-POSTHOG-PROPERTY-integration", "nextjs"),
            ("X-POSTHOG-PROPERTY-run_id", "r1"),
            ("X-POSTHOG-PROPERTY-build", "ci"),
            ("X-POSTHOG-PROPERTY-call_type", "agent"),
            ("X-POSTHOG-FLAG-WIZARD-ORCHESTRATOR", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(headers, expected);
    }

    #[test]
    fn unknown_tags_are_left_out_rather_than_sent_empty() {
        let headers = GatewayTags::default().headers();
        let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "x-posthog-use-bedrock-fallback",
                "X-POSTHOG-PROPERTY-program_id",
                "X-POSTHOG-PROPERTY-call_type"
            ]
        );
    }
}
