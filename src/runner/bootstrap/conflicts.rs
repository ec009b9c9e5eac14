//! Settings conflicts: what would surprise the user mid-run, found before it starts.
//!
//! Four checks, each a function over plain inputs (an env lookup, a
//! directory, `git status` output) that returns [`Conflict`]s, one clear line
//! each; [`settings_conflicts`] runs them all. A conflict is `blocking` when
//! the run must not go on without the user's say (ask, or `--yes`); the others
//! are shown and the run goes on.
//!
//! No line ever carries a secret: a conflicting token is named by its file and
//! key, never by any part of its value.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

/// Env keys that hold an existing PostHog project token in an app's env files,
/// matched as suffixes (`NEXT_PUBLIC_POSTHOG_KEY`, `VITE_POSTHOG_PROJECT_TOKEN`…).
pub const TOKEN_KEY_SUFFIXES: [&str; 3] =
    ["POSTHOG_KEY", "POSTHOG_PROJECT_TOKEN", "POSTHOG_API_KEY"];

/// Env files that only document keys; their placeholder values are not a conflict.
const TEMPLATE_ENV_SUFFIXES: [&str; 4] = [".example", ".sample", ".template", ".dist"];

/// The project's Claude Code settings files.
const CLAUDE_SETTINGS_FILES: [&str; 2] = [".claude/settings.json", ".claude/settings.local.json"];

/// Which check found a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// More than one model provider is configured and none was chosen.
    TwoProviders,
    /// An env file already holds a different PostHog project token.
    DifferentProjectToken,
    /// A project Claude Code settings file redirects Anthropic requests.
    ClaudeSettingsOverride,
    /// The git tree has uncommitted changes.
    DirtyGitTree,
}

impl ConflictKind {
    /// A stable name for telemetry and JSON output.
    pub fn name(&self) -> &'static str {
        match self {
            ConflictKind::TwoProviders => "two_providers",
            ConflictKind::DifferentProjectToken => "different_project_token",
            ConflictKind::ClaudeSettingsOverride => "claude_settings_override",
            ConflictKind::DirtyGitTree => "dirty_git_tree",
        }
    }
}

/// One conflict, in one line the user reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// Which check found it.
    pub kind: ConflictKind,
    /// What is wrong and what to do; never a secret.
    pub line: String,
    /// True when the run must not go on without the user's say (ask, or `--yes`).
    pub blocking: bool,
}

/// Everything [`settings_conflicts`] looks at.
pub struct ConflictInputs<'a> {
    /// The app's directory.
    pub install_dir: &'a Path,
    /// Reads an environment variable (the process env in production, a map in tests).
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The `--provider` flag, when given.
    pub provider_flag: Option<&'a str>,
    /// The project token the run will write; `None` when there is none yet.
    pub run_token: Option<&'a str>,
}

/// Runs every check. Spawns `git status`, so call it off the actor threads
/// (`spawn_blocking`) when the tree may be large.
pub fn settings_conflicts(inputs: &ConflictInputs<'_>) -> Vec<Conflict> {
    let mut conflicts = provider_conflicts(inputs.env, inputs.provider_flag);
    if let Some(token) = inputs.run_token {
        conflicts.extend(project_token_conflicts(inputs.install_dir, token));
    }
    conflicts.extend(claude_settings_conflicts(inputs.install_dir));
    if let Some(porcelain) = git_status_porcelain(inputs.install_dir) {
        conflicts.extend(dirty_tree_conflict(&porcelain));
    }
    conflicts
}

/// Two providers configured (Anthropic by key or token, OpenAI-compatible by
/// base url or key) with no `--provider` to choose: the run cannot guess.
pub fn provider_conflicts(
    env: &dyn Fn(&str) -> Option<String>,
    provider_flag: Option<&str>,
) -> Vec<Conflict> {
    if provider_flag.is_some() {
        return Vec::new();
    }
    let set = |name: &str| env(name).is_some_and(|v| !v.trim().is_empty());
    let anthropic: Vec<&str> = ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"]
        .into_iter()
        .filter(|n| set(n))
        .collect();
    let openai: Vec<&str> = ["OPENAI_BASE_URL", "OPENAI_API_KEY"]
        .into_iter()
        .filter(|n| set(n))
        .collect();
    if anthropic.is_empty() || openai.is_empty() {
        return Vec::new();
    }
    vec![Conflict {
        kind: ConflictKind::TwoProviders,
        line: format!(
            "two model providers are configured ({} and {}); choose one with --provider anthropic or --provider openai",
            anthropic.join(", "),
            openai.join(", ")
        ),
        blocking: true,
    }]
}

