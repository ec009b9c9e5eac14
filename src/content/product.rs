//! `product.yaml`: the few words the runner says about the product it integrates.
//!
//! The runner stays product-ignorant: the outro's name, the user-facing
//! report's file name and the demo's cassette come from here.

use serde::Deserialize;

use super::error::ContentError;
use super::inventory::InventoryRules;

/// The product file's path in the content.
pub const PRODUCT_FILE: &str = "product.yaml";

/// What `product.yaml` says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductInfo {
    /// The product's name ("PostHog").
    pub name: String,
    /// The report the agents write for the user, relative to the app.
    #[serde(default)]
    pub user_report: Option<String>,
    /// The cassette `wizard demo` replays.
    #[serde(default)]
    pub demo_cassette: Option<String>,
    /// How to recognise an existing integration (`wizard detect`, re-runs).
    #[serde(default)]
    pub inventory: InventoryRules,
}

impl Default for ProductInfo {
    fn default() -> Self {
        Self {
            name: "The integration".into(),
            user_report: None,
            demo_cassette: None,
            inventory: InventoryRules::default(),
        }
    }
}

impl ProductInfo {
    /// Parses `product.yaml`; errors name the file.
    pub fn parse(text: &str) -> Result<Self, ContentError> {
        let info: Self = serde_yaml_ng::from_str(text)
            .map_err(|e| ContentError::file(PRODUCT_FILE, e.to_string()))?;
        match info.inventory.problems().first() {
            Some(problem) => Err(ContentError::file(PRODUCT_FILE, problem.clone())),
            None => Ok(info),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_refused() {
        let err = ProductInfo::parse("name: X\nuserReprot: a.md\n").unwrap_err();
        assert!(err.to_string().contains("userReprot"), "{err}");
    }

    #[test]
    fn reads_every_field() {
        let p = ProductInfo::parse("name: X\nuserReport: r.md\ndemoCassette: c\n").unwrap();
        assert_eq!(p.user_report.as_deref(), Some("r.md"));
        assert_eq!(p.demo_cassette.as_deref(), Some("c"));
    }

    #[test]
    fn a_bad_inventory_pattern_is_a_content_error() {
        let err = ProductInfo::parse("name: X\ninventory:\n  init: ['init(']\n").unwrap_err();
        assert!(err.to_string().contains("inventory.init"), "{err}");
    }
}
