//! The verify step end to end without npm: a small Node server stands in for the built
//! app, the fake PostHog for the backend. The runtime starts the app from the content's
//! `start` command, the (replayed) agent drives it through `request_app`, the runtime
//! stops the app's whole group and reads back through the query API which planned
//! events arrived; without a personal key, a recording relay the app's `POSTHOG_HOST`
//! points at sees them leave. Skips loudly when `node` is not on PATH.

mod runtime_support;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use wizard::agent::backend::{AgentEnv, ModelBackend};
use wizard::agent::prompt::ProjectContext;
use wizard::agent::{AgentBackend, AgentJob, TaskPort};
use wizard::content::{ContentSet, ContentSource};
use wizard::messages::{
    AttemptEnd, EventOutcome, HandoffQuery, ReportStatus, Task, TaskHandoff, TaskId, TaskSpec,
    TaskStatus, Usage,
};
use wizard::providers::pricing::ModelTable;
use wizard::providers::replay::ReplayClient;
use wizard::queue::{GuardError, QueryError};
use wizard::tools::{BashLimits, Permissions, Secrets, ToolContext, ToolRegistry};
use wizard_fakes::posthog::{BatchBehaviour, FakePostHog};

use runtime_support::content_dir;

const KEY_ENV: &str = "WIZARD_TEST_VERIFY_KEY";
const PERSONAL_KEY: &str = "phx_verify_test_key_0123456789";

/// A stand-in for a built app: `/` renders, `/api/subscribe` captures a server event by
/// posting a gzipped batch as posthog-node does, to `POSTHOG_HOST` when the run set it
/// (a server variable read at run time) or else to the host it was "built" with.
const SERVER_JS: &str = r#"
const http = require('http');
const zlib = require('zlib');
const HOST = process.env.POSTHOG_HOST || process.argv[2];
const MARK = process.argv[3];
// A child of its own, as `next start` has workers: it must go when the app is stopped.
if (process.argv[4] === 'spawn') {
  require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', MARK],
    {stdio: 'ignore'});
}
http.createServer(async (req, res) => {
  if (req.method === 'POST' && req.url === '/api/subscribe') {
    await fetch(HOST + '/batch/', {
      method: 'POST',
      headers: {'content-type': 'application/json', 'content-encoding': 'gzip'},
      body: zlib.gzipSync(JSON.stringify({api_key: 'phc_app', batch: [
        {event: 'subscription_created', distinct_id: 'user-1', properties: {plan: 'pro'}}]})),
    });
    res.writeHead(200, {'content-type': 'application/json'});
    return res.end(JSON.stringify({status: 'active'}));
  }
  res.writeHead(req.url === '/' ? 200 : 404, {'content-type': 'text/html'});
  res.end('<html>' + MARK + '</html>');
}).listen(Number(process.env.PORT), '127.0.0.1');
"#;

const PLAN: &str = r#"[
  {"event": "subscribe_clicked", "side": "client", "file": "app/components/SubscribeButton.tsx"},
  {"event": "subscription_created", "side": "server", "file": "app/api/subscribe/route.ts"}
]"#;

const AGENT: &str = r#"---
type: verify
label: Check that events arrive
model: small
goal: Send the planned events from the running app.
success: The routes were requested.
serveApp: true
allowedTools: [request_app, complete_task]
maxTurns: 6
---
Drive the app.
"#;

const CASSETTE: &str = r#"
version: 1
scripts:
  verify:
    - turn:
        - tool: request_app
          input: {method: GET, path: /}
        - tool: request_app
          input: {method: GET, path: "//evil.example/"}
    - turn:
        - tool: request_app
          input: {method: POST, path: /api/subscribe, body: {plan: pro}}
    - turn:
        - tool: complete_task
          input:
            status: done
            handoff: {goals: g, did: "GET / 200, POST /api/subscribe 200", forNextAgent: n}
"#;

fn node_available() -> bool {
    let found = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIPPED: `node` is not on PATH; the verify tests need it to run a stand-in app");
    }
    found
}

struct Port;

#[async_trait]
impl TaskPort for Port {
    async fn enqueue(&self, _spec: TaskSpec) -> Result<TaskId, GuardError> {
        Err(GuardError::Closed)
    }
    async fn read_handoffs(&self, _query: HandoffQuery) -> Result<Vec<TaskHandoff>, QueryError> {
        Ok(Vec::new())
    }
    fn activity(&self, _phrase: String, _usage: Option<Usage>, _cost_usd: Option<f64>) {}
    fn relabel(&self, _label: String) {}
    fn task_id(&self) -> Option<&str> {
        Some("verify")
    }
}

