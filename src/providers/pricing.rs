//! Model tiers and prices, read from `content/models.yaml`.
//!
//! Agent prompts and tasks name a tier (`small|medium|large`) or a concrete
//! model id; [`ModelTable::resolve`] turns that into the id a provider
//! understands. Every request's usage is priced with [`ModelTable::cost_usd`]
//! from per-million-token prices that carry the date they took effect, since
//! prices move and an old run's report should stay reproducible
//! ([`ModelTable::cost_usd_on`]).
//!
//! The table is data, not code: the content loader hands over the YAML text,
//! and overrides (a local server's model ids) go through [`ModelTable::set_tier`].
//! Unknown models cost 0 rather than failing a run.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::messages::Usage;

/// A model size class, named by agent prompts instead of concrete ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Cheap and fast.
    Small,
    /// The default workhorse.
    Medium,
    /// The strongest.
    Large,
}

impl Tier {
    /// Every tier, smallest first.
    pub const ALL: [Tier; 3] = [Tier::Small, Tier::Medium, Tier::Large];

    /// The tier a name stands for (`small`, `medium`, `large`).
    pub fn parse(name: &str) -> Option<Tier> {
        match name {
            "small" => Some(Tier::Small),
            "medium" => Some(Tier::Medium),
            "large" => Some(Tier::Large),
            _ => None,
        }
    }

