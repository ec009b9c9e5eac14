//! Proof that events arrive: the verify task's runtime side.
//!
//! A task whose agent prompt says `serveApp: true` runs with the built app
//! started by the runtime ([`app::RunningApp`]: the framework's `start`
//! command from `frameworks.yaml`, a free loopback port, its own process
//! group, always stopped), and with one extra tool, `request_app`, confined to
//! that port. The agent requests the app's pages and the routes that capture
//! server-side events. How the run learns which planned events arrived is chosen
//! before the app starts ([`Evidence`]): with a personal key, the product's query API
//! is asked after the app stops ([`readback`]); without one, when the framework names
//! the variable its server client reads the host from (`frameworks.yaml` → `relayEnv`),
//! a recording relay ([`relay`]) stands in front of the host and the app is started
//! with that variable pointing at it (nothing is written to the app's env files).
//! The answer is the handoff's [`Verification`]: reached, seen leaving but not
//! accepted, sent but not seen, or not checked and why. Nothing here knows the
//! product: the plan path, the query, the capture paths and the hosts are content.

pub mod app;
pub mod readback;
pub mod relay;
pub mod request_app;

use std::collections::BTreeSet;
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
use relay::{HostAnswer, Relay, RelayedEvent};
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
    evidence: Evidence,
}

/// How the step learns which events arrived; chosen before the app starts, because the
/// relay must be listening, and the app's host variable set, when it does.
enum Evidence {
    /// The product's query API, asked with the user's key after the app stops.
    Query(Box<Readback>),
    /// The recording relay that the app's `env` variable points at.
    Relay {
        /// The running relay.
        relay: Relay,
        /// The variable it took over.
        env: String,
        /// Why the query API was not used.
        why: String,
    },
    /// Neither: why not.
    Unavailable(String),
}

/// What the run knows about the events once the app has stopped.
enum Seen {
    /// The names the query API returned.
    ReadBack(BTreeSet<String>),
    /// The events the relay saw leave the app, and the variable that pointed it there.
    Relayed {
        /// What it saw.
        events: Vec<RelayedEvent>,
        /// The app's host variable.
        env: String,
    },
    /// Nothing could be learned: why.
    Unknown(String),
}

