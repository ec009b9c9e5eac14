//! Reads back which events the product's backend received since a time, through the
//! HTTP JSON query that content describes (`product.yaml` → `verify.query`).

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::content::product::EventsQuery;

/// How long one query may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// A query that is ready to send: where, with what key.
pub struct Readback {
    query: EventsQuery,
    api_host: String,
    project: String,
    key: String,
    client: reqwest::Client,
}

impl Readback {
    /// The readback for the run's ingestion `host`, or why there is none (no key).
    pub fn new(query: &EventsQuery, host: &str) -> Result<Self, String> {
        let key = std::env::var(&query.key_env)
            .ok()
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| {
                format!(
                    "{} is not set, so events cannot be read back",
                    query.key_env
                )
            })?;
        let host = host.trim_end_matches('/');
        let api_host = query
            .api_hosts
            .get(host)
            .cloned()
            .unwrap_or_else(|| host.to_string());
        let project = std::env::var(&query.project_env)
            .ok()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| query.project_default.clone());
        let client = reqwest::Client::builder()
            .timeout(QUERY_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Self {
            query: query.clone(),
            api_host,
            project,
            key,
            client,
        })
    }

    /// Where the query goes, for the report (no key in it).
    pub fn describe(&self) -> String {
        format!("the query API at {}", self.api_host)
    }

    /// The planned event names among those received since `since`; asks again, for up to
    /// the content's `waitSecs`, while one of `expected` is missing (ingestion takes a moment).
    pub async fn received(
        &self,
        events: &[String],
        expected: &[String],
        since: DateTime<Utc>,
    ) -> Result<BTreeSet<String>, String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(self.query.wait_secs);
        loop {
            let seen = self.ask(events, since).await?;
            let all = expected.iter().all(|e| seen.contains(e));
            if all || tokio::time::Instant::now() >= deadline {
                return Ok(seen);
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    async fn ask(
        &self,
        events: &[String],
        since: DateTime<Utc>,
    ) -> Result<BTreeSet<String>, String> {
        let path = self
            .query
            .path
            .replace("{project}", &urlencoding_path(&self.project));
        let url = format!("{}{path}", self.api_host);
        let body = fill(
            &self.query.body,
            &quote(&since.format("%Y-%m-%d %H:%M:%S").to_string()),
            &events
                .iter()
                .map(|e| quote(e))
                .collect::<Vec<_>>()
                .join(", "),
        );
        let response = self
            .client
            .post(&url)
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("the events query to {} failed: {e}", self.api_host))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let short: String = text.chars().take(300).collect();
            return Err(format!(
                "the events query to {} answered {status}: {short}",
                self.api_host
            ));
        }
        let json: Value = serde_json::from_str(&text)
            .map_err(|e| format!("the events query answered something that is not JSON: {e}"))?;
        let rows = json
            .pointer(&self.query.results)
            .and_then(Value::as_array)
            .ok_or_else(|| {
                format!(
                    "the events query's answer has no rows at {}",
                    self.query.results
                )
            })?;
        Ok(rows
            .iter()
            .filter_map(|row| match row {
                Value::Array(cells) => cells.first().and_then(Value::as_str),
                Value::String(name) => Some(name.as_str()),
                _ => None,
            })
            .map(str::to_string)
            .collect())
    }
}

/// A single-quoted SQL string literal.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The template with `{since}` and `{events}` filled in every string.
fn fill(template: &Value, since: &str, events: &str) -> Value {
    match template {
        Value::String(s) => Value::String(s.replace("{since}", since).replace("{events}", events)),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, since, events)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, since, events)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A project id or `@current` in a path: only characters that need no escaping pass.
fn urlencoding_path(project: &str) -> String {
    project
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '_' | '-'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_are_filled_with_quoted_literals_in_every_string() {
        let body =
            json!({"query": {"kind": "Q", "query": "WHERE t >= {since} AND e IN ({events})"}});
        let filled = fill(
            &body,
            &quote("2026-01-01 00:00:00"),
            &["a", "it's"].map(quote).join(", "),
        );
        assert_eq!(
            filled["query"]["query"],
            "WHERE t >= '2026-01-01 00:00:00' AND e IN ('a', 'it\\'s')"
        );
        assert_eq!(filled["query"]["kind"], "Q");
    }

    #[test]
    fn a_project_cannot_smuggle_a_path() {
        assert_eq!(urlencoding_path("@current"), "@current");
        assert_eq!(urlencoding_path("../../x?y"), "xy");
    }
}
