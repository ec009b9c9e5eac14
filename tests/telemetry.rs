//! Telemetry against a loopback fake PostHog: what every event carries, what none may carry,
//! how batches travel, and that a dead host never fails or blocks a run.

use std::io::Read;
use std::time::Duration;

use actix::prelude::*;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use wizard::actors::telemetry::TelemetryActor;
use wizard::messages::{AssignVariant, Capture, GetTelemetryStats};
use wizard::messages::{
    EventKind, Flush, Handoff, QueueEvent, RunInfo, RunOutcome, Task, TaskError, TaskStatus, Usage,
    Variant, Verdict,
};
use wizard::telemetry::{
    names, RetryPolicy, TelemetryClient, TelemetryError, TelemetryEvent, TelemetryTarget,
};
use wizard_fakes::posthog::{BatchBehaviour, FakePostHog};

const WIZARD_TOKEN: &str = "phc_wizard_telemetry_test";
const CANARY: &str = "phc_CANARY_7f3a9c_do_not_leak";
const RUN_ID: &str = "3f0c1b1e-7d7e-4b7a-9a59-0c2f1d2e3a4b";

fn client_for(url: &str) -> TelemetryClient {
    TelemetryClient::new(
        reqwest::Client::new(),
        TelemetryTarget::new(url, WIZARD_TOKEN),
    )
}

/// An actor that only sends when flushed.
fn actor_for(url: &str) -> TelemetryActor {
    TelemetryActor::new(Some(client_for(url)), RUN_ID).with_flush_every(Duration::from_secs(3600))
}

fn task(id: &str, task_type: &str, status: TaskStatus) -> Task {
    Task {
        id: id.into(),
        task_type: task_type.into(),
        label: format!("Edit /home/dev/app/{CANARY}/layout.tsx"),
        status,
        depends_on: vec![],
        inputs: json!({"note": CANARY}),
        model: "small".into(),
        attempts: 1,
        max_attempts: 2,
        enqueued_by: "orchestrator".into(),
        depth: 1,
        created_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 0).unwrap(),
        started_at: Some(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()),
        finished_at: Some(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 17).unwrap()),
        handoff: Some(Handoff {
            goals: format!("goal {CANARY}"),
            did: format!("wrote {CANARY} into .env.local"),
            for_next_agent: CANARY.into(),
            files_touched: vec![format!(".env.local {CANARY}")],
            conflict: Some(CANARY.into()),
            ..Default::default()
        }),
        error: None,
        usage: Usage {
            input_tokens: 1200,
            output_tokens: 340,
            cache_read_tokens: 5000,
            cache_write_tokens: 800,
        },
        cost_usd: 0.0123,
        provider_retries: 0,
        app: ".".into(),
    }
}

fn event(seq: u64, t_ms: u64, kind: EventKind) -> QueueEvent {
    QueueEvent { seq, t_ms, kind }
}

fn run_events() -> Vec<QueueEvent> {
    let run = RunInfo {
        run_id: RUN_ID.into(),
        variant: Variant::Orchestrator,
        install_dir: format!("/home/dev/{CANARY}"),
        created_at: Utc::now(),
        framework: Some("nextjs".into()),
        concurrency: 1,
        content_hash: None,
    };
    let mut failed = task("init", "init", TaskStatus::Failed);
    failed.error = Some(TaskError {
        kind: "timeout".into(),
        message: format!("timed out writing {CANARY}"),
    });
    let skipped = task(
        "dashboard",
        "dashboard",
        TaskStatus::Skipped {
            reason: format!("no MCP {CANARY}"),
            blocked_by: Some("init".into()),
        },
    );
    let outcome = RunOutcome {
        verdict: Verdict::Failed,
        message: format!("one task failed {CANARY}"),
        total: 3,
        completed: 1,
        not_needed: 0,
        failed: 1,
        blocked: 1,
        never_ran: 0,
        problems: vec![],
        conflicts: vec![("install".into(), CANARY.into())],
        usage: Usage {
            input_tokens: 2400,
            output_tokens: 680,
            cache_read_tokens: 10000,
            cache_write_tokens: 1600,
        },
        cost_usd: 0.0246,
    };
    vec![
        event(1, 1_000, EventKind::RunStarted { run }),
        event(
            2,
            1_100,
            EventKind::TaskEnqueued {
                task: task("install", "install", TaskStatus::Pending).into(),
            },
        ),
        event(
            3,
            1_500,
            EventKind::TaskStarted {
                task: task("install", "install", TaskStatus::Running).into(),
            },
        ),
        event(
            4,
            1_600,
            EventKind::TaskActivity {
                task_id: "install".into(),
                phrase: format!("Editing {CANARY}"),
                usage: None,
                cost_usd: None,
            },
        ),
        event(
            5,
            4_000,
            EventKind::TaskCompleted {
                task: task("install", "install", TaskStatus::Completed).into(),
            },
        ),
        event(
            6,
            4_100,
            EventKind::TaskStarted {
                task: task("init", "init", TaskStatus::Running).into(),
            },
        ),
        event(
            7,
            9_000,
            EventKind::TaskFailed {
                task: failed.into(),
            },
        ),
        event(
            8,
            9_010,
            EventKind::TaskSkipped {
                task: skipped.into(),
            },
        ),
        event(9, 9_020, EventKind::RunFinished { outcome }),
    ]
}

