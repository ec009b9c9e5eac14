//! `wizard detect`: what the wizard sees in a repository, without a model.
//!
//! Walks the repository for projects (manifests named in `frameworks.yaml`),
//! finds the workspace roots that list them, applies the framework rules to
//! each project and takes stock of what it already has of the product
//! (`product.yaml` → `inventory`). Apps are the projects a framework rule
//! recognises; the rest are listed with the reason they are not apps.
//!
//! Product-ignorant: every name it prints comes from content. Plain blocking
//! file I/O; callers inside the actor system run it on a blocking thread.

pub mod inventory;
mod table;
pub mod workspace;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::content::{detect_in, Detection, FrameworkMatch, FrameworkRules, InventoryRules};
pub use inventory::Inventory;
pub use table::scan_table;
use workspace::{Candidate, WorkspaceRoot};

/// What `wizard detect` found in a repository.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoScan {
    /// The scanned directory, absolute.
    pub root: String,
    /// True when the repository holds a workspace root or more than one app.
    pub monorepo: bool,
    /// Workspace roots and what declares them.
    pub workspaces: Vec<WorkspaceInfo>,
    /// Projects a framework rule recognises.
    pub apps: Vec<AppReport>,
    /// Projects no rule recognises, each with its reason.
    pub others: Vec<AppReport>,
}

/// A workspace root.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceInfo {
    /// Its path relative to the root.
    pub path: String,
    /// What declares it (`package.json workspaces`, `pnpm-workspace.yaml packages`, `turbo.json`).
    pub declared_by: Vec<String>,
}

/// One project.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppReport {
    /// Relative to the root, `/`-separated; `.` for the root.
    pub path: String,
    /// The framework rule that matched.
    pub framework: Option<FrameworkMatch>,
    /// Other rules that match as well (the first won; the user may pick one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<FrameworkMatch>,
    /// `ts`, `js`, `python`, `kotlin`…
    pub language: String,
    /// The package manager and why.
    pub package_manager: Option<PackageManagerInfo>,
    /// The workspace root this project belongs to, if any (relative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_root: Option<String>,
    /// What it already has of the product (serialised under the product's name).
    #[serde(skip)]
    pub inventory: Inventory,
    /// The rule that matched, or why none did.
    pub reason: String,
    /// The full detection, for a run.
    #[serde(skip)]
    pub detection: Option<Detection>,
    /// The absolute path.
    #[serde(skip)]
    pub dir: PathBuf,
}

/// A package manager and why it was chosen.
#[derive(Debug, Clone, Serialize)]
pub struct PackageManagerInfo {
    /// `npm`, `pnpm`, `uv`…
    pub name: String,
    /// Why (`pnpm-lock.yaml found at the workspace root`).
    pub source: String,
}

impl RepoScan {
    /// The app at `path` (relative to the root, `./` and trailing `/` ignored).
    pub fn app(&self, path: &str) -> Option<&AppReport> {
        let want = normalise(path);
        self.apps.iter().find(|a| a.path == want)
    }

    /// The scan as one JSON document, each project's inventory under `product_key`.
    pub fn to_json(&self, product_key: &str) -> Value {
        let mut doc = serde_json::to_value(self).unwrap_or(Value::Null);
        for (list, reports) in [("apps", &self.apps), ("others", &self.others)] {
            if let Some(items) = doc.get_mut(list).and_then(Value::as_array_mut) {
                for (item, report) in items.iter_mut().zip(reports) {
                    if let Some(obj) = item.as_object_mut() {
                        let inv = serde_json::to_value(&report.inventory).unwrap_or(Value::Null);
                        obj.insert(product_key.to_string(), inv);
                    }
                }
            }
        }
        doc
    }
}

/// A relative path as the scan writes it: `./apps/web/` → `apps/web`, `` → `.`.
pub fn normalise(path: &str) -> String {
    let trimmed = path.trim().trim_start_matches("./").trim_end_matches('/');
    if trimmed.is_empty() || trimmed == "." {
        ".".into()
    } else {
        trimmed.to_string()
    }
}

