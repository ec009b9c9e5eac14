//! `wizard content serve`: serves a content tree on the routes the loader
//! reads, so `--content http://127.0.0.1:8765` works end to end.
//!
//! Routes (documented in `content/README.md`):
//! `GET /agent-menu.json`, `/agents/<type>.md`, `/skill-menu.json`,
//! `/skills/<name>.md`, `/data-menu.json`, `/data/<path>`.
//! A directory is re-read on every request, so edits show up without a
//! restart (as context-mill's dev server does). It binds to 127.0.0.1 only.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::sync::oneshot;

use super::error::ContentError;
use super::layout::{self, FileKind};
use super::menu::{AgentMenu, DataEntry, DataMenu, MenuEntry, SkillMenu, MENU_VERSION};
use super::source::ContentSource;
use super::store::FileStore;

/// Serves `source` on 127.0.0.1:`port` (0 = any free port) until the future
/// is dropped. The bound address goes to `ready` once the socket listens.
pub async fn serve(
    source: &ContentSource,
    port: u16,
    ready: oneshot::Sender<SocketAddr>,
) -> Result<(), ContentError> {
    let store = source.store().ok_or_else(|| {
        ContentError::file(
            source.to_string(),
            "only the built-in content or a directory can be served",
        )
    })?;
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(|e| {
            ContentError::file(format!("127.0.0.1:{port}"), format!("cannot listen: {e}"))
        })?;
    let addr = listener.local_addr().map_err(|e| {
        ContentError::file(
            format!("127.0.0.1:{port}"),
            format!("no local address: {e}"),
        )
    })?;
    println!("Serving {source} at http://{addr}");
    // The caller may not care to wait for the address; a dropped receiver is fine.
    let _ = ready.send(addr);
    axum::serve(listener, router(store))
        .await
        .map_err(|e| ContentError::file(format!("http://{addr}"), format!("server stopped: {e}")))
}

/// The server's routes over a store.
fn router(store: FileStore) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/agent-menu.json", get(agent_menu))
        .route("/skill-menu.json", get(skill_menu))
        .route("/data-menu.json", get(data_menu))
        .route("/agents/{file}", get(agent_file))
        .route("/skills/{file}", get(skill_file))
        .route("/data/{*path}", get(data_file))
        .with_state(Arc::new(store))
}

type Shared = State<Arc<FileStore>>;

async fn index() -> &'static str {
    "wizard content server: /agent-menu.json, /skill-menu.json, /data-menu.json\n"
}

async fn agent_menu(State(store): Shared) -> Response {
    match list(store).await {
        Ok(paths) => no_cache(Json(AgentMenu {
            version: MENU_VERSION.to_string(),
            agents: entries(&paths, |p| match layout::kind_of(p) {
                FileKind::Agent(id) => Some(id),
                _ => None,
            }),
        })),
        Err(e) => e,
    }
}

async fn skill_menu(State(store): Shared) -> Response {
    match list(store).await {
        Ok(paths) => no_cache(Json(SkillMenu {
            version: MENU_VERSION.to_string(),
            skills: entries(&paths, |p| match layout::kind_of(p) {
                FileKind::Skill(id) => Some(id),
                _ => None,
            }),
        })),
        Err(e) => e,
    }
}

async fn data_menu(State(store): Shared) -> Response {
    match list(store).await {
        Ok(paths) => no_cache(Json(DataMenu {
            version: MENU_VERSION.to_string(),
            files: paths
                .iter()
                .filter(|p| layout::kind_of(p) == FileKind::Data)
                .map(|p| DataEntry {
                    path: p.clone(),
                    download_url: format!("data/{p}"),
                })
                .collect(),
        })),
        Err(e) => e,
    }
}

async fn agent_file(State(store): Shared, Path(file): Path<String>) -> Response {
    file_response(store, format!("agents/{file}")).await
}

async fn skill_file(State(store): Shared, Path(file): Path<String>) -> Response {
    file_response(store, format!("skills/{file}")).await
}

async fn data_file(State(store): Shared, Path(path): Path<String>) -> Response {
    file_response(store, path).await
}

/// Menu entries for the paths `id_of` recognises; URLs relative to the menu.
fn entries<'a>(paths: &'a [String], id_of: impl Fn(&'a str) -> Option<&'a str>) -> Vec<MenuEntry> {
    paths
        .iter()
        .filter_map(|p| {
            id_of(p).map(|id| MenuEntry {
                id: id.to_string(),
                download_url: p.clone(),
            })
        })
        .collect()
}

async fn list(store: Arc<FileStore>) -> Result<Vec<String>, Response> {
    tokio::task::spawn_blocking(move || store.list())
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(|e| internal(e.to_string()))
}

/// A file, if the store lists it (so nothing hidden or outside is ever served).
async fn file_response(store: Arc<FileStore>, path: String) -> Response {
    if !layout::is_content_path(&path) {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    let wanted = path.clone();
    let read = tokio::task::spawn_blocking(move || {
        let listed = store.list()?;
        if !listed.contains(&wanted) {
            return Ok(None);
        }
        store.read(&wanted).map(Some)
    })
    .await;
    match read {
        Ok(Ok(Some(bytes))) => no_cache(([(header::CONTENT_TYPE, content_type(&path))], bytes)),
        Ok(Ok(None)) => (StatusCode::NOT_FOUND, format!("no {path}\n")).into_response(),
        Ok(Err(e)) => internal(e.to_string()),
        Err(e) => internal(e.to_string()),
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("md") => "text/markdown; charset=utf-8",
        Some("yaml" | "yml") => "application/yaml",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn no_cache(body: impl IntoResponse) -> Response {
    ([(header::CACHE_CONTROL, "no-cache")], body).into_response()
}

fn internal(message: String) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, format!("{message}\n")).into_response()
}