async fn run_through_actor(fake: &FakePostHog, variant: Variant) -> Vec<Value> {
    let addr = actor_for(&fake.url())
        .with_redactions(vec![CANARY.to_string()])
        .start();
    addr.send(Capture::new(names::STARTED).prop("version", "0.1.0"))
        .await
        .unwrap();
    addr.send(AssignVariant {
        variant,
        distinct_id: "dev@example.com".into(),
    })
    .await
    .unwrap();
    addr.send(Capture::new(names::VARIANT_ASSIGNED).prop("reason_kind", "flag"))
        .await
        .unwrap();
    for e in run_events() {
        addr.send(e).await.unwrap();
    }
    addr.send(Flush)
        .await
        .unwrap()
        .expect("flush succeeds against a healthy host");
    fake.events()
}

fn named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

#[actix_rt::test]
async fn every_event_carries_variant_run_id_and_app_name() {
    let fake = FakePostHog::start().await;

    let events = run_through_actor(&fake, Variant::Orchestrator).await;

    // started, variant assigned, 2 task starts, completed, failed, skipped, run finished.
    assert_eq!(events.len(), 8, "{events:#?}");
    for e in &events {
        assert_eq!(e["properties"]["VARIANT"], "orchestrator", "{e}");
        assert_eq!(e["properties"]["run_id"], RUN_ID, "{e}");
        assert_eq!(e["properties"]["$app_name"], "wizard", "{e}");
        assert_eq!(e["distinct_id"], "dev@example.com", "{e}");
    }
}

#[actix_rt::test]
async fn linear_runs_are_stamped_linear() {
    let fake = FakePostHog::start().await;

    let events = run_through_actor(&fake, Variant::Linear).await;

    assert!(events
        .iter()
        .all(|e| e["properties"]["VARIANT"] == "linear"));
}

#[actix_rt::test]
async fn task_events_carry_tokens_cost_duration_and_attempts() {
    let fake = FakePostHog::start().await;

    let events = run_through_actor(&fake, Variant::Orchestrator).await;

    let completed = named(&events, names::TASK_COMPLETED);
    assert_eq!(completed.len(), 1);
    let p = &completed[0]["properties"];
    assert_eq!(p["type"], "install");
    assert_eq!(p["model"], "small");
    assert_eq!(p["input_tokens"], 1200);
    assert_eq!(p["output_tokens"], 340);
    assert_eq!(p["cache_read_tokens"], 5000);
    assert_eq!(p["cache_write_tokens"], 800);
    assert_eq!(p["cost_usd"], 0.0123);
    assert_eq!(p["attempts"], 1);
    assert_eq!(p["duration_ms"], 12_000);

    let failed = named(&events, names::TASK_FAILED);
    assert_eq!(failed[0]["properties"]["error_type"], "timeout");
    assert_eq!(failed[0]["properties"]["input_tokens"], 1200);
    let skipped = named(&events, names::TASK_SKIPPED);
    assert_eq!(skipped[0]["properties"]["blocked"], true);

    let started = named(&events, names::TASK_STARTED);
    assert_eq!(started.len(), 2);
    assert_eq!(started[0]["properties"]["ms_since_run_start"], 500);
    assert_eq!(started[1]["properties"]["gap_since_prev_start_ms"], 2_600);
}

