//! Reads a content tree from a context-mill-style server.
//!
//! Three menus (`agent-menu.json`, `skill-menu.json`, `data-menu.json`)
//! name every file; each is then fetched, a few at a time. The result is
//! the same `path → bytes` map a directory gives, so validation and
//! hashing do not care where content came from. Every failed request is
//! reported, not just the first.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use reqwest::{Client, Url};
use serde::de::DeserializeOwned;

use super::error::{ContentError, ContentErrors};
use super::layout;
use super::menu::{AgentMenu, DataMenu, SkillMenu};

/// Files fetched at once.
const PARALLEL_FETCHES: usize = 8;
/// Time allowed for one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Every file the server at `base` lists, by relative path.
pub async fn fetch_files(base: &str) -> Result<BTreeMap<String, Vec<u8>>, ContentErrors> {
    let base = base_url(base)?;
    let client = Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| {
            ContentError::file(base.as_str(), format!("cannot build an HTTP client: {e}"))
        })?;

    let agent_url = join(&base, "agent-menu.json")?;
    let skill_url = join(&base, "skill-menu.json")?;
    let data_url = join(&base, "data-menu.json")?;
    let (agents, skills, data) = futures::join!(
        get_json::<AgentMenu>(&client, &agent_url),
        get_json::<SkillMenu>(&client, &skill_url),
        get_json::<DataMenu>(&client, &data_url),
    );

    let mut errors = Vec::new();
    let mut wanted: Vec<(String, Url)> = Vec::new();
    let mut add = |path: String, menu: &Url, href: &str, errors: &mut Vec<ContentError>| {
        if !layout::is_content_path(&path) {
            errors.push(ContentError::file(
                menu.as_str(),
                format!("entry \"{path}\" is not a valid content path"),
            ));
            return;
        }
        match menu.join(href) {
            Ok(url) => wanted.push((path, url)),
            Err(e) => errors.push(ContentError::file(
                menu.as_str(),
                format!("entry \"{path}\": bad downloadUrl \"{href}\": {e}"),
            )),
        }
    };
    match agents {
        Ok(menu) => {
            for e in menu.agents {
                if layout::is_menu_id(&e.id) {
                    add(
                        format!("agents/{}.md", e.id),
                        &agent_url,
                        &e.download_url,
                        &mut errors,
                    );
                } else {
                    errors.push(ContentError::file(
                        agent_url.as_str(),
                        format!("bad agent id \"{}\"", e.id),
                    ));
                }
            }
        }
        Err(e) => errors.push(e),
    }
    match skills {
        Ok(menu) => {
            for e in menu.skills {
                if layout::is_menu_id(&e.id) {
                    add(
                        format!("skills/{}.md", e.id),
                        &skill_url,
                        &e.download_url,
                        &mut errors,
                    );
                } else {
                    errors.push(ContentError::file(
                        skill_url.as_str(),
                        format!("bad skill id \"{}\"", e.id),
                    ));
                }
            }
        }
        Err(e) => errors.push(e),
    }
    match data {
        Ok(menu) => {
            for e in menu.files {
                add(e.path, &data_url, &e.download_url, &mut errors);
            }
        }
        Err(e) => errors.push(e),
    }

    let fetched: Vec<(String, Result<Vec<u8>, ContentError>)> = stream::iter(wanted)
        .map(|(path, url)| {
            let client = &client;
            async move { (path, get_bytes(client, &url).await) }
        })
        .buffer_unordered(PARALLEL_FETCHES)
        .collect()
        .await;
    let mut files = BTreeMap::new();
    for (path, result) in fetched {
        match result {
            Ok(bytes) => {
                if files.insert(path.clone(), bytes).is_some() {
                    errors.push(ContentError::file(
                        path,
                        "listed twice by the server's menus",
                    ));
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(ContentErrors(errors))
    }
}

/// The base URL with a trailing `/`, so menu names join under it.
fn base_url(base: &str) -> Result<Url, ContentError> {
    let with_slash = if base.ends_with('/') {
        base.to_string()
    } else {
        format!("{base}/")
    };
    Url::parse(&with_slash).map_err(|e| ContentError::file(base, format!("not a valid URL: {e}")))
}

fn join(base: &Url, name: &str) -> Result<Url, ContentError> {
    base.join(name).map_err(|e| {
        ContentError::file(base.as_str(), format!("cannot form the URL of {name}: {e}"))
    })
}

async fn get_bytes(client: &Client, url: &Url) -> Result<Vec<u8>, ContentError> {
    let response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| ContentError::file(url.as_str(), format!("request failed: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(ContentError::file(
            url.as_str(),
            format!("server answered HTTP {status}"),
        ));
    }
    response
        .bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(|e| ContentError::file(url.as_str(), format!("reading the body failed: {e}")))
}

async fn get_json<T: DeserializeOwned>(client: &Client, url: &Url) -> Result<T, ContentError> {
    let bytes = get_bytes(client, url).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ContentError::file(url.as_str(), format!("not a valid menu: {e}")))
}
