//! Where content comes from (`--content`), and loading it into a [`ContentSet`].

use std::fmt;
use std::path::PathBuf;

use super::error::{ContentError, ContentErrors};
use super::remote;
use super::set::ContentSet;
use super::store::FileStore;

/// Where a run's content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentSource {
    /// Compiled into the binary (the default).
    Embedded,
    /// A directory (`--content DIR`).
    Dir(PathBuf),
    /// A context-mill-style server (`--content http://127.0.0.1:8765`).
    Url(String),
}

impl ContentSource {
    /// Reads a `--content` argument: absent = embedded, `http://` or `https://` = a server, else a directory.
    pub fn parse(arg: Option<&str>) -> ContentSource {
        match arg.map(str::trim) {
            None | Some("") => ContentSource::Embedded,
            Some(a) if a.starts_with("http://") || a.starts_with("https://") => {
                ContentSource::Url(a.to_string())
            }
            Some(a) => ContentSource::Dir(PathBuf::from(a)),
        }
    }

    /// The local store for this source (None for a server).
    pub(crate) fn store(&self) -> Option<FileStore> {
        match self {
            ContentSource::Embedded => Some(FileStore::Embedded),
            ContentSource::Dir(dir) => Some(FileStore::Dir(dir.clone())),
            ContentSource::Url(_) => None,
        }
    }
}

impl fmt::Display for ContentSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentSource::Embedded => write!(f, "the built-in content"),
            ContentSource::Dir(dir) => write!(f, "{}", dir.display()),
            ContentSource::Url(url) => write!(f, "{url}"),
        }
    }
}

/// Reads and validates the content from `source`. Every problem found is in the error.
pub async fn load(source: &ContentSource) -> Result<ContentSet, ContentErrors> {
    let files = match (source, source.store()) {
        (ContentSource::Url(url), _) => remote::fetch_files(url).await?,
        (_, Some(store)) => tokio::task::spawn_blocking(move || store.read_all())
            .await
            .map_err(|e| {
                ContentError::file(source.to_string(), format!("reading stopped: {e}"))
            })??,
        (_, None) => {
            return Err(ContentErrors::one(ContentError::file(
                source.to_string(),
                "no way to read this source",
            )))
        }
    };
    ContentSet::from_files(files)
}

/// Reads and validates the content from `source` on this thread (Embedded and Dir only).
pub fn load_blocking(source: &ContentSource) -> Result<ContentSet, ContentErrors> {
    match source.store() {
        Some(store) => ContentSet::from_files(store.read_all()?),
        None => Err(ContentErrors::one(ContentError::file(
            source.to_string(),
            "a server is read with `load`, not `load_blocking`",
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_argument_picks_embedded_dir_or_url() {
        assert_eq!(ContentSource::parse(None), ContentSource::Embedded);
        assert_eq!(
            ContentSource::parse(Some("http://127.0.0.1:8765")),
            ContentSource::Url("http://127.0.0.1:8765".into())
        );
        assert_eq!(
            ContentSource::parse(Some("./my-content")),
            ContentSource::Dir(PathBuf::from("./my-content"))
        );
    }
}