#[actix_rt::test]
async fn run_finished_carries_verdict_responsiveness_counts_and_totals() {
    let fake = FakePostHog::start().await;

    let events = run_through_actor(&fake, Variant::Orchestrator).await;

    let finished = named(&events, names::RUN_FINISHED);
    assert_eq!(finished.len(), 1);
    let p = &finished[0]["properties"];
    assert_eq!(p["verdict"], "failed");
    assert_eq!(p["time_to_first_task_ms"], 500);
    assert_eq!(p["time_to_first_completion_ms"], 3_000);
    assert_eq!(p["max_gap_ms"], 4_900);
    assert_eq!(p["tasks_total"], 3);
    assert_eq!(p["tasks_completed"], 1);
    assert_eq!(p["tasks_failed"], 1);
    assert_eq!(p["tasks_blocked"], 1);
    assert_eq!(p["input_tokens"], 2400);
    assert_eq!(p["cost_usd"], 0.0246);
}

#[actix_rt::test]
async fn no_secret_label_path_or_handoff_text_reaches_the_server() {
    let fake = FakePostHog::start().await;
    let addr = actor_for(&fake.url())
        .with_redactions(vec![CANARY.to_string()])
        .with_variant(Variant::Orchestrator, "dev@example.com")
        .start();
    // The CLI slips: a secret inside a captured property is replaced, not sent.
    addr.send(Capture::new(names::BOOTSTRAP_COMPLETED).prop("detail", format!("token={CANARY}")))
        .await
        .unwrap();
    for e in run_events() {
        addr.send(e).await.unwrap();
    }
    addr.send(Flush).await.unwrap().unwrap();

    let batches = fake.batches();
    assert!(!batches.is_empty());
    for batch in &batches {
        assert!(
            !batch.decoded.contains(CANARY),
            "a secret reached the server: {}",
            batch.decoded
        );
        assert!(
            !batch.decoded.contains("/home/dev"),
            "a path reached the server"
        );
        assert!(
            !batch.decoded.contains(".env.local"),
            "handoff text reached the server"
        );
    }
    let events = fake.events();
    let bootstrap = named(&events, names::BOOTSTRAP_COMPLETED);
    assert_eq!(bootstrap[0]["properties"]["detail"], "[redacted]");
}

#[actix_rt::test]
async fn batches_are_gzipped_and_decode_to_the_posthog_batch_shape() {
    let fake = FakePostHog::start().await;

    run_through_actor(&fake, Variant::Orchestrator).await;

    let batches = fake.batches();
    assert!(!batches.is_empty());
    for batch in batches {
        assert_eq!(batch.content_encoding.as_deref(), Some("gzip"));
        let mut decoded = String::new();
        flate2::read::GzDecoder::new(batch.raw.as_slice())
            .read_to_string(&mut decoded)
            .expect("the raw body is gzip");
        let body: Value = serde_json::from_str(&decoded).expect("the gunzipped body is JSON");
        assert_eq!(body["api_key"], WIZARD_TOKEN);
        assert_eq!(body["historical_migration"], false);
        assert!(body["sent_at"].is_string());
        for e in body["batch"].as_array().unwrap() {
            assert!(e["uuid"].is_string() && e["timestamp"].is_string(), "{e}");
        }
    }
}

#[actix_rt::test]
async fn flush_at_exit_sends_pending_events() {
    let fake = FakePostHog::start().await;
    let addr = actor_for(&fake.url()).start();
    addr.send(AssignVariant {
        variant: Variant::Linear,
        distinct_id: "anon-1".into(),
    })
    .await
    .unwrap();
    addr.send(Capture::new(names::STARTED)).await.unwrap();
    assert_eq!(addr.send(GetTelemetryStats).await.unwrap().pending, 1);
    assert!(fake.events().is_empty(), "nothing is sent before the flush");

    addr.send(Flush).await.unwrap().unwrap();

    let events = fake.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["event"], names::STARTED);
    let stats = addr.send(GetTelemetryStats).await.unwrap();
    assert_eq!((stats.sent, stats.pending, stats.dropped), (1, 0, 0));
}

