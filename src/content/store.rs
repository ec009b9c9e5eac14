//! The raw files of a content tree on this machine: embedded in the binary
//! or in a directory. Reading is blocking (run it on a blocking thread).
//!
//! Both list the same way (relative paths with `/`, hidden files left out),
//! so a directory and the binary built from it hash the same.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rust_embed::RustEmbed;

use super::error::{ContentError, ContentErrors};
use super::layout;

/// The content compiled into the binary (everything under `content/`).
#[derive(RustEmbed)]
#[folder = "content/"]
struct Embedded;

/// Where raw content files are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStore {
    /// Compiled into the binary.
    Embedded,
    /// A directory on disk, read afresh on every call.
    Dir(PathBuf),
}

impl FileStore {
    /// Every file's relative path, sorted.
    pub fn list(&self) -> Result<Vec<String>, ContentError> {
        let mut paths = match self {
            FileStore::Embedded => Embedded::iter()
                .map(|p| p.into_owned())
                .filter(|p| layout::is_content_path(p))
                .collect(),
            FileStore::Dir(dir) => list_dir(dir)?,
        };
        paths.sort();
        Ok(paths)
    }

    /// One file's bytes.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, ContentError> {
        if !layout::is_content_path(path) {
            return Err(ContentError::file(path, "not a content path"));
        }
        match self {
            FileStore::Embedded => Embedded::get(path)
                .map(|f| f.data.into_owned())
                .ok_or_else(|| ContentError::file(path, "not in the embedded content")),
            FileStore::Dir(dir) => {
                let full = dir.join(path);
                fs::read(&full).map_err(|e| {
                    ContentError::file(full.display().to_string(), format!("cannot read: {e}"))
                })
            }
        }
    }

    /// Every file, read.
    pub fn read_all(&self) -> Result<BTreeMap<String, Vec<u8>>, ContentErrors> {
        let mut files = BTreeMap::new();
        let mut errors = Vec::new();
        for path in self.list()? {
            match self.read(&path) {
                Ok(bytes) => {
                    files.insert(path, bytes);
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
}

/// Relative paths of the non-hidden files under `dir` (symlinks followed).
fn list_dir(dir: &Path) -> Result<Vec<String>, ContentError> {
    let meta = fs::metadata(dir).map_err(|e| {
        ContentError::file(
            dir.display().to_string(),
            format!("cannot open the content directory: {e}"),
        )
    })?;
    if !meta.is_dir() {
        return Err(ContentError::file(
            dir.display().to_string(),
            "is not a directory",
        ));
    }
    let mut paths = Vec::new();
    let walk = ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .hidden(true)
        .follow_links(true)
        .build();
    for entry in walk {
        let entry = entry.map_err(|e| {
            ContentError::file(dir.display().to_string(), format!("cannot list: {e}"))
        })?;
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(dir) else {
            continue;
        };
        let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
        match parts {
            Some(parts) => paths.push(parts.join("/")),
            None => {
                return Err(ContentError::file(
                    entry.path().display().to_string(),
                    "file name is not UTF-8",
                ))
            }
        }
    }
    Ok(paths)
}

/// Writes the embedded content into `dir`, which must be new or empty.
/// Returns the relative paths written.
pub fn export_embedded(dir: &Path) -> Result<Vec<String>, ContentError> {
    let where_ = || dir.display().to_string();
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(ContentError::file(
                    where_(),
                    "the directory is not empty; export into a new or empty directory",
                ));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(ContentError::file(where_(), format!("cannot open: {e}"))),
    }
    let store = FileStore::Embedded;
    let paths = store.list()?;
    for path in &paths {
        let bytes = store.read(path)?;
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| {
                ContentError::file(parent.display().to_string(), format!("cannot create: {e}"))
            })?;
        }
        fs::write(&target, bytes).map_err(|e| {
            ContentError::file(target.display().to_string(), format!("cannot write: {e}"))
        })?;
    }
    Ok(paths)
}
