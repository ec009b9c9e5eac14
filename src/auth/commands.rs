//! The sign-in steps a user sees: `login`, `logout`, and the sign-in a run needs.

use std::io::{IsTerminal, Write};
use std::path::Path;

use tokio::sync::mpsc;

use super::account::{self, Team};
use super::oauth::{self, OAuthSettings, Prompter, TokenSet};
use super::store::{self, StoredProject, StoredSignIn};
use super::{app_host, AccessSource, AuthError, PostHogAccess};
use crate::providers::credential::ApiSecret;
use crate::runner::bootstrap::Region;

/// Refresh the access token when it expires within this long (a run outlasts minutes).
const REFRESH_MARGIN_MINUTES: i64 = 10;

/// `wizard login`'s options.
#[derive(Debug, Clone, Default)]
pub struct LoginOptions {
    /// Print the URL instead of opening a browser; take the pasted code.
    pub no_browser: bool,
    /// The project to use (else the user's current one, or a pick when several).
    pub project_id: Option<u64>,
    /// Whether questions may be asked on the terminal.
    pub interactive: bool,
}

/// Signs in through the browser, picks the project, and stores the result.
pub async fn login(
    opts: &LoginOptions,
    env: &dyn Fn(&str) -> Option<String>,
    http: &reqwest::Client,
) -> Result<StoredSignIn, AuthError> {
    let path = store::path()?;
    let settings = OAuthSettings::from_env_with(env);
    let prompter = TerminalPrompter {
        open_browser: !opts.no_browser,
    };
    // Paste fallback: whenever someone can type (a terminal, or --no-browser's pipe), a
    // pasted code races the loopback callback, so a browser that cannot reach us is no dead end.
    let pasted = (opts.no_browser || std::io::stdin().is_terminal()).then(pasted_lines);
    let tokens = oauth::authorize(&settings, http, &prompter, pasted).await?;
    let sign_in = complete_sign_in(&settings, &tokens, opts, env, http).await?;
    store::save(&path, &sign_in)?;
    Ok(sign_in)
}

/// Removes the stored sign-in; returns the path removed, or `None` when there was none.
pub fn logout() -> Result<Option<std::path::PathBuf>, AuthError> {
    let path = store::path()?;
    Ok(store::remove(&path)?.then_some(path))
}

async fn complete_sign_in(
    settings: &OAuthSettings,
    tokens: &TokenSet,
    opts: &LoginOptions,
    env: &dyn Fn(&str) -> Option<String>,
    http: &reqwest::Client,
) -> Result<StoredSignIn, AuthError> {
    let bearer = tokens.access_token.as_str();
    let token_region = match tokens.posthog_region.as_deref() {
        Some("eu") => Some(Region::Eu),
        Some("us") => Some(Region::Us),
        _ => None,
    };
    let (api_host, region) = match host_from_env(env) {
        Some(found) => found,
        None => match token_region {
            Some(region) => (app_host(region).to_string(), Some(region)),
            None => probe_region(http, bearer).await?,
        },
    };
    let me = account::me(http, &api_host, bearer).await?;
    let project = choose_project(http, &api_host, bearer, &me.team, opts).await?;
    Ok(StoredSignIn {
        version: 1,
        oauth_base_url: settings.base_url.clone(),
        api_host,
        region,
        access_token: tokens.access_token.clone(),
        refresh_token: tokens.refresh_token.clone(),
        expires_at: expiry(tokens),
        scope: tokens.scope.clone(),
        email: me.email,
        project,
    })
}

fn expiry(tokens: &TokenSet) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::seconds(tokens.expires_in.min(i64::MAX as u64) as i64)
}

/// `POSTHOG_HOST` as the API host, with its cloud region when it is a cloud host.
fn host_from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<(String, Option<Region>)> {
    let host = env("POSTHOG_HOST")?
        .trim()
        .trim_end_matches('/')
        .to_string();
    if host.is_empty() {
        return None;
    }
    let host = if host.contains("://") {
        host
    } else {
        format!("https://{host}")
    };
    let region = match reqwest::Url::parse(&host).ok()?.host_str()? {
        "us.posthog.com" | "us.i.posthog.com" | "app.posthog.com" => Some(Region::Us),
        "eu.posthog.com" | "eu.i.posthog.com" => Some(Region::Eu),
        _ => None,
    };
    match region {
        Some(r) => Some((app_host(r).to_string(), Some(r))),
        None => Some((host, None)),
    }
}

