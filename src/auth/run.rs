//! What a run takes from sign-in: [`prepare_run`] completes the run's credentials.

use super::{access_for_run, app_host, PostHogAccess, RunSignIn};
use crate::runner::bootstrap::{CredentialFlags, Credentials};

/// The sign-in flags of `integrate` / `resume`.
#[derive(Debug, Clone, Default)]
pub struct SignInFlags {
    /// `--ci`.
    pub ci: bool,
    /// `--no-browser`.
    pub no_browser: bool,
    /// `--api-key`.
    pub api_key: Option<String>,
    /// `--project-id`.
    pub project_id: Option<u64>,
}

/// Completes `credentials` with a PostHog credential when one is needed or present; the
/// access is what the `posthog` provider and the MCP server use. `offline` runs (replay)
/// never sign in and keep the demo token.
pub async fn prepare_run(
    flags: &SignInFlags,
    given: &CredentialFlags,
    credentials: Credentials,
    offline: bool,
    env: &dyn Fn(&str) -> Option<String>,
    http: &reqwest::Client,
) -> Result<(Credentials, Option<PostHogAccess>), super::AuthError> {
    if offline {
        return Ok((credentials.or_demo_token(), None));
    }
    let request = RunSignIn {
        ci: flags.ci,
        no_browser: flags.no_browser || flags.ci,
        api_key: flags.api_key.clone(),
        project_id: flags.project_id,
        has_project_token: credentials.has_project_token(),
        api_host: match credentials.region() {
            Some(region) => app_host(region).to_string(),
            None => credentials.host().to_string(),
        },
        region: credentials.region(),
    };
    let found = access_for_run(&request, env, http).await?;
    let host_given = given.host.is_some()
        || given.region.is_some()
        || env("POSTHOG_HOST").is_some_and(|h| !h.trim().is_empty());
    let Some(access) = found.access else {
        return Ok((
            credentials.with_posthog_access(found.pasted_token, None, None),
            None,
        ));
    };
    let host = (!host_given).then(|| (access.ingestion_host.clone(), access.region));
    let credentials = credentials.with_posthog_access(
        access.project.as_ref().map(|p| p.api_token.clone()),
        host,
        Some(access.bearer.expose().to_string()),
    );
    Ok((credentials, Some(access)))
}
