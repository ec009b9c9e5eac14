//! Credentials: the PostHog project token and host, the MCP key and url, the model keys.
//!
//! Resolved once from flags and the environment by [`resolve_credentials`],
//! then handed out in the shapes the rest of the run needs: [`Secrets`] for
//! the env tools, the list of secret values for redaction, the MCP url. A
//! [`Credentials`] never shows a secret: its `Debug` prints `<set>`/`<unset>`,
//! and no accessor formats one into a message.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::tools::Secrets;

/// The token the demo and replay paths write when the user gave none.
pub const DEMO_PROJECT_TOKEN: &str = "phc_demo_placeholder";

/// The hosted PostHog MCP server; one url for every cloud region (the server
/// finds the region from the bearer key).
pub const DEFAULT_MCP_URL: &str = "https://mcp.posthog.com/mcp";

/// Secret names in [`Secrets`] for the env tools.
pub mod secret_names {
    /// The project token.
    pub const PROJECT_TOKEN: &str = "posthog_project_token";
    /// The ingestion host.
    pub const HOST: &str = "posthog_host";
}

/// A PostHog cloud region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// US cloud.
    Us,
    /// EU cloud.
    Eu,
}

impl Region {
    /// The region's ingestion host.
    pub fn ingestion_host(&self) -> &'static str {
        match self {
            Region::Us => "https://us.i.posthog.com",
            Region::Eu => "https://eu.i.posthog.com",
        }
    }
}

/// What the command line said (each `None` when the flag was not given).
#[derive(Debug, Clone, Default)]
pub struct CredentialFlags {
    /// `--project-token`.
    pub project_token: Option<String>,
    /// `--region`.
    pub region: Option<Region>,
    /// `--host`.
    pub host: Option<String>,
    /// `--mcp-url`.
    pub mcp_url: Option<String>,
}

/// Why credentials could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CredentialError {
    /// `--region` and a host were both given and disagree.
    #[error("--region {region:?} and {source_name} {host} disagree; give one of them")]
    RegionAndHost {
        /// The region given.
        region: Region,
        /// `--host` or `POSTHOG_HOST`.
        source_name: &'static str,
        /// The host given.
        host: String,
    },
    /// A host or url that is not an http(s) url.
    #[error("{source_name} {value:?} is not an http(s) url: {reason}")]
    BadUrl {
        /// Which flag or variable.
        source_name: &'static str,
        /// The value given (a url, never a secret).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The run's credentials. Secrets are private; see the accessors.
#[derive(Clone)]
pub struct Credentials {
    project_token: Option<String>,
    host: String,
    region: Option<Region>,
    personal_api_key: Option<String>,
    model_keys: Vec<String>,
    mcp_url: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |v: bool| if v { "<set>" } else { "<unset>" };
        f.debug_struct("Credentials")
            .field("project_token", &set(self.project_token.is_some()))
            .field("host", &self.host)
            .field("region", &self.region)
            .field("personal_api_key", &set(self.personal_api_key.is_some()))
            .field("model_keys", &self.model_keys.len())
            .field("mcp_url", &self.mcp_url)
            .finish()
    }
}

/// Env variables that hold a model key (for redaction only; the provider clients read their own).
const MODEL_KEY_VARS: [&str; 3] = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "OPENAI_API_KEY",
];

