//! The recording relay in front of the fake PostHog, with the content's own rules
//! (`product.yaml` → `verify.relay`): requests are forwarded unchanged and answered with
//! the host's answer, and the events in capture requests are recorded with that answer.

use std::io::Write;

use wizard::content::product::{ProductInfo, RelayRules};
use wizard::verify::relay::{HostAnswer, Relay};
use wizard_fakes::posthog::{BatchBehaviour, FakePostHog};

fn content_rules() -> RelayRules {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/content/product.yaml"))
            .expect("content/product.yaml");
    ProductInfo::parse(&text)
        .expect("product.yaml parses")
        .verify
        .and_then(|v| v.relay)
        .expect("product.yaml has verify.relay")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// What posthog-node sends: `{api_key, batch, sent_at}`, gzipped, `Content-Encoding: gzip`.
fn node_batch() -> Vec<u8> {
    gzip(
        br#"{"api_key":"phc_relay","batch":[{"event":"subscription_created","distinct_id":"user-1","properties":{"plan":"pro"}}],"sent_at":"2026-12-01T00:00:00Z"}"#,
    )
}

#[tokio::test]
async fn a_gzipped_batch_is_forwarded_unchanged_and_its_events_recorded_with_the_hosts_answer() {
    let fake = FakePostHog::start().await;
    let relay = Relay::start(&fake.url(), content_rules()).await.unwrap();
    let body = node_batch();
    let response = reqwest::Client::new()
        .post(format!("{}/batch/", relay.url()))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), r#"{"status":1}"#);

    // The host got the very bytes the app sent.
    let batches = fake.batches();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].raw, body);
    assert_eq!(batches[0].content_encoding.as_deref(), Some("gzip"));
    assert_eq!(fake.events()[0]["event"], "subscription_created");

    let seen = relay.stop();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].event, "subscription_created");
    assert_eq!(seen[0].distinct_id.as_deref(), Some("user-1"));
    assert_eq!(seen[0].path, "/batch/");
    assert_eq!(seen[0].answer, HostAnswer::Status(200));
    assert!(seen[0].answer.accepted());
}

#[tokio::test]
async fn a_refused_batch_is_recorded_with_the_refusal_and_the_app_gets_it_too() {
    let fake = FakePostHog::start().await;
    fake.set_batch_behaviour(BatchBehaviour::Status(401));
    let relay = Relay::start(&fake.url(), content_rules()).await.unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/batch", relay.url()))
        .header("content-encoding", "gzip")
        .body(node_batch())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let seen = relay.stop();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].answer, HostAnswer::Status(401));
    assert!(!seen[0].answer.accepted());
}

#[tokio::test]
async fn other_requests_are_forwarded_but_not_recorded() {
    let fake = FakePostHog::start().await;
    fake.set_flag("beta", true);
    let relay = Relay::start(&fake.url(), content_rules()).await.unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/flags/?v=2", relay.url()))
        .body(r#"{"api_key":"phc_relay","distinct_id":"user-1"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["flags"]["beta"]["enabled"], true);
    // The query string went through with the path.
    assert_eq!(
        fake.flag_requests()[0].query.get("v").map(String::as_str),
        Some("2")
    );
    assert!(relay.stop().is_empty());
}

#[tokio::test]
async fn an_unreachable_host_is_a_bad_gateway_and_recorded_as_such() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let relay = Relay::start(&format!("http://127.0.0.1:{port}"), content_rules())
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/i/v0/e/", relay.url()))
        .body(r#"{"event":"$pageview","properties":{"distinct_id":"anon"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let seen = relay.stop();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].distinct_id.as_deref(), Some("anon"));
    assert!(
        matches!(seen[0].answer, HostAnswer::Unreachable(_)),
        "{:?}",
        seen[0].answer
    );
}

#[tokio::test]
async fn a_host_that_is_not_an_http_url_is_refused() {
    for host in ["us.i.posthog.com", "ftp://x.example"] {
        let err = Relay::start(host, content_rules()).await.err().unwrap();
        assert!(err.to_string().contains(host), "{err}");
    }
}
