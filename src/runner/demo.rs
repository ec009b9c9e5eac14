//! `wizard demo`: the bundled sample app, copied out for an offline run.
//!
//! The sample Next.js app (`examples/next-app/`, source files only) is
//! compiled into the binary, so the demo needs no files beside it, no key
//! and no network.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "examples/next-app/"]
// Someone who builds the sample app by hand must not ship its dependencies in the binary.
#[exclude = "node_modules/*"]
#[exclude = ".next/*"]
#[exclude = "package-lock.json"]
#[exclude = ".posthog-wizard/*"]
#[exclude = ".env*"]
struct SampleApp;

/// Copies the sample app into `dir` (a new temporary directory when `None`) and returns it.
/// Refuses a directory that already has files, so nothing of the user's is overwritten.
pub fn prepare(dir: Option<&Path>) -> Result<PathBuf> {
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
    for path in SampleApp::iter() {
        let Some(file) = SampleApp::get(&path) else {
            continue;
        };
        let target = dir.join(path.as_ref());
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, file.data.as_ref())
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    Ok(dir)
}