struct Setup {
    _content_root: tempfile::TempDir,
    _app_root: tempfile::TempDir,
    app: std::path::PathBuf,
    backend: ModelBackend,
}

/// Content with a `node-app` framework started by `start`, and the verify agent.
async fn setup(fake: &FakePostHog, start: &str, skip: Option<&str>) -> Setup {
    setup_with(fake, start, skip, CASSETTE, 0.0, None).await
}

/// As [`setup`], with the framework naming `relay_env` as its server-side host variable.
async fn setup_relayed(fake: &FakePostHog, start: &str, relay_env: &str) -> Setup {
    setup_with(fake, start, None, CASSETTE, 0.0, Some(relay_env)).await
}

async fn setup_with(
    fake: &FakePostHog,
    start: &str,
    skip: Option<&str>,
    cassette: &str,
    speed: f64,
    relay_env: Option<&str>,
) -> Setup {
    let content_root = content_dir();
    let root = content_root.path();
    std::fs::write(root.join("agents/verify.md"), AGENT).unwrap();
    let frameworks = std::fs::read_to_string(root.join("frameworks.yaml")).unwrap();
    let relay = relay_env
        .map(|env| format!("    relayEnv: {env}\n"))
        .unwrap_or_default();
    let frameworks = frameworks.replacen(
        "frameworks:\n",
        &format!(
            "frameworks:\n  - id: node-app\n    name: Node app\n    start: {start:?}\n{relay}\n"
        ),
        1,
    );
    std::fs::write(root.join("frameworks.yaml"), frameworks).unwrap();
    let product = std::fs::read_to_string(root.join("product.yaml")).unwrap();
    let product = product
        .replace(
            "keyEnv: POSTHOG_PERSONAL_API_KEY",
            &format!("keyEnv: {KEY_ENV}"),
        )
        .replace("waitSecs: 45", "waitSecs: 5")
        .replace("readySecs: 60", "readySecs: 20");
    std::fs::write(root.join("product.yaml"), product).unwrap();
    let content: Arc<ContentSet> = Arc::new(
        wizard::content::load(&ContentSource::Dir(root.to_path_buf()))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );

    let app_root = tempfile::tempdir().unwrap();
    let app = app_root.path().canonicalize().unwrap();
    std::fs::write(app.join("server.js"), SERVER_JS).unwrap();
    std::fs::create_dir_all(app.join(".posthog-wizard")).unwrap();
    std::fs::write(app.join(".posthog-wizard/event-plan.json"), PLAN).unwrap();
    let mut secrets = Secrets::default();
    secrets.insert("posthog_project_token", "phc_verify_token_0123456789");
    secrets.insert_public("posthog_host", fake.url());
    let ctx = ToolContext {
        install_dir: app.clone(),
        permissions: Permissions::default(),
        secrets,
        bash: BashLimits {
            skip_reason: skip.map(str::to_string),
            ..BashLimits::default()
        },
        package_managers: content.package_managers.clone(),
        fences: content.frameworks.fences.clone(),
    };
    let models = Arc::new(ModelTable::parse(&content.models_yaml).unwrap());
    let client = Arc::new(
        ReplayClient::from_yaml(cassette, speed)
            .unwrap()
            .with_models(ModelTable::parse(&content.models_yaml).unwrap()),
    );
    let backend = ModelBackend::new(AgentEnv {
        client,
        provider: "replay".into(),
        content: content.clone(),
        models,
        tools: ToolRegistry::builtin().tools(),
        base_ctx: ctx,
        project: ProjectContext::default(),
        framework_id: Some("node-app".into()),
        asks: None,
    });
    Setup {
        _content_root: content_root,
        _app_root: app_root,
        app,
        backend,
    }
}

fn task() -> Task {
    Task {
        id: "verify".into(),
        app: ".".into(),
        task_type: "verify".into(),
        label: "Check that events arrive".into(),
        status: TaskStatus::Running,
        depends_on: vec![],
        inputs: json!({}),
        model: "small".into(),
        attempts: 1,
        max_attempts: 1,
        enqueued_by: "orchestrator".into(),
        depth: 1,
        created_at: chrono::Utc::now(),
        started_at: None,
        finished_at: None,
        handoff: None,
        error: None,
        usage: Usage::default(),
        cost_usd: 0.0,
        provider_retries: 0,
    }
}

