//! Taking stock of an existing integration in one app: SDK packages, init
//! call sites, deliberate settings, identify and capture calls, and files an
//! earlier wizard run left.
//!
//! The patterns are the content's (`product.yaml` → `inventory`); this module
//! only reads files. Plain blocking I/O over a bounded walk: callers run it
//! on a blocking thread.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::fs;
use std::path::{Path, PathBuf};

use globset::{GlobSet, GlobSetBuilder};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::content::InventoryRules;

/// Source files larger than this are not read.
const MAX_FILE_BYTES: u64 = 512 * 1024;
/// The most source files read per app.
const MAX_FILES: usize = 5_000;
/// Folders never read.
const SKIPPED_DIRS: &[&str] = &["node_modules", "dist", "build", "out", "coverage", "target"];

/// What an app already has of the product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    /// SDK packages the app declares, with their declared versions.
    pub packages: Vec<PackageVersion>,
    /// Where the SDK is initialised (`instrumentation-client.ts:3`).
    pub init_sites: Vec<String>,
    /// Deliberate settings found (`api_host`, `ui_host`, …), each value with where.
    pub settings: BTreeMap<String, Vec<SettingValue>>,
    /// Identify calls in files that mention the product.
    pub identify_calls: usize,
    /// Capture calls in files that mention the product.
    pub capture_calls: usize,
    /// Files an earlier wizard run left.
    pub earlier_run: Vec<String>,
}

/// A declared package and its version spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageVersion {
    /// The package name.
    pub name: String,
    /// As declared (`^1.449.2`); empty when the manifest gives none.
    pub version: String,
}

/// One value of a setting, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingValue {
    /// The value (`/ingest`).
    pub value: String,
    /// `file:line`.
    pub at: String,
}

impl Inventory {
    /// True when nothing of the product was found.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
            && self.init_sites.is_empty()
            && self.settings.is_empty()
            && self.identify_calls == 0
            && self.capture_calls == 0
            && self.earlier_run.is_empty()
    }

    /// One line for tables: `posthog-js ^1.2 · init ×1 · identify ×1 · capture ×4`.
    pub fn summary(&self) -> String {
        if self.is_empty() {
            return "none".into();
        }
        let mut parts: Vec<String> = self
            .packages
            .iter()
            .map(|p| format!("{} {}", p.name, p.version).trim().to_string())
            .collect();
        if !self.init_sites.is_empty() {
            parts.push(format!("init ×{}", self.init_sites.len()));
        }
        for (name, values) in &self.settings {
            let mut distinct: Vec<&str> = values.iter().map(|v| v.value.as_str()).collect();
            distinct.dedup();
            parts.push(format!("{name} {}", distinct.join(",")));
        }
        if self.identify_calls > 0 {
            parts.push(format!("identify ×{}", self.identify_calls));
        }
        if self.capture_calls > 0 {
            parts.push(format!("capture ×{}", self.capture_calls));
        }
        if !self.earlier_run.is_empty() {
            parts.push("earlier wizard run".into());
        }
        parts.join(" · ")
    }

    /// The inventory as prompt text: what is there, to verify and keep rather than redo.
    pub fn prompt_text(&self) -> String {
        if self.is_empty() {
            return "nothing found (a fresh integration)".into();
        }
        let mut s = String::new();
        let list = |items: Vec<String>| {
            if items.is_empty() {
                "none".to_string()
            } else {
                items.join(", ")
            }
        };
        let packages = self
            .packages
            .iter()
            .map(|p| format!("{} {}", p.name, p.version).trim().to_string())
            .collect();
        let _ = writeln!(s, "  - SDK packages declared: {}", list(packages));
        let _ = writeln!(s, "  - Init call sites: {}", list(self.init_sites.clone()));
        for (name, values) in &self.settings {
            let shown = values
                .iter()
                .map(|v| format!("{} ({})", v.value, v.at))
                .collect();
            let _ = writeln!(s, "  - Setting {name}: {}", list(shown));
        }
        let _ = writeln!(
            s,
            "  - Identify calls: {}; capture calls: {}",
            self.identify_calls, self.capture_calls
        );
        if !self.earlier_run.is_empty() {
            let _ = writeln!(
                s,
                "  - Files of an earlier wizard run: {}",
                self.earlier_run.join(", ")
            );
        }
        s.trim_end().to_string()
    }
}

