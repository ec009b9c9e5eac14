//! Framework and package-manager detection: applies the rules of
//! `frameworks.yaml` to an app directory. No model call, no product names.
//!
//! Everything here is plain blocking file I/O (a package.json read, one
//! bounded directory walk, a few `exists` checks), so the caller runs it on
//! a blocking thread. Detection never fails: what it could not find or read
//! goes into [`Detection::reason`], which is shown to the user and the seed.
//!
//! Version constraints are checked against the installed version
//! (`node_modules/<pkg>/package.json`) when there is one, else against the
//! lowest version the declared range allows (`^15.3.0` → 15.3.0). A
//! declared version that is not a range (`latest`, `workspace:*`, a git
//! URL) is taken to satisfy the constraint: it is almost always current.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use globset::{GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::frameworks::{FrameworkRule, FrameworkRules};
use crate::tools::PackageManagerRule;

/// Directories never walked when matching file globs (hidden ones, such as
/// `.git`, are skipped as well).
const SKIPPED_DIRS: &[&str] = &["node_modules", "dist", "build", "out", "coverage"];
/// How deep file globs look.
const MAX_WALK_DEPTH: usize = 8;
/// The most files looked at when matching file globs.
const MAX_WALK_FILES: usize = 50_000;

/// What detection found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    /// The first rule that matched, if any.
    pub framework: Option<FrameworkMatch>,
    /// The package manager (by lockfile, `packageManager` field, or the default).
    pub package_manager: Option<PackageManagerRule>,
    /// Why: what matched, or what was looked for and not found.
    pub reason: String,
    /// Why the framework matched (or did not), without the package manager.
    #[serde(default)]
    pub framework_reason: String,
    /// Why this package manager.
    #[serde(default)]
    pub package_manager_reason: String,
    /// Other rules with file conditions that hold too (`nextjs-pages-router`
    /// when both `app/` and `pages/` exist): the first rule won; a user may pick.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<FrameworkMatch>,
}

/// The framework rule that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameworkMatch {
    /// The rule's id (`nextjs-app-router`).
    pub id: String,
    /// Human name (`Next.js`).
    pub name: String,
    /// Version of the rule's first dependency: installed if known, else as declared.
    pub version: Option<String>,
    /// Where `version` was read (`node_modules/next/package.json`, `package.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_source: Option<String>,
    /// The router variant (`app`, `pages`), when the rule names one.
    pub router: Option<String>,
    /// The reference example folder under `examples/`.
    pub example: Option<String>,
}

/// Applies `rules` to the app in `install_dir`.
pub fn detect(install_dir: &Path, rules: &FrameworkRules) -> Detection {
    detect_in(install_dir, None, rules)
}

/// Applies `rules` to the app in `install_dir`, a member of the workspace at
/// `workspace_root` (whose `node_modules` and lockfile count for the app).
pub fn detect_in(
    install_dir: &Path,
    workspace_root: Option<&Path>,
    rules: &FrameworkRules,
) -> Detection {
    let mut app = App::read(install_dir);
    app.workspace_root = workspace_root.filter(|r| *r != install_dir);
    let (framework, framework_reason) = match_framework(&app, rules);
    let alternatives = match &framework {
        Some(found) => alternatives(&app, rules, &found.id),
        None => Vec::new(),
    };
    let (package_manager, pm_reason) = package_manager(&app, rules);
    Detection {
        framework,
        package_manager,
        reason: format!("{framework_reason}; package manager: {pm_reason}"),
        framework_reason,
        package_manager_reason: pm_reason,
        alternatives,
    }
}

/// The package manager of the app in `install_dir`, and why.
pub fn detect_package_manager(
    install_dir: &Path,
    rules: &FrameworkRules,
) -> (Option<PackageManagerRule>, String) {
    package_manager(&App::read(install_dir), rules)
}