#[actix_rt::test]
async fn events_captured_before_the_variant_is_known_carry_it_once_assigned() {
    let fake = FakePostHog::start().await;
    let addr = actor_for(&fake.url()).start();
    addr.send(Capture::new(names::STARTED)).await.unwrap();
    addr.send(AssignVariant {
        variant: Variant::Orchestrator,
        distinct_id: "dev@example.com".into(),
    })
    .await
    .unwrap();

    addr.send(Flush).await.unwrap().unwrap();

    assert_eq!(fake.events()[0]["properties"]["VARIANT"], "orchestrator");
}

#[actix_rt::test]
async fn periodic_flush_sends_without_waiting_for_exit() {
    let fake = FakePostHog::start().await;
    let addr = TelemetryActor::new(Some(client_for(&fake.url())), RUN_ID)
        .with_flush_every(Duration::from_millis(20))
        .with_variant(Variant::Linear, "anon-1")
        .start();

    addr.send(Capture::new(names::STARTED)).await.unwrap();

    for _ in 0..500 {
        if !fake.events().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(fake.events().len(), 1);
}

#[actix_rt::test]
async fn a_dead_host_never_fails_or_blocks_and_flush_reports_the_loss() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let addr = actor_for(&closed)
        .with_variant(Variant::Linear, "anon-1")
        .with_exit_deadline(Duration::from_millis(300))
        .start();
    addr.send(Capture::new(names::STARTED)).await.unwrap();

    let flushed = addr.send(Flush).await.unwrap();

    assert!(flushed.is_err(), "the loss is reported for the log");
    let stats = addr.send(GetTelemetryStats).await.unwrap();
    assert_eq!((stats.sent, stats.dropped), (0, 1));
    // The actor still takes events after a failed flush.
    addr.send(Capture::new(names::STARTED)).await.unwrap();
    assert_eq!(addr.send(GetTelemetryStats).await.unwrap().pending, 1);
}

#[actix_rt::test]
async fn a_hanging_host_does_not_block_the_mailbox_and_flush_returns_at_its_deadline() {
    let fake = FakePostHog::start().await;
    fake.set_batch_behaviour(BatchBehaviour::Hang);
    let addr = TelemetryActor::new(Some(client_for(&fake.url())), RUN_ID)
        .with_flush_every(Duration::from_millis(20))
        .with_variant(Variant::Orchestrator, "anon-1")
        .with_exit_deadline(Duration::from_millis(300))
        .start();
    addr.send(Capture::new(names::STARTED)).await.unwrap();
    for _ in 0..500 {
        if !fake.batches().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        fake.batches().len(),
        1,
        "a periodic send is in flight and hanging"
    );

    // While that send hangs, the actor keeps answering.
    addr.send(Capture::new(names::BOOTSTRAP_COMPLETED))
        .await
        .unwrap();
    let stats = addr.send(GetTelemetryStats).await.unwrap();
    assert_eq!(stats.captured, 2);

    let flushed = addr.send(Flush).await.unwrap();
    assert!(flushed.is_err());
}

#[actix_rt::test]
async fn disabled_telemetry_sends_nothing_and_flushes_cleanly() {
    let addr = TelemetryActor::disabled(RUN_ID).start();
    addr.send(Capture::new(names::STARTED)).await.unwrap();
    for e in run_events() {
        addr.send(e).await.unwrap();
    }

    assert_eq!(addr.send(Flush).await.unwrap(), Ok(()));
    assert_eq!(addr.send(GetTelemetryStats).await.unwrap().captured, 0);
}

fn one_event() -> Vec<TelemetryEvent> {
    vec![TelemetryEvent {
        event: names::STARTED.into(),
        distinct_id: "anon-1".into(),
        properties: Default::default(),
        timestamp: Utc::now(),
        uuid: uuid::Uuid::new_v4(),
    }]
}

