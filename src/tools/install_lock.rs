//! One dependency install at a time per workspace root.
//!
//! Apps of one workspace share its root's lockfile and `node_modules`: two
//! package-manager installs running there at once corrupt both. Each branch
//! of a monorepo run gets the lock of its workspace root (branches of apps
//! that share a root share the lock); the `Bash` tool holds it while a
//! command that is a package manager's `install` or `add` command runs.
//! Which commands those are comes from the content's package-manager rules.

use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard};

use super::PackageManagerRule;

/// The install lock of one workspace root.
#[derive(Debug, Clone, Default)]
pub struct InstallLock(Arc<Mutex<()>>);

impl PartialEq for InstallLock {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for InstallLock {}

impl InstallLock {
    /// A new, free lock.
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits for the lock when `argv` is an install or add command of one of
    /// `managers`; `None` (at once) for any other command.
    pub async fn hold_for(
        &self,
        argv: &[String],
        managers: &[PackageManagerRule],
    ) -> Option<OwnedMutexGuard<()>> {
        if !is_install(argv, managers) {
            return None;
        }
        Some(self.0.clone().lock_owned().await)
    }
}

/// True when `argv` starts with the words of a manager's `install` or `add` command.
pub fn is_install(argv: &[String], managers: &[PackageManagerRule]) -> bool {
    managers.iter().any(|pm| {
        [&pm.install, &pm.add].into_iter().any(|cmd| {
            let words: Vec<&str> = cmd.split_whitespace().collect();
            !words.is_empty()
                && argv.len() >= words.len()
                && argv.iter().zip(&words).all(|(a, w)| a == w)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npm() -> PackageManagerRule {
        PackageManagerRule {
            name: "npm".into(),
            lockfiles: vec!["package-lock.json".into()],
            install: "npm install".into(),
            add: "npm install".into(),
            run: "npm run".into(),
            default: true,
        }
    }

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn installs_and_adds_are_installs_builds_are_not() {
        assert!(is_install(&argv("npm install"), &[npm()]));
        assert!(is_install(&argv("npm install posthog-js"), &[npm()]));
        assert!(!is_install(&argv("npm run build"), &[npm()]));
        assert!(!is_install(&argv("npm"), &[npm()]));
    }
}
