//! Where a path the model names really points, and whether it stays in the install dir.
//!
//! Every file tool resolves its path here before touching anything. A path is
//! accepted only when the file it finally reaches lies under the canonical
//! install dir: `..` is folded lexically first, then the deepest part of the
//! path that exists is canonicalized (so a symlink inside the project that
//! points outside is caught), and the parts that do not exist yet are joined
//! back on. The tools then operate on [`ProjectPath::absolute`], the very path
//! that was checked, never on the model's raw text.
//!
//! A race with another process swapping a directory for a symlink between the
//! check and the use is out of scope: the fence is against the model's input.

use std::io;
use std::path::{Component, Path, PathBuf};

use super::context::ToolError;

/// A path the model named, resolved and proven to lie inside the install dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPath {
    /// The path to operate on: canonical as far as it exists, then the missing parts.
    pub absolute: PathBuf,
    /// The same path relative to the install dir, with `/` separators (`app/layout.tsx`).
    /// Empty for the install dir itself.
    pub relative: String,
}

impl ProjectPath {
    /// The last component's name (`.env.local`), empty for the install dir itself.
    pub fn file_name(&self) -> &str {
        self.relative.rsplit('/').next().unwrap_or_default()
    }

    /// The path as shown to the model: relative, or `.` for the install dir.
    pub fn display(&self) -> &str {
        if self.relative.is_empty() {
            "."
        } else {
            &self.relative
        }
    }
}

/// Resolves `raw` (relative to the install dir, or absolute) and refuses anything
/// that escapes the install dir, lexically or through a symlink.
pub fn resolve(install_dir: &Path, raw: &str) -> Result<ProjectPath, ToolError> {
    if raw.trim().is_empty() {
        return Err(ToolError::InvalidInput("the path is empty".into()));
    }
    if raw.contains('\0') {
        return Err(ToolError::InvalidInput(format!(
            "the path {raw:?} contains a NUL byte"
        )));
    }
    let root = install_dir.canonicalize().map_err(|e| {
        ToolError::Failed(format!(
            "the install dir {} cannot be resolved: {e}",
            install_dir.display()
        ))
    })?;
    let joined = if Path::new(raw).is_absolute() {
        PathBuf::from(raw)
    } else {
        root.join(raw)
    };
    let lexical = fold_dots(&joined).ok_or_else(|| outside(raw))?;
    if !lexical.starts_with(&root) {
        return Err(outside(raw));
    }

    let (existing, missing) = split_existing(&lexical);
    let canonical = existing.canonicalize().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ToolError::Denied(format!(
            "path rule: {raw} goes through a broken symlink ({}), which could point anywhere",
            existing.display()
        )),
        _ => ToolError::Failed(format!("cannot resolve {raw}: {e}")),
    })?;
    if !canonical.starts_with(&root) {
        return Err(ToolError::Denied(format!(
            "path rule: {raw} resolves through a symlink to {}, outside the install dir",
            canonical.display()
        )));
    }
    let absolute = missing.iter().fold(canonical, |p, part| p.join(part));
    let relative = absolute
        .strip_prefix(&root)
        .map_err(|_| outside(raw))?
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    Ok(ProjectPath { absolute, relative })
}

fn outside(raw: &str) -> ToolError {
    ToolError::Denied(format!(
        "path rule: {raw} is outside the install dir; tools only reach files inside the project"
    ))
}

/// Folds `.` and `..` without touching the file system; `None` when `..` climbs above the root.
fn fold_dots(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() || out.as_os_str().is_empty() {
                    return None;
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    Some(out)
}

/// Splits a path into its deepest ancestor that exists (a dangling symlink counts as
/// existing, so canonicalizing it fails loudly) and the names below it that do not.
fn split_existing(path: &Path) -> (PathBuf, Vec<std::ffi::OsString>) {
    let mut existing = path.to_path_buf();
    let mut missing = Vec::new();
    while existing.symlink_metadata().is_err() {
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                missing.push(name);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    missing.reverse();
    (existing, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_path_inside_resolves_to_its_relative_form() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("app")).unwrap();
        let p = resolve(dir.path(), "app/../app/./page.tsx").unwrap();
        assert_eq!(p.relative, "app/page.tsx");
        assert_eq!(p.file_name(), "page.tsx");
        assert!(p.absolute.ends_with("app/page.tsx"));
    }

    #[test]
    fn dot_dot_escape_is_refused_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve(dir.path(), "../secret").unwrap_err();
        assert!(
            matches!(&err, ToolError::Denied(m) if m.contains("../secret") && m.contains("outside"))
        );
    }

    #[test]
    fn absolute_path_inside_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let p = resolve(dir.path(), root.join("x.txt").to_str().unwrap()).unwrap();
        assert_eq!(p.relative, "x.txt");
    }

    #[test]
    fn install_dir_itself_has_an_empty_relative_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = resolve(dir.path(), ".").unwrap();
        assert_eq!(p.relative, "");
        assert_eq!(p.display(), ".");
    }

    #[cfg(unix)]
    #[test]
    fn dangling_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/nonexistent/wizard-target", dir.path().join("link")).unwrap();
        let err = resolve(dir.path(), "link").unwrap_err();
        assert!(matches!(&err, ToolError::Denied(m) if m.contains("broken symlink")));
    }
}
