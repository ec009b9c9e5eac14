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
//! Client-side events need a page: when the agent may use `browse_app` and a Chromium or
//! Chrome is on the machine ([`browser`]), the pages it opens are watched and their
//! capture requests recorded, whatever the host; otherwise they "need a browser".
//! The answer is the handoff's [`Verification`]: reached, seen leaving but not
//! accepted, sent but not seen, or not checked and why. Nothing here knows the
//! product: the plan path, the query, the capture paths and the hosts are content.

pub mod app;
pub mod browse_app;
pub mod browser;
pub mod capture_body;
pub mod cdp;
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
use browse_app::BrowseApp;
use browser::Watch;
use readback::Readback;
use relay::{HostAnswer, Relay, RelayedEvent};
use request_app::RequestApp;

/// How long the app runs on after the agent's last request: a route may send its events
/// after answering (Next.js `after()`, a batching client's timer).
const SETTLE: Duration = Duration::from_secs(2);
/// How far before the step's start the readback looks, for clocks that disagree a little.
const CLOCK_SLACK: Duration = Duration::from_secs(120);
/// How long a page's SDK may hold events when the content does not say.
const DEFAULT_BROWSER_SETTLE: Duration = Duration::from_secs(4);
/// The detail of a client event that no browser could fire.
const NEEDS_A_BROWSER: &str = "needs a browser";

/// One planned event, as the plan file lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEvent {
    /// Its name.
    pub event: String,
    /// `client`, `server`, or empty.
    pub side: String,
    /// The file the plan says sends it (`app/api/subscribe/route.ts`), or empty.
    pub file: String,
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
    browser: Browsing,
    started: DateTime<Utc>,
    plan: Vec<PlannedEvent>,
    evidence: Evidence,
}

/// Whether the agent has a browser for client-side events.
enum Browsing {
    /// Yes: `browse_app`, bound to the app.
    Offered(Arc<BrowseApp>),
    /// No: the agent may not use it, or none is on the machine.
    Unavailable,
}

