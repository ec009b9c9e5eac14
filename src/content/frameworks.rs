//! Framework rules (`frameworks.yaml`): how to recognise an app and how to
//! drive its package manager, as data.
//!
//! Detection code (`detect.rs`) only applies these rules, so supporting a
//! new framework or router is a content change. Rules are tried in file
//! order and the first that matches wins, which lets a specific rule
//! (Next.js with an `app/` router) come before a general one (any Next.js).

use serde::{Deserialize, Serialize};

use crate::tools::{Fences, PackageManagerRule};

/// The top-level fields of `frameworks.yaml`.
pub const FRAMEWORKS_FIELDS: &[&str] = &["frameworks", "packageManagers", "fences"];

/// Everything in `frameworks.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FrameworkRules {
    /// Detection rules, in the order they are tried.
    #[serde(default)]
    pub frameworks: Vec<FrameworkRule>,
    /// Package managers, recognised by lockfile; one is the default.
    #[serde(default)]
    pub package_managers: Vec<PackageManagerRule>,
    /// What the security fences need to know about the toolchains (executed
    /// config files, public env prefixes, env and public folders).
    #[serde(default)]
    pub fences: Fences,
}

/// One way to recognise a framework (or one router of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FrameworkRule {
    /// Stable id (`nextjs-app-router`): what skills' `frameworks` lists name.
    pub id: String,
    /// Human name (`Next.js`).
    pub name: String,
    /// The router variant this rule recognises (`app`, `pages`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<String>,
    /// The reference example: a folder under `examples/` holding `EXAMPLE.md`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// Packages that must all be declared in package.json (dependencies or devDependencies).
    #[serde(default)]
    pub dependencies: Vec<DependencyRule>,
    /// Globs (relative to the app) of which at least one must match a file.
    #[serde(default)]
    pub files_present: Vec<String>,
    /// Globs (relative to the app) of which none may match a file.
    #[serde(default)]
    pub files_absent: Vec<String>,
    /// How to start the built app for verification: a command with `{port}` where the
    /// port goes (it also gets `PORT`); the app must listen on 127.0.0.1 there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
}

/// A package the app must declare, optionally within a version range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DependencyRule {
    /// The npm package name (`next`).
    pub name: String,
    /// A semver requirement (`>=15.3`) the declared or installed version must meet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl FrameworkRules {
    /// The rule with this id.
    pub fn get(&self, id: &str) -> Option<&FrameworkRule> {
        self.frameworks.iter().find(|f| f.id == id)
    }

    /// The package manager used when no lockfile says otherwise.
    pub fn default_package_manager(&self) -> Option<&PackageManagerRule> {
        self.package_managers
            .iter()
            .find(|p| p.default)
            .or_else(|| self.package_managers.first())
    }

    /// What the rules look for, for messages: `next, react+vite or express`.
    pub fn looked_for(&self) -> String {
        let mut seen: Vec<String> = Vec::new();
        for rule in &self.frameworks {
            if rule.dependencies.is_empty() {
                continue;
            }
            let names: Vec<&str> = rule.dependencies.iter().map(|d| d.name.as_str()).collect();
            let joined = names.join("+");
            if !seen.contains(&joined) {
                seen.push(joined);
            }
        }
        match seen.len() {
            0 => "no package".to_string(),
            1 => seen.remove(0),
            n => format!("{} or {}", seen[..n - 1].join(", "), seen[n - 1]),
        }
    }
}
