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
pub const FRAMEWORKS_FIELDS: &[&str] = &[
    "frameworks",
    "packageManagers",
    "projects",
    "workspaces",
    "fences",
];

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
    /// What makes a folder a project (`wizard detect` walks a repository for these).
    #[serde(default)]
    pub projects: Vec<ProjectKind>,
    /// What makes a folder a workspace root, and where it lists its members.
    #[serde(default)]
    pub workspaces: WorkspaceRules,
    /// What the security fences need to know about the toolchains (executed
    /// config files, public env prefixes, env and public folders).
    #[serde(default)]
    pub fences: Fences,
}

/// One kind of project, recognised by a manifest file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectKind {
    /// The ecosystem (`npm`, `python`, `gradle`); framework rules name it.
    pub ecosystem: String,
    /// Manifest files, any of which makes a folder a project of this kind.
    pub manifests: Vec<String>,
    /// The language when no `languages` entry matches.
    pub language: String,
    /// More specific languages, the first whose file is present wins.
    #[serde(default)]
    pub languages: Vec<LanguageRule>,
    /// Package managers of this ecosystem, recognised by lockfile; the first
    /// with no lockfiles is the default. Empty: the top-level `packageManagers`.
    #[serde(default)]
    pub package_managers: Vec<ManagerMarker>,
}

/// A language recognised by a file in the project (`tsconfig.json` → `ts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LanguageRule {
    /// The language's short name.
    pub language: String,
    /// Files (relative to the project) of which one must exist.
    pub files_present: Vec<String>,
}

/// A package manager recognised by its lockfile, for detection only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManagerMarker {
    /// Its name (`uv`).
    pub name: String,
    /// Lockfiles whose presence means this manager; none: the ecosystem's default.
    #[serde(default)]
    pub lockfiles: Vec<String>,
}

/// How workspace roots declare their members.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkspaceRules {
    /// Files that list member globs, and the field holding them.
    #[serde(default)]
    pub member_lists: Vec<MemberList>,
    /// Files whose presence marks a monorepo tool (`turbo.json`).
    #[serde(default)]
    pub tools: Vec<String>,
}

/// A file listing workspace member globs (`package.json` → `workspaces`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemberList {
    /// The file, at the workspace root (JSON or YAML).
    pub file: String,
    /// The field: an array of globs, or an object whose `packages` is one.
    pub field: String,
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
    /// A web app (preselected when a monorepo run asks which apps to integrate).
    #[serde(default)]
    pub web: bool,
    /// The ecosystem whose manifest declares the dependencies (default `npm`: package.json).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<String>,
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
    /// The environment variable the started app's server-side client reads its host from
    /// at run time (not one a build inlines): verify points it at the recording relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_env: Option<String>,
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
