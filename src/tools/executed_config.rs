//! The executed-config rule: what the toolchain runs is not the agents' to rewrite.
//!
//! A task allowed to edit `package.json` and run `npm run build` is a shell if
//! it may change `scripts.build`; a task that may edit `next.config.js` runs
//! code at the next build. So:
//! * in `package.json`, only dependencies may change: `scripts` (lifecycle hooks
//!   included), `bin`, `packageManager`, `overrides` and the other fields that
//!   make npm run or fetch something are compared before and after, and a
//!   change is refused; a dependency added or changed must be a registry
//!   version or tag, not `file:`, `link:`, git or a URL;
//! * files the content lists as executed config (`fences.executedConfig`) may
//!   be written only by a task one of whose `write` globs names the file: the
//!   glob's last segment starts with a literal name (`next.config.{js,ts}`), not
//!   a wildcard (`**`, `*.js`).

use std::sync::OnceLock;

use globset::GlobBuilder;
use regex::Regex;
use serde_json::Value;

use super::context::{Fences, Permissions, ToolError};
use super::paths::ProjectPath;

/// The manifest whose executed fields are guarded.
const MANIFEST: &str = "package.json";

/// Fields of `package.json` that run code or decide where code comes from.
const GUARDED_FIELDS: [&str; 11] = [
    "scripts",
    "bin",
    "directories",
    "packageManager",
    "config",
    "workspaces",
    "overrides",
    "resolutions",
    "pnpm",
    "gypfile",
    "devEngines",
];

/// Dependency sections whose values must be registry versions or tags.
const DEPENDENCY_FIELDS: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "peerDependencies",
    "optionalDependencies",
];

/// Refuses a change to `package.json` (at any depth) that touches more than its
/// dependencies. `before` is `None` for a new file. Other files pass.
pub fn check_manifest_change(
    path: &ProjectPath,
    before: Option<&str>,
    after: &str,
) -> Result<(), ToolError> {
    if path.file_name() != MANIFEST {
        return Ok(());
    }
    let deny = |why: String| {
        ToolError::Denied(format!(
            "executed-config rule: {} may change its dependencies only; {why}",
            path.display()
        ))
    };
    let after: Value = serde_json::from_str(after)
        .map_err(|e| deny(format!("the new content is not valid JSON ({e})")))?;
    let before: Value = match before {
        Some(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        None => Value::Null,
    };
    for field in GUARDED_FIELDS {
        if before.get(field) != after.get(field) {
            return Err(deny(format!(
                "`{field}` runs or fetches code at install or build time, so it stays as it was"
            )));
        }
    }
    for section in DEPENDENCY_FIELDS {
        let Some(deps) = after.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (name, spec) in deps {
            if before.get(section).and_then(|d| d.get(name)) == Some(spec) {
                continue;
            }
            let ok = spec.as_str().is_some_and(|s| version_spec().is_match(s));
            if !ok {
                return Err(deny(format!(
                    "`{section}.{name}` must be a registry version or tag, not {spec}"
                )));
            }
        }
    }
    Ok(())
}

/// `^1.2.3`, `>=1 <2`, `latest`, `1.x || 2.x`: no `:` or `/`, so no `file:`, git or URL.
fn version_spec() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^[A-Za-z0-9._^~<>=*|+ -]+$")
            .unwrap_or_else(|_| unreachable!("the version pattern is a valid regex"))
    })
}

/// Refuses a write to an executed config file unless one of the task's own `write`
/// globs names it.
pub fn check_executed_config(
    perms: &Permissions,
    fences: &Fences,
    path: &ProjectPath,
) -> Result<(), ToolError> {
    let listed = fences
        .executed_config
        .iter()
        .any(|pattern| glob_matches(pattern, path, !pattern.contains('/')));
    if !listed {
        return Ok(());
    }
    let named = perms.write.iter().any(|glob| {
        let last = glob.rsplit('/').next().unwrap_or(glob);
        let literal_start = last
            .chars()
            .next()
            .is_some_and(|c| !matches!(c, '*' | '?' | '[' | '{'));
        literal_start && glob_matches(glob, path, false)
    });
    if named {
        return Ok(());
    }
    Err(ToolError::Denied(format!(
        "executed-config rule: {} runs at build time; only a task whose write globs name it \
         may change it",
        path.display()
    )))
}