/// Every dependency the app in `dir` declares (package.json, pyproject.toml,
/// requirements files): name → declared spec.
pub fn declared_dependencies(dir: &Path) -> BTreeMap<String, String> {
    let app = App::read(dir);
    let mut all = app.python_deps().clone();
    if let Manifest::Found { deps, .. } = &app.manifest {
        all.extend(deps.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    all
}

/// What detection reads of the app, read once.
struct App<'a> {
    dir: &'a Path,
    workspace_root: Option<&'a Path>,
    manifest: Manifest,
    files: std::cell::OnceCell<Vec<String>>,
    python_deps: std::cell::OnceCell<BTreeMap<String, String>>,
}

/// The state of package.json.
enum Manifest {
    Missing,
    Invalid(String),
    Found {
        /// dependencies and devDependencies: name → declared version.
        deps: BTreeMap<String, String>,
        /// The `packageManager` field (`pnpm@9.1.0`).
        package_manager: Option<String>,
    },
}

impl<'a> App<'a> {
    fn read(dir: &'a Path) -> Self {
        let manifest = match fs::read(dir.join("package.json")) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest::Missing,
            Err(e) => Manifest::Invalid(format!("cannot read package.json: {e}")),
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Err(e) => Manifest::Invalid(format!("package.json is not valid JSON: {e}")),
                Ok(json) => {
                    let mut deps = BTreeMap::new();
                    for field in ["devDependencies", "dependencies"] {
                        if let Some(map) = json.get(field).and_then(Value::as_object) {
                            for (name, version) in map {
                                let v = version.as_str().unwrap_or_default().to_string();
                                deps.insert(name.clone(), v);
                            }
                        }
                    }
                    let package_manager = json
                        .get("packageManager")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    Manifest::Found {
                        deps,
                        package_manager,
                    }
                }
            },
        };
        App {
            dir,
            workspace_root: None,
            manifest,
            files: std::cell::OnceCell::new(),
            python_deps: std::cell::OnceCell::new(),
        }
    }

    /// Python dependencies (name → declared spec), read once.
    fn python_deps(&self) -> &BTreeMap<String, String> {
        self.python_deps
            .get_or_init(|| python_dependencies(self.dir))
    }

    /// The declared dependencies of `ecosystem` (`None` when its manifest is missing).
    fn deps(&self, ecosystem: Option<&str>) -> Option<&BTreeMap<String, String>> {
        match ecosystem.unwrap_or(NPM) {
            NPM => match &self.manifest {
                Manifest::Found { deps, .. } => Some(deps),
                _ => None,
            },
            PYTHON => Some(self.python_deps()),
            _ => None,
        }
    }

    /// Relative paths of the app's files (walked once, on first use).
    fn files(&self) -> &[String] {
        self.files.get_or_init(|| walk(self.dir))
    }

    /// The installed version of a package, from the app's node_modules or the
    /// workspace root's (where workspaces hoist packages), and where it was read.
    fn installed(&self, name: &str) -> Option<(String, String)> {
        std::iter::once(self.dir)
            .chain(self.workspace_root)
            .find_map(|dir| {
                let path = dir.join("node_modules").join(name).join("package.json");
                let json: Value = serde_json::from_slice(&fs::read(&path).ok()?).ok()?;
                let version = json.get("version").and_then(Value::as_str)?.to_string();
                let shown = path
                    .strip_prefix(self.dir)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| match self.workspace_root {
                        Some(root) => format!(
                            "{} at the workspace root",
                            path.strip_prefix(root).unwrap_or(&path).display()
                        ),
                        None => path.display().to_string(),
                    });
                Some((version, shown))
            })
    }

    /// The installed version of a package.
    fn installed_version(&self, name: &str) -> Option<String> {
        self.installed(name).map(|(v, _)| v)
    }
}

fn walk(dir: &Path) -> Vec<String> {
    let walker = ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .hidden(true)
        .max_depth(Some(MAX_WALK_DEPTH))
        .filter_entry(|e| {
            !(e.file_type().is_some_and(|t| t.is_dir())
                && SKIPPED_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        })
        .build();
    walker
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|e| {
            let rel = e.path().strip_prefix(dir).ok()?;
            let parts: Option<Vec<&str>> =
                rel.components().map(|c| c.as_os_str().to_str()).collect();
            parts.map(|p| p.join("/"))
        })
        .take(MAX_WALK_FILES)
        .collect()
}

