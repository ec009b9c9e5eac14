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
    /// The router variant (`app`, `pages`), when the rule names one.
    pub router: Option<String>,
    /// The reference example folder under `examples/`.
    pub example: Option<String>,
}

/// Applies `rules` to the app in `install_dir`.
pub fn detect(install_dir: &Path, rules: &FrameworkRules) -> Detection {
    let app = App::read(install_dir);
    let (framework, framework_reason) = match_framework(&app, rules);
    let (package_manager, pm_reason) = package_manager(&app, rules);
    Detection {
        framework,
        package_manager,
        reason: format!("{framework_reason}; package manager: {pm_reason}"),
    }
}

/// The package manager of the app in `install_dir`, and why.
pub fn detect_package_manager(
    install_dir: &Path,
    rules: &FrameworkRules,
) -> (Option<PackageManagerRule>, String) {
    package_manager(&App::read(install_dir), rules)
}

/// What detection reads of the app, read once.
struct App<'a> {
    dir: &'a Path,
    manifest: Manifest,
    files: std::cell::OnceCell<Vec<String>>,
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
            manifest,
            files: std::cell::OnceCell::new(),
        }
    }

    /// Relative paths of the app's files (walked once, on first use).
    fn files(&self) -> &[String] {
        self.files.get_or_init(|| walk(self.dir))
    }

    /// The installed version of a package, from node_modules.
    fn installed_version(&self, name: &str) -> Option<String> {
        let path = self
            .dir
            .join("node_modules")
            .join(name)
            .join("package.json");
        let json: Value = serde_json::from_slice(&fs::read(path).ok()?).ok()?;
        json.get("version")
            .and_then(Value::as_str)
            .map(str::to_string)
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
                let version = rule
                    .dependencies
                    .first()
                    .and_then(|d| declared_or_installed(app, &d.name));
                let router = rule
                    .router
                    .as_deref()
                    .map(|r| format!(" ({r} router)"))
                    .unwrap_or_default();
                let found = FrameworkMatch {
                    id: rule.id.clone(),
                    name: rule.name.clone(),
                    version,
                    router: rule.router.clone(),
                    example: rule.example.clone(),
                };
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
        let Manifest::Found { deps, .. } = &app.manifest else {
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
        why.push(format!("package.json declares {}", declared.join(", ")));
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

/// The installed version if known, else the declared range.
fn declared_or_installed(app: &App<'_>, name: &str) -> Option<String> {
    if let Some(v) = app.installed_version(name) {
        return Some(v);
    }
    match &app.manifest {
        Manifest::Found { deps, .. } => deps.get(name).cloned(),
        _ => None,
    }
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
    let mut found: Vec<(&PackageManagerRule, &str)> = Vec::new();
    for pm in &rules.package_managers {
        if let Some(lock) = pm
            .lockfiles
            .iter()
            .find(|l| app.dir.join(l.as_str()).is_file())
        {
            found.push((pm, lock.as_str()));
        }
    }
    if let Some(((pm, lock), rest)) = found.split_first() {
        let also = if rest.is_empty() {
            String::new()
        } else {
            let others: Vec<&str> = rest.iter().map(|(_, l)| *l).collect();
            format!("; also found {}", others.join(", "))
        };
        return (
            Some((*pm).clone()),
            format!("{} ({lock} found{also})", pm.name),
        );
    }
    if let Manifest::Found {
        package_manager: Some(field),
        ..
    } = &app.manifest
    {
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