/// Scans the repository at `root` (an existing directory).
pub fn scan(root: &Path, rules: &FrameworkRules, inventory: &InventoryRules) -> RepoScan {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let candidates = workspace::candidates(&root, rules);
    let refs: Vec<&Candidate> = candidates.iter().collect();
    let roots = workspace::workspace_roots(&root, &refs, &rules.workspaces);
    let mut apps = Vec::new();
    let mut others = Vec::new();
    for c in &candidates {
        let ws = workspace_of(&roots, &c.rel);
        let nested: Vec<PathBuf> = candidates
            .iter()
            .filter(|o| {
                o.rel != c.rel && (c.rel == "." || o.rel.starts_with(&format!("{}/", c.rel)))
            })
            .map(|o| o.dir.clone())
            .collect();
        let report = report(
            c,
            ws,
            rules,
            inventory,
            &nested,
            roots.iter().find(|r| r.rel == c.rel),
        );
        if report.framework.is_some() {
            apps.push(report);
        } else {
            others.push(report);
        }
    }
    let monorepo = !roots.is_empty() || apps.len() > 1;
    RepoScan {
        root: root.display().to_string(),
        monorepo,
        workspaces: roots
            .iter()
            .map(|r| WorkspaceInfo {
                path: r.rel.clone(),
                declared_by: r.declared_by.clone(),
            })
            .collect(),
        apps,
        others,
    }
}

/// The nearest workspace root that counts `rel` among its members (a root that
/// lists no member globs, such as one marked only by `nx.json`, counts every
/// project below it).
fn workspace_of<'a>(roots: &'a [WorkspaceRoot], rel: &str) -> Option<&'a WorkspaceRoot> {
    roots
        .iter()
        .filter(|r| {
            r.rel != rel
                && (r.has_member(rel)
                    || (r.members.is_empty()
                        && (r.rel == "." || rel.starts_with(&format!("{}/", r.rel)))))
        })
        .max_by_key(|r| r.rel.len())
}

fn report(
    c: &Candidate,
    ws: Option<&WorkspaceRoot>,
    rules: &FrameworkRules,
    inventory: &InventoryRules,
    nested: &[PathBuf],
    is_root: Option<&WorkspaceRoot>,
) -> AppReport {
    let language = c
        .kind
        .languages
        .iter()
        .find(|l| l.files_present.iter().any(|f| c.dir.join(f).is_file()))
        .map(|l| l.language.clone())
        .unwrap_or_else(|| c.kind.language.clone());
    let eco_rules = FrameworkRules {
        frameworks: rules
            .frameworks
            .iter()
            .filter(|r| r.ecosystem.as_deref().unwrap_or("npm") == c.kind.ecosystem)
            .cloned()
            .collect(),
        ..rules.clone()
    };
    let detection = detect_in(&c.dir, ws.map(|w| w.dir.as_path()), &eco_rules);
    let package_manager = if c.kind.package_managers.is_empty() {
        detection
            .package_manager
            .as_ref()
            .map(|pm| PackageManagerInfo {
                name: pm.name.clone(),
                source: detection.package_manager_reason.clone(),
            })
    } else {
        ecosystem_manager(c, ws)
    };
    let reason = match (&detection.framework, is_root) {
        (Some(_), _) => detection.framework_reason.clone(),
        (None, Some(root)) => format!(
            "a workspace root ({}), not an app",
            root.declared_by.join(", ")
        ),
        (None, None) if eco_rules.frameworks.is_empty() => format!(
            "a {} project ({}); no framework rule for {} projects",
            c.kind.language, c.manifest, c.kind.ecosystem
        ),
        (None, None) => detection.framework_reason.clone(),
    };
    AppReport {
        path: c.rel.clone(),
        framework: detection.framework.clone(),
        alternatives: detection.alternatives.clone(),
        language,
        package_manager,
        workspace_root: ws.map(|w| w.rel.clone()),
        inventory: inventory::take_stock(&c.dir, inventory, nested),
        reason,
        dir: c.dir.clone(),
        detection: Some(detection),
    }
}

/// For ecosystems with their own manager list: the first whose lockfile is in the
/// project (or its workspace root), else the first with no lockfiles.
fn ecosystem_manager(c: &Candidate, ws: Option<&WorkspaceRoot>) -> Option<PackageManagerInfo> {
    let places = std::iter::once((c.dir.as_path(), ""))
        .chain(ws.map(|w| (w.dir.as_path(), " at the workspace root")));
    for (dir, where_) in places {
        for m in &c.kind.package_managers {
            if let Some(lock) = m.lockfiles.iter().find(|l| dir.join(l.as_str()).is_file()) {
                return Some(PackageManagerInfo {
                    name: m.name.clone(),
                    source: format!("{} ({lock} found{where_})", m.name),
                });
            }
        }
    }
    c.kind
        .package_managers
        .iter()
        .find(|m| m.lockfiles.is_empty())
        .map(|m| PackageManagerInfo {
            name: m.name.clone(),
            source: format!("{} (no lockfile; the default)", m.name),
        })
}
