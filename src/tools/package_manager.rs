//! `detect_package_manager`: which package manager the project uses, from its lockfiles.
//!
//! The rules (names, lockfiles, commands, the default) are data from the
//! content's framework rules ([`PackageManagerRule`]); this module only looks
//! for the lockfiles in the install dir. When several are present, all are
//! listed, the most recently modified first: that is the one the project used
//! last. With none, the rule marked `default` is recommended.

use std::time::SystemTime;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::context::{PackageManagerRule, Tool, ToolContext, ToolError, ToolOutput};
use super::input;
use super::permissions::check_tool_allowed;
use super::run_blocking;
use crate::providers::ToolSpec;

/// `detect_package_manager`: the project's package manager and its commands.
#[derive(Debug, Clone, Copy, Default)]
pub struct DetectPackageManager;

/// Input of `detect_package_manager`: nothing.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectPackageManagerInput {}

/// One package manager as reported to the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectedPackageManager {
    /// `npm`, `pnpm`…
    pub name: String,
    /// Installs every declared dependency.
    pub install_command: String,
    /// Prefix that adds a dependency.
    pub add_command: String,
    /// Prefix that runs a package script.
    pub run_command: String,
    /// The lockfile found, or `None` for the default with no lockfile.
    pub lockfile: Option<String>,
}

/// What `detect_package_manager` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    /// Managers whose lockfile exists, most recently modified first.
    pub detected: Vec<DetectedPackageManager>,
    /// The one to use: the first detected, else the rule marked default.
    pub default: Option<DetectedPackageManager>,
}

/// Looks for each rule's lockfiles in `install_dir`; pure apart from reading file times.
pub fn detect(install_dir: &std::path::Path, rules: &[PackageManagerRule]) -> Detection {
    let mut found: Vec<(SystemTime, usize, DetectedPackageManager)> = Vec::new();
    for (order, rule) in rules.iter().enumerate() {
        let newest = rule
            .lockfiles
            .iter()
            .filter_map(|lockfile| {
                let meta = std::fs::metadata(install_dir.join(lockfile)).ok()?;
                meta.is_file().then(|| {
                    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    (modified, lockfile)
                })
            })
            .max_by_key(|(modified, _)| *modified);
        if let Some((modified, lockfile)) = newest {
            found.push((modified, order, entry(rule, Some(lockfile.clone()))));
        }
    }
    // Newest first; equal times keep the content's order, so output is deterministic.
    found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let detected: Vec<DetectedPackageManager> = found.into_iter().map(|(_, _, d)| d).collect();
    let default = detected.first().cloned().or_else(|| {
        rules
            .iter()
            .find(|rule| rule.default)
            .map(|rule| entry(rule, None))
    });
    Detection { detected, default }
}

fn entry(rule: &PackageManagerRule, lockfile: Option<String>) -> DetectedPackageManager {
    DetectedPackageManager {
        name: rule.name.clone(),
        install_command: rule.install.clone(),
        add_command: rule.add.clone(),
        run_command: rule.run.clone(),
        lockfile,
    }
}

#[async_trait]
impl Tool for DetectPackageManager {
    fn spec(&self) -> ToolSpec {
        input::spec_for::<DetectPackageManagerInput>(
            "detect_package_manager",
            "Detects the project's package manager from its lockfiles and returns JSON \
             {detected: [{name, installCommand, addCommand, runCommand, lockfile}], default}. \
             Use `default`'s commands.",
        )
    }

    fn activity(&self, _input: &Value) -> String {
        "Detecting the package manager".into()
    }

    async fn call(&self, ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
        check_tool_allowed(&ctx.permissions, "detect_package_manager")?;
        // `null` is what some models send for an empty input.
        let input = if input.is_null() {
            Value::Object(Default::default())
        } else {
            input
        };
        let _: DetectPackageManagerInput = input::parse("detect_package_manager", input)?;
        if ctx.package_managers.is_empty() {
            return Err(ToolError::Failed(
                "no package manager rules are loaded for this framework".into(),
            ));
        }
        let install_dir = ctx.install_dir.clone();
        let rules = ctx.package_managers.clone();
        let detection = run_blocking(move || Ok(detect(&install_dir, &rules))).await?;
        let text = serde_json::to_string_pretty(&detection)
            .map_err(|e| ToolError::Failed(format!("cannot encode the detection: {e}")))?;
        Ok(ToolOutput::text(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rule(name: &str, lockfiles: &[&str], default: bool) -> PackageManagerRule {
        PackageManagerRule {
            name: name.into(),
            lockfiles: lockfiles.iter().map(|s| s.to_string()).collect(),
            install: format!("{name} install"),
            add: format!("{name} add"),
            run: format!("{name} run"),
            default,
        }
    }

    fn rules() -> Vec<PackageManagerRule> {
        vec![
            rule("npm", &["package-lock.json"], true),
            rule("pnpm", &["pnpm-lock.yaml"], false),
            rule("yarn", &["yarn.lock"], false),
        ]
    }

    fn touch(dir: &std::path::Path, name: &str, age_secs: u64) {
        let file = std::fs::File::create(dir.join(name)).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(age_secs))
            .unwrap();
    }

    #[test]
    fn the_lockfile_present_wins_over_the_default() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "pnpm-lock.yaml", 0);
        let d = detect(dir.path(), &rules());
        assert_eq!(d.detected.len(), 1);
        assert_eq!(d.detected[0].name, "pnpm");
        assert_eq!(d.detected[0].lockfile.as_deref(), Some("pnpm-lock.yaml"));
        assert_eq!(d.default.unwrap().add_command, "pnpm add");
    }

    #[test]
    fn several_lockfiles_are_all_listed_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "package-lock.json", 3600);
        touch(dir.path(), "yarn.lock", 10);
        let d = detect(dir.path(), &rules());
        let names: Vec<&str> = d.detected.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["yarn", "npm"]);
        assert_eq!(d.default.unwrap().name, "yarn");
    }

    #[test]
    fn no_lockfile_recommends_the_default_rule() {
        let dir = tempfile::tempdir().unwrap();
        let d = detect(dir.path(), &rules());
        assert!(d.detected.is_empty());
        let default = d.default.unwrap();
        assert_eq!(default.name, "npm");
        assert_eq!(default.lockfile, None);
    }

    #[test]
    fn output_uses_the_camel_case_field_names_models_are_told() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "yarn.lock", 0);
        let json = serde_json::to_value(detect(dir.path(), &rules())).unwrap();
        assert_eq!(json["detected"][0]["installCommand"], "yarn install");
        assert_eq!(json["detected"][0]["runCommand"], "yarn run");
        assert_eq!(json["default"]["lockfile"], "yarn.lock");
    }
}