fn match_framework(app: &App<'_>, rules: &FrameworkRules) -> (Option<FrameworkMatch>, String) {
    let looked_for = rules.looked_for();
    let mut near_misses = Vec::new();
    for rule in &rules.frameworks {
        match rule_matches(app, rule) {
            Ok(why) => {
                let router = rule
                    .router
                    .as_deref()
                    .map(|r| format!(" ({r} router)"))
                    .unwrap_or_default();
                let found = framework_match(app, rule);
                return (Some(found), format!("{}{router}: {why}", rule.name));
            }
            Err(Miss::Dependencies) => {}
            Err(Miss::Other(why)) => {
                near_misses.push(format!("{} ({}): {why}", rule.name, rule.id))
            }
        }
    }
    let base = match &app.manifest {
        Manifest::Missing => format!(
            "no package.json with {looked_for} found: {} has no package.json",
            app.dir.display()
        ),
        Manifest::Invalid(e) => format!("no package.json with {looked_for} found: {e}"),
        Manifest::Found { .. } => {
            format!("no package.json with {looked_for} found: package.json declares none of them")
        }
    };
    if near_misses.is_empty() {
        (None, base)
    } else {
        (None, format!("{base}; close: {}", near_misses.join("; ")))
    }
}

fn framework_match(app: &App<'_>, rule: &FrameworkRule) -> FrameworkMatch {
    let (version, version_source) = rule
        .dependencies
        .first()
        .and_then(|d| declared_or_installed(app, rule.ecosystem.as_deref(), &d.name))
        .unzip();
    FrameworkMatch {
        id: rule.id.clone(),
        name: rule.name.clone(),
        version,
        version_source,
        router: rule.router.clone(),
        example: rule.example.clone(),
    }
}

/// The rules after `winner` that match too and recognise something by its files
/// (a general fallback with no file condition is no real alternative).
fn alternatives(app: &App<'_>, rules: &FrameworkRules, winner: &str) -> Vec<FrameworkMatch> {
    rules
        .frameworks
        .iter()
        .skip_while(|r| r.id != winner)
        .skip(1)
        .filter(|r| !r.files_present.is_empty() && rule_matches(app, r).is_ok())
        .map(|r| framework_match(app, r))
        .collect()
}

/// Why a rule did not match.
enum Miss {
    /// A dependency is not declared (the usual case; not worth reporting).
    Dependencies,
    /// The dependencies are there but a version or file condition failed.
    Other(String),
}

/// Ok(why it matched) or the miss.
fn rule_matches(app: &App<'_>, rule: &FrameworkRule) -> Result<String, Miss> {
    let mut why = Vec::new();
    if !rule.dependencies.is_empty() {
        let Some(deps) = app.deps(rule.ecosystem.as_deref()) else {
            return Err(Miss::Dependencies);
        };
        let mut declared = Vec::new();
        for dep in &rule.dependencies {
            let Some(range) = deps.get(&dep.name) else {
                return Err(Miss::Dependencies);
            };
            if let Some(req) = &dep.version {
                let version = app
                    .installed_version(&dep.name)
                    .and_then(|v| semver::Version::parse(&v).ok())
                    .or_else(|| lowest_version(range));
                let req = semver::VersionReq::parse(req)
                    .map_err(|e| Miss::Other(format!("bad version rule \"{req}\": {e}")))?;
                if let Some(v) = version {
                    if !req.matches(&v) {
                        return Err(Miss::Other(format!(
                            "{} {v} does not satisfy {req}",
                            dep.name
                        )));
                    }
                }
            }
            declared.push(format!("{} {range}", dep.name));
        }
        let manifest = match rule.ecosystem.as_deref().unwrap_or(NPM) {
            NPM => "package.json",
            _ => "the project",
        };
        why.push(format!("{manifest} declares {}", declared.join(", ")));
    }
    if !rule.files_present.is_empty() {
        let set = glob_set(&rule.files_present).map_err(Miss::Other)?;
        match app.files().iter().find(|f| set.is_match(f.as_str())) {
            Some(file) => why.push(format!("{file} is present")),
            None => {
                return Err(Miss::Other(format!(
                    "no file matches {}",
                    rule.files_present.join(", ")
                )))
            }
        }
    }
    if !rule.files_absent.is_empty() {
        let set = glob_set(&rule.files_absent).map_err(Miss::Other)?;
        if let Some(file) = app.files().iter().find(|f| set.is_match(f.as_str())) {
            return Err(Miss::Other(format!("{file} is present")));
        }
        why.push(format!("no {}", rule.files_absent.join(", ")));
    }
    if why.is_empty() {
        why.push("the rule has no conditions".to_string());
    }
    Ok(why.join("; "))
}

