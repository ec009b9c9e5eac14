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
    /// How a verify task reads the plan and the events back.
    #[serde(default)]
    pub verify: Option<VerifyConfig>,
    /// How to recognise an existing integration (`wizard detect`, re-runs).
    #[serde(default)]
    pub inventory: InventoryRules,
}

/// `verify:` in `product.yaml`: where the event plan is, and how to ask the
/// product's backend which events arrived. All product knowledge, as data.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyConfig {
    /// The event plan, relative to the app: a JSON array of objects with `event` and `side`.
    pub event_plan: String,
    /// Seconds the started app has to accept connections.
    #[serde(default = "default_ready_secs")]
    pub ready_secs: u64,
    /// How to read events back; without it nothing is verified.
    #[serde(default)]
    pub query: Option<EventsQuery>,
    /// How the recording relay recognises events in the requests it forwards (used when
    /// there is no key for `query` and the framework names a `relayEnv`).
    #[serde(default)]
    pub relay: Option<RelayRules>,
    /// How the headless browser waits for a page's SDK (the browser reads bodies with
    /// `relay`'s rules, so it needs them too).
    #[serde(default)]
    pub browser: Option<BrowserRules>,
}

/// `verify.browser`: how long a page's SDK may hold events before it sends them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BrowserRules {
    /// Milliseconds to wait after a page's actions before reading what it sent.
    pub settle_ms: u64,
}

/// `verify.relay`: where the product's SDKs send events and where a request body keeps
/// the event's name and distinct id. The relay forwards every request; only these are read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelayRules {
    /// Request paths that carry events (`/batch/`); a trailing `/` is optional.
    pub capture_paths: Vec<String>,
    /// JSON pointer to the list of events in an envelope (`/batch`); a body that is a list
    /// is the list, and a body with no list is one event.
    pub batch: String,
    /// JSON pointer to an event's name within one event (`/event`).
    pub event: String,
    /// JSON pointers to an event's distinct id, the first present wins.
    #[serde(default)]
    pub distinct_id: Vec<String>,
}

/// An HTTP JSON query that lists the event names the backend received since a time.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventsQuery {
    /// The environment variable holding the bearer key (never the token the app sends with).
    pub key_env: String,
    /// The environment variable naming the project, if the user sets one.
    pub project_env: String,
    /// The project when the variable is unset.
    pub project_default: String,
    /// Ingestion host → API host, where they differ (cloud); other hosts are their own API host.
    #[serde(default)]
    pub api_hosts: std::collections::BTreeMap<String, String>,
    /// The request path, with `{project}`.
    pub path: String,
    /// The JSON body; in its strings `{since}` becomes a quoted timestamp and `{events}`
    /// a comma-separated list of quoted event names.
    pub body: serde_json::Value,
    /// A JSON pointer to the result rows; each row's first cell is an event name.
    pub results: String,
    /// Seconds to keep asking while planned events are missing (ingestion is not instant).
    #[serde(default = "default_wait_secs")]
    pub wait_secs: u64,
}

fn default_ready_secs() -> u64 {
    60
}

fn default_wait_secs() -> u64 {
    30
}

impl Default for ProductInfo {
    fn default() -> Self {
        Self {
            name: "The integration".into(),
            user_report: None,
            demo_cassette: None,
            verify: None,
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