/// The cloud the bearer belongs to: the first whose `/api/users/@me` accepts it.
async fn probe_region(
    http: &reqwest::Client,
    bearer: &str,
) -> Result<(String, Option<Region>), AuthError> {
    let mut last = None;
    for region in [Region::Us, Region::Eu] {
        match account::me(http, app_host(region), bearer).await {
            Ok(_) => return Ok((app_host(region).to_string(), Some(region))),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(AuthError::NotSignedIn(
        "no region accepted the sign-in".into(),
    )))
}

async fn choose_project(
    http: &reqwest::Client,
    host: &str,
    bearer: &str,
    current: &Option<Team>,
    opts: &LoginOptions,
) -> Result<StoredProject, AuthError> {
    if let Some(id) = opts.project_id {
        return with_token(
            http,
            host,
            bearer,
            account::project(http, host, bearer, id).await?,
        )
        .await;
    }
    let projects = account::projects(http, host, bearer).await?;
    let current_id = current.as_ref().map(|t| t.id);
    let chosen = if projects.len() > 1 && opts.interactive {
        pick(&projects, current_id).await?
    } else {
        // Not asked: the user's current project (documented default), else the only one.
        current
            .clone()
            .or_else(|| projects.first().cloned())
            .ok_or_else(|| AuthError::NotSignedIn("your PostHog account has no project".into()))?
    };
    with_token(http, host, bearer, chosen).await
}

async fn with_token(
    http: &reqwest::Client,
    host: &str,
    bearer: &str,
    team: Team,
) -> Result<StoredProject, AuthError> {
    if let Some(project) = team.to_project() {
        return Ok(project);
    }
    account::project(http, host, bearer, team.id)
        .await?
        .to_project()
        .ok_or(AuthError::NoProjectToken { id: team.id })
}

async fn pick(projects: &[Team], current: Option<u64>) -> Result<Team, AuthError> {
    let default = projects
        .iter()
        .position(|p| Some(p.id) == current)
        .unwrap_or(0);
    eprintln!("Which PostHog project should the wizard use?");
    for (i, p) in projects.iter().enumerate() {
        let mark = if i == default { " (current)" } else { "" };
        eprintln!("  {}. {} [id {}]{mark}", i + 1, p.name, p.id);
    }
    eprint!("Project [{}]: ", default + 1);
    let _ = std::io::stderr().flush();
    let line = crate::ui::stdin_lines::next_line()
        .await
        .unwrap_or_default();
    let answer = line.trim();
    let index = if answer.is_empty() {
        default
    } else {
        match answer.parse::<usize>() {
            Ok(n) if (1..=projects.len()).contains(&n) => n - 1,
            _ => {
                return Err(AuthError::Config(format!(
                    "{answer:?} is not one of the projects 1 to {}",
                    projects.len()
                )))
            }
        }
    };
    Ok(projects[index].clone())
}

struct TerminalPrompter {
    open_browser: bool,
}

impl Prompter for TerminalPrompter {
    fn show_url(&self, url: &str) -> bool {
        let opened = self.open_browser && webbrowser::open(url).is_ok();
        if opened {
            eprintln!(
                "wizard: a browser opened to sign in to PostHog. If it did not, open:\n\n  {url}\n"
            );
        } else {
            eprintln!(
                "wizard: to sign in to PostHog, open this URL in a browser:\n\n  {url}\n\n\
                 After you authorize, paste the code or the whole URL the browser ends on here, then press Enter."
            );
        }
        opened
    }
}

/// Pasted lines for the OAuth flow, forwarded from the process's stdin lines until the flow
/// stops listening.
fn pasted_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        loop {
            // Stops waiting (and lets go of stdin) as soon as the flow ends, so the next
            // question's answer is not swallowed here.
            let line = tokio::select! {
                _ = tx.closed() => break,
                line = crate::ui::stdin_lines::next_line() => line,
            };
            let Some(line) = line else { break };
            if tx.send(line).await.is_err() {
                break;
            }
        }
    });
    rx
}

/// What the run was told that bears on signing in.
#[derive(Debug, Clone, Default)]
pub struct RunSignIn {
    /// `--ci`: never ask, never open a browser.
    pub ci: bool,
    /// `--no-browser`.
    pub no_browser: bool,
    /// `--api-key` (a personal API key).
    pub api_key: Option<String>,
    /// `--project-id`.
    pub project_id: Option<u64>,
    /// A project token was given (`--project-token` / `POSTHOG_PROJECT_TOKEN`).
    pub has_project_token: bool,
    /// The host the run was told (`--host`/`POSTHOG_HOST`/`--region`), as an API host.
    pub api_host: String,
    /// Its region, when a cloud.
    pub region: Option<Region>,
}

/// What [`access_for_run`] found.
#[derive(Debug, Clone, Default)]
pub struct RunAccess {
    /// A PostHog credential, when there is one.
    pub access: Option<PostHogAccess>,
    /// A project token the user pasted when asked.
    pub pasted_token: Option<String>,
}

