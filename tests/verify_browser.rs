//! The verify step's headless browser against a real Chromium: a tiny loopback app whose
//! page sends capture requests the ways posthog-js does (gzip-js on load, a base64 form
//! on a click, JSON through the app's own `/ingest` proxy) to the fake PostHog on
//! another port; `browse_app` loads it, clicks, and records each event with its answer.
//! A capture the host refuses is "not accepted"; requests to other paths or origins are
//! not recorded. After `stop`, no process of the browser is left and its profile is gone.
//!
//! Needs a Chromium or Chrome (`chromium`, `google-chrome`… on PATH, or
//! `WIZARD_BROWSER`): without one, a loud SKIPPED banner (a failure with
//! `WIZARD_REQUIRE_BROWSER=1`, which CI sets when it could install one).

mod browser_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use browser_support::{browser_for, marked_processes};

use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use serde_json::{json, Value};
use wizard::content::product::RelayRules;
use wizard::tools::{Tool, ToolContext};
use wizard::verify::browse_app::BrowseApp;
use wizard::verify::browser::Watch;
use wizard::verify::relay::HostAnswer;
use wizard_fakes::posthog::{BatchBehaviour, FakePostHog};

/// The page: on load `$pageview` gzipped to the host's `/e/` (`bot_detected` if the page
/// sees a headless or automated browser, as posthog-js's bot filter would); `#buy` sends
/// `purchase_clicked` as a base64 form to `/i/v0/e/`; `#proxy` sends `proxied` as JSON to
/// the app's own `/ingest/e/`; `#refuse` sends `refused_event` to the host; `#flags` posts
/// to `/ingest/flags/` (not a capture path) and `#elsewhere` to an origin not watched.
fn page(host: &str, elsewhere: &str) -> String {
    format!(
        r#"<!doctype html><html><head><title>Shop</title></head><body>
<h1>Shop</h1>
<button id="buy">Buy</button><button id="proxy">Proxy</button>
<button id="refuse">Refuse</button><button id="flags">Flags</button>
<button id="elsewhere">Elsewhere</button>
<script>
const HOST = {host:?};
const ev = (name) => ({{event: name, properties: {{distinct_id: 'anon-1', token: 'phc_page'}}}});
async function gzip(text) {{
  const cs = new CompressionStream('gzip');
  const w = cs.writable.getWriter(); w.write(new TextEncoder().encode(text)); w.close();
  return new Response(cs.readable).arrayBuffer();
}}
async function gzipJs(url, events) {{
  const body = new Blob([await gzip(JSON.stringify(events))], {{type: 'text/plain'}});
  return fetch(url + '?compression=gzip-js&ver=1.0', {{method: 'POST', body}});
}}
function base64Form(url, events) {{
  const data = btoa(JSON.stringify(events));
  return fetch(url + '?compression=base64', {{method: 'POST',
    headers: {{'content-type': 'application/x-www-form-urlencoded'}},
    body: 'data=' + encodeURIComponent(data)}});
}}
// As posthog-js's bot filter looks: a headless or automated browser sends nothing real.
const bot = navigator.webdriver || /headless/i.test(navigator.userAgent)
  || (navigator.userAgentData?.brands || []).some((b) => /headless/i.test(b.brand));
gzipJs(HOST + '/e/', [ev(bot ? 'bot_detected' : '$pageview')]);
document.getElementById('buy').onclick = () => base64Form(HOST + '/i/v0/e/', [ev('purchase_clicked')]);
document.getElementById('proxy').onclick = () => fetch('/ingest/e/', {{method: 'POST',
  headers: {{'content-type': 'application/json'}}, body: JSON.stringify(ev('proxied'))}});
document.getElementById('refuse').onclick = () => gzipJs(HOST + '/e/', [ev('refused_event')]);
document.getElementById('flags').onclick = () => fetch('/ingest/flags/', {{method: 'POST', body: '{{}}'}});
document.getElementById('elsewhere').onclick = () => gzipJs({elsewhere:?} + '/e/', [ev('elsewhere_event')]).catch(() => {{}});
</script></body></html>"#
    )
}

