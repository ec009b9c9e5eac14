//! The `inventory` section of `product.yaml`: how to recognise an existing
//! integration of the product in an app, as data.
//!
//! `wizard detect` and the run's project context read an app with these
//! rules (`crate::detect::inventory`); which packages are the product's SDKs
//! and which calls count as init, identify or capture live here, never in
//! Rust. Every pattern is a regular expression, compiled when the content
//! loads so a bad one is a content error, not a surprise mid-run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How to take stock of an existing integration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InventoryRules {
    /// The product's SDK packages (npm or Python names).
    #[serde(default)]
    pub packages: Vec<String>,
    /// Globs (relative to the app) of the source files read.
    #[serde(default)]
    pub source_files: Vec<String>,
    /// A source file is looked at only when its text matches this.
    #[serde(default)]
    pub mentions: Option<String>,
    /// Calls that initialise the SDK; each match is an init site (`file:line`).
    #[serde(default)]
    pub init: Vec<String>,
    /// Calls that identify a user; matches are counted.
    #[serde(default)]
    pub identify: Vec<String>,
    /// Calls that capture an event; matches are counted.
    #[serde(default)]
    pub capture: Vec<String>,
    /// Deliberate settings, by name: a pattern whose first group is the value.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Files (relative to the app) an earlier wizard run leaves behind.
    #[serde(default)]
    pub earlier_run: Vec<String>,
}

impl InventoryRules {
    /// Every pattern that does not compile, as `field: problem`.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |field: String, pattern: &str| {
            if let Err(e) = regex::Regex::new(pattern) {
                out.push(format!("inventory.{field}: {e}"));
            }
        };
        if let Some(m) = &self.mentions {
            check("mentions".into(), m);
        }
        for (field, list) in [
            ("init", &self.init),
            ("identify", &self.identify),
            ("capture", &self.capture),
        ] {
            for p in list {
                check(field.into(), p);
            }
        }
        for (name, p) in &self.settings {
            check(format!("settings.{name}"), p);
        }
        for g in &self.source_files {
            if let Err(e) = globset::Glob::new(g) {
                out.push(format!("inventory.sourceFiles: {e}"));
            }
        }
        out
    }
}
