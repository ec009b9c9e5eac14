//! `wizard demo`: a bundled sample app, copied out for an offline run.
//!
//! The sample apps (`examples/<name>/`, source files only) are compiled into
//! the binary, so the demo needs no files beside it, no key and no network.
//! Each one is replayed with the cassette of the same name.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rust_embed::RustEmbed;

/// The sample app `wizard demo` uses without `--app`.
pub const DEFAULT_APP: &str = "next-app";

#[derive(RustEmbed)]
#[folder = "examples/"]
// Someone who builds a sample app by hand must not ship its dependencies or its
// build output in the binary.
#[exclude = "*/node_modules/*"]
#[exclude = "*/.next/*"]
#[exclude = "*/.react-router/*"]
#[exclude = "*/build/*"]
#[exclude = "*/dist/*"]
#[exclude = "*/.nuxt/*"]
#[exclude = "*/.output/*"]
#[exclude = "*/.svelte-kit/*"]
#[exclude = "*/.astro/*"]
#[exclude = "*/package-lock.json"]
#[exclude = "*/.posthog-wizard/*"]
#[exclude = "*/.env*"]
#[exclude = "*/.venv/*"]
#[exclude = "*/__pycache__/*"]
struct SampleApps;

/// The names of the bundled sample apps, sorted.
pub fn apps() -> BTreeSet<String> {
    SampleApps::iter()
        .filter_map(|path| path.split_once('/').map(|(app, _)| app.to_string()))
        .collect()
}

/// Copies the sample app `app` into `dir` (a new temporary directory when `None`) and
/// returns it. Refuses an unknown app, and a directory that already has files, so
/// nothing of the user's is overwritten.
pub fn prepare(app: &str, dir: Option<&Path>) -> Result<PathBuf> {
    let known = apps();
    if !known.contains(app) {
        let names: Vec<&str> = known.iter().map(String::as_str).collect();
        bail!(
            "there is no sample app named {app:?}; the demo has: {}",
            names.join(", ")
        );
    }
    let dir = match dir {
        Some(d) => {
            if d.exists()
                && std::fs::read_dir(d)
                    .map(|mut r| r.next().is_some())
                    .unwrap_or(false)
            {
                bail!("{} is not empty; the demo copies the sample app into an empty or new directory", d.display());
            }
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            d.to_path_buf()
        }
        None => tempfile::Builder::new()
            .prefix("wizard-demo-")
            .tempdir()
            .context("cannot create a temporary directory")?
            .keep(),
    };
    let prefix = format!("{app}/");
    for path in SampleApps::iter() {
        let Some(rel) = path.strip_prefix(&prefix) else {
            continue;
        };
        let Some(file) = SampleApps::get(&path) else {
            continue;
        };
        let target = dir.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, file.data.as_ref())
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    Ok(dir)
}