/// The compiled form of the content's rules.
struct Compiled {
    sources: GlobSet,
    mentions: Option<Regex>,
    init: Vec<Regex>,
    identify: Vec<Regex>,
    capture: Vec<Regex>,
    settings: Vec<(String, Regex)>,
}

fn compile(rules: &InventoryRules) -> Option<Compiled> {
    let regexes = |list: &[String]| list.iter().filter_map(|p| Regex::new(p).ok()).collect();
    let mut globs = GlobSetBuilder::new();
    for g in &rules.source_files {
        globs.add(globset::Glob::new(g).ok()?);
    }
    Some(Compiled {
        sources: globs.build().ok()?,
        mentions: rules.mentions.as_deref().and_then(|m| Regex::new(m).ok()),
        init: regexes(&rules.init),
        identify: regexes(&rules.identify),
        capture: regexes(&rules.capture),
        settings: rules
            .settings
            .iter()
            .filter_map(|(k, p)| Some((k.clone(), Regex::new(p).ok()?)))
            .collect(),
    })
}

/// Takes stock of the app in `dir`, not walking into `exclude` (nested projects).
pub fn take_stock(dir: &Path, rules: &InventoryRules, exclude: &[PathBuf]) -> Inventory {
    let mut inv = Inventory::default();
    let declared = crate::content::declared_dependencies(dir);
    for name in &rules.packages {
        if let Some(version) = declared
            .get(&name.to_ascii_lowercase())
            .or(declared.get(name))
        {
            inv.packages.push(PackageVersion {
                name: name.clone(),
                version: version.clone(),
            });
        }
    }
    inv.earlier_run = rules
        .earlier_run
        .iter()
        .filter(|f| dir.join(f.as_str()).is_file())
        .cloned()
        .collect();
    let Some(compiled) = compile(rules) else {
        return inv;
    };
    for (rel, text) in source_files(dir, &compiled.sources, exclude) {
        if compiled
            .mentions
            .as_ref()
            .is_some_and(|m| !m.is_match(&text))
        {
            continue;
        }
        read_source(&rel, &text, &compiled, &mut inv);
    }
    inv
}

fn read_source(rel: &str, text: &str, c: &Compiled, inv: &mut Inventory) {
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    for re in &c.init {
        for m in re.find_iter(text) {
            inv.init_sites.push(format!("{rel}:{}", line_of(m.start())));
        }
    }
    let count = |list: &[Regex]| {
        list.iter()
            .map(|re| re.find_iter(text).count())
            .sum::<usize>()
    };
    inv.identify_calls += count(&c.identify);
    inv.capture_calls += count(&c.capture);
    for (name, re) in &c.settings {
        for caps in re.captures_iter(text) {
            let (Some(all), Some(value)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            let values = inv.settings.entry(name.clone()).or_default();
            if !values.iter().any(|v| v.value == value.as_str()) {
                values.push(SettingValue {
                    value: value.as_str().to_string(),
                    at: format!("{rel}:{}", line_of(all.start())),
                });
            }
        }
    }
}

/// The app's source files matching `globs`, as (relative path, text), in path order.
fn source_files(dir: &Path, globs: &GlobSet, exclude: &[PathBuf]) -> Vec<(String, String)> {
    let exclude = exclude.to_vec();
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(true)
        .require_git(false)
        .filter_entry(move |e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            !(is_dir
                && (SKIPPED_DIRS.contains(&e.file_name().to_string_lossy().as_ref())
                    || exclude.iter().any(|x| x == e.path())))
        })
        .build();
    let mut files: Vec<(String, PathBuf)> = walker
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter(|e| e.metadata().is_ok_and(|m| m.len() <= MAX_FILE_BYTES))
        .filter_map(|e| {
            let rel = super::workspace::rel_path(dir, e.path())?;
            globs.is_match(&rel).then(|| (rel, e.path().to_path_buf()))
        })
        .take(MAX_FILES)
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|(rel, path)| Some((rel, fs::read_to_string(path).ok()?)))
        .collect()
}