/// The PostHog credential for a run: a personal API key, else the stored sign-in (refreshed
/// when near expiry), else, with no project token, a sign-in offered in a terminal; with no
/// terminal, an error naming the options.
pub async fn access_for_run(
    req: &RunSignIn,
    env: &dyn Fn(&str) -> Option<String>,
    http: &reqwest::Client,
) -> Result<RunAccess, AuthError> {
    let set = |name: &str| {
        env(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let key = match (&req.api_key, set("POSTHOG_PERSONAL_API_KEY")) {
        (Some(k), _) => Some((k.clone(), AccessSource::ApiKeyFlag)),
        (None, Some(k)) => Some((k, AccessSource::ApiKeyEnv)),
        _ => None,
    };
    if let Some((key, source)) = key {
        return personal_key_access(req, key, source, http)
            .await
            .map(|access| RunAccess {
                access: Some(access),
                pasted_token: None,
            });
    }
    let path = store::path()?;
    if let Some(stored) = store::load(&path)? {
        let stored = fresh(stored, &path, http).await?;
        return Ok(RunAccess {
            access: Some(from_stored(stored, path)),
            pasted_token: None,
        });
    }
    if req.has_project_token {
        return Ok(RunAccess::default());
    }
    let interactive = !req.ci && std::io::stdin().is_terminal();
    if !interactive {
        return Err(AuthError::NotSignedIn(NOT_SIGNED_IN.into()));
    }
    offer_sign_in(req, env, http, path).await
}

const NOT_SIGNED_IN: &str = "no project token and no sign-in. Run `wizard login` first, or pass \
     --project-token phc_… (or set POSTHOG_PROJECT_TOKEN), or for CI set POSTHOG_PERSONAL_API_KEY \
     (or --api-key phx_…) with --project-id N";

async fn offer_sign_in(
    req: &RunSignIn,
    env: &dyn Fn(&str) -> Option<String>,
    http: &reqwest::Client,
    path: std::path::PathBuf,
) -> Result<RunAccess, AuthError> {
    eprint!(
        "wizard: no PostHog project token and you are not signed in.\n\
         Press Enter to sign in with PostHog in your browser, or paste a project token (phc_…): "
    );
    let _ = std::io::stderr().flush();
    let line = crate::ui::stdin_lines::next_line()
        .await
        .unwrap_or_default();
    let answer = line.trim();
    if answer.starts_with("phc_") {
        return Ok(RunAccess {
            access: None,
            pasted_token: Some(answer.to_string()),
        });
    }
    if !answer.is_empty() && !answer.eq_ignore_ascii_case("y") {
        return Err(AuthError::NotSignedIn(NOT_SIGNED_IN.into()));
    }
    let opts = LoginOptions {
        no_browser: req.no_browser,
        project_id: req.project_id,
        interactive: true,
    };
    let stored = login(&opts, env, http).await?;
    Ok(RunAccess {
        access: Some(from_stored(stored, path)),
        pasted_token: None,
    })
}

async fn personal_key_access(
    req: &RunSignIn,
    key: String,
    source: AccessSource,
    http: &reqwest::Client,
) -> Result<PostHogAccess, AuthError> {
    let project = if req.has_project_token {
        None
    } else {
        let opts = LoginOptions {
            no_browser: true,
            project_id: req.project_id,
            interactive: false,
        };
        let me = account::me(http, &req.api_host, &key).await?;
        Some(choose_project(http, &req.api_host, &key, &me.team, &opts).await?)
    };
    Ok(PostHogAccess {
        bearer: ApiSecret::new(key),
        source,
        api_host: req.api_host.clone(),
        region: req.region,
        project,
        ingestion_host: match req.region {
            Some(r) => r.ingestion_host().to_string(),
            None => req.api_host.clone(),
        },
    })
}

/// The stored sign-in, refreshed first when it is close to expiry.
async fn fresh(
    stored: StoredSignIn,
    path: &Path,
    http: &reqwest::Client,
) -> Result<StoredSignIn, AuthError> {
    let now = chrono::Utc::now();
    if !stored.expires_within(chrono::Duration::minutes(REFRESH_MARGIN_MINUTES), now) {
        return Ok(stored);
    }
    let Some(refresh_token) = stored.refresh_token.clone() else {
        return Err(AuthError::NotSignedIn(
            "your PostHog sign-in expired; run `wizard login` to sign in again".into(),
        ));
    };
    let settings = OAuthSettings {
        base_url: stored.oauth_base_url.clone(),
        ..OAuthSettings::from_env_with(&|_| None)
    };
    let tokens = oauth::refresh(&settings, http, &refresh_token).await?;
    let renewed = StoredSignIn {
        access_token: tokens.access_token.clone(),
        refresh_token: tokens.refresh_token.clone().or(Some(refresh_token)),
        expires_at: expiry(&tokens),
        scope: if tokens.scope.is_empty() {
            stored.scope.clone()
        } else {
            tokens.scope.clone()
        },
        ..stored
    };
    store::save(path, &renewed)?;
    Ok(renewed)
}

fn from_stored(stored: StoredSignIn, path: std::path::PathBuf) -> PostHogAccess {
    PostHogAccess {
        bearer: ApiSecret::new(stored.access_token.clone()),
        source: AccessSource::SignIn(path),
        api_host: stored.api_host.clone(),
        region: stored.region,
        ingestion_host: stored.ingestion_host(),
        project: Some(stored.project),
    }
}
