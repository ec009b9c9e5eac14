//! The stored sign-in: `<config dir>/wizard/credentials.json`, mode 0600.
//!
//! The config dir is the platform's (`dirs::config_dir()`, which honours
//! `XDG_CONFIG_HOME` on Linux), never the app's directory, so a sign-in can
//! never be committed with the app. The file holds bearer tokens: its
//! `Debug` hides them and nothing formats them into a message.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AuthError;
use crate::atomic_file::{self, Access};
use crate::runner::bootstrap::Region;

/// The file's name under `<config dir>/wizard/`.
pub const FILE_NAME: &str = "credentials.json";

/// The PostHog project the run writes events to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredProject {
    /// The project's id.
    pub id: u64,
    /// Its display name.
    pub name: String,
    /// The public project token (`phc_…`); public by design, but still not printed.
    pub api_token: String,
}

/// A signed-in user's tokens and chosen project.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSignIn {
    /// File format version.
    pub version: u32,
    /// The OAuth server the tokens came from (refreshes go back there).
    pub oauth_base_url: String,
    /// The PostHog app/API host (`https://us.posthog.com`, or `POSTHOG_HOST`).
    pub api_host: String,
    /// The cloud region, when a cloud.
    pub region: Option<Region>,
    /// The OAuth access token (a bearer for the API, the MCP server and the LLM gateway).
    pub access_token: String,
    /// The refresh token, when the server sent one.
    pub refresh_token: Option<String>,
    /// When the access token expires.
    pub expires_at: DateTime<Utc>,
    /// The scopes granted, space-separated.
    pub scope: String,
    /// The user's email, for `wizard login`'s message and the flag's targeting.
    pub email: Option<String>,
    /// The project chosen at sign-in.
    pub project: StoredProject,
}

impl fmt::Debug for StoredSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredSignIn")
            .field("api_host", &self.api_host)
            .field("region", &self.region)
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at", &self.expires_at)
            .field("project_id", &self.project.id)
            .finish_non_exhaustive()
    }
}

impl StoredSignIn {
    /// True when the access token expires within `margin` (so it should be refreshed first).
    pub fn expires_within(&self, margin: chrono::Duration, now: DateTime<Utc>) -> bool {
        self.expires_at - margin <= now
    }

    /// The ingestion host for the project's events.
    pub fn ingestion_host(&self) -> String {
        match self.region {
            Some(region) => region.ingestion_host().to_string(),
            None => self.api_host.clone(),
        }
    }
}

/// `<config dir>/wizard/credentials.json`, or `None` when the platform has no config dir.
pub fn default_path() -> Option<PathBuf> {
    Some(dirs::config_dir()?.join("wizard").join(FILE_NAME))
}

/// The path, or an error saying why there is none.
pub fn path() -> Result<PathBuf, AuthError> {
    default_path().ok_or(AuthError::NoConfigDir)
}

/// Reads the stored sign-in; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<StoredSignIn>, AuthError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AuthError::store(path, e.to_string())),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        AuthError::store(
            path,
            format!("it is not a stored sign-in ({e}); run `wizard logout`, then `wizard login`"),
        )
    })
}

/// Writes the sign-in atomically with mode 0600 (the folder 0700).
pub fn save(path: &Path, sign_in: &StoredSignIn) -> Result<(), AuthError> {
    let dir = path
        .parent()
        .ok_or_else(|| AuthError::store(path, "it has no parent folder".into()))?;
    std::fs::create_dir_all(dir).map_err(|e| AuthError::store(dir, e.to_string()))?;
    restrict(dir, 0o700);
    let json =
        serde_json::to_vec_pretty(sign_in).map_err(|e| AuthError::store(path, e.to_string()))?;
    // Owner-only from the temp file's creation, so the tokens are never readable by
    // others, not even for the moment before the rename.
    atomic_file::write(path, &json, Access::OwnerOnly)
        .map_err(|e| AuthError::store(path, e.to_string()))
}

/// Removes the stored sign-in; `Ok(false)` when there was none.
pub fn remove(path: &Path) -> Result<bool, AuthError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(AuthError::store(path, e.to_string())),
    }
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StoredSignIn {
        StoredSignIn {
            version: 1,
            oauth_base_url: "https://oauth.posthog.com".into(),
            api_host: "https://us.posthog.com".into(),
            region: Some(Region::Us),
            access_token: "pha_secret_access".into(),
            refresh_token: Some("phr_secret_refresh".into()),
            expires_at: DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
                .unwrap()
                .to_utc(),
            scope: "user:read".into(),
            email: Some("a@example.com".into()),
            project: StoredProject {
                id: 7,
                name: "Web".into(),
                api_token: "phc_x".into(),
            },
        }
    }

    #[test]
    fn saves_with_owner_only_mode_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wizard").join(FILE_NAME);
        save(&path, &sample()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(load(&path).unwrap(), Some(sample()));
        assert!(remove(&path).unwrap());
        assert_eq!(load(&path).unwrap(), None);
        assert!(!remove(&path).unwrap());
    }

    #[test]
    fn debug_hides_tokens() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("pha_secret"));
        assert!(!text.contains("phr_secret"));
    }

    #[test]
    fn a_corrupt_file_names_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "{not json").unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("wizard logout"), "{err}");
    }
}