/// What the browser saw, once stopped.
enum BrowserSeen {
    /// There was none.
    Unavailable,
    /// There was one, and the agent opened no page in it.
    Unused,
    /// The events the pages sent, with their answers.
    Pages(Vec<RelayedEvent>),
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
/// `browse` says whether the agent may use `browse_app`.
pub async fn prepare(
    content: &ContentSet,
    framework_id: Option<&str>,
    ctx: &ToolContext,
    host: Option<&str>,
    browse: bool,
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
                    browser: browsing(&config, browse, &app.base_url(), host),
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

/// The browser tool when the agent may use it, the content says how to read capture
/// bodies, and a browser is on the machine; else why not.
fn browsing(config: &VerifyConfig, browse: bool, base: &str, host: Option<&str>) -> Browsing {
    if !browse {
        return Browsing::Unavailable;
    }
    let Some(rules) = config.relay.clone() else {
        tracing::info!("verify: no browser: the content names no capture paths");
        return Browsing::Unavailable;
    };
    let program = match browser::find(
        std::env::var_os(browser::BROWSER_ENV),
        std::env::var_os("PATH"),
    ) {
        Ok(program) => program,
        Err(why) => {
            tracing::info!("verify: {why}");
            return Browsing::Unavailable;
        }
    };
    let origins = [Some(base), host]
        .into_iter()
        .flatten()
        .filter_map(|u| reqwest::Url::parse(u).ok())
        .collect();
    let settle = config.browser.as_ref().map_or(DEFAULT_BROWSER_SETTLE, |b| {
        Duration::from_millis(b.settle_ms)
    });
    match BrowseApp::new(base, program, Watch { rules, origins }, settle) {
        Ok(tool) => Browsing::Offered(Arc::new(tool)),
        Err(e) => {
            tracing::warn!("verify: no browser: {e}");
            Browsing::Unavailable
        }
    }
}

impl Session {
    /// The tools bound to the running app: `request_app`, and `browse_app` when a browser
    /// is there for it.
    pub fn tools(&self) -> Vec<Arc<dyn Tool>> {
        let mut tools = vec![self.tool.clone()];
        if let Browsing::Offered(browse) = &self.browser {
            tools.push(browse.clone());
        }
        tools
    }

    /// What the agent's prompt says about the running app.
    pub fn prompt_note(&self) -> String {
        let browser = match &self.browser {
            Browsing::Offered(_) => {
                "A headless browser is available: `browse_app` opens a page of the app in \
                 it, clicks, fills and submits, and lists the capture requests the page \
                 sent. Use it for the client-side events."
            }
            Browsing::Unavailable => {
                "No browser is available for this task: client-side events cannot be \
                 fired; do not try to fake them."
            }
        };
        format!(
            "\n\n## The running app\n\nThe runtime started the built app at {} for this task; \
             request it with `request_app` (paths only). It is stopped when you report.\n\n\
             {browser}\n",
            self.app.base_url()
        )
    }

    /// Stops the app, then works out which planned events arrived.
    pub async fn finish(self) -> Verification {
        tokio::time::sleep(SETTLE).await;
        // The browser first: its pages may still send to the app's proxy.
        let browser = match &self.browser {
            Browsing::Offered(tool) => match tool.stop().await {
                Some(events) => BrowserSeen::Pages(events),
                None => BrowserSeen::Unused,
            },
            Browsing::Unavailable => BrowserSeen::Unavailable,
        };
        self.app.stop().await;
        let requests = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        let since = self.started - chrono::Duration::from_std(CLOCK_SLACK).unwrap_or_default();
        let names: Vec<String> = self.plan.iter().map(|p| p.event.clone()).collect();
        // Client events are only waited for when a browser sent them; else it would only delay.
        let browsed = matches!(browser, BrowserSeen::Pages(_));
        let expected: Vec<String> = self
            .plan
            .iter()
            .filter(|p| p.side != "client" || browsed)
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
        let method = match browsed {
            true => {
                format!("{method}; client-side events: seen leaving a headless browser's pages")
            }
            false => method,
        };
        let events = self
            .plan
            .iter()
            .map(|p| {
                let (outcome, detail) = match p.side.as_str() {
                    "client" => client_outcome(&seen, p, &browser),
                    _ => outcome(&seen, p, &requests),
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

/// What became of one server-side (or side-less) planned event, from what the run saw.
/// A relayed event "reached" the product only when the real host answered its request
/// with a 2xx; seen leaving the app but refused (or unanswered) is its own outcome.
/// Without any evidence, an event is "only sent" when a request the agent made reached
/// the route in the event's file and was answered 2xx; else it is not checked.
fn outcome(seen: &Seen, planned: &PlannedEvent, requests: &[AppRequest]) -> (EventOutcome, String) {
    match seen {
        Seen::ReadBack(names) if names.contains(&planned.event) => {
            (EventOutcome::Reached, String::new())
        }
        Seen::ReadBack(_) => (
            EventOutcome::NotSeen,
            "not received since the step began".to_string(),
        ),
        Seen::Relayed { events, env } => seen_leaving(events, planned, "the app").unwrap_or((
            EventOutcome::NotSeen,
            format!("not seen leaving the app through the relay ({env})"),
        )),
        Seen::Unknown(why) => match requests.iter().find(|r| sent_through(r, planned)) {
            Some(r) => (
                EventOutcome::Sent,
                format!(
                    "{why}; {} {} answered {}",
                    r.method,
                    r.path,
                    r.status.unwrap_or_default()
                ),
            ),
            None => (EventOutcome::NotChecked, why.clone()),
        },
    }
}

/// What became of one client-side planned event: what the browser's pages sent, checked
/// against the read-back when there is one.
fn client_outcome(
    seen: &Seen,
    planned: &PlannedEvent,
    browser: &BrowserSeen,
) -> (EventOutcome, String) {
    let read_back = match seen {
        Seen::ReadBack(names) if names.contains(&planned.event) => {
            return (EventOutcome::Reached, String::new())
        }
        Seen::ReadBack(_) => true,
        _ => false,
    };
    let events = match browser {
        BrowserSeen::Unavailable => return (EventOutcome::NotChecked, NEEDS_A_BROWSER.to_string()),
        BrowserSeen::Unused => {
            return (
                EventOutcome::NotChecked,
                "the verify agent opened no page in the browser".to_string(),
            )
        }
        BrowserSeen::Pages(events) => events,
    };
    match seen_leaving(events, planned, "the browser") {
        Some((EventOutcome::Reached, detail)) if read_back => (
            EventOutcome::NotSeen,
            format!("{detail}, but not received since the step began"),
        ),
        Some(found) => found,
        None => (
            EventOutcome::NotSeen,
            "not seen leaving the browser's pages".to_string(),
        ),
    }
}

/// Reached when one of `planned`'s sends was accepted, not accepted when it was only
/// refused; `None` when it was never seen leaving `from`.
fn seen_leaving(
    events: &[RelayedEvent],
    planned: &PlannedEvent,
    from: &str,
) -> Option<(EventOutcome, String)> {
    let mine: Vec<&RelayedEvent> = events.iter().filter(|e| e.event == planned.event).collect();
    if let Some(accepted) = mine.iter().find(|e| e.answer.accepted()) {
        Some((EventOutcome::Reached, seen_detail(accepted, from)))
    } else {
        mine.first()
            .map(|refused| (EventOutcome::NotAccepted, seen_detail(refused, from)))
    }
}

/// `seen leaving the app as user-1 to /batch/; the host answered 200`.
fn seen_detail(event: &RelayedEvent, from: &str) -> String {
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
    format!("seen leaving {from}{who} to {}; {answer}", event.path)
}

/// True when `request` changed something (not a GET), was answered 2xx, and its path is
/// the route that `planned`'s file serves: the path's segments stand in the file's path
/// in order (`/api/subscribe` in `app/api/subscribe/route.ts`), a `[id]` or `:id`
/// segment of the file matching any one segment and none left unmatched after them.
fn sent_through(request: &AppRequest, planned: &PlannedEvent) -> bool {
    if request.method == "GET" || !request.status.is_some_and(|s| (200..300).contains(&s)) {
        return false;
    }
    let path = request.path.split(['?', '#']).next().unwrap_or_default();
    let wanted: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let file = planned.file.replace('\\', "/");
    let stem = file
        .rsplit_once('.')
        .map_or(file.as_str(), |(stem, _)| stem);
    let have: Vec<&str> = stem.split('/').filter(|s| !s.is_empty()).collect();
    let dynamic = |segment: &&str| segment.starts_with('[') || segment.starts_with(':');
    !wanted.is_empty()
        && have.windows(wanted.len()).enumerate().any(|(at, window)| {
            window
                .iter()
                .zip(&wanted)
                .all(|(f, w)| f == w || dynamic(f))
                // A parameter of the route left unmatched: the request was to another route.
                && !have[at + wanted.len()..].iter().any(dynamic)
        })
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
            let file = item
                .get("file")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            plan.push(PlannedEvent {
                event: name.to_string(),
                side,
                file,
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
            file: "app/api/signup/route.ts".into(),
        }
    }

    fn request(method: &str, path: &str, status: u16) -> AppRequest {
        AppRequest {
            method: method.into(),
            path: path.into(),
            status: Some(status),
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
        let (reached, detail) = outcome(&seen, &server, &[]);
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
                outcome(&seen, &server, &[]).0,
                EventOutcome::NotAccepted,
                "{answer:?}"
            );
        }
        // A retry that got through counts.
        let seen = through_relay(vec![
            relayed("signed_up", HostAnswer::Status(503)),
            relayed("signed_up", HostAnswer::Status(200)),
        ]);
        assert_eq!(outcome(&seen, &server, &[]).0, EventOutcome::Reached);
    }

    #[test]
    fn what_the_relay_did_not_see_is_not_seen_or_needs_a_browser() {
        let seen = through_relay(vec![relayed("other", HostAnswer::Status(200))]);
        assert_eq!(
            outcome(&seen, &planned("signed_up", "server"), &[]),
            (
                EventOutcome::NotSeen,
                "not seen leaving the app through the relay (POSTHOG_HOST)".to_string()
            )
        );
        assert_eq!(
            client_outcome(
                &seen,
                &planned("clicked", "client"),
                &BrowserSeen::Unavailable
            ),
            (EventOutcome::NotChecked, "needs a browser".to_string())
        );
    }

    #[test]
    fn a_client_event_is_judged_by_what_the_browsers_pages_sent() {
        let clicked = planned("clicked", "client");
        let nothing = Seen::Unknown("no key".into());
        let sent = |answer| {
            BrowserSeen::Pages(vec![RelayedEvent {
                event: "clicked".into(),
                distinct_id: Some("anon".into()),
                path: "http://127.0.0.1:9/e/".into(),
                answer,
            }])
        };
        assert_eq!(
            client_outcome(&nothing, &clicked, &sent(HostAnswer::Status(200))),
            (
                EventOutcome::Reached,
                "seen leaving the browser as anon to http://127.0.0.1:9/e/; the host answered 200"
                    .to_string()
            )
        );
        assert_eq!(
            client_outcome(&nothing, &clicked, &sent(HostAnswer::Status(401))).0,
            EventOutcome::NotAccepted
        );
        assert_eq!(
            client_outcome(&nothing, &clicked, &BrowserSeen::Pages(vec![])).0,
            EventOutcome::NotSeen
        );
        assert_eq!(
            client_outcome(&nothing, &clicked, &BrowserSeen::Unused),
            (
                EventOutcome::NotChecked,
                "the verify agent opened no page in the browser".to_string()
            )
        );
        // With a read-back, accepted by the host but not read back is not seen.
        let empty = Seen::ReadBack(BTreeSet::new());
        assert_eq!(
            client_outcome(&empty, &clicked, &sent(HostAnswer::Status(200))).0,
            EventOutcome::NotSeen
        );
        let read = Seen::ReadBack(BTreeSet::from(["clicked".to_string()]));
        assert_eq!(
            client_outcome(&read, &clicked, &BrowserSeen::Unavailable).0,
            EventOutcome::Reached
        );
    }

    #[test]
    fn without_any_evidence_only_a_called_route_is_only_sent() {
        let seen = Seen::Unknown("no key".into());
        let server = planned("signed_up", "server");
        let called = [request("POST", "/api/signup?x=1", 200)];
        let (sent, detail) = outcome(&seen, &server, &called);
        assert_eq!(sent, EventOutcome::Sent);
        assert_eq!(detail, "no key; POST /api/signup?x=1 answered 200");
        // Another route answering, a refusal, or a GET proves nothing about this event.
        for other in [
            request("POST", "/api/other", 200),
            request("POST", "/api/signup", 400),
            request("GET", "/api/signup", 200),
            request("POST", "/", 200),
        ] {
            assert_eq!(
                outcome(&seen, &server, std::slice::from_ref(&other)).0,
                EventOutcome::NotChecked,
                "{other:?}"
            );
        }
        let dynamic = PlannedEvent {
            file: "app/api/items/[id]/route.ts".into(),
            ..planned("item_saved", "server")
        };
        assert!(sent_through(
            &request("PUT", "/api/items/42", 204),
            &dynamic
        ));
        assert!(!sent_through(&request("PUT", "/api/items", 204), &dynamic));
        let read = Seen::ReadBack(BTreeSet::from(["signed_up".to_string()]));
        assert_eq!(outcome(&read, &server, &[]).0, EventOutcome::Reached);
        let empty = Seen::ReadBack(BTreeSet::new());
        assert_eq!(outcome(&empty, &server, &[]).0, EventOutcome::NotSeen);
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
                    side: "server".into(),
                    file: String::new()
                },
                PlannedEvent {
                    event: "clicked".into(),
                    side: String::new(),
                    file: String::new()
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