/// Resolves credentials: a flag wins over its variable (`--project-token` /
/// `POSTHOG_PROJECT_TOKEN`, `--host` / `POSTHOG_HOST`, `--mcp-url` /
/// `MCP_URL`); `--region` picks a cloud host; with none, US cloud. The
/// personal API key comes from `POSTHOG_PERSONAL_API_KEY`.
pub fn resolve_credentials(
    flags: &CredentialFlags,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Credentials, CredentialError> {
    let set = |name: &str| {
        env(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let non_empty = |v: &Option<String>| {
        v.as_ref()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };

    let given_host = match non_empty(&flags.host) {
        Some(host) => Some(("--host", host)),
        None => set("POSTHOG_HOST").map(|h| ("POSTHOG_HOST", h)),
    };
    let (host, region) = match (flags.region, given_host) {
        (Some(region), None) => (region.ingestion_host().to_string(), Some(region)),
        (region, Some((source_name, value))) => {
            let (host, host_region) = normalise_host(source_name, &value)?;
            if let Some(region) = region {
                if host_region != Some(region) {
                    return Err(CredentialError::RegionAndHost {
                        region,
                        source_name,
                        host: value,
                    });
                }
            }
            (host, host_region)
        }
        (None, None) => (Region::Us.ingestion_host().to_string(), Some(Region::Us)),
    };

    let mcp_url = match non_empty(&flags.mcp_url)
        .map(|u| ("--mcp-url", u))
        .or_else(|| set("MCP_URL").map(|u| ("MCP_URL", u)))
    {
        Some((source_name, url)) => Some(check_url(source_name, &url)?),
        // The hosted MCP server serves the clouds only: a self-hosted instance has no default.
        None => region.map(|_| DEFAULT_MCP_URL.to_string()),
    };

    Ok(Credentials {
        project_token: non_empty(&flags.project_token).or_else(|| set("POSTHOG_PROJECT_TOKEN")),
        host,
        region,
        personal_api_key: set("POSTHOG_PERSONAL_API_KEY"),
        model_keys: MODEL_KEY_VARS.iter().filter_map(|n| set(n)).collect(),
        mcp_url,
    })
}

/// A host as an ingestion url without a trailing slash, and its cloud region
/// when it is a cloud host. A missing scheme means https. The cloud app hosts
/// (`us.posthog.com`, `app.posthog.com`, `eu.posthog.com`) map to their
/// ingestion hosts, as PostHog's own SDKs do.
fn normalise_host(
    source_name: &'static str,
    value: &str,
) -> Result<(String, Option<Region>), CredentialError> {
    let with_scheme = if value.contains("://") {
        value.to_string()
    } else {
        format!("https://{value}")
    };
    let url = check_url(source_name, &with_scheme)?;
    let parsed =
        reqwest::Url::parse(&url).map_err(|e| bad_url(source_name, value, e.to_string()))?;
    let region = match parsed.host_str() {
        Some("us.i.posthog.com" | "us.posthog.com" | "app.posthog.com") => Some(Region::Us),
        Some("eu.i.posthog.com" | "eu.posthog.com") => Some(Region::Eu),
        _ => None,
    };
    match region {
        Some(region) => Ok((region.ingestion_host().to_string(), Some(region))),
        None => Ok((url, None)),
    }
}

/// The url without a trailing slash, when it is an http(s) url with a host.
fn check_url(source_name: &'static str, value: &str) -> Result<String, CredentialError> {
    let parsed =
        reqwest::Url::parse(value).map_err(|e| bad_url(source_name, value, e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad_url(
            source_name,
            value,
            format!("the scheme is {}", parsed.scheme()),
        ));
    }
    if parsed.host_str().is_none() {
        return Err(bad_url(source_name, value, "it has no host".to_string()));
    }
    Ok(value.trim_end_matches('/').to_string())
}

fn bad_url(source_name: &'static str, value: &str, reason: String) -> CredentialError {
    CredentialError::BadUrl {
        source_name,
        value: value.to_string(),
        reason,
    }
}

impl Credentials {
    /// The same credentials with the demo token when no project token was given.
    pub fn or_demo_token(mut self) -> Self {
        if self.project_token.is_none() {
            self.project_token = Some(DEMO_PROJECT_TOKEN.to_string());
        }
        self
    }

    /// The same credentials completed by a PostHog sign-in or personal key: its project
    /// token when none was given, its ingestion host when no host or region was given, and
    /// its bearer for the MCP server (and for redaction) when no personal API key was set.
    pub fn with_posthog_access(
        mut self,
        project_token: Option<String>,
        host: Option<(String, Option<Region>)>,
        bearer: Option<String>,
    ) -> Self {
        if self.project_token.is_none() {
            self.project_token = project_token;
        }
        if let Some((host, region)) = host {
            self.host = host;
            self.region = region;
            if self.mcp_url.is_none() && region.is_some() {
                self.mcp_url = Some(DEFAULT_MCP_URL.to_string());
            }
        }
        if self.personal_api_key.is_none() {
            self.personal_api_key = bearer;
        }
        self
    }

    /// True when a project token is known (given, or the demo one).
    pub fn has_project_token(&self) -> bool {
        self.project_token.is_some()
    }

    /// True when the project token is the demo placeholder.
    pub fn is_demo_token(&self) -> bool {
        self.project_token.as_deref() == Some(DEMO_PROJECT_TOKEN)
    }

    /// The project token, for code that must write or compare it (the env
    /// tools, the conflict check). Never format it into a message.
    pub fn project_token(&self) -> Option<&str> {
        self.project_token.as_deref()
    }

    /// The ingestion host (`https://us.i.posthog.com`, or a self-hosted url).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The cloud region; `None` for a self-hosted instance.
    pub fn region(&self) -> Option<Region> {
        self.region
    }

    /// The personal API key for the MCP server (a bearer). Never format it into a message.
    pub fn personal_api_key(&self) -> Option<&str> {
        self.personal_api_key.as_deref()
    }

    /// The MCP server's url; `None` for a self-hosted instance without `--mcp-url`.
    pub fn mcp_url(&self) -> Option<&str> {
        self.mcp_url.as_deref()
    }

    /// The url and bearer for the MCP client, when both are known.
    pub fn mcp_endpoint(&self) -> Option<(&str, &str)> {
        Some((self.mcp_url()?, self.personal_api_key()?))
    }

    /// Why there will be no MCP tools, when there will be none.
    pub fn mcp_unavailable_reason(&self) -> Option<&'static str> {
        match (&self.mcp_url, &self.personal_api_key) {
            (_, None) => Some("no personal API key (POSTHOG_PERSONAL_API_KEY)"),
            (None, _) => Some("no MCP url for a self-hosted instance (give --mcp-url)"),
            _ => None,
        }
    }

    /// Named secrets for the env tools: `posthog_project_token` (when known) and `posthog_host`.
    pub fn secrets(&self) -> Secrets {
        let mut secrets = Secrets::default();
        if let Some(token) = &self.project_token {
            secrets.insert(secret_names::PROJECT_TOKEN, token.clone());
        }
        // The host is public (every prompt's project facts name it); it is named only so
        // set_env_values can write it, and must never be redacted from what agents read.
        secrets.insert_public(secret_names::HOST, self.host.clone());
        // Provider and personal keys: redacted from every output and kept from commands
        // (`printenv`, a build script), never resolvable by set_env_values.
        for key in self.model_keys.iter().chain(self.personal_api_key.iter()) {
            secrets.insert_hidden(key.clone());
        }
        secrets
    }

    /// Every secret value (project token, personal API key, model keys), for
    /// redaction in telemetry, logs and tool output. The host is not secret.
    pub fn secret_values(&self) -> Vec<String> {
        self.project_token
            .iter()
            .chain(self.personal_api_key.iter())
            .chain(self.model_keys.iter())
            .filter(|v| v.as_str() != DEMO_PROJECT_TOKEN)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod posthog_access_tests {
    use super::*;

    #[test]
    fn a_sign_in_fills_the_token_host_and_mcp_bearer_but_never_overrides_what_was_given() {
        let none = |_: &str| None;
        let base = resolve_credentials(&CredentialFlags::default(), &none).unwrap();
        let signed = base.clone().with_posthog_access(
            Some("phc_from_sign_in".into()),
            Some(("https://eu.i.posthog.com".into(), Some(Region::Eu))),
            Some("pha_bearer".into()),
        );
        assert_eq!(signed.project_token(), Some("phc_from_sign_in"));
        assert_eq!(signed.host(), "https://eu.i.posthog.com");
        // The MCP dashboard task uses the same bearer as the gateway.
        assert_eq!(signed.mcp_endpoint(), Some((DEFAULT_MCP_URL, "pha_bearer")));
        assert!(signed.secret_values().contains(&"pha_bearer".to_string()));

        let env = |n: &str| match n {
            "POSTHOG_PROJECT_TOKEN" => Some("phc_given".to_string()),
            "POSTHOG_PERSONAL_API_KEY" => Some("phx_given".to_string()),
            _ => None,
        };
        let given = resolve_credentials(&CredentialFlags::default(), &env)
            .unwrap()
            .with_posthog_access(
                Some("phc_from_sign_in".into()),
                None,
                Some("pha_bearer".into()),
            );
        assert_eq!(given.project_token(), Some("phc_given"));
        assert_eq!(given.personal_api_key(), Some("phx_given"));
    }
}