/// Processes whose command line holds `marker` as one argument (Linux `/proc`).
fn processes_with_arg(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            if cmdline
                .split(|b| *b == 0)
                .any(|arg| arg == marker.as_bytes())
            {
                found.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    found
}

fn start_command(fake: &FakePostHog, marker_hint: &str) -> String {
    format!("node server.js {} {marker_hint}", fake.url())
}

async fn run(setup: &Setup) -> AttemptEnd {
    let job = AgentJob {
        task: task(),
        ancestors: Vec::new(),
    };
    setup.backend.run(job, Arc::new(Port)).await.end
}

#[tokio::test]
async fn the_app_is_started_driven_stopped_and_the_server_event_is_read_back() {
    if !node_available() {
        return;
    }
    let fake = FakePostHog::start().await;
    fake.set_personal_api_key(PERSONAL_KEY);
    // SAFETY: each nextest test runs in its own process; nothing else reads the env here.
    unsafe { std::env::set_var(KEY_ENV, PERSONAL_KEY) };
    // The marker goes on the app's command line, so its processes can be found afterwards.
    let marker = format!("verify-mark-{}", uuid::Uuid::new_v4().simple());
    // The framework names a relay variable too: with the key, the query API is used.
    let s = setup_relayed(&fake, &start_command(&fake, &marker), "POSTHOG_HOST").await;

    let end = run(&s).await;
    let AttemptEnd::Reported { status, handoff } = end else {
        panic!("verify did not report: {end:?}");
    };
    assert_eq!(status, ReportStatus::Done);
    let v = handoff.verification.expect("the runtime's verification");
    assert_eq!(v.method, format!("the query API at {}", fake.url()));
    let outcome = |name: &str| {
        v.events
            .iter()
            .find(|e| e.event == name)
            .unwrap_or_else(|| panic!("{name} missing from {v:?}"))
            .clone()
    };
    assert_eq!(
        outcome("subscription_created").outcome,
        EventOutcome::Reached
    );
    let clicked = outcome("subscribe_clicked");
    assert_eq!(clicked.outcome, EventOutcome::NotChecked);
    assert_eq!(clicked.detail, "needs a browser");
    assert_eq!(v.reached(), 1);
    assert_eq!(
        v.summary("PostHog")[0],
        "verified: 1 of 2 planned events reached PostHog"
    );

    // The agent's requests: the page, the route; the request off the app was refused, not sent.
    let requests: Vec<(String, String, Option<u16>)> = v
        .requests
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.status))
        .collect();
    assert_eq!(
        requests,
        [
            ("GET".to_string(), "/".to_string(), Some(200)),
            ("POST".to_string(), "/api/subscribe".to_string(), Some(200)),
        ]
    );
    // The backend really got the event, and the query carried the personal key.
    assert!(fake
        .events()
        .iter()
        .any(|e| e["event"] == "subscription_created"));
    let queries = fake.queries();
    assert!(!queries.is_empty());
    assert_eq!(queries[0].project, "@current");
    assert_eq!(queries[0].bearer.as_deref(), Some(PERSONAL_KEY));
    let sql = queries[0].body["query"]["query"].as_str().unwrap();
    assert!(sql.contains("'subscription_created'"), "{sql}");

    // The app and everything it started are gone.
    let mut left = processes_with_arg(&marker);
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = processes_with_arg(&marker);
    }
    assert!(left.is_empty(), "app processes left running: {left:?}");
    assert!(!s.app.join(".env").exists() && !s.app.join(".env.local").exists());
}

