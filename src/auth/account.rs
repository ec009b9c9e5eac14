//! The signed-in user and their projects: `GET {host}/api/users/@me` and `GET {host}/api/projects/`.

use std::time::Duration;

use serde::Deserialize;

use super::store::StoredProject;
use super::AuthError;

/// What `/api/users/@me` says that the wizard needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Me {
    /// The user's email.
    #[serde(default)]
    pub email: Option<String>,
    /// The user's current project.
    #[serde(default)]
    pub team: Option<Team>,
}

/// A project (PostHog's API still calls it a team in places).
#[derive(Debug, Clone, Deserialize)]
pub struct Team {
    /// Its id.
    pub id: u64,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its public project token.
    #[serde(default)]
    pub api_token: Option<String>,
}

impl Team {
    /// As stored, when the token is known.
    pub fn to_project(&self) -> Option<StoredProject> {
        Some(StoredProject {
            id: self.id,
            name: self.name.clone(),
            api_token: self.api_token.clone()?,
        })
    }
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    results: Vec<Team>,
}

/// Reads the user behind `bearer`.
pub async fn me(http: &reqwest::Client, host: &str, bearer: &str) -> Result<Me, AuthError> {
    get_json(
        http,
        &format!("{host}/api/users/@me/"),
        bearer,
        "reading your PostHog user",
    )
    .await
}

/// Lists the projects `bearer` can see.
pub async fn projects(
    http: &reqwest::Client,
    host: &str,
    bearer: &str,
) -> Result<Vec<Team>, AuthError> {
    let page: Page = get_json(
        http,
        &format!("{host}/api/projects/"),
        bearer,
        "listing your PostHog projects",
    )
    .await?;
    Ok(page.results)
}

/// Reads one project.
pub async fn project(
    http: &reqwest::Client,
    host: &str,
    bearer: &str,
    id: u64,
) -> Result<Team, AuthError> {
    get_json(
        http,
        &format!("{host}/api/projects/{id}/"),
        bearer,
        "reading your PostHog project",
    )
    .await
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    bearer: &str,
    doing: &'static str,
) -> Result<T, AuthError> {
    let response = http
        .get(url)
        .bearer_auth(bearer)
        .header("User-Agent", super::USER_AGENT)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| AuthError::Network {
            doing,
            detail: e.without_url().to_string(),
        })?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(AuthError::ApiRejected {
            doing,
            status: status.as_u16(),
        });
    }
    if !status.is_success() {
        return Err(AuthError::Network {
            doing,
            detail: format!("{url} answered {status}"),
        });
    }
    response.json().await.map_err(|e| AuthError::Network {
        doing,
        detail: format!("unexpected answer from {url}: {}", e.without_url()),
    })
}
