//! The env tools: `check_env_keys` and `set_env_values`.
//!
//! They are the only way an agent reaches an env file (a file whose name
//! starts with `.env`): `Read`, `Write`, `Edit` and `Grep` refuse them. The
//! model learns which keys exist, never their values; it sets values either as
//! literals or as `{"secret": "<name>"}` references that are resolved here, in
//! Rust, from the run's [`Secrets`](super::context::Secrets). Neither tool's
//! output ever contains a value.
//!
//! Decision: the task's `write` globs do not apply to env files. The env tools
//! are a narrow, purpose-built door (key names validated, values never echoed,
//! the file kept out of git), so fencing them again by glob would only force
//! every task that sets a key to also list `.env*` as writable, which would
//! then open them to `Write`. The path rule and the protected-dir rule still
//! apply. Likewise `set_env_values` may append the env file's name to the
//! project's `.gitignore` whatever the globs say: keeping a secret out of git
//! is part of its contract.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use async_trait::async_trait;
use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use super::context::{Fences, Secrets, Tool, ToolContext, ToolError, ToolOutput};
use super::fs::write_atomic;
use super::input;
use super::paths::{self, ProjectPath};
use super::permissions::{
    check_not_protected, check_tool_allowed, is_env_file_name, is_loaded_env_file_name,
};
use super::run_blocking;
use crate::providers::ToolSpec;

/// `check_env_keys`: which of some keys an env file defines, never their values.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckEnvKeys;

/// `set_env_values`: merges keys into an env file and keeps it out of git.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetEnvValues;

/// Input of `check_env_keys`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckEnvKeysInput {
    /// The env file, relative to the project root (`.env.local`). Its name must start with `.env`.
    pub file_path: String,
    /// Key names to look for.
    pub keys: Vec<String>,
}

/// Input of `set_env_values`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetEnvValuesInput {
    /// The env file, relative to the project root (`.env.local`). Its name must start with `.env`. Created if missing.
    pub file_path: String,
    /// Key → value. A value is a literal string, or `{"secret": "<name>"}` to use a secret the wizard holds.
    pub values: BTreeMap<String, EnvValue>,
}

/// One value for `set_env_values`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvValue {
    /// A literal value.
    Literal(String),
    /// A named secret, resolved by the wizard; the model never sees its value.
    Secret(SecretRef),
}

/// A reference to a named secret.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// The secret's name.
    pub secret: String,
}

/// Serializes read-modify-write of env files and `.gitignore` across concurrent tasks.
fn env_write_lock() -> &'static Mutex<()> {
    static LOCK: OnceLock<Mutex<()>> = OnceLock::new();
    LOCK.get_or_init(|| Mutex::new(()))
}

/// A key defined on a line: `KEY=…` or `export KEY=…`, leading spaces allowed.
fn assignment() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // A literal pattern; it compiles.
        Regex::new(r"^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
            .unwrap_or_else(|_| unreachable!("the assignment pattern is a valid regex"))
    })
}

fn check_key_name(key: &str) -> Result<(), ToolError> {
    let mut chars = key.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(ToolError::InvalidInput(format!(
            "key {key:?} is not a valid env key name (letters, digits and _, not starting with a digit)"
        )))
    }
}

/// Env files meant to be committed: they list the variable names a project needs, never
/// their values, so they take no secrets and are never added to `.gitignore`.
const ENV_TEMPLATE_NAMES: &[&str] = &[".env.example", ".env.sample", ".env.template"];

/// True for a committed env template (`.env.example`, `.env.sample`, `.env.template`).
pub fn is_env_template(name: &str) -> bool {
    ENV_TEMPLATE_NAMES.contains(&name)
}

/// Resolves an env tool's path: inside the install dir, an env file, not in a protected dir.
fn env_path(ctx: &ToolContext, tool_name: &str, raw: &str) -> Result<ProjectPath, ToolError> {
    let path = paths::resolve(&ctx.install_dir, raw)?;
    if !is_env_file_name(path.file_name()) {
        return Err(ToolError::Denied(format!(
            "env-file rule: {tool_name} only works on env files (names starting with .env), not {}",
            path.display()
        )));
    }
    // Env files are never shared state: no exception applies.
    check_not_protected(&path, &[])?;
    Ok(path)
}

