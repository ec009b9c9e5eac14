//! The `posthog` provider: PostHog's LLM gateway, which speaks the Anthropic
//! Messages API at `https://gateway.{us,eu}.posthog.com/wizard` and takes the
//! PostHog sign-in (or a personal API key) as its bearer.
//!
//! It is the Anthropic client with another base URL, bearer auth, and the
//! headers PostHog's wizard sends: Bedrock fallback on Anthropic 5xx, and the
//! run's variant as a `$ai_generation` property. A 401 names the PostHog
//! credential and its fix.

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

/// The Anthropic client's config for the gateway; `variant` is the run's (`orchestrator`, `base`).
pub fn gateway_config(
    access: &PostHogAccess,
    variant: Option<&str>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> AnthropicConfig {
    let url = gateway_url(access.region, lookup);
    let mut config = AnthropicConfig::new(
        url.clone(),
        AnthropicCredential::AuthToken(access.bearer.clone()),
    );
    config.retry = RetryPolicy::from_env_with(lookup);
    config.extra_headers = vec![
        ("x-posthog-use-bedrock-fallback".into(), "true".into()),
        ("user-agent".into(), crate::auth::USER_AGENT.into()),
    ];
    if let Some(variant) = variant {
        config
            .extra_headers
            .push(("X-POSTHOG-PROPERTY-VARIANT".into(), variant.into()));
    }
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
        let config = gateway_config(&access(Some(Region::Us)), Some("orchestrator"), &|_| None);
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
}