/// Reads the plan and starts the app, or says why not. `host` is the run's ingestion host.
pub async fn prepare(
    content: &ContentSet,
    framework_id: Option<&str>,
    ctx: &ToolContext,
    host: Option<&str>,
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
    let rule = framework_id.and_then(|id| content.frameworks.get(id));
    let Some(start) = rule.and_then(|rule| rule.start.clone()) else {
        let why = "the app was not started: no start command is known for this framework";
        return skip(why, &plan, "the app was not started");
    };
    let relay_env = rule.and_then(|rule| rule.relay_env.as_deref());
    let evidence = choose_evidence(&config, relay_env, host).await;
    // Only the relay changes the app's environment, and only for this process.
    let env: Vec<(String, String)> = match &evidence {
        Evidence::Relay { relay, env, .. } => vec![(env.clone(), relay.url())],
        _ => Vec::new(),
    };
    let ready = Duration::from_secs(config.ready_secs);
    let started = RunningApp::start(
        &ctx.install_dir,
        &start,
        &ctx.fences,
        &ctx.secrets,
        &env,
        ready,
    )
    .await;
    match started {
        Ok(app) => {
            let log = Arc::new(Mutex::new(Vec::new()));
            match RequestApp::new(&app.base_url(), log.clone()) {
                Ok(tool) => Prepared::Serve(Box::new(Session {
                    app,
                    log,
                    tool: Arc::new(tool),
                    started: Utc::now(),
                    plan,
                    evidence,
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

/// The query API when the user's key is there; else the relay when the content has
/// rules for it and the framework names its server-side host variable; else why neither.
async fn choose_evidence(
    config: &VerifyConfig,
    relay_env: Option<&str>,
    host: Option<&str>,
) -> Evidence {
    let Some(host) = host else {
        return Evidence::Unavailable("the run has no host to read events back from".into());
    };
    let why = match &config.query {
        None => "the content names no way to read events back".to_string(),
        Some(query) => match Readback::new(query, host) {
            Ok(readback) => return Evidence::Query(Box::new(readback)),
            Err(why) => why,
        },
    };
    let (Some(rules), Some(env)) = (&config.relay, relay_env) else {
        return Evidence::Unavailable(why);
    };
    match Relay::start(host, rules.clone()).await {
        Ok(relay) => Evidence::Relay {
            relay,
            env: env.to_string(),
            why,
        },
        Err(e) => Evidence::Unavailable(format!("{why}; {e}")),
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

    /// Stops the app, then works out which planned events arrived.
    pub async fn finish(self) -> Verification {
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
        let (method, seen) = match self.evidence {
            Evidence::Query(readback) => match readback.received(&names, &expected, since).await {
                Ok(seen) => (readback.describe(), Seen::ReadBack(seen)),
                Err(why) => (readback.describe(), Seen::Unknown(why)),
            },
            Evidence::Relay { relay, env, why } => {
                let method = format!(
                    "a recording relay in front of {} (the app's {env} pointed at it; {why})",
                    relay.upstream()
                );
                let events = relay.stop();
                (method, Seen::Relayed { events, env })
            }
            Evidence::Unavailable(why) => (why.clone(), Seen::Unknown(why)),
        };
        // A server event whose route answered was at least sent, even when nothing can be read back.
        let answered = requests
            .iter()
            .any(|r| r.method != "GET" && r.status.is_some_and(|s| (200..300).contains(&s)));
        let events = self
            .plan
            .iter()
            .map(|p| {
                let (outcome, detail) = outcome(&seen, p, answered);
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

/// What became of one planned event, from what the run saw. A relayed event "reached"
/// the product only when the real host answered its request with a 2xx; seen leaving
/// the app but refused (or unanswered) is its own outcome.
fn outcome(seen: &Seen, planned: &PlannedEvent, answered: bool) -> (EventOutcome, String) {
    let client = planned.side == "client";
    match seen {
        Seen::ReadBack(names) if names.contains(&planned.event) => {
            (EventOutcome::Reached, String::new())
        }
        Seen::Relayed { events, env } => {
            let mine: Vec<&RelayedEvent> =
                events.iter().filter(|e| e.event == planned.event).collect();
            if let Some(accepted) = mine.iter().find(|e| e.answer.accepted()) {
                (EventOutcome::Reached, relayed_detail(accepted))
            } else if let Some(refused) = mine.first() {
                (EventOutcome::NotAccepted, relayed_detail(refused))
            } else if client {
                (EventOutcome::NotChecked, "needs a browser".to_string())
            } else {
                (
                    EventOutcome::NotSeen,
                    format!("not seen leaving the app through the relay ({env})"),
                )
            }
        }
        _ if client => (EventOutcome::NotChecked, "needs a browser".to_string()),
        Seen::ReadBack(_) => (
            EventOutcome::NotSeen,
            "not received since the step began".to_string(),
        ),
        Seen::Unknown(why) if answered => (EventOutcome::Sent, why.clone()),
        Seen::Unknown(why) => (EventOutcome::NotChecked, why.clone()),
    }
}

/// `seen leaving the app as user-1; the host answered 200`.
fn relayed_detail(event: &RelayedEvent) -> String {
    let who = event
        .distinct_id
        .as_deref()
        .map(|d| format!(" as {d}"))
        .unwrap_or_default();
    let answer = match &event.answer {
        HostAnswer::Status(status) => format!("the host answered {status}"),
        HostAnswer::Unreachable(why) => format!("the host could not be reached: {why}"),
        HostAnswer::Waiting => "the host had not answered when the app stopped".to_string(),
    };
    format!("seen leaving the app{who} to {}; {answer}", event.path)
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

    fn planned(event: &str, side: &str) -> PlannedEvent {
        PlannedEvent {
            event: event.into(),
            side: side.into(),
        }
    }

    fn relayed(event: &str, answer: HostAnswer) -> RelayedEvent {
        RelayedEvent {
            event: event.into(),
            distinct_id: Some("u1".into()),
            path: "/batch/".into(),
            answer,
        }
    }

    fn through_relay(events: Vec<RelayedEvent>) -> Seen {
        Seen::Relayed {
            events,
            env: "POSTHOG_HOST".into(),
        }
    }

    #[test]
    fn a_relayed_event_reached_only_when_the_host_answered_2xx() {
        let server = planned("signed_up", "server");
        let seen = through_relay(vec![relayed("signed_up", HostAnswer::Status(200))]);
        let (reached, detail) = outcome(&seen, &server, false);
        assert_eq!(reached, EventOutcome::Reached);
        assert_eq!(
            detail,
            "seen leaving the app as u1 to /batch/; the host answered 200"
        );
        for answer in [
            HostAnswer::Status(400),
            HostAnswer::Waiting,
            HostAnswer::Unreachable("refused".into()),
        ] {
            let seen = through_relay(vec![relayed("signed_up", answer.clone())]);
            assert_eq!(
                outcome(&seen, &server, true).0,
                EventOutcome::NotAccepted,
                "{answer:?}"
            );
        }
        // A retry that got through counts.
        let seen = through_relay(vec![
            relayed("signed_up", HostAnswer::Status(503)),
            relayed("signed_up", HostAnswer::Status(200)),
        ]);
        assert_eq!(outcome(&seen, &server, false).0, EventOutcome::Reached);
    }

    #[test]
    fn what_the_relay_did_not_see_is_not_seen_or_needs_a_browser() {
        let seen = through_relay(vec![relayed("other", HostAnswer::Status(200))]);
        assert_eq!(
            outcome(&seen, &planned("signed_up", "server"), true),
            (
                EventOutcome::NotSeen,
                "not seen leaving the app through the relay (POSTHOG_HOST)".to_string()
            )
        );
        assert_eq!(
            outcome(&seen, &planned("clicked", "client"), true),
            (EventOutcome::NotChecked, "needs a browser".to_string())
        );
    }

    #[test]
    fn without_any_evidence_an_answered_route_is_only_sent() {
        let seen = Seen::Unknown("no key".into());
        let server = planned("signed_up", "server");
        assert_eq!(outcome(&seen, &server, true).0, EventOutcome::Sent);
        assert_eq!(outcome(&seen, &server, false).0, EventOutcome::NotChecked);
        let read = Seen::ReadBack(BTreeSet::from(["signed_up".to_string()]));
        assert_eq!(outcome(&read, &server, false).0, EventOutcome::Reached);
        let empty = Seen::ReadBack(BTreeSet::new());
        assert_eq!(outcome(&empty, &server, true).0, EventOutcome::NotSeen);
    }

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
