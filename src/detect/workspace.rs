//! Finding the projects in a repository: a walk that respects `.gitignore`,
//! and the workspace roots that list member folders.
//!
//! What counts as a project (a manifest file) and how a workspace root lists
//! its members (`package.json` → `workspaces`, `pnpm-workspace.yaml` →
//! `packages`) come from `frameworks.yaml`; this module only applies them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSetBuilder};
use serde_json::Value;

use crate::content::{FrameworkRules, ProjectKind, WorkspaceRules};

/// Folders never walked: dependencies, build output, caches, virtual envs.
pub(crate) const SKIPPED_DIRS: &[&str] = &[
    "node_modules",
    "dist",
    "build",
    "out",
    "coverage",
    "target",
    "vendor",
    "venv",
    "__pycache__",
    "site-packages",
];
/// How deep the walk for projects goes.
const MAX_DEPTH: usize = 6;

/// A folder holding a project manifest.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Its path relative to the root, `/`-separated; `.` for the root.
    pub rel: String,
    /// Its absolute path.
    pub dir: PathBuf,
    /// The kind of project its manifest says it is.
    pub kind: ProjectKind,
    /// The manifest found.
    pub manifest: String,
}

/// A workspace root and what it declares.
#[derive(Debug, Clone)]
pub struct WorkspaceRoot {
    /// Its path relative to the scanned root.
    pub rel: String,
    /// Its absolute path.
    pub dir: PathBuf,
    /// The member globs it lists, with the file that lists them.
    pub members: Vec<String>,
    /// Files that declare it a workspace (`package.json workspaces`, `turbo.json`).
    pub declared_by: Vec<String>,
}

impl WorkspaceRoot {
    /// Whether the project at `rel` (relative to the scanned root) is one of its members.
    pub fn has_member(&self, rel: &str) -> bool {
        let Some(inner) = relative_to(&self.rel, rel) else {
            return false;
        };
        if inner == "." {
            return false;
        }
        let mut builder = GlobSetBuilder::new();
        for m in &self.members {
            let m = m.trim_start_matches("./").trim_end_matches('/');
            if let Ok(g) = Glob::new(m) {
                builder.add(g);
            }
        }
        builder.build().is_ok_and(|set| set.is_match(inner))
    }
}

/// `child` relative to `parent` (both relative to the scanned root), if inside it.
fn relative_to<'a>(parent: &str, child: &'a str) -> Option<&'a str> {
    if parent == "." {
        return Some(child);
    }
    if child == parent {
        return Some(".");
    }
    child.strip_prefix(parent)?.strip_prefix('/')
}

/// Every folder under `root` holding a project manifest, root first, then by path.
pub fn candidates(root: &Path, rules: &FrameworkRules) -> Vec<Candidate> {
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(false)
        .max_depth(Some(MAX_DEPTH))
        .filter_entry(|e| {
            !(e.file_type().is_some_and(|t| t.is_dir())
                && SKIPPED_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        })
        .build();
    let mut found = Vec::new();
    for entry in walker.filter_map(Result::ok) {
        if !entry.file_type().is_some_and(|t| t.is_dir()) {
            continue;
        }
        let dir = entry.path();
        let Some(rel) = rel_path(root, dir) else {
            continue;
        };
        let kind = rules.projects.iter().find_map(|kind| {
            kind.manifests
                .iter()
                .find(|m| dir.join(m.as_str()).is_file())
                .map(|m| (kind.clone(), m.clone()))
        });
        if let Some((kind, manifest)) = kind {
            found.push(Candidate {
                rel,
                dir: dir.to_path_buf(),
                kind,
                manifest,
            });
        }
    }
    found.sort_by(|a, b| (a.rel != ".", &a.rel).cmp(&(b.rel != ".", &b.rel)));
    found
}

/// `dir` relative to `root`, `/`-separated; `.` for the root itself.
pub fn rel_path(root: &Path, dir: &Path) -> Option<String> {
    let rel = dir.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    let joined = parts?.join("/");
    Some(if joined.is_empty() {
        ".".into()
    } else {
        joined
    })
}

/// The workspace roots among `dirs` (plus the scanned root): folders whose files
/// list members or mark a monorepo tool.
pub fn workspace_roots(
    root: &Path,
    dirs: &[&Candidate],
    rules: &WorkspaceRules,
) -> Vec<WorkspaceRoot> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let places = std::iter::once((".".to_string(), root.to_path_buf()))
        .chain(dirs.iter().map(|c| (c.rel.clone(), c.dir.clone())));
    for (rel, dir) in places {
        if !seen.insert(rel.clone()) {
            continue;
        }
        let mut members = Vec::new();
        let mut declared_by = Vec::new();
        for list in &rules.member_lists {
            let globs = member_globs(&dir.join(&list.file), &list.field);
            if !globs.is_empty() {
                declared_by.push(format!("{} {}", list.file, list.field));
                members.extend(globs);
            }
        }
        for tool in &rules.tools {
            if dir.join(tool).is_file() {
                declared_by.push(tool.clone());
            }
        }
        if !declared_by.is_empty() {
            out.push(WorkspaceRoot {
                rel,
                dir,
                members,
                declared_by,
            });
        }
    }
    out
}

/// The member globs listed under `field` in a JSON or YAML file: an array of
/// strings, or an object whose `packages` is one (yarn's form).
fn member_globs(path: &Path, field: &str) -> Vec<String> {
    let Ok(text) = fs::read_to_string(path) else {
        return Vec::new();
    };
    let doc: Option<Value> = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).ok()
    } else {
        serde_yaml_ng::from_str(&text).ok()
    };
    let Some(value) = doc.as_ref().and_then(|d| d.get(field)) else {
        return Vec::new();
    };
    let list = value.get("packages").unwrap_or(value);
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|g| !g.starts_with('!'))
        .map(str::to_string)
        .collect()
}