/// The app: the page, and a stand-in for its reverse proxy that accepts.
async fn start_app(host: String, elsewhere: String) -> String {
    let html = page(&host, &elsewhere);
    let app = axum::Router::new()
        .route("/", get(move || async move { Html(html) }))
        .route(
            "/ingest/e/",
            post(|| async { axum::Json(json!({"status": 1})).into_response() }),
        )
        .route("/ingest/flags/", post(|| async { "{}" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn rules() -> RelayRules {
    RelayRules {
        capture_paths: vec!["/batch/".into(), "/e/".into(), "/i/v0/e/".into()],
        batch: "/batch".into(),
        event: "/event".into(),
        distinct_id: vec!["/distinct_id".into(), "/properties/distinct_id".into()],
    }
}

fn context(install_dir: &Path) -> ToolContext {
    ToolContext {
        install_dir: install_dir.to_path_buf(),
        permissions: Default::default(),
        secrets: Default::default(),
        bash: Default::default(),
        package_managers: Vec::new(),
        fences: Default::default(),
    }
}

async fn browse(tool: &BrowseApp, ctx: &ToolContext, input: Value) -> String {
    tool.call(ctx, input)
        .await
        .unwrap_or_else(|e| panic!("browse_app failed: {e}"))
        .content
}

#[tokio::test]
async fn the_browser_records_what_a_page_sends_and_what_the_host_answered_and_leaves_nothing() {
    let test =
        "the_browser_records_what_a_page_sends_and_what_the_host_answered_and_leaves_nothing";
    let Some(program) = browser_for(test) else {
        return;
    };
    let fake = FakePostHog::start().await;
    let unwatched = FakePostHog::start().await;
    let app = start_app(fake.url(), unwatched.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let install_dir = dir.path().canonicalize().unwrap();
    let ctx = context(&install_dir);
    let watch = Watch {
        rules: rules(),
        origins: vec![
            reqwest::Url::parse(&app).unwrap(),
            reqwest::Url::parse(&fake.url()).unwrap(),
        ],
    };
    let tool = BrowseApp::new(&app, program, watch, Duration::from_millis(1500)).unwrap();

    // Off the app's origin: refused before any browser starts.
    let refused = tool
        .call(&ctx, json!({"path": "//example.com/"}))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("only the running app"),
        "{refused}"
    );

    let first = browse(
        &tool,
        &ctx,
        json!({"path": "/", "actions": [
            {"action": "click", "selector": "#buy"},
            {"action": "click", "selector": "#proxy"},
            {"action": "click", "selector": "#flags"},
            {"action": "click", "selector": "#elsewhere"},
            {"action": "click", "selector": "#missing"}
        ]}),
    )
    .await;
    assert!(first.starts_with("opened / → 200"), "{first}");
    assert!(
        first.contains("click #missing: no element matches"),
        "{first}"
    );
    assert!(
        first.contains(&format!("{}/e/ → 200: $pageview", fake.url())),
        "{first}"
    );
    assert!(
        first.contains(&format!("{}/i/v0/e/ → 200: purchase_clicked", fake.url())),
        "{first}"
    );
    assert!(
        first.contains(&format!("{app}/ingest/e/ → 200: proxied")),
        "{first}"
    );
    assert!(first.contains("button#buy \"Buy\""), "{first}");

    // While it runs: its processes are marked, and its profile is a temporary folder.
    let running = marked_processes(&install_dir);
    assert!(!running.is_empty(), "no marked browser process");
    let profile = running
        .iter()
        .flat_map(|(_, cmd)| cmd.split(' '))
        .find_map(|arg| arg.strip_prefix("--user-data-dir="))
        .map(PathBuf::from)
        .expect("the browser's profile");
    assert!(profile.is_dir());

    // The host refuses: seen leaving the page, not accepted.
    fake.set_batch_behaviour(BatchBehaviour::Status(503));
    let second = browse(
        &tool,
        &ctx,
        json!({"actions": [{"action": "click", "selector": "#refuse"}]}),
    )
    .await;
    assert!(
        second.contains(&format!("{}/e/ → 503: refused_event", fake.url())),
        "{second}"
    );
    assert!(!second.contains("purchase_clicked"), "{second}");

    let events = tool.stop().await.expect("pages were opened");
    let mut seen: Vec<(String, HostAnswer, String, Option<String>)> = events
        .into_iter()
        .map(|e| (e.event, e.answer, e.path, e.distinct_id))
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    let anon = Some("anon-1".to_string());
    assert_eq!(
        seen,
        vec![
            (
                "$pageview".into(),
                HostAnswer::Status(200),
                format!("{}/e/", fake.url()),
                anon.clone()
            ),
            (
                "proxied".into(),
                HostAnswer::Status(200),
                format!("{app}/ingest/e/"),
                anon.clone()
            ),
            (
                "purchase_clicked".into(),
                HostAnswer::Status(200),
                format!("{}/i/v0/e/", fake.url()),
                anon.clone()
            ),
            (
                "refused_event".into(),
                HostAnswer::Status(503),
                format!("{}/e/", fake.url()),
                anon
            ),
        ]
    );
    // The fake decoded the same events: the browser really sent them.
    let names: Vec<String> = fake
        .events()
        .iter()
        .filter_map(|e| e["event"].as_str().map(str::to_string))
        .collect();
    assert!(names.contains(&"$pageview".to_string()), "{names:?}");
    assert!(names.contains(&"purchase_clicked".to_string()), "{names:?}");
    // The unwatched origin got its request; it was not recorded.
    assert!(!unwatched.batches().is_empty());

    let mut left = marked_processes(&install_dir);
    for _ in 0..30 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = marked_processes(&install_dir);
    }
    assert!(left.is_empty(), "browser processes left: {left:?}");
    assert!(
        !profile.exists(),
        "the profile {} is left",
        profile.display()
    );
    // Stopped: a later call says so instead of starting another browser.
    let after = tool.call(&ctx, json!({"path": "/"})).await.unwrap_err();
    assert!(after.to_string().contains("stopped"), "{after}");
}

#[tokio::test]
async fn a_browser_that_cannot_start_is_a_tool_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let install_dir = dir.path().canonicalize().unwrap();
    // A "browser" that exits at once: its pipe closes before it answers.
    let fake_browser = install_dir.join("fake-browser");
    std::fs::write(&fake_browser, "#!/bin/sh\nexit 3\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake_browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let watch = Watch {
        rules: rules(),
        origins: vec![],
    };
    let tool = BrowseApp::new(
        "http://127.0.0.1:9",
        fake_browser,
        watch,
        Duration::from_millis(10),
    )
    .unwrap();
    let ctx = context(&install_dir);
    let started = std::time::Instant::now();
    let err = tool.call(&ctx, json!({"path": "/"})).await.unwrap_err();
    assert!(
        err.to_string().contains("pipe closed"),
        "unexpected error: {err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(tool.stop().await.is_none());
    assert!(marked_processes(&install_dir).is_empty());
}
