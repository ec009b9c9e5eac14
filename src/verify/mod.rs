//! Proof that events arrive: the verify task's runtime side.
//!
//! A task whose agent prompt says `serveApp: true` runs with the built app
//! started by the runtime ([`app::RunningApp`]: the framework's `start`
//! command from `frameworks.yaml`, a free loopback port, its own process
//! group, always stopped), and with one extra tool, `request_app`, confined to
//! that port. The agent requests the app's pages and the routes that capture
//! server-side events. When it is done the app is stopped and the run asks the
//! product's backend which planned events arrived since the step began
//! ([`readback`], described by `product.yaml` → `verify`). The answer is the
//! handoff's [`Verification`]: reached, sent but not seen, or not checked and why.
//! Nothing here knows the product: the plan path, the query and the hosts are content.

pub mod app;
pub mod readback;
pub mod request_app;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::content::product::VerifyConfig;
use crate::content::ContentSet;
use crate::messages::{AppRequest, EventEvidence, EventOutcome, Verification};
use crate::tools::{Tool, ToolContext};
use app::RunningApp;
use readback::Readback;
use request_app::RequestApp;

/// How long the app runs on after the agent's last request: a route may send its events
/// after answering (Next.js `after()`, a batching client's timer).
const SETTLE: Duration = Duration::from_secs(2);
/// How far before the step's start the readback looks, for clocks that disagree a little.
const CLOCK_SLACK: Duration = Duration::from_secs(120);

/// One planned event, as the plan file lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEvent {
    /// Its name.
    pub event: String,
    /// `client`, `server`, or empty.
    pub side: String,
}

/// What [`prepare`] decided.
pub enum Prepared {
    /// The app runs; the agent gets the session's tool.
    Serve(Box<Session>),
    /// Nothing to serve; the task is skipped with this reason and this evidence.
    Skip {
        /// Why (the skip reason the outro shows).
        reason: String,
        /// Every planned event, not checked.
        verification: Verification,
    },
}

/// A started app and what the agent did with it.
pub struct Session {
    app: RunningApp,
    log: Arc<Mutex<Vec<AppRequest>>>,
    tool: Arc<dyn Tool>,
    started: DateTime<Utc>,
    plan: Vec<PlannedEvent>,
    config: VerifyConfig,
}

/// Reads the plan and starts the app, or says why not.
pub async fn prepare(
    content: &ContentSet,
    framework_id: Option<&str>,
    ctx: &ToolContext,
) -> Prepared {
    let Some(config) = content.product().verify else {
        return skip("the content says nothing about verification", &[], "");
    };
    let plan = match read_plan(&ctx.install_dir.join(&config.event_plan)).await {
        Ok(plan) => plan,
        Err(why) => return skip(&why, &[], ""),
    };
    if let Some(reason) = &ctx.bash.skip_reason {
        let why = format!("the app was not started: {reason}");
        return skip(&why, &plan, "the app was not started");
    }
    let start = framework_id
        .and_then(|id| content.frameworks.get(id))
        .and_then(|rule| rule.start.clone());
    let Some(start) = start else {
        let why = "the app was not started: no start command is known for this framework";
        return skip(why, &plan, "the app was not started");
    };
    let ready = Duration::from_secs(config.ready_secs);
    match RunningApp::start(&ctx.install_dir, &start, &ctx.fences, &ctx.secrets, ready).await {
        Ok(app) => {
            let log = Arc::new(Mutex::new(Vec::new()));
            match RequestApp::new(&app.base_url(), log.clone()) {
                Ok(tool) => Prepared::Serve(Box::new(Session {
                    app,
                    log,
                    tool: Arc::new(tool),
                    started: Utc::now(),
                    plan,
                    config,
                })),
                Err(e) => {
                    app.stop().await;
                    skip(&e.to_string(), &plan, "the app could not be requested")
                }
            }
        }
        Err(e) => {
            tracing::warn!("verify: {e}");
            skip(
                &format!("the app did not start: {e}"),
                &plan,
                "the app did not start",
            )
        }
    }
}

impl Session {
    /// The `request_app` tool bound to the running app.
    pub fn tool(&self) -> Arc<dyn Tool> {
        self.tool.clone()
    }

    /// What the agent's prompt says about the running app.
    pub fn prompt_note(&self) -> String {
        format!(
            "\n\n## The running app\n\nThe runtime started the built app at {} for this task; \
             request it with `request_app` (paths only). It is stopped when you report.\n",
            self.app.base_url()
        )
    }

