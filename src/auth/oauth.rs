//! The OAuth authorization-code flow with PKCE, as PostHog's wizard runs it.
//!
//! The browser goes to `{oauth}/oauth/authorize` (S256 challenge, random
//! `state`, the wizard's scopes); PostHog redirects it to a loopback callback
//! on the first free port of [`CALLBACK_PORTS`]; the code is exchanged at
//! `POST {oauth}/oauth/token`. Where the browser cannot reach the callback (a
//! remote shell), the user pastes the code or the whole callback URL instead;
//! the two race, and the flow gives up after [`OAuthSettings::timeout`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::pkce::Pkce;
use super::AuthError;

/// PostHog's OAuth server (it proxies to the user's region).
pub const DEFAULT_OAUTH_BASE_URL: &str = "https://oauth.posthog.com";
/// The wizard's public OAuth client (PKCE, no secret).
pub const CLIENT_ID: &str = "c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM";
/// The loopback ports registered as redirect URIs, in the order tried.
pub const CALLBACK_PORTS: [u16; 6] = [8239, 8238, 8240, 8237, 8236, 8235];
/// The scopes PostHog's wizard asks for.
pub const SCOPES: [&str; 11] = [
    "user:read",
    "project:read",
    "llm_gateway:read",
    "dashboard:write",
    "insight:write",
    "query:read",
    "notebook:write",
    "health_issue:read",
    "wizard_session:read",
    "wizard_session:write",
    "organization:read",
];
/// How long the user has to authorize (the server's code expiry).
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// Where and how to authorize.
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    /// The OAuth server (`WIZARD_OAUTH_BASE_URL`, else PostHog's).
    pub base_url: String,
    /// The client id.
    pub client_id: String,
    /// The scopes requested.
    pub scopes: Vec<String>,
    /// Callback ports, first free wins (0: any free port, for tests).
    pub ports: Vec<u16>,
    /// How long to wait for the user.
    pub timeout: Duration,
}

impl OAuthSettings {
    /// PostHog's settings, with the base url from `WIZARD_OAUTH_BASE_URL` when set.
    pub fn from_env_with(lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        let base_url = lookup("WIZARD_OAUTH_BASE_URL")
            .map(|v| v.trim().trim_end_matches('/').to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_OAUTH_BASE_URL.to_string());
        OAuthSettings {
            base_url,
            client_id: CLIENT_ID.to_string(),
            scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
            ports: CALLBACK_PORTS.to_vec(),
            timeout: TIMEOUT,
        }
    }

    fn token_url(&self) -> String {
        format!("{}/oauth/token", self.base_url)
    }
}

/// What the token endpoint answers (RFC 6749 §5.1, plus PostHog's region fields).
#[derive(Clone, Deserialize)]
pub struct TokenSet {
    /// The bearer.
    pub access_token: String,
    /// Seconds until it expires.
    #[serde(default = "default_expiry")]
    pub expires_in: u64,
    /// The refresh token, when sent.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Scopes granted.
    #[serde(default)]
    pub scope: String,
    /// `us` or `eu` on PostHog Cloud.
    #[serde(default)]
    pub posthog_region: Option<String>,
}

fn default_expiry() -> u64 {
    3600
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("posthog_region", &self.posthog_region)
            .finish_non_exhaustive()
    }
}

/// How the flow talks to the user.
pub trait Prompter: Send + Sync {
    /// Shows the authorize URL; returns true when a browser was opened for it.
    fn show_url(&self, url: &str) -> bool;
}

/// Runs the flow to a token set. `pasted` yields lines the user typed (a code or
/// the callback URL); `None` when there is no terminal to paste into.
pub async fn authorize(
    settings: &OAuthSettings,
    http: &reqwest::Client,
    prompter: &dyn Prompter,
    pasted: Option<mpsc::Receiver<String>>,
) -> Result<TokenSet, AuthError> {
    let pkce = Pkce::generate();
    let (listener, port) = bind_first_free(&settings.ports).await?;
    let redirect_uri = format!("http://localhost:{port}/callback");
    let url = authorize_url(settings, &pkce, &redirect_uri)?;

    let (tx, callback) = oneshot::channel();
    let shared = CallbackState {
        expected_state: pkce.state().to_string(),
        result: Arc::new(Mutex::new(Some(tx))),
    };
    let app = Router::new()
        .route("/callback", get(on_callback))
        .with_state(shared);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });

    prompter.show_url(&url);
    let code = wait_for_code(settings.timeout, callback, pasted, pkce.state()).await;
    let _ = stop.send(());
    let _ = server.await;
    exchange(settings, http, &code?, pkce.verifier(), &redirect_uri).await
}