fn quick_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries: max_attempts - 1,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        idle_timeout: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn server_errors_are_retried_until_attempts_run_out() {
    let fake = FakePostHog::start().await;
    fake.set_batch_behaviour(BatchBehaviour::Status(503));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);

    let sent = client_for(&fake.url())
        .send(&one_event(), quick_retries(3), deadline)
        .await;

    assert!(
        matches!(sent, Err(TelemetryError::GaveUp { attempts: 3, .. })),
        "{sent:?}"
    );
    assert_eq!(fake.batches().len(), 3);
}

#[tokio::test]
async fn no_retry_waits_past_the_deadline() {
    let fake = FakePostHog::start().await;
    fake.set_batch_behaviour(BatchBehaviour::Status(503));
    let patient = RetryPolicy {
        base_delay: Duration::from_secs(10),
        max_delay: Duration::from_secs(10),
        ..quick_retries(5)
    };
    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_secs(2);

    let sent = client_for(&fake.url())
        .send(&one_event(), patient, deadline)
        .await;

    // The first backoff (7.5-10 s) would end past the deadline: one attempt, no wait.
    assert!(
        matches!(sent, Err(TelemetryError::GaveUp { attempts: 1, .. })),
        "{sent:?}"
    );
    assert_eq!(fake.batches().len(), 1);
    assert!(
        tokio::time::Instant::now() < deadline,
        "the send waited past its deadline"
    );
}

#[tokio::test]
async fn a_batch_past_its_deadline_is_not_sent() {
    let fake = FakePostHog::start().await;
    let deadline = tokio::time::Instant::now();

    let sent = client_for(&fake.url())
        .send(&one_event(), quick_retries(3), deadline)
        .await;

    assert!(
        matches!(sent, Err(TelemetryError::GaveUp { attempts: 0, .. })),
        "{sent:?}"
    );
    assert!(fake.batches().is_empty());
}

#[tokio::test]
async fn a_refused_batch_is_not_retried() {
    let fake = FakePostHog::start().await;
    fake.set_batch_behaviour(BatchBehaviour::Status(400));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);

    let sent = client_for(&fake.url())
        .send(&one_event(), quick_retries(3), deadline)
        .await;

    assert_eq!(sent, Err(TelemetryError::Refused { status: 400 }));
    assert_eq!(fake.batches().len(), 1);
}

#[test]
fn telemetry_is_off_with_the_flag_do_not_track_or_no_project() {
    use wizard::telemetry::TelemetrySetting;
    let configured = |extra: Option<(&'static str, &'static str)>| {
        move |name: &str| match name {
            "WIZARD_TELEMETRY_HOST" => Some("http://127.0.0.1:1".to_string()),
            "WIZARD_TELEMETRY_TOKEN" => Some(WIZARD_TOKEN.to_string()),
            other => extra
                .filter(|(k, _)| *k == other)
                .map(|(_, v)| v.to_string()),
        }
    };
    assert!(TelemetrySetting::resolve(false, &configured(None))
        .target()
        .is_some());
    assert!(TelemetrySetting::resolve(true, &configured(None))
        .target()
        .is_none());
    assert!(
        TelemetrySetting::resolve(false, &configured(Some(("DO_NOT_TRACK", "1"))))
            .target()
            .is_none()
    );
    assert!(
        TelemetrySetting::resolve(false, &configured(Some(("DO_NOT_TRACK", "0"))))
            .target()
            .is_some()
    );
    assert!(TelemetrySetting::resolve(false, &|_: &str| None)
        .target()
        .is_none());
}

#[tokio::test]
async fn the_fake_accepts_plain_json_and_refuses_events_without_a_distinct_id() {
    let fake = FakePostHog::start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/batch/", fake.url());

    let plain = json!({"api_key": WIZARD_TOKEN, "batch": [{"event": "e", "distinct_id": "d", "properties": {}}]});
    let accepted = http.post(&url).json(&plain).send().await.unwrap();
    let anonymous = json!({"api_key": WIZARD_TOKEN, "batch": [{"event": "e", "properties": {}}]});
    let refused = http.post(&url).json(&anonymous).send().await.unwrap();

    assert_eq!(accepted.status(), 200);
    assert_eq!(refused.status(), 400);
    let batches = fake.batches();
    assert!(!batches[0].gzipped);
    assert_eq!(batches[0].events.len(), 1);
}
