//! What every tool call gets: the install dir, the task's permissions, the run's secrets.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::providers::ToolSpec;
use crate::secrets::Redactor;

/// A task's permissions, from its agent prompt's frontmatter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permissions {
    /// Tools the task may call (names as the model sees them). Empty = none.
    pub allowed_tools: Vec<String>,
    /// Tools the task may never call, even when allowed elsewhere.
    pub disallowed_tools: Vec<String>,
    /// Globs (relative to the install dir) of the only paths the task may create or change.
    pub write: Vec<String>,
    /// Command prefixes `Bash` may run (`npm install`, `npm run build`…).
    pub bash: Vec<String>,
}

/// Named secrets for `set_env_values` (`posthog_project_token`, …).
///
/// Its `Debug` prints names only, so a secret never reaches a log by accident.
/// A value may also be named without being secret (a host): `set_env_values`
/// resolves it the same way, but it is left out of [`Secrets::values`], so
/// redaction never hides a public value from the model that has to write it.
/// And a secret may be hidden without a name (a provider API key): no tool
/// can hand it out, but it is redacted and kept from commands like any other.
#[derive(Clone, Default)]
pub struct Secrets {
    values: BTreeMap<String, String>,
    public: BTreeSet<String>,
    hidden: Vec<String>,
    /// Built on first use, dropped by every change.
    redactor: Arc<OnceLock<Redactor>>,
}

impl Secrets {
    /// Adds a secret under a name.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.public.remove(&name);
        self.values.insert(name, value.into());
        self.redactor = Arc::default();
    }

    /// Adds a named value that is not secret (never redacted from tool output).
    pub fn insert_public(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.public.insert(name.clone());
        self.values.insert(name, value.into());
        self.redactor = Arc::default();
    }

    /// Adds a secret with no name (a provider API key): redacted from every
    /// output and kept from commands, but never resolvable by `set_env_values`.
    pub fn insert_hidden(&mut self, value: impl Into<String>) {
        let value = value.into();
        if !value.is_empty() && !self.hidden.contains(&value) {
            self.hidden.push(value);
            self.redactor = Arc::default();
        }
    }

    /// The value of a named secret.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The names known.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Every secret value, hidden ones included (for redaction checks); public values are
    /// left out, also where an env file repeats one.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        let is_public = |value: &str| {
            self.public.iter().any(|name| {
                self.values
                    .get(name)
                    .is_some_and(|v| v.trim() == value.trim())
            })
        };
        self.values
            .iter()
            .filter(|(name, _)| !self.public.contains(*name))
            .map(|(_, value)| value.as_str())
            .chain(
                self.hidden
                    .iter()
                    .map(String::as_str)
                    .filter(move |v| !is_public(v)),
            )
    }

    /// The scrubber for these secrets (see [`crate::secrets`]).
    pub fn redactor(&self) -> &Redactor {
        self.redactor.get_or_init(|| Redactor::new(self.values()))
    }

    /// `text` with every secret, encoded or in pieces, replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        self.redactor().redact(text)
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

/// What the fences need to know about the app's toolchain, from content
/// (`frameworks.yaml` → `fences`). The runner knows none of it itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fences {
    /// Globs of files the toolchain executes at build time (`next.config.*`): a task
    /// may change one only when one of its own `write` globs names it.
    #[serde(default)]
    pub executed_config: Vec<String>,
    /// Prefixes of env variables that are public by design (`NEXT_PUBLIC_`): they
    /// reach commands (unless named like a secret).
    #[serde(default)]
    pub public_env_prefixes: Vec<String>,
    /// Other variables the toolchain reads (`NEXT_TELEMETRY_DISABLED`); a name ending
    /// in `*` is a prefix. They reach commands unless named like a secret.
    #[serde(default)]
    pub command_env: Vec<String>,
    /// Folders, besides the app root, where the framework loads env files from.
    #[serde(default)]
    pub env_dirs: Vec<String>,
    /// Folders served as they are (`public`, `static`): never a place for an env file.
    #[serde(default)]
    pub public_dirs: Vec<String>,
    /// Files in the run's state folder that agents share (the event plan), as paths
    /// relative to the app: the only ones there a `write` glob may open up.
    #[serde(default)]
    pub state_files: Vec<String>,
}

/// Limits for the `Bash` tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BashLimits {
    /// Default time limit for one command.
    pub default_timeout: Duration,
    /// Largest time limit a call may ask for.
    pub max_timeout: Duration,
    /// Bytes of output kept (the tail).
    pub output_cap: usize,
    /// When set, allowed commands are not run; the call says so (the offline demo).
    pub skip_reason: Option<String>,
    /// Held while a package-manager install runs (shared by apps of one workspace root).
    pub install_lock: Option<super::install_lock::InstallLock>,
}

impl Default for BashLimits {
    fn default() -> Self {
        Self {
            default_timeout: Duration::from_secs(120),
            max_timeout: Duration::from_secs(600),
            output_cap: 30_000,
            skip_reason: None,
            install_lock: None,
        }
    }
}

/// Everything a tool call may use.
#[derive(Debug, Clone)]
pub struct ToolContext {
    /// The app's directory, canonical (symlinks resolved).
    pub install_dir: PathBuf,
    /// The task's permissions.
    pub permissions: Permissions,
    /// The run's secrets.
    pub secrets: Secrets,
    /// Limits for `Bash`.
    pub bash: BashLimits,
    /// Package managers `detect_package_manager` knows, from the content.
    pub package_managers: Vec<PackageManagerRule>,
    /// The content's facts about the toolchain that the fences need.
    pub fences: Fences,
}

/// What a tool returns to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// Text for the model.
    pub content: String,
    /// Files created or changed, relative to the install dir.
    pub files_touched: Vec<String>,
}

impl ToolOutput {
    /// Output with no files touched.
    pub fn text(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            files_touched: Vec::new(),
        }
    }
}

/// Why a tool call was refused or failed. The text goes back to the model.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ToolError {
    /// A permission rule refused the call; names the rule.
    #[error("permission denied: {0}")]
    Denied(String),
    /// The input does not match the tool's schema.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The tool ran and failed (file missing, command failed to start…).
    #[error("{0}")]
    Failed(String),
}

/// One tool.
#[async_trait]
pub trait Tool: Send + Sync {
    /// Name, description and input schema, as the model sees them.
    fn spec(&self) -> ToolSpec;

    /// A short human phrase for the UI ("Editing app/layout.tsx").
    fn activity(&self, input: &Value) -> String;

    /// Runs the call. Permissions are checked inside, before any effect.
    async fn call(&self, ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError>;
}

/// How to recognise and drive one package manager (from the content's framework rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PackageManagerRule {
    /// `npm`, `pnpm`, `yarn`, `bun`…
    pub name: String,
    /// Lockfiles whose presence means this manager.
    pub lockfiles: Vec<String>,
    /// Command that installs every declared dependency (`npm install`).
    pub install: String,
    /// Command prefix that adds a dependency (`npm install`, `pnpm add`).
    pub add: String,
    /// Command prefix that runs a package script (`npm run`).
    pub run: String,
    /// The one used when no lockfile is found.
    #[serde(default)]
    pub default: bool,
}