/// Matches `pattern` against the file name (`by_name`) or the relative path.
fn glob_matches(pattern: &str, path: &ProjectPath, by_name: bool) -> bool {
    let target = if by_name {
        path.file_name()
    } else {
        path.relative.as_str()
    };
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .is_ok_and(|g| g.compile_matcher().is_match(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(rel: &str) -> ProjectPath {
        ProjectPath {
            absolute: std::path::PathBuf::from("/p").join(rel),
            relative: rel.to_string(),
        }
    }

    const BEFORE: &str =
        r#"{"name":"app","scripts":{"build":"next build"},"dependencies":{"next":"15.0.0"}}"#;

    #[test]
    fn dependencies_may_change_scripts_and_local_sources_may_not() {
        let p = project("package.json");
        let added = r#"{"name":"app","scripts":{"build":"next build"},"dependencies":{"next":"15.0.0","posthog-js":"^1.200.0"}}"#;
        assert!(check_manifest_change(&p, Some(BEFORE), added).is_ok());
        for (after, why) in [
            (
                r#"{"name":"app","scripts":{"build":"base64 .env.local"},"dependencies":{"next":"15.0.0"}}"#,
                "`scripts`",
            ),
            (
                r#"{"name":"app","scripts":{"build":"next build","postinstall":"x"},"dependencies":{"next":"15.0.0"}}"#,
                "`scripts`",
            ),
            (
                r#"{"name":"app","scripts":{"build":"next build"},"bin":{"x":"x.js"},"dependencies":{"next":"15.0.0"}}"#,
                "`bin`",
            ),
            (
                r#"{"name":"app","scripts":{"build":"next build"},"packageManager":"yarn@4","dependencies":{"next":"15.0.0"}}"#,
                "`packageManager`",
            ),
            (
                r#"{"name":"app","scripts":{"build":"next build"},"dependencies":{"next":"15.0.0","x":"file:../x"}}"#,
                "registry version",
            ),
            (
                r#"{"name":"app","scripts":{"build":"next build"},"dependencies":{"next":"15.0.0","x":"github:a/b"}}"#,
                "registry version",
            ),
            ("{not json", "not valid JSON"),
        ] {
            let err = check_manifest_change(&p, Some(BEFORE), after).unwrap_err();
            assert!(
                matches!(&err, ToolError::Denied(m) if m.contains("executed-config rule") && m.contains(why)),
                "{after}: {err}"
            );
        }
        assert!(check_manifest_change(&project("src/x.json"), Some(BEFORE), "x").is_ok());
    }

    #[test]
    fn executed_config_needs_a_write_glob_that_names_it() {
        let fences = Fences {
            executed_config: vec!["next.config.*".into(), "vite.config.*".into()],
            ..Fences::default()
        };
        let perms = |write: &[&str]| Permissions {
            write: write.iter().map(|s| s.to_string()).collect(),
            ..Permissions::default()
        };
        let config = project("next.config.js");
        assert!(check_executed_config(&perms(&["next.config.{ts,js}"]), &fences, &config).is_ok());
        for broad in [&["**"][..], &["*.js"], &["**/*"]] {
            let err = check_executed_config(&perms(broad), &fences, &config).unwrap_err();
            assert!(
                matches!(&err, ToolError::Denied(m) if m.contains("executed-config rule")),
                "{broad:?}"
            );
        }
        let nested = project("apps/web/vite.config.ts");
        assert!(check_executed_config(&perms(&["apps/**"]), &fences, &nested).is_err());
        assert!(check_executed_config(&perms(&["**"]), &fences, &project("app/page.tsx")).is_ok());
    }
}