/// Refuses an env file the framework would not load, or one it would serve: the name
/// must be an env loader's (`.env`, `.env.local`, not `.env.ts`), the folder the app
/// root or one of the content's env folders, and no part of it a public folder.
fn check_loaded_env_file(fences: &Fences, path: &ProjectPath) -> Result<(), ToolError> {
    let (dir, _) = path.relative.rsplit_once('/').unwrap_or(("", ""));
    if let Some(public) = path
        .relative
        .split('/')
        .find(|part| fences.public_dirs.iter().any(|p| p == part))
    {
        return Err(ToolError::Denied(format!(
            "env-file rule: {} is inside {public}/, which is served to browsers as it is",
            path.display()
        )));
    }
    if !is_loaded_env_file_name(path.file_name()) {
        return Err(ToolError::Denied(format!(
            "env-file rule: {} is not an env file a loader reads (.env, .env.local, \
             .env.<mode>…); source files that start with .env are not env files",
            path.display()
        )));
    }
    let loaded = dir.is_empty() || fences.env_dirs.iter().any(|d| d.trim_matches('/') == dir);
    if !loaded {
        return Err(ToolError::Denied(format!(
            "env-file rule: {} is not where the framework loads env files (the app root{})",
            path.display(),
            if fences.env_dirs.is_empty() {
                String::new()
            } else {
                format!(" or {}", fences.env_dirs.join(", "))
            }
        )));
    }
    Ok(())
}

