//! The app's own secrets: every value in the env files the framework loads.
//!
//! Tools never show an env file, but a build script, a config file or a log
//! may print a value from one; so at the start of a run each value becomes a
//! hidden secret that the [`super::Redactor`] scrubs. Placeholder files
//! (`.env.example`, `.env.sample`, `.env.template`) hold no real values and are
//! skipped, and so are values that are public named values (the host).

use std::path::Path;

use crate::tools::{is_loaded_env_file_name, Fences, Secrets};

/// Suffixes of env files that document keys rather than hold values.
const PLACEHOLDER_SUFFIXES: [&str; 3] = [".example", ".sample", ".template"];

/// Adds every value of the app's env files (at the root and in the content's env
/// folders) to `secrets` as hidden secrets. Unreadable files are logged and skipped.
pub fn add_app_env_values(secrets: &mut Secrets, install_dir: &Path, fences: &Fences) {
    for value in app_env_values(install_dir, fences) {
        secrets.insert_hidden(value);
    }
}

/// Every value of the app's env files (at the root and in the content's env folders).
pub fn app_env_values(install_dir: &Path, fences: &Fences) -> Vec<String> {
    let mut out = Vec::new();
    let dirs = std::iter::once(install_dir.to_path_buf())
        .chain(fences.env_dirs.iter().map(|d| install_dir.join(d)));
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_loaded_env_file_name(&name)
                || PLACEHOLDER_SUFFIXES.iter().any(|s| name.ends_with(s))
                || !entry.file_type().is_ok_and(|t| t.is_file())
            {
                continue;
            }
            out.extend(values(&entry.path()));
        }
    }
    out
}

/// The values of one env file: dotenv syntax, else `KEY=value` lines as written.
fn values(path: &Path) -> Vec<String> {
    match dotenvy::from_path_iter(path) {
        Ok(iter) => {
            let parsed: Result<Vec<(String, String)>, _> = iter.collect();
            match parsed {
                Ok(pairs) => return pairs.into_iter().map(|(_, v)| v).collect(),
                Err(e) => {
                    tracing::debug!("{}: not dotenv syntax ({e}); read as lines", path.display())
                }
            }
        }
        Err(e) => {
            tracing::warn!("cannot read {}: {e}", path.display());
            return Vec::new();
        }
    }
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(_, value)| value.trim().trim_matches(['"', '\'']).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_loaded_env_files_become_hidden_secrets() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env.local"),
            "DB_PASSWORD='s3cret-Pa55word'\nexport TOKEN=phc_abcDEF123456\n",
        )
        .unwrap();
        std::fs::write(dir.path().join(".env.example"), "X=placeholder-Value1\n").unwrap();
        let mut secrets = Secrets::default();
        secrets.insert_public("host", "https://us.i.posthog.com");
        add_app_env_values(&mut secrets, dir.path(), &Fences::default());
        let values: Vec<&str> = secrets.values().collect();
        assert!(values.contains(&"s3cret-Pa55word"), "{values:?}");
        assert!(values.contains(&"phc_abcDEF123456"), "{values:?}");
        assert!(!values.contains(&"placeholder-Value1"));
    }
}
