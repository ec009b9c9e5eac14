//! A loopback fake of PostHog's sign-in: the OAuth server (`/oauth/authorize`,
//! `/oauth/token`) and the API the wizard reads after it (`/api/users/@me/`,
//! `/api/projects/`, `/api/projects/{id}/`).
//!
//! The OAuth side checks what a real server checks: the client id, S256 as
//! the challenge method, the code's redirect URI, and that the verifier hashes
//! to the challenge (RFC 7636 §4.6); it echoes `state`. `/oauth/authorize`
//! answers the browser's redirect to the callback at once (the user "clicked
//! Authorize"), so a test plays the browser with one GET. Tokens are
//! predictable (`pha_fake_access_N`, `phr_fake_refresh_N`) so a test can
//! expect them at the gateway. The API accepts issued access tokens and the
//! personal API keys the test configures.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A project the fake user can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeProject {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its project token.
    pub api_token: String,
}

/// One `/oauth/authorize` request, as the fake saw it.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    /// Every query parameter.
    pub query: BTreeMap<String, String>,
}

#[derive(Debug)]
struct Grant {
    challenge: String,
    redirect_uri: String,
    used: bool,
}

#[derive(Debug)]
struct AccountState {
    client_id: Option<String>,
    email: String,
    projects: Vec<FakeProject>,
    current: u64,
    expires_in: u64,
    region: Option<String>,
    personal_keys: Vec<String>,
    grants: BTreeMap<String, Grant>,
    access_tokens: Vec<String>,
    refresh_tokens: Vec<String>,
    authorize_requests: Vec<AuthorizeRequest>,
    token_requests: Vec<Value>,
    api_bearers: Vec<String>,
    issued: u64,
}

type Shared = Arc<Mutex<AccountState>>;