/// The file's text, or `None` when it does not exist yet.
fn read_env_file(path: &ProjectPath) -> Result<Option<String>, ToolError> {
    match fs::read(&path.absolute) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| ToolError::Failed(format!("{} is not UTF-8 text", path.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ToolError::Failed(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

#[async_trait]
impl Tool for CheckEnvKeys {
    fn spec(&self) -> ToolSpec {
        input::spec_for::<CheckEnvKeysInput>(
            "check_env_keys",
            "Reports which keys an env file defines, as JSON {\"KEY\": \"present\"|\"missing\"}. \
             Values are never shown; a key with an empty value counts as missing. A file that \
             does not exist has every key missing.",
        )
    }

    fn activity(&self, input: &Value) -> String {
        format!(
            "Checking keys in {}",
            input
                .get("file_path")
                .and_then(Value::as_str)
                .unwrap_or("an env file")
        )
    }

    async fn call(&self, ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
        check_tool_allowed(&ctx.permissions, "check_env_keys")?;
        let args: CheckEnvKeysInput = input::parse("check_env_keys", input)?;
        for key in &args.keys {
            check_key_name(key)?;
        }
        let path = env_path(ctx, "check_env_keys", &args.file_path)?;
        run_blocking(move || {
            let text = read_env_file(&path)?.unwrap_or_default();
            let defined: Vec<(String, bool)> = text
                .lines()
                .filter_map(|line| assignment().captures(line))
                .map(|c| {
                    let value = c[3].trim().trim_matches(['"', '\'']);
                    (c[2].to_string(), !value.is_empty())
                })
                .collect();
            let report: serde_json::Map<String, Value> = args
                .keys
                .iter()
                .map(|key| {
                    // The last definition wins, as in dotenv loaders.
                    let present = defined
                        .iter()
                        .rev()
                        .find(|(k, _)| k == key)
                        .is_some_and(|(_, has_value)| *has_value);
                    let state = if present { "present" } else { "missing" };
                    (key.clone(), json!(state))
                })
                .collect();
            Ok(ToolOutput::text(Value::Object(report).to_string()))
        })
        .await
    }
}

#[async_trait]
impl Tool for SetEnvValues {
    fn spec(&self) -> ToolSpec {
        input::spec_for::<SetEnvValuesInput>(
            "set_env_values",
            "Sets keys in an env file (created if missing): existing KEY= lines are replaced \
             in place, new keys are appended, other lines are kept. A value is a literal string \
             or {\"secret\": \"<name>\"} to use a secret the wizard holds without seeing it. \
             The file is added to .gitignore if git does not already ignore it.",
        )
    }

    fn activity(&self, input: &Value) -> String {
        format!(
            "Setting keys in {}",
            input
                .get("file_path")
                .and_then(Value::as_str)
                .unwrap_or("an env file")
        )
    }

    async fn call(&self, ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
        check_tool_allowed(&ctx.permissions, "set_env_values")?;
        let args: SetEnvValuesInput = input::parse("set_env_values", input)?;
        if args.values.is_empty() {
            return Err(ToolError::InvalidInput(
                "set_env_values: field `values` is empty; give at least one key".into(),
            ));
        }
        let path = env_path(ctx, "set_env_values", &args.file_path)?;
        check_loaded_env_file(&ctx.fences, &path)?;
        let template = is_env_template(path.file_name());
        if template {
            if let Some(key) = args
                .values
                .iter()
                .find_map(|(key, value)| matches!(value, EnvValue::Secret(_)).then_some(key))
            {
                return Err(ToolError::Denied(format!(
                    "env-file rule: {} is committed with the project, so it takes names, not \
                     secrets: give `values.{key}` an empty string or a placeholder",
                    path.display()
                )));
            }
        }
        let mut lines = Vec::with_capacity(args.values.len());
        for (key, value) in &args.values {
            check_key_name(key)?;
            let value = resolve_value(&ctx.secrets, key, value)?;
            lines.push((key.clone(), format_value(key, &value)?));
        }
        let install_dir = ctx.install_dir.clone();
        run_blocking(move || {
            let _guard = env_write_lock()
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let before = read_env_file(&path)?;
            let after = merge(before.as_deref().unwrap_or(""), &lines);
            if let Some(parent) = path.absolute.parent() {
                fs::create_dir_all(parent).map_err(|e| {
                    ToolError::Failed(format!(
                        "cannot create the directory of {}: {e}",
                        path.display()
                    ))
                })?;
            }
            write_atomic(&path.absolute, after.as_bytes())
                .map_err(|e| ToolError::Failed(format!("cannot write {}: {e}", path.display())))?;
            let mut files_touched = vec![path.relative.clone()];
            let mut text = format!("Updated {} key(s) in {}", lines.len(), path.display());
            // A template is committed on purpose; only files that may hold values are ignored.
            if !template && ensure_git_ignores(&install_dir, &path)? {
                text.push_str(&format!("; added {} to .gitignore", path.file_name()));
                files_touched.push(".gitignore".into());
            }
            Ok(ToolOutput {
                content: text,
                files_touched,
            })
        })
        .await
    }
}

fn resolve_value(secrets: &Secrets, key: &str, value: &EnvValue) -> Result<String, ToolError> {
    match value {
        EnvValue::Literal(literal) => Ok(literal.clone()),
        EnvValue::Secret(SecretRef { secret }) => {
            secrets.get(secret).map(str::to_string).ok_or_else(|| {
                let known: Vec<&str> = secrets.names().collect();
                let known = if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                };
                ToolError::InvalidInput(format!(
                    "set_env_values: field `values.{key}`: unknown secret {secret:?}; known secrets: {known}"
                ))
            })
        }
    }
}

/// `KEY=value`, quoted when the value has characters a dotenv parser would treat specially.
/// The error never includes the value: it may be a secret.
fn format_value(key: &str, value: &str) -> Result<String, ToolError> {
    if value.contains(['\n', '\r', '\0']) {
        return Err(ToolError::InvalidInput(format!(
            "set_env_values: field `values.{key}`: the value contains a line break, which env files cannot hold"
        )));
    }
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-./:@+,=%~".contains(c));
    if plain {
        Ok(format!("{key}={value}"))
    } else if !value.contains('\'') {
        // Single quotes: dotenv loaders take the text literally (no `$` expansion).
        Ok(format!("{key}='{value}'"))
    } else if !value.contains('"') && !value.contains('$') {
        Ok(format!("{key}=\"{value}\""))
    } else {
        Err(ToolError::InvalidInput(format!(
            "set_env_values: field `values.{key}`: the value mixes quotes in a way an env file cannot hold"
        )))
    }
}

/// Replaces every `KEY=` line of the keys being set, in place, and appends the rest.
fn merge(before: &str, lines: &[(String, String)]) -> String {
    let mut written = vec![false; lines.len()];
    let mut out = String::with_capacity(before.len() + 64);
    for line in before.lines() {
        let replacement = assignment().captures(line).and_then(|c| {
            let index = lines.iter().position(|(key, _)| key == &c[2])?;
            written[index] = true;
            Some(format!("{}{}", &c[1], lines[index].1))
        });
        out.push_str(replacement.as_deref().unwrap_or(line));
        out.push('\n');
    }
    for (index, (_, line)) in lines.iter().enumerate() {
        if !written[index] {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Makes sure git will not commit the env file; true when `.gitignore` was changed.
///
/// Inside a git repository git itself is asked (`git check-ignore`), so global
/// and nested ignore files count. Without git, the project's `.gitignore` is
/// read with the same matching rules. If the file is not ignored, its name is
/// appended to `<install_dir>/.gitignore`, which is created when missing.
fn ensure_git_ignores(install_dir: &Path, env: &ProjectPath) -> Result<bool, ToolError> {
    let gitignore = install_dir.join(".gitignore");
    let ignored = match git_check_ignore(install_dir, &env.relative) {
        Some(answer) => answer,
        None => {
            let (matcher, _) = ignore::gitignore::Gitignore::new(&gitignore);
            // A relative path: the matcher panics on an absolute one outside its root.
            matcher
                .matched_path_or_any_parents(Path::new(&env.relative), false)
                .is_ignore()
        }
    };
    if ignored {
        return Ok(false);
    }
    let existing = match fs::read_to_string(&gitignore) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ToolError::Failed(format!("cannot read .gitignore: {e}"))),
    };
    let name = env.file_name();
    let listed = existing.lines().any(|line| {
        let line = line.trim();
        line == name || line.strip_prefix('/') == Some(name)
    });
    if listed {
        return Ok(false);
    }
    let mut text = existing;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(name);
    text.push('\n');
    write_atomic(&gitignore, text.as_bytes())
        .map_err(|e| ToolError::Failed(format!("cannot write .gitignore: {e}")))?;
    Ok(true)
}

/// `Some(ignored)` when git answers; `None` outside a repository or without git.
fn git_check_ignore(install_dir: &Path, relative: &str) -> Option<bool> {
    let status = std::process::Command::new("git")
        .args(["check-ignore", "-q", "--", relative])
        .current_dir(install_dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    match status.code() {
        Some(0) => Some(true),
        Some(1) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(key: &str, value: &str) -> (String, String) {
        (key.to_string(), format_value(key, value).unwrap())
    }

    #[test]
    fn merge_replaces_in_place_appends_new_keys_and_keeps_comments() {
        let before = "# app\nA=1\nexport B=2\nC=3";
        let after = merge(before, &[line("B", "20"), line("D", "4")]);
        assert_eq!(after, "# app\nA=1\nexport B=20\nC=3\nD=4\n");
    }

    #[test]
    fn values_with_spaces_or_dollars_are_single_quoted() {
        assert_eq!(format_value("K", "a b$c").unwrap(), "K='a b$c'");
        assert_eq!(
            format_value("K", "https://x.y/z").unwrap(),
            "K=https://x.y/z"
        );
        assert_eq!(format_value("K", "it's").unwrap(), "K=\"it's\"");
    }

    #[test]
    fn value_with_a_newline_is_refused_without_echoing_it() {
        let err = format_value("K", "hunter2\nzz").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn key_names_must_be_identifiers() {
        assert!(check_key_name("NEXT_PUBLIC_X").is_ok());
        assert!(check_key_name("_A1").is_ok());
        for bad in ["1A", "A-B", "", "A B", "A=B"] {
            assert!(check_key_name(bad).is_err(), "{bad}");
        }
    }
}
