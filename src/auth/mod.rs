//! Sign-in with PostHog: `wizard login`, `wizard logout`, and the sign-in a run needs.
//!
//! [`oauth`] runs the browser flow (PKCE), [`account`] reads the user and
//! their projects, [`store`] keeps the result in the user's config dir. What a
//! run needs from all that is a [`PostHogAccess`]: a bearer for the LLM
//! gateway and the MCP server, where it came from (so a 401 can name it), the
//! API host and region, and the project. [`access_for_run`] finds one: a
//! personal API key (CI), else the stored sign-in (refreshed when close to
//! expiry), else, in a terminal, a sign-in on the spot.

pub mod account;
mod commands;
pub mod oauth;
pub mod pkce;
mod run;
pub mod store;

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::providers::credential::ApiSecret;
use crate::runner::bootstrap::Region;

pub use commands::{access_for_run, login, logout, LoginOptions, RunAccess, RunSignIn};
pub use run::{prepare_run, SignInFlags};
pub use store::{StoredProject, StoredSignIn};

/// The User-Agent of the wizard's own PostHog requests.
pub const USER_AGENT: &str = concat!("posthog/wizard-rs; version: ", env!("CARGO_PKG_VERSION"));

/// Why signing in (or using a sign-in) failed. Never carries a token.
#[derive(Debug, Error)]
pub enum AuthError {
    /// The platform has no config dir to keep the sign-in in.
    #[error("this system has no user config directory to keep the sign-in in; set XDG_CONFIG_HOME, or use POSTHOG_PERSONAL_API_KEY with --project-id")]
    NoConfigDir,
    /// The credentials file could not be read or written.
    #[error("the stored sign-in at {path}: {detail}")]
    Store {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A setting is malformed.
    #[error("{0}")]
    Config(String),
    /// Every callback port is taken.
    #[error("every sign-in callback port ({ports:?}) is in use; close the program holding them, or run `wizard login --no-browser` and paste the code")]
    NoFreePort {
        /// The ports tried.
        ports: Vec<u16>,
    },
    /// The user or the server refused the authorization.
    #[error("PostHog refused the sign-in ({code}{}); run `wizard login` to try again", if description.is_empty() { String::new() } else { format!(": {description}") })]
    Denied {
        /// The OAuth error code (`access_denied`, …).
        code: String,
        /// The server's explanation.
        description: String,
    },
    /// The callback's `state` is not the one this flow sent.
    #[error("the sign-in answer does not belong to this wizard (state mismatch); nothing was stored. Run `wizard login` again")]
    StateMismatch,
    /// What the user pasted holds no code.
    #[error("what was pasted is neither an authorization code nor the callback URL")]
    BadPaste,
    /// Nobody authorized in time.
    #[error("the sign-in timed out after {seconds} seconds; run `wizard login` to try again")]
    TimedOut {
        /// The timeout.
        seconds: u64,
    },
    /// A request did not get an answer.
    #[error("{doing}: {detail}")]
    Network {
        /// What the wizard was doing.
        doing: &'static str,
        /// What went wrong (never a token).
        detail: String,
    },
    /// The token endpoint refused.
    #[error("{doing}: the OAuth server answered {status} {code}{}; run `wizard login` to sign in again", if description.is_empty() { String::new() } else { format!(" ({description})") })]
    TokenEndpoint {
        /// What the wizard was doing.
        doing: &'static str,
        /// HTTP status.
        status: u16,
        /// The OAuth error code.
        code: String,
        /// The server's explanation.
        description: String,
    },
    /// The PostHog API refused the bearer.
    #[error("{doing}: PostHog refused the credential ({status}); run `wizard login` again, or check POSTHOG_PERSONAL_API_KEY and its scopes")]
    ApiRejected {
        /// What the wizard was doing.
        doing: &'static str,
        /// HTTP status.
        status: u16,
    },
    /// No project token, no sign-in, and no terminal to sign in on.
    #[error("no PostHog project: {0}")]
    NotSignedIn(String),
    /// The chosen project's token is unknown.
    #[error("PostHog did not say project {id}'s token; check --project-id and the credential's project:read scope")]
    NoProjectToken {
        /// The project id.
        id: u64,
    },
    /// A model credential was refused (the health check's 401).
    #[error("{0}")]
    ModelRejected(String),
}

impl AuthError {
    fn store(path: &Path, detail: String) -> Self {
        AuthError::Store {
            path: path.to_path_buf(),
            detail,
        }
    }
}

/// Where the bearer came from, so a refusal can name it and its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessSource {
    /// The OAuth sign-in stored at this path.
    SignIn(PathBuf),
    /// A personal API key from `--api-key`.
    ApiKeyFlag,
    /// A personal API key from `POSTHOG_PERSONAL_API_KEY`.
    ApiKeyEnv,
}

impl AccessSource {
    /// The credential, named for a user.
    pub fn describe(&self) -> String {
        match self {
            AccessSource::SignIn(path) => format!(
                "your PostHog sign-in (the access token `wizard login` stored in {})",
                path.display()
            ),
            AccessSource::ApiKeyFlag => "the personal API key given with --api-key".into(),
            AccessSource::ApiKeyEnv => "the personal API key in POSTHOG_PERSONAL_API_KEY".into(),
        }
    }

    /// How to fix a refusal.
    pub fn fix(&self) -> &'static str {
        match self {
            AccessSource::SignIn(_) => "run `wizard login` to sign in again",
            AccessSource::ApiKeyFlag | AccessSource::ApiKeyEnv => {
                "create a personal API key with the llm_gateway:read scope in PostHog (Settings → Personal API keys) and pass it"
            }
        }
    }
}

/// A PostHog credential a run can use, and what it unlocks.
#[derive(Debug, Clone)]
pub struct PostHogAccess {
    /// The bearer (OAuth access token or personal API key).
    pub bearer: ApiSecret,
    /// Where it came from.
    pub source: AccessSource,
    /// The app/API host.
    pub api_host: String,
    /// The cloud region, when a cloud.
    pub region: Option<Region>,
    /// The project (when known).
    pub project: Option<StoredProject>,
    /// The ingestion host for the project's events.
    pub ingestion_host: String,
}

/// The cloud app host for a region.
pub fn app_host(region: Region) -> &'static str {
    match region {
        Region::Us => "https://us.posthog.com",
        Region::Eu => "https://eu.posthog.com",
    }
}