/// The authorize URL for one request.
pub fn authorize_url(
    settings: &OAuthSettings,
    pkce: &Pkce,
    redirect_uri: &str,
) -> Result<String, AuthError> {
    let mut url = reqwest::Url::parse(&format!("{}/oauth/authorize", settings.base_url))
        .map_err(|e| AuthError::Config(format!("WIZARD_OAUTH_BASE_URL: {e}")))?;
    url.query_pairs_mut()
        .append_pair("client_id", &settings.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("code_challenge", &pkce.challenge())
        .append_pair("code_challenge_method", "S256")
        .append_pair("scope", &settings.scopes.join(" "))
        .append_pair("state", pkce.state())
        .append_pair("required_access_level", "project");
    Ok(url.to_string())
}

async fn bind_first_free(ports: &[u16]) -> Result<(tokio::net::TcpListener, u16), AuthError> {
    for &port in ports {
        if let Ok(listener) =
            tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await
        {
            let bound = listener.local_addr().map(|a| a.port()).unwrap_or(port);
            return Ok((listener, bound));
        }
    }
    Err(AuthError::NoFreePort {
        ports: ports.to_vec(),
    })
}

type CodeResult = Result<String, AuthError>;

#[derive(Clone)]
struct CallbackState {
    expected_state: String,
    result: Arc<Mutex<Option<oneshot::Sender<CodeResult>>>>,
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn on_callback(
    State(shared): State<CallbackState>,
    Query(q): Query<CallbackQuery>,
) -> (axum::http::StatusCode, Html<&'static str>) {
    use axum::http::StatusCode;
    let (status, page, result) = match (q.error, q.code) {
        (Some(error), _) => (
            StatusCode::BAD_REQUEST,
            "<p>Authorization failed. Return to your terminal.</p>",
            Err(AuthError::Denied {
                code: error,
                description: q.error_description.unwrap_or_default(),
            }),
        ),
        (None, Some(code)) if q.state.as_deref() == Some(shared.expected_state.as_str()) => (
            StatusCode::OK,
            "<p>Signed in to PostHog. Return to your terminal; you can close this window.</p>",
            Ok(code),
        ),
        (None, Some(_)) => (
            StatusCode::BAD_REQUEST,
            "<p>This sign-in link does not belong to the running wizard (state mismatch).</p>",
            Err(AuthError::StateMismatch),
        ),
        (None, None) => {
            // A stray request (a favicon, a probe): not an answer; keep waiting.
            return (
                StatusCode::BAD_REQUEST,
                Html("<p>No authorization code.</p>"),
            );
        }
    };
    if let Ok(mut slot) = shared.result.lock() {
        if let Some(tx) = slot.take() {
            let _ = tx.send(result);
        }
    }
    (status, Html(page))
}

async fn wait_for_code(
    timeout: Duration,
    callback: oneshot::Receiver<CodeResult>,
    pasted: Option<mpsc::Receiver<String>>,
    expected_state: &str,
) -> CodeResult {
    let pasted_code = async {
        let Some(mut lines) = pasted else {
            return std::future::pending().await;
        };
        while let Some(line) = lines.recv().await {
            match code_from_paste(&line, expected_state) {
                Ok(Some(code)) => return Ok(code),
                Ok(None) => continue,
                Err(e) => return Err(e),
            }
        }
        // The terminal closed (EOF): only the browser can answer now.
        std::future::pending().await
    };
    tokio::select! {
        result = callback => result.unwrap_or(Err(AuthError::TimedOut { seconds: timeout.as_secs() })),
        result = pasted_code => result,
        _ = tokio::time::sleep(timeout) => Err(AuthError::TimedOut { seconds: timeout.as_secs() }),
    }
}

/// The code in what the user pasted: the callback URL (its `state` must match),
/// a `code=…` query, or the bare code. `Ok(None)` for a blank line.
pub fn code_from_paste(input: &str, expected_state: &str) -> Result<Option<String>, AuthError> {
    let text = input.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let query = if let Ok(url) = reqwest::Url::parse(text) {
        url.query().map(str::to_string).unwrap_or_default()
    } else if text.contains("code=") {
        text.trim_start_matches('?').to_string()
    } else if !text.contains(char::is_whitespace) {
        return Ok(Some(text.to_string()));
    } else {
        return Err(AuthError::BadPaste);
    };
    let pairs: Vec<(String, String)> = url_pairs(&query);
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if let Some(error) = get("error") {
        return Err(AuthError::Denied {
            code: error,
            description: get("error_description").unwrap_or_default(),
        });
    }
    let code = get("code").ok_or(AuthError::BadPaste)?;
    match get("state") {
        Some(state) if state != expected_state => Err(AuthError::StateMismatch),
        _ => Ok(Some(code)),
    }
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

async fn exchange(
    settings: &OAuthSettings,
    http: &reqwest::Client,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Result<TokenSet, AuthError> {
    let body = json!({
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": settings.client_id,
        "code_verifier": verifier,
    });
    token_request(settings, http, &body, "exchanging the authorization code").await
}

/// Trades a refresh token for a new token set.
pub async fn refresh(
    settings: &OAuthSettings,
    http: &reqwest::Client,
    refresh_token: &str,
) -> Result<TokenSet, AuthError> {
    let body = json!({
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": settings.client_id,
    });
    token_request(settings, http, &body, "refreshing the sign-in").await
}

async fn token_request(
    settings: &OAuthSettings,
    http: &reqwest::Client,
    body: &serde_json::Value,
    doing: &'static str,
) -> Result<TokenSet, AuthError> {
    let url = settings.token_url();
    let response = http
        .post(&url)
        .header("User-Agent", super::USER_AGENT)
        .json(body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| AuthError::Network {
            doing,
            detail: e.without_url().to_string(),
        })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let field = |k: &str| parsed.get(k).and_then(|v| v.as_str()).map(str::to_string);
        return Err(AuthError::TokenEndpoint {
            doing,
            status: status.as_u16(),
            code: field("error").unwrap_or_else(|| "unknown_error".into()),
            description: field("error_description").unwrap_or_default(),
        });
    }
    serde_json::from_str(&text).map_err(|e| AuthError::Network {
        doing,
        detail: format!("the token endpoint's answer is not a token ({e})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_url_must_carry_our_state() {
        let url = "http://localhost:8239/callback?code=abc&state=s1";
        assert_eq!(code_from_paste(url, "s1").unwrap(), Some("abc".into()));
        assert!(matches!(
            code_from_paste(url, "s2"),
            Err(AuthError::StateMismatch)
        ));
        assert_eq!(
            code_from_paste("  abc123 ", "s").unwrap(),
            Some("abc123".into())
        );
        assert_eq!(
            code_from_paste("code=x%2By&state=s", "s").unwrap(),
            Some("x+y".into())
        );
        assert_eq!(code_from_paste("", "s").unwrap(), None);
        assert!(matches!(
            code_from_paste("two words", "s"),
            Err(AuthError::BadPaste)
        ));
        assert!(matches!(
            code_from_paste("http://localhost:8239/callback?error=access_denied", "s"),
            Err(AuthError::Denied { .. })
        ));
    }

    #[test]
    fn the_authorize_url_carries_pkce_state_and_scopes() {
        let settings = OAuthSettings::from_env_with(&|_| None);
        let pkce = Pkce::generate();
        let url = authorize_url(&settings, &pkce, "http://localhost:8239/callback").unwrap();
        let parsed = reqwest::Url::parse(&url).unwrap();
        assert_eq!(parsed.path(), "/oauth/authorize");
        let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], pkce.challenge());
        assert_eq!(q["state"], pkce.state());
        assert_eq!(q["client_id"], CLIENT_ID);
        assert!(q["scope"].split(' ').any(|s| s == "llm_gateway:read"));
    }

    struct Silent(std::sync::Mutex<Option<String>>);
    impl Prompter for Silent {
        fn show_url(&self, url: &str) -> bool {
            *self.0.lock().unwrap() = Some(url.to_string());
            false
        }
    }

    fn test_settings(timeout: Duration) -> OAuthSettings {
        OAuthSettings {
            base_url: "http://127.0.0.1:9".into(),
            ports: vec![0],
            timeout,
            ..OAuthSettings::from_env_with(&|_| None)
        }
    }

    #[tokio::test]
    async fn nobody_answering_times_out() {
        let prompter = Silent(Default::default());
        let http = reqwest::Client::new();
        let started = std::time::Instant::now();
        let err = authorize(
            &test_settings(Duration::from_millis(300)),
            &http,
            &prompter,
            None,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, AuthError::TimedOut { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(prompter.0.lock().unwrap().is_some(), "the URL was shown");
    }

    #[tokio::test]
    async fn a_callback_with_another_state_is_refused() {
        let prompter = std::sync::Arc::new(Silent(Default::default()));
        let http = reqwest::Client::new();
        let flow = {
            let prompter = prompter.clone();
            let http = http.clone();
            tokio::spawn(async move {
                authorize(
                    &test_settings(Duration::from_secs(20)),
                    &http,
                    prompter.as_ref(),
                    None,
                )
                .await
            })
        };
        let url = loop {
            if let Some(u) = prompter.0.lock().unwrap().clone() {
                break u;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let parsed = reqwest::Url::parse(&url).unwrap();
        let redirect = parsed
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .map(|(_, v)| v.replace("localhost", "127.0.0.1"))
            .unwrap();
        let answer = http
            .get(format!("{redirect}?code=c&state=forged"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 400);
        let err = flow.await.unwrap().unwrap_err();
        assert!(matches!(err, AuthError::StateMismatch), "{err}");
    }
}