    /// Stops the app, then asks the backend which planned events arrived.
    pub async fn finish(self, host: Option<&str>) -> Verification {
        tokio::time::sleep(SETTLE).await;
        self.app.stop().await;
        let requests = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        let since = self.started - chrono::Duration::from_std(CLOCK_SLACK).unwrap_or_default();
        let names: Vec<String> = self.plan.iter().map(|p| p.event.clone()).collect();
        // Client events need a browser, which no one drove: waiting for them would only delay.
        let expected: Vec<String> = self
            .plan
            .iter()
            .filter(|p| p.side != "client")
            .map(|p| p.event.clone())
            .collect();
        let readback = match (&self.config.query, host) {
            (None, _) => Err("the content names no way to read events back".to_string()),
            (Some(_), None) => Err("the run has no host to read events back from".to_string()),
            (Some(query), Some(host)) => Readback::new(query, host),
        };
        let (method, seen) = match readback {
            Err(why) => (why.clone(), Err(why)),
            Ok(readback) => (
                readback.describe(),
                readback.received(&names, &expected, since).await,
            ),
        };
        // A server event whose route answered was at least sent, even when nothing can be read back.
        let answered = requests
            .iter()
            .any(|r| r.method != "GET" && r.status.is_some_and(|s| (200..300).contains(&s)));
        let events = self
            .plan
            .iter()
            .map(|p| {
                let (outcome, detail) = match &seen {
                    Ok(seen) if seen.contains(&p.event) => (EventOutcome::Reached, String::new()),
                    _ if p.side == "client" => {
                        (EventOutcome::NotChecked, "needs a browser".to_string())
                    }
                    Ok(_) => (
                        EventOutcome::NotSeen,
                        "not received since the step began".to_string(),
                    ),
                    Err(why) if answered => (EventOutcome::Sent, why.clone()),
                    Err(why) => (EventOutcome::NotChecked, why.clone()),
                };
                EventEvidence {
                    event: p.event.clone(),
                    side: p.side.clone(),
                    outcome,
                    detail,
                }
            })
            .collect();
        Verification {
            method,
            events,
            requests,
        }
    }
}

fn skip(reason: &str, plan: &[PlannedEvent], detail: &str) -> Prepared {
    let events = plan
        .iter()
        .map(|p| EventEvidence {
            event: p.event.clone(),
            side: p.side.clone(),
            outcome: EventOutcome::NotChecked,
            detail: detail.to_string(),
        })
        .collect();
    Prepared::Skip {
        reason: reason.to_string(),
        verification: Verification {
            method: reason.to_string(),
            events,
            requests: Vec::new(),
        },
    }
}

/// The plan's events: a JSON array of objects naming `event` (or `name`) and `side`.
async fn read_plan(path: &std::path::Path) -> Result<Vec<PlannedEvent>, String> {
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| format!("no event plan at {}: {e}", path.display()))?;
    parse_plan(&text).map_err(|why| format!("the event plan {} {why}", path.display()))
}

fn parse_plan(text: &str) -> Result<Vec<PlannedEvent>, String> {
    let json: Value = serde_json::from_str(text).map_err(|e| format!("is not JSON: {e}"))?;
    let items = match &json {
        Value::Array(items) => items,
        Value::Object(map) => map
            .get("events")
            .and_then(Value::as_array)
            .ok_or("has no `events` array")?,
        _ => return Err("is not a list of events".into()),
    };
    let mut plan = Vec::new();
    for item in items {
        let name = item
            .get("event")
            .or_else(|| item.get("name"))
            .and_then(Value::as_str);
        if let Some(name) = name.filter(|n| !n.trim().is_empty()) {
            let side = item
                .get("side")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            plan.push(PlannedEvent {
                event: name.to_string(),
                side,
            });
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_read_from_an_array_or_an_events_object() {
        let plan = parse_plan(
            r#"[{"event":"signed_up","side":"Server"},{"name":"clicked"},{"description":"x"}]"#,
        )
        .unwrap();
        assert_eq!(
            plan,
            vec![
                PlannedEvent {
                    event: "signed_up".into(),
                    side: "server".into()
                },
                PlannedEvent {
                    event: "clicked".into(),
                    side: String::new()
                },
            ]
        );
        assert_eq!(
            parse_plan(r#"{"events":[{"event":"a","side":"client"}]}"#)
                .unwrap()
                .len(),
            1
        );
        assert!(parse_plan("nope").is_err());
    }
}