#[tokio::test]
async fn without_a_personal_key_nothing_is_claimed_verified() {
    if !node_available() {
        return;
    }
    let fake = FakePostHog::start().await;
    // SAFETY: each nextest test runs in its own process.
    unsafe { std::env::remove_var(KEY_ENV) };
    let marker = format!("verify-mark-{}", uuid::Uuid::new_v4().simple());
    let s = setup(&fake, &start_command(&fake, &marker), None).await;
    let AttemptEnd::Reported { handoff, .. } = run(&s).await else {
        panic!("verify did not report");
    };
    let v = handoff.verification.unwrap();
    assert_eq!(v.reached(), 0);
    assert!(v.method.contains(KEY_ENV), "{}", v.method);
    let created = v
        .events
        .iter()
        .find(|e| e.event == "subscription_created")
        .unwrap();
    // The route answered, so the event was sent; without a key it is only that.
    assert_eq!(created.outcome, EventOutcome::Sent);
    assert!(v.summary("PostHog")[1].starts_with("only sent: subscription_created ("));
    assert!(fake.queries().is_empty());
    // It was still sent: the fake got it, the report says it was not verified.
    assert!(fake
        .events()
        .iter()
        .any(|e| e["event"] == "subscription_created"));
}

#[tokio::test]
async fn with_commands_skipped_no_app_is_started_and_every_event_is_not_checked() {
    let fake = FakePostHog::start().await;
    let s = setup(
        &fake,
        "node server.js",
        Some("the offline demo runs no commands"),
    )
    .await;
    let AttemptEnd::Reported { status, handoff } = run(&s).await else {
        panic!("verify did not report");
    };
    assert_eq!(status, ReportStatus::Skipped);
    assert!(handoff.did.contains("the offline demo runs no commands"));
    let v = handoff.verification.unwrap();
    assert_eq!(v.events.len(), 2);
    assert!(v
        .events
        .iter()
        .all(|e| e.outcome == EventOutcome::NotChecked));
    assert!(v.requests.is_empty());
}

#[tokio::test]
async fn an_app_that_does_not_start_skips_with_its_output() {
    if !node_available() {
        return;
    }
    let fake = FakePostHog::start().await;
    let s = setup(
        &fake,
        "node -e \"console.error('DATABASE_URL is missing'); process.exit(3)\"",
        None,
    )
    .await;
    let AttemptEnd::Reported { status, handoff } = run(&s).await else {
        panic!("verify did not report");
    };
    assert_eq!(status, ReportStatus::Skipped);
    assert!(
        handoff.did.starts_with("the app did not start:"),
        "{}",
        handoff.did
    );
    assert!(
        handoff.did.contains("DATABASE_URL is missing"),
        "{}",
        handoff.did
    );
}

async fn wait_until_gone(marker: &str) -> Vec<String> {
    let mut left = processes_with_arg(marker);
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = processes_with_arg(marker);
    }
    left
}