fn lock(state: &Shared) -> MutexGuard<'_, AccountState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The running fake; stops when dropped.
pub struct FakeAccount {
    addr: SocketAddr,
    state: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for FakeAccount {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl FakeAccount {
    /// Starts on a thread and runtime of its own, with one user and these projects (the first is current).
    pub fn start_background(email: &str, projects: Vec<FakeProject>) -> Self {
        let current = projects.first().map(|p| p.id).unwrap_or(0);
        let state = Arc::new(Mutex::new(AccountState {
            client_id: None,
            email: email.to_string(),
            projects,
            current,
            expires_in: 3600,
            region: None,
            personal_keys: Vec::new(),
            grants: BTreeMap::new(),
            access_tokens: Vec::new(),
            refresh_tokens: Vec::new(),
            authorize_requests: Vec::new(),
            token_requests: Vec::new(),
            api_bearers: Vec::new(),
            issued: 0,
        }));
        let app = Router::new()
            .route("/oauth/authorize", get(authorize))
            .route("/oauth/token", post(token))
            .route("/api/users/@me/", get(me))
            .route("/api/users/@me", get(me))
            .route("/api/projects/", get(list_projects))
            .route("/api/projects/{id}/", get(project))
            .with_state(state.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking socket");
        let addr = listener.local_addr().expect("a bound address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the fake account");
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("register the socket");
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        FakeAccount {
            addr,
            state,
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:<port>` (both the OAuth base and the API host).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Refuses any other client id.
    pub fn expect_client_id(&self, id: &str) {
        lock(&self.state).client_id = Some(id.to_string());
    }

    /// Access tokens live this many seconds.
    pub fn set_expires_in(&self, seconds: u64) {
        lock(&self.state).expires_in = seconds;
    }

    /// The token response says this region (`us`/`eu`).
    pub fn set_region(&self, region: &str) {
        lock(&self.state).region = Some(region.to_string());
    }

    /// Accepts this personal API key on the API.
    pub fn accept_personal_key(&self, key: &str) {
        lock(&self.state).personal_keys.push(key.to_string());
    }

    /// Forgets every issued token (a revoked sign-in).
    pub fn revoke_all(&self) {
        let mut s = lock(&self.state);
        s.access_tokens.clear();
        s.refresh_tokens.clear();
    }

    /// Every authorize request so far.
    pub fn authorize_requests(&self) -> Vec<AuthorizeRequest> {
        lock(&self.state).authorize_requests.clone()
    }

    /// Every token request body so far.
    pub fn token_requests(&self) -> Vec<Value> {
        lock(&self.state).token_requests.clone()
    }

    /// Access tokens issued so far, in order.
    pub fn issued_access_tokens(&self) -> Vec<String> {
        lock(&self.state).access_tokens.clone()
    }

    /// The bearers the API saw, in order.
    pub fn api_bearers(&self) -> Vec<String> {
        lock(&self.state).api_bearers.clone()
    }
}

async fn authorize(
    State(state): State<Shared>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    s.authorize_requests.push(AuthorizeRequest {
        query: query.clone(),
    });
    let param = |k: &str| query.get(k).cloned().unwrap_or_default();
    if let Some(expected) = &s.client_id {
        if &param("client_id") != expected {
            return (StatusCode::BAD_REQUEST, "unknown client_id").into_response();
        }
    }
    if param("response_type") != "code" || param("code_challenge_method") != "S256" {
        return (StatusCode::BAD_REQUEST, "PKCE with S256 is required").into_response();
    }
    let redirect = param("redirect_uri");
    if redirect.is_empty() || param("code_challenge").is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            "missing redirect_uri or code_challenge",
        )
            .into_response();
    }
    s.issued += 1;
    let code = format!("code_{}", s.issued);
    s.grants.insert(
        code.clone(),
        Grant {
            challenge: param("code_challenge"),
            redirect_uri: redirect.clone(),
            used: false,
        },
    );
    let mut location = format!("{redirect}?code={code}");
    if let Some(state) = query.get("state") {
        location.push_str(&format!("&state={}", urlencode(state)));
    }
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn oauth_error(code: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

async fn token(State(state): State<Shared>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut s = lock(&state);
    s.token_requests.push(body.clone());
    let field = |k: &str| {
        body.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    if let Some(expected) = &s.client_id {
        if &field("client_id") != expected {
            return oauth_error("invalid_client", "unknown client_id");
        }
    }
    match field("grant_type").as_str() {
        "authorization_code" => {
            let code = field("code");
            let Some(grant) = s.grants.get_mut(&code) else {
                return oauth_error("invalid_grant", "unknown code");
            };
            if grant.used {
                return oauth_error("invalid_grant", "code already used");
            }
            if grant.redirect_uri != field("redirect_uri") {
                return oauth_error("invalid_grant", "redirect_uri mismatch");
            }
            let challenge =
                URL_SAFE_NO_PAD.encode(Sha256::digest(field("code_verifier").as_bytes()));
            if challenge != grant.challenge {
                return oauth_error(
                    "invalid_grant",
                    "code_verifier does not match the challenge",
                );
            }
            grant.used = true;
        }
        "refresh_token" => {
            let refresh = field("refresh_token");
            if !s.refresh_tokens.contains(&refresh) {
                return oauth_error("invalid_grant", "unknown refresh token");
            }
            s.refresh_tokens.retain(|t| t != &refresh);
        }
        _ => return oauth_error("unsupported_grant_type", "unsupported grant_type"),
    }
    s.issued += 1;
    let access = format!("pha_fake_access_{}", s.issued);
    let refresh = format!("phr_fake_refresh_{}", s.issued);
    s.access_tokens.push(access.clone());
    s.refresh_tokens.push(refresh.clone());
    let mut answer = json!({
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": s.expires_in,
        "scope": "user:read project:read llm_gateway:read",
    });
    if let Some(region) = &s.region {
        answer["posthog_region"] = json!(region);
    }
    Json(answer).into_response()
}

fn bearer_ok(s: &mut AccountState, headers: &HeaderMap) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_string();
    s.api_bearers.push(bearer.clone());
    s.access_tokens.contains(&bearer) || s.personal_keys.contains(&bearer)
}

fn project_json(p: &FakeProject) -> Value {
    json!({"id": p.id, "name": p.name, "api_token": p.api_token})
}

async fn me(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let mut s = lock(&state);
    if !bearer_ok(&mut s, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"detail": "Invalid token"})),
        )
            .into_response();
    }
    let team = s
        .projects
        .iter()
        .find(|p| p.id == s.current)
        .map(project_json);
    Json(json!({"email": s.email, "distinct_id": "fake-user", "team": team})).into_response()
}

async fn list_projects(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let mut s = lock(&state);
    if !bearer_ok(&mut s, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"detail": "Invalid token"})),
        )
            .into_response();
    }
    let results: Vec<Value> = s.projects.iter().map(project_json).collect();
    Json(json!({"count": results.len(), "next": null, "previous": null, "results": results}))
        .into_response()
}

async fn project(State(state): State<Shared>, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    let mut s = lock(&state);
    if !bearer_ok(&mut s, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"detail": "Invalid token"})),
        )
            .into_response();
    }
    match s.projects.iter().find(|p| p.id == id) {
        Some(p) => Json(project_json(p)).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"detail": "Not found."}))).into_response(),
    }
}