fn glob_set(globs: &[String]) -> Result<GlobSet, String> {
    let mut builder = GlobSetBuilder::new();
    for g in globs {
        let glob = globset::GlobBuilder::new(g)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("bad glob \"{g}\": {e}"))?;
        builder.add(glob);
    }
    builder.build().map_err(|e| format!("bad globs: {e}"))
}

/// The installed version if known, else the declared range; and where it was read.
fn declared_or_installed(
    app: &App<'_>,
    ecosystem: Option<&str>,
    name: &str,
) -> Option<(String, String)> {
    if ecosystem.unwrap_or(NPM) == NPM {
        if let Some(found) = app.installed(name) {
            return Some(found);
        }
    }
    let declared = app.deps(ecosystem)?.get(name)?.clone();
    let source = match ecosystem.unwrap_or(NPM) {
        NPM => "package.json (declared)",
        _ => "the project's manifest (declared)",
    };
    Some((declared, source.to_string()))
}

/// The requirement strings of a `pyproject.toml`: PEP 621 `dependencies`
/// arrays (and optional or grouped ones), and Poetry's `name = "spec"` tables.
fn pyproject_requirements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut in_array = false;
    for line in text.lines() {
        let line = line.split(" #").next().unwrap_or_default().trim();
        if in_array {
            out.extend(line.split('"').skip(1).step_by(2).map(str::to_string));
            in_array = !line.contains(']');
            continue;
        }
        if line.starts_with('[') {
            section = line.trim_matches(['[', ']']).trim().to_string();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let pep621 = (section == "project" && key == "dependencies")
            || section == "project.optional-dependencies"
            || section == "dependency-groups";
        if pep621 && value.starts_with('[') {
            out.extend(value.split('"').skip(1).step_by(2).map(str::to_string));
            in_array = !value.contains(']');
        } else if section.starts_with("tool.poetry") && section.ends_with("dependencies") {
            // Poetry writes `^5.1` or a bare `5.1` (exactly that version): keep the
            // operator, so the spec reads like a requirement's.
            let spec = value.trim_matches('"');
            let op = if spec.starts_with(|c: char| c.is_ascii_digit()) {
                "=="
            } else {
                ""
            };
            if key != "python" {
                out.push(format!("{key} {op}{spec}"));
            }
        }
    }
    out
}

/// The npm ecosystem: package.json.
const NPM: &str = "npm";
/// The Python ecosystem: pyproject.toml and requirements files.
const PYTHON: &str = "python";