/// Env files in `dir` (`.env`, `.env.local`, `.env.development`…) whose
/// PostHog token key holds a value other than `run_token`. The run would
/// replace the app's token, so the user must agree.
pub fn project_token_conflicts(dir: &Path, run_token: &str) -> Vec<Conflict> {
    let mut conflicts = Vec::new();
    for file in env_files(dir) {
        let name = file_name(&file);
        let entries = match dotenvy::from_path_iter(&file) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::debug!("cannot read {name}: {e}");
                continue;
            }
        };
        // A malformed line ends the file's scan: dotenvy cannot resync past it.
        for (key, value) in entries.map_while(Result::ok) {
            let holds_token = TOKEN_KEY_SUFFIXES.iter().any(|s| key.ends_with(s));
            if holds_token && !value.trim().is_empty() && value.trim() != run_token {
                conflicts.push(Conflict {
                    kind: ConflictKind::DifferentProjectToken,
                    line: format!(
                        "{name} already sets {key} to a different PostHog project token; the run would replace it"
                    ),
                    blocking: true,
                });
            }
        }
    }
    conflicts
}

/// `.env` and `.env.*` files directly in `dir`, sorted, without templates.
fn env_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| {
            let name = file_name(p);
            (name == ".env" || name.starts_with(".env."))
                && !TEMPLATE_ENV_SUFFIXES.iter().any(|s| name.ends_with(s))
        })
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `ANTHROPIC_*` env overrides or an `apiKeyHelper` in the project's Claude
/// Code settings. wizard calls the model itself and does not read these files,
/// so they do not redirect this run; they are shown (not blocking) because
/// Claude Code in this project, and a user comparing runs, would be redirected.
pub fn claude_settings_conflicts(dir: &Path) -> Vec<Conflict> {
    let mut conflicts = Vec::new();
    for relative in CLAUDE_SETTINGS_FILES {
        let path = dir.join(relative);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let settings: serde_json::Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!("{relative} is not valid JSON: {e}");
                continue;
            }
        };
        let mut keys: Vec<String> = settings
            .get("env")
            .and_then(|env| env.as_object())
            .map(|env| {
                env.keys()
                    .filter(|k| k.starts_with("ANTHROPIC_"))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if settings.get("apiKeyHelper").is_some() {
            keys.push("apiKeyHelper".to_string());
        }
        if !keys.is_empty() {
            conflicts.push(Conflict {
                kind: ConflictKind::ClaudeSettingsOverride,
                line: format!(
                    "{relative} sets {} and redirects Claude Code's model requests in this project; wizard does not use it",
                    keys.join(", ")
                ),
                blocking: false,
            });
        }
    }
    conflicts
}

/// `git status --porcelain` in `dir`; `None` when `dir` is not in a git tree or git is missing.
pub fn git_status_porcelain(dir: &Path) -> Option<String> {
    let output = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(dir)
        .output()
        .map_err(|e| tracing::debug!("git status did not run: {e}"))
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A conflict when `git status --porcelain` lists anything: the user should be
/// able to review (and undo) exactly what the run changes.
pub fn dirty_tree_conflict(porcelain: &str) -> Option<Conflict> {
    let changed = porcelain.lines().filter(|l| !l.trim().is_empty()).count();
    if changed == 0 {
        return None;
    }
    let files = if changed == 1 { "file" } else { "files" };
    Some(Conflict {
        kind: ConflictKind::DirtyGitTree,
        line: format!(
            "the git tree has uncommitted changes ({changed} {files}); commit or stash them to review the run's changes alone, or go on with --yes"
        ),
        blocking: true,
    })
}