    /// The tier's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Small => "small",
            Tier::Medium => "medium",
            Tier::Large => "large",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `models.yaml` got wrong.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PricingError {
    /// Not YAML, or a field that is unknown, missing or of the wrong type.
    #[error("models.yaml: {0}")]
    Yaml(String),
    /// Well-formed but inconsistent.
    #[error("models.yaml: {field}: {message}")]
    Invalid {
        /// Where, as a path (`models.claude-haiku-4-5.prices[0].input`).
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// US dollars per million tokens, from a date on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Price {
    /// The first day this price applies.
    pub effective_from: NaiveDate,
    /// Uncached input.
    pub input: f64,
    /// Output.
    pub output: f64,
    /// Input written to the prompt cache (5-minute TTL).
    pub cache_write: f64,
    /// Input read from the prompt cache.
    pub cache_read: f64,
}

impl Price {
    /// The cost of `usage` at this price.
    pub fn cost_usd(&self, usage: &Usage) -> f64 {
        (usage.input_tokens as f64 * self.input
            + usage.output_tokens as f64 * self.output
            + usage.cache_write_tokens as f64 * self.cache_write
            + usage.cache_read_tokens as f64 * self.cache_read)
            / 1_000_000.0
    }
}

/// A tier or id resolved for one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModel {
    /// The concrete model id to send.
    pub id: String,
    /// Its tier, when the table knows it.
    pub tier: Option<Tier>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelsFile {
    version: u32,
    providers: BTreeMap<String, ProviderFile>,
    #[serde(default)]
    models: BTreeMap<String, ModelFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderFile {
    tiers: TierIds,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TierIds {
    small: String,
    medium: String,
    large: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ModelFile {
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    prices: Vec<Price>,
    /// Another model whose prices this one shares (replay models mimic real tiers).
    priced_as: Option<String>,
}

/// Tiers per provider and prices per model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelTable {
    /// provider → tier → model id.
    tiers: BTreeMap<String, BTreeMap<Tier, String>>,
    /// model id → prices, oldest first.
    prices: BTreeMap<String, Vec<Price>>,
    /// alias (a dated id the API reports) → model id.
    aliases: BTreeMap<String, String>,
}

impl ModelTable {
    /// Reads `models.yaml`. Unknown fields, a missing tier, a negative price,
    /// or a `pricedAs` that leads nowhere are errors naming the field.
    pub fn parse(yaml: &str) -> Result<ModelTable, PricingError> {
        let file: ModelsFile =
            serde_yaml_ng::from_str(yaml).map_err(|e| PricingError::Yaml(e.to_string()))?;
        let invalid = |field: String, message: &str| PricingError::Invalid {
            field,
            message: message.to_string(),
        };
        if file.version != 1 {
            return Err(invalid("version".into(), "only version 1 is understood"));
        }
        if file.providers.is_empty() {
            return Err(invalid(
                "providers".into(),
                "at least one provider is needed",
            ));
        }
        let mut table = ModelTable::default();
        for (provider, entry) in file.providers {
            let ids = [
                (Tier::Small, entry.tiers.small),
                (Tier::Medium, entry.tiers.medium),
                (Tier::Large, entry.tiers.large),
            ];
            for (tier, id) in &ids {
                if id.trim().is_empty() {
                    return Err(invalid(
                        format!("providers.{provider}.tiers.{tier}"),
                        "is empty",
                    ));
                }
            }
            table.tiers.insert(provider, ids.into_iter().collect());
        }
        for (id, model) in &file.models {
            for (n, price) in model.prices.iter().enumerate() {
                let amounts = [
                    ("input", price.input),
                    ("output", price.output),
                    ("cacheWrite", price.cache_write),
                    ("cacheRead", price.cache_read),
                ];
                for (name, amount) in amounts {
                    if !amount.is_finite() || amount < 0.0 {
                        return Err(invalid(
                            format!("models.{id}.prices[{n}].{name}"),
                            "must be a price of 0 or more",
                        ));
                    }
                }
            }
            for alias in &model.aliases {
                if file.models.contains_key(alias) {
                    return Err(invalid(
                        format!("models.{id}.aliases"),
                        &format!("`{alias}` is also a model"),
                    ));
                }
                if table.aliases.insert(alias.clone(), id.clone()).is_some() {
                    return Err(invalid(
                        format!("models.{id}.aliases"),
                        &format!("`{alias}` is used twice"),
                    ));
                }
            }
            let mut prices = match &model.priced_as {
                Some(_) if !model.prices.is_empty() => {
                    return Err(invalid(
                        format!("models.{id}"),
                        "has both `prices` and `pricedAs`",
                    ));
                }
                Some(other) => match file.models.get(other) {
                    Some(target) if target.priced_as.is_none() && !target.prices.is_empty() => {
                        target.prices.clone()
                    }
                    _ => {
                        return Err(invalid(
                            format!("models.{id}.pricedAs"),
                            &format!("`{other}` is not a model with its own prices"),
                        ));
                    }
                },
                None => model.prices.clone(),
            };
            prices.sort_by_key(|p| p.effective_from);
            table.prices.insert(id.clone(), prices);
        }
        Ok(table)
    }

    /// The id to send for `tier_or_id` on `provider`: a tier name maps through
    /// the provider's tiers; anything else is a concrete id used as is. A tier
    /// on a provider the table does not list stays the tier name.
    pub fn resolve(&self, provider: &str, tier_or_id: &str) -> ResolvedModel {
        match Tier::parse(tier_or_id) {
            Some(tier) => ResolvedModel {
                id: self
                    .tiers
                    .get(provider)
                    .and_then(|tiers| tiers.get(&tier))
                    .cloned()
                    .unwrap_or_else(|| tier_or_id.to_string()),
                tier: Some(tier),
            },
            None => ResolvedModel {
                id: tier_or_id.to_string(),
                tier: self.tier_of(tier_or_id),
            },
        }
    }

    /// Points `provider`'s `tier` at `model_id` (a configured local model).
    pub fn set_tier(&mut self, provider: &str, tier: Tier, model_id: impl Into<String>) {
        self.tiers
            .entry(provider.to_string())
            .or_default()
            .insert(tier, model_id.into());
    }

    /// The tier a concrete id serves in, on any provider (the smallest if several).
    pub fn tier_of(&self, model_id: &str) -> Option<Tier> {
        let id = self.canonical(model_id);
        Tier::ALL.into_iter().find(|tier| {
            self.tiers
                .values()
                .any(|tiers| tiers.get(tier).is_some_and(|t| self.canonical(t) == id))
        })
    }

    /// True for a tier name or a model id (or alias) the table lists.
    pub fn is_known(&self, tier_or_id: &str) -> bool {
        Tier::parse(tier_or_id).is_some()
            || self.prices.contains_key(tier_or_id)
            || self.aliases.contains_key(tier_or_id)
            || self
                .tiers
                .values()
                .any(|tiers| tiers.values().any(|id| id == tier_or_id))
    }

    /// The price of `model_id` on `date`: the latest one in effect then.
    pub fn price_on(&self, model_id: &str, date: NaiveDate) -> Option<&Price> {
        self.prices
            .get(self.canonical(model_id))?
            .iter()
            .rev()
            .find(|price| price.effective_from <= date)
    }

    /// What `usage` on `model_id` costs today, in US dollars; 0 for an unknown model.
    pub fn cost_usd(&self, model_id: &str, usage: &Usage) -> f64 {
        self.cost_usd_on(model_id, usage, chrono::Utc::now().date_naive())
    }

    /// What `usage` on `model_id` cost on `date`; 0 for an unknown model or a date before its first price.
    pub fn cost_usd_on(&self, model_id: &str, usage: &Usage, date: NaiveDate) -> f64 {
        self.price_on(model_id, date)
            .map_or(0.0, |price| price.cost_usd(usage))
    }

    /// Every model id (or alias) that has a price: what an enqueue may name besides a tier.
    pub fn priced_ids(&self) -> impl Iterator<Item = &str> {
        self.prices.keys().map(String::as_str).chain(
            self.aliases
                .iter()
                .filter(|(_, id)| self.prices.contains_key(*id))
                .map(|(alias, _)| alias.as_str()),
        )
    }

    fn canonical<'a>(&'a self, model_id: &'a str) -> &'a str {
        self.aliases.get(model_id).map_or(model_id, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = r#"
version: 1
providers:
  anthropic:
    tiers: {small: claude-haiku-4-5, medium: claude-sonnet-4-6, large: claude-opus-4-6}
  replay:
    tiers: {small: replay-small, medium: replay-medium, large: replay-large}
models:
  claude-haiku-4-5:
    aliases: [claude-haiku-4-5-20251001]
    prices:
      - {effectiveFrom: 2025-10-15, input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1}
  claude-sonnet-4-6:
    prices:
      - {effectiveFrom: 2026-02-17, input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3}
      - {effectiveFrom: 2030-01-01, input: 30, output: 150, cacheWrite: 37.5, cacheRead: 3}
  replay-small:
    pricedAs: claude-haiku-4-5
"#;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn tiers_resolve_per_provider_and_concrete_ids_pass_through() {
        let table = ModelTable::parse(TABLE).unwrap();
        assert_eq!(
            table.resolve("anthropic", "small"),
            ResolvedModel {
                id: "claude-haiku-4-5".into(),
                tier: Some(Tier::Small)
            }
        );
        assert_eq!(table.resolve("replay", "large").id, "replay-large");
        assert_eq!(
            table.resolve("anthropic", "claude-sonnet-4-6"),
            ResolvedModel {
                id: "claude-sonnet-4-6".into(),
                tier: Some(Tier::Medium)
            }
        );
        assert_eq!(
            table.resolve("anthropic", "some-new-model"),
            ResolvedModel {
                id: "some-new-model".into(),
                tier: None
            }
        );
        assert_eq!(
            table.tier_of("claude-haiku-4-5-20251001"),
            Some(Tier::Small)
        );
    }

    #[test]
    fn set_tier_overrides_a_providers_model() {
        let mut table = ModelTable::parse(TABLE).unwrap();
        table.set_tier("openai", Tier::Medium, "qwen2.5-coder");
        assert_eq!(table.resolve("openai", "medium").id, "qwen2.5-coder");
        assert_eq!(table.tier_of("qwen2.5-coder"), Some(Tier::Medium));
    }

    #[test]
    fn cost_counts_all_four_token_kinds() {
        let table = ModelTable::parse(TABLE).unwrap();
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 2_000_000,
            cache_write_tokens: 4_000_000,
            cache_read_tokens: 10_000_000,
        };
        // 1·1 + 2·5 + 4·1.25 + 10·0.1 = 17
        let cost = table.cost_usd_on("claude-haiku-4-5", &usage, date("2026-01-01"));
        assert!((cost - 17.0).abs() < 1e-9, "{cost}");
        let via_alias = table.cost_usd_on("claude-haiku-4-5-20251001", &usage, date("2026-01-01"));
        assert!((via_alias - 17.0).abs() < 1e-9);
        let replay = table.cost_usd_on("replay-small", &usage, date("2026-01-01"));
        assert!((replay - 17.0).abs() < 1e-9);
    }

    #[test]
    fn the_price_in_effect_on_the_day_is_used() {
        let table = ModelTable::parse(TABLE).unwrap();
        let usage = Usage {
            input_tokens: 1_000_000,
            ..Usage::default()
        };
        assert_eq!(
            table.cost_usd_on("claude-sonnet-4-6", &usage, date("2026-06-01")),
            3.0
        );
        assert_eq!(
            table.cost_usd_on("claude-sonnet-4-6", &usage, date("2030-06-01")),
            30.0
        );
        assert_eq!(
            table.cost_usd_on("claude-sonnet-4-6", &usage, date("2020-01-01")),
            0.0
        );
    }

    #[test]
    fn unknown_models_cost_nothing_and_are_not_known() {
        let table = ModelTable::parse(TABLE).unwrap();
        let usage = Usage {
            input_tokens: 5,
            ..Usage::default()
        };
        assert_eq!(table.cost_usd("gpt-unknown", &usage), 0.0);
        assert!(!table.is_known("claude-haiku-4-6"));
        assert!(table.is_known("medium"));
        assert!(table.is_known("claude-haiku-4-5-20251001"));
        assert!(table.is_known("replay-large"));
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_name() {
        let bad = TABLE.replace("cacheRead: 0.1}", "cacheRead: 0.1, cacheReed: 1}");
        let error = ModelTable::parse(&bad).unwrap_err().to_string();
        assert!(error.contains("cacheReed"), "{error}");
        let bad = TABLE.replace("version: 1", "version: 1\ncurrency: usd");
        assert!(ModelTable::parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("currency"));
    }

    #[test]
    fn inconsistent_tables_name_the_field() {
        let bad = TABLE.replace("pricedAs: claude-haiku-4-5", "pricedAs: claude-haiku-9");
        assert_eq!(
            ModelTable::parse(&bad).unwrap_err(),
            PricingError::Invalid {
                field: "models.replay-small.pricedAs".into(),
                message: "`claude-haiku-9` is not a model with its own prices".into(),
            }
        );
        let bad = TABLE.replace("input: 3,", "input: -3,");
        assert!(ModelTable::parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("models.claude-sonnet-4-6.prices[0].input"));
        let bad = TABLE.replace(", large: replay-large", "");
        assert!(ModelTable::parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("large"));
    }

    #[test]
    fn the_shipped_models_yaml_parses_and_prices_the_tiers() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/content/models.yaml"))
                .unwrap();
        let table = ModelTable::parse(&text).unwrap();
        for provider in ["anthropic", "openai", "replay"] {
            for tier in Tier::ALL {
                assert_eq!(table.resolve(provider, tier.as_str()).tier, Some(tier));
            }
        }
        let usage = Usage {
            input_tokens: 1_000_000,
            ..Usage::default()
        };
        let day = date("2026-11-29");
        assert_eq!(table.cost_usd_on("claude-haiku-4-5", &usage, day), 1.0);
        assert_eq!(table.cost_usd_on("claude-sonnet-4-6", &usage, day), 3.0);
        assert_eq!(table.cost_usd_on("claude-opus-4-6", &usage, day), 5.0);
        assert_eq!(table.cost_usd_on("replay-medium", &usage, day), 3.0);
    }
}