/// Python dependency names (lower case) declared in `pyproject.toml` or
/// `requirements*.txt`, with their specs. A light reading, not a TOML parse:
/// quoted requirement strings in pyproject and one requirement per line.
fn python_dependencies(dir: &Path) -> BTreeMap<String, String> {
    static REQUIREMENT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let requirement = REQUIREMENT.get_or_init(|| {
        regex::Regex::new(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([<>=~!^][^;#]*)?")
            .expect("a valid pattern")
    });
    let mut deps = BTreeMap::new();
    let mut add = |line: &str| {
        if let Some(c) = requirement.captures(line) {
            let spec = c.get(3).map(|m| m.as_str().trim()).unwrap_or_default();
            deps.insert(c[1].to_ascii_lowercase(), spec.to_string());
        }
    };
    if let Ok(text) = fs::read_to_string(dir.join("pyproject.toml")) {
        for line in pyproject_requirements(&text) {
            add(&line);
        }
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with("requirements") && name.ends_with(".txt") {
                for line in fs::read_to_string(entry.path()).unwrap_or_default().lines() {
                    if !line.trim_start().starts_with(['#', '-']) {
                        add(line);
                    }
                }
            }
        }
    }
    deps
}

/// The lowest version a declared range allows: `^15.3.0` → 15.3.0,
/// `~14` → 14.0.0, `>=13.4 <16` → 13.4.0. None for `latest`, `*`, tags, URLs.
pub fn lowest_version(range: &str) -> Option<semver::Version> {
    let first = range.split("||").next()?.trim();
    let start = first.trim_start_matches(['^', '~', '>', '=', 'v', ' ']);
    let core: String = start
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'x' | 'X' | '*'))
        .collect();
    let mut parts = core.split('.');
    let major: u64 = parts.next()?.parse().ok()?;
    // A missing or wildcard minor/patch is its lowest value.
    let mut rest = || -> Option<u64> {
        match parts.next() {
            None | Some("x" | "X" | "*" | "") => Some(0),
            Some(n) => n.parse().ok(),
        }
    };
    let minor = rest()?;
    let patch = rest()?;
    Some(semver::Version::new(major, minor, patch))
}

fn package_manager(app: &App<'_>, rules: &FrameworkRules) -> (Option<PackageManagerRule>, String) {
    // The app's own lockfile first; in a workspace, the root's lockfile is the app's.
    let places = std::iter::once((app.dir, "")).chain(
        app.workspace_root
            .map(|root| (root, " at the workspace root")),
    );
    for (dir, where_) in places {
        let found = lockfiles_in(dir, &rules.package_managers);
        if let Some(((pm, lock), rest)) = found.split_first() {
            let also = if rest.is_empty() {
                String::new()
            } else {
                let others: Vec<&str> = rest.iter().map(|(_, l)| *l).collect();
                format!("; also found {}", others.join(", "))
            };
            return (
                Some((*pm).clone()),
                format!("{} ({lock} found{where_}{also})", pm.name),
            );
        }
    }
    let root_field = app
        .workspace_root
        .and_then(|root| App::read(root).package_manager_field());
    if let Some(field) = app.package_manager_field().or(root_field) {
        let name = field.split('@').next().unwrap_or_default();
        if let Some(pm) = rules.package_managers.iter().find(|p| p.name == name) {
            return (
                Some(pm.clone()),
                format!("{} (package.json packageManager \"{field}\")", pm.name),
            );
        }
    }
    match rules.default_package_manager() {
        Some(pm) => (
            Some(pm.clone()),
            format!("{} (no lockfile; the default)", pm.name),
        ),
        None => (None, "none (the rules list no package manager)".to_string()),
    }
}

/// The package managers whose lockfile is in `dir`, with the lockfile, in rule order.
fn lockfiles_in<'r>(
    dir: &Path,
    managers: &'r [PackageManagerRule],
) -> Vec<(&'r PackageManagerRule, &'r str)> {
    managers
        .iter()
        .filter_map(|pm| {
            pm.lockfiles
                .iter()
                .find(|l| dir.join(l.as_str()).is_file())
                .map(|l| (pm, l.as_str()))
        })
        .collect()
}

impl App<'_> {
    /// The `packageManager` field of package.json (`pnpm@9.1.0`).
    fn package_manager_field(&self) -> Option<String> {
        match &self.manifest {
            Manifest::Found {
                package_manager, ..
            } => package_manager.clone(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_version_reads_common_ranges() {
        let v = |s| lowest_version(s).map(|v| v.to_string());
        assert_eq!(v("^15.3.0").as_deref(), Some("15.3.0"));
        assert_eq!(v("~14").as_deref(), Some("14.0.0"));
        assert_eq!(v(">=13.4 <16").as_deref(), Some("13.4.0"));
        assert_eq!(v("15.x").as_deref(), Some("15.0.0"));
        assert_eq!(v("15.3.0-canary.2").as_deref(), Some("15.3.0"));
        assert_eq!(v("latest"), None);
        assert_eq!(v("workspace:*"), None);
    }
}