#[tokio::test]
async fn a_verify_step_cut_short_leaves_no_process_of_the_app_behind() {
    if !node_available() {
        return;
    }
    let fake = FakePostHog::start().await;
    let marker = format!("verify-mark-{}", uuid::Uuid::new_v4().simple());
    // The model takes ten minutes to answer: the attempt is cut while the app runs.
    let slow = format!(
        "version: 1\nlatency:\n  small: {{ttftMs: 600000, tokensPerSec: 1}}\n{}",
        CASSETTE.trim_start().trim_start_matches("version: 1\n")
    );
    let start = format!("node server.js {} {marker} spawn", fake.url());
    let s = setup_with(&fake, &start, None, &slow, 1.0, None).await;
    let job = AgentJob {
        task: task(),
        ancestors: Vec::new(),
    };
    let mut run = Box::pin(s.backend.run(job, Arc::new(Port)));
    let running = async {
        for _ in 0..100 {
            let found = processes_with_arg(&marker);
            if found.len() >= 2 {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        processes_with_arg(&marker)
    };
    tokio::select! {
        end = &mut run => panic!("the attempt ended before it was cut: {:?}", end.end),
        found = running => assert_eq!(found.len(), 2, "the app and its child run: {found:?}"),
    }
    // The attempt is cut (its future dropped, as the time limit or an interrupt does) …
    drop(run);
    // … and takes the app's whole group with it.
    let left = wait_until_gone(&marker).await;
    assert!(left.is_empty(), "app processes left running: {left:?}");
}

/// Without a personal key, the relay stands in front of the host: the app's
/// `POSTHOG_HOST` points at it, the gzipped batch goes through to the fake unchanged,
/// and the fake's 200 makes the event "reached", with the evidence said in its detail.
#[tokio::test]
async fn without_a_key_the_relay_sees_the_event_leave_and_the_host_accept_it() {
    if !node_available() {
        return;
    }
    let fake = FakePostHog::start().await;
    // SAFETY: each nextest test runs in its own process.
    unsafe { std::env::remove_var(KEY_ENV) };
    let marker = format!("verify-mark-{}", uuid::Uuid::new_v4().simple());
    // The "built" host is one nothing listens on: only the relay's variable can reach the fake.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let start = format!("node server.js http://{dead} {marker}");
    let s = setup_relayed(&fake, &start, "POSTHOG_HOST").await;
    let AttemptEnd::Reported { status, handoff } = run(&s).await else {
        panic!("verify did not report");
    };
    assert_eq!(status, ReportStatus::Done);
    let v = handoff.verification.unwrap();
    assert!(
        v.method.starts_with("a recording relay in front of "),
        "{}",
        v.method
    );
    assert!(v.method.contains(&fake.url()), "{}", v.method);
    assert!(v.method.contains("POSTHOG_HOST"), "{}", v.method);
    assert!(v.method.contains(KEY_ENV), "{}", v.method);
    let created = v
        .events
        .iter()
        .find(|e| e.event == "subscription_created")
        .unwrap();
    assert_eq!(created.outcome, EventOutcome::Reached, "{v:?}");
    assert_eq!(
        created.detail,
        "seen leaving the app as user-1 to /batch/; the host answered 200"
    );
    let clicked = v
        .events
        .iter()
        .find(|e| e.event == "subscribe_clicked")
        .unwrap();
    assert_eq!(clicked.outcome, EventOutcome::NotChecked);
    assert_eq!(clicked.detail, "needs a browser");
    assert_eq!(
        v.summary("PostHog")[0],
        "verified: 1 of 2 planned events reached PostHog"
    );
    // Forwarded, gzip and all; nothing asked the query API; no env file written.
    let batches = fake.batches();
    assert_eq!(batches.len(), 1);
    assert!(batches[0].gzipped);
    assert_eq!(fake.events()[0]["event"], "subscription_created");
    assert!(fake.queries().is_empty());
    assert!(!s.app.join(".env").exists() && !s.app.join(".env.local").exists());
    let left = wait_until_gone(&marker).await;
    assert!(left.is_empty(), "app processes left running: {left:?}");
}

/// The relay sees the event leave, but the host refuses it: not "reached".
#[tokio::test]
async fn an_event_the_host_refuses_is_seen_leaving_but_not_accepted() {
    if !node_available() {
        return;
    }
    let fake = FakePostHog::start().await;
    fake.set_batch_behaviour(BatchBehaviour::Status(401));
    // SAFETY: each nextest test runs in its own process.
    unsafe { std::env::remove_var(KEY_ENV) };
    let marker = format!("verify-mark-{}", uuid::Uuid::new_v4().simple());
    let s = setup_relayed(&fake, &start_command(&fake, &marker), "POSTHOG_HOST").await;
    let AttemptEnd::Reported { handoff, .. } = run(&s).await else {
        panic!("verify did not report");
    };
    let v = handoff.verification.unwrap();
    assert_eq!(v.reached(), 0);
    let created = v
        .events
        .iter()
        .find(|e| e.event == "subscription_created")
        .unwrap();
    assert_eq!(created.outcome, EventOutcome::NotAccepted);
    assert_eq!(
        v.summary("PostHog")[1],
        "not accepted: subscription_created (seen leaving the app as user-1 to /batch/; the host answered 401)"
    );
}

/// With the relay in place, a server event the app never sent is "not seen", not "sent".
#[tokio::test]
async fn with_the_relay_an_event_that_never_left_is_not_seen() {
    if !node_available() {
        return;
    }
    let fake = FakePostHog::start().await;
    // SAFETY: each nextest test runs in its own process.
    unsafe { std::env::remove_var(KEY_ENV) };
    let marker = format!("verify-mark-{}", uuid::Uuid::new_v4().simple());
    // The app reads another variable: the relay is bypassed and sees nothing.
    let s = setup_relayed(&fake, &start_command(&fake, &marker), "OTHER_POSTHOG_HOST").await;
    let AttemptEnd::Reported { handoff, .. } = run(&s).await else {
        panic!("verify did not report");
    };
    let v = handoff.verification.unwrap();
    let created = v
        .events
        .iter()
        .find(|e| e.event == "subscription_created")
        .unwrap();
    assert_eq!(created.outcome, EventOutcome::NotSeen, "{v:?}");
    assert_eq!(
        created.detail,
        "not seen leaving the app through the relay (OTHER_POSTHOG_HOST)"
    );
}
