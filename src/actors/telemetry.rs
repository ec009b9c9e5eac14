//! TelemetryActor: batches the run's telemetry and sends it without ever holding the run up.
//!
//! Owns: the events not yet sent, the run's responsiveness metrics, the
//! run's identity for telemetry (variant, distinct id). Takes:
//! * [`QueueEvent`]s (as a subscriber): task and run events derived by
//!   [`telemetry_for`];
//! * [`Capture`]: an event the CLI sends (`wizard started`, `wizard bootstrap
//!   completed`, `wizard variant assigned`…);
//! * [`AssignVariant`]: the variant and distinct id, once decided. Events
//!   wait until then so every one carries the right `VARIANT`;
//! * [`Flush`]: send what is pending and wait for sends in flight, at most the
//!   exit deadline (2 s by default). It replies `Err` with what was lost, for
//!   the log only: telemetry never fails a run.
//! * [`GetTelemetryStats`]: counters, for tests and benchmarks.
//!
//! Sends run as spawned tasks, never inside a handler, so a slow or dead
//! telemetry host never blocks the mailbox. Every event gets `VARIANT`,
//! `run_id` and `$app_name: wizard`; every string property that contains a
//! known secret is replaced before it is queued. With telemetry off the actor
//! accepts everything and sends nothing.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::messages::{
    AssignVariant, Capture, Flush, GetTelemetryStats, QueueEvent, TelemetryStats, Variant,
};
use crate::telemetry::event::props;
use crate::telemetry::from_queue::telemetry_for;
use crate::telemetry::{RetryPolicy, RunMetrics, TelemetryClient, TelemetryError, TelemetryEvent};

/// How often pending events are sent.
pub const FLUSH_EVERY: Duration = Duration::from_secs(3);
/// How long [`Flush`] waits at exit.
pub const EXIT_DEADLINE: Duration = Duration::from_secs(2);
/// How long a periodic send may keep retrying.
const PERIODIC_DEADLINE: Duration = Duration::from_secs(20);
/// Events per `/batch/` request.
const BATCH_SIZE: usize = 100;
/// Events kept while waiting; older ones are dropped first.
const MAX_PENDING: usize = 2_000;

/// An event as captured, before the variant and distinct id are stamped on.
#[derive(Debug, Clone)]
struct Pending {
    name: String,
    props: Map<String, Value>,
    timestamp: DateTime<Utc>,
    uuid: uuid::Uuid,
}

/// Counters shared with the spawned sends.
#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    dropped: AtomicU64,
}

/// The telemetry actor.
pub struct TelemetryActor {
    client: Option<TelemetryClient>,
    run_id: String,
    identity: Option<(Variant, String)>,
    pending: VecDeque<Pending>,
    metrics: RunMetrics,
    redactions: crate::secrets::Redactor,
    flush_every: Duration,
    exit_deadline: Duration,
    retry: RetryPolicy,
    in_flight: Vec<JoinHandle<Result<(), TelemetryError>>>,
    captured: u64,
    counters: Arc<Counters>,
}

impl TelemetryActor {
    /// An actor that sends through `client` (`None`: telemetry off) for the run `run_id`.
    pub fn new(client: Option<TelemetryClient>, run_id: impl Into<String>) -> Self {
        Self {
            client,
            run_id: run_id.into(),
            identity: None,
            pending: VecDeque::new(),
            metrics: RunMetrics::with_fallback_start(crate::clock::now_ms()),
            redactions: crate::secrets::Redactor::default(),
            flush_every: FLUSH_EVERY,
            exit_deadline: EXIT_DEADLINE,
            retry: crate::telemetry::default_retry(),
            in_flight: Vec::new(),
            captured: 0,
            counters: Arc::default(),
        }
    }

    /// An actor that sends nothing.
    pub fn disabled(run_id: impl Into<String>) -> Self {
        Self::new(None, run_id)
    }

    /// Replaces any string property containing one of these values (the run's secrets).
    pub fn with_redactions(mut self, secrets: impl IntoIterator<Item = String>) -> Self {
        self.redactions = crate::secrets::Redactor::new(secrets);
        self
    }

    /// Sets how often pending events are sent.
    pub fn with_flush_every(mut self, every: Duration) -> Self {
        self.flush_every = every;
        self
    }

    /// Sets how long [`Flush`] waits.
    pub fn with_exit_deadline(mut self, deadline: Duration) -> Self {
        self.exit_deadline = deadline;
        self
    }

    /// Sets how hard each batch is retried.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The same, already knowing the variant (for runs routed before the actor starts).
    pub fn with_variant(mut self, variant: Variant, distinct_id: impl Into<String>) -> Self {
        self.identity = Some((variant, distinct_id.into()));
        self
    }

    fn enqueue(&mut self, name: &str, mut props: Map<String, Value>) {
        if self.client.is_none() {
            return;
        }
        for value in props.values_mut() {
            self.redactions.redact_json_strings(value);
        }
        self.captured += 1;
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.pending.push_back(Pending {
            name: name.to_string(),
            props,
            timestamp: Utc::now(),
            uuid: uuid::Uuid::new_v4(),
        });
    }

    /// Stamps the common properties on. Before a variant is assigned, only an
    /// exit flush sends, with `VARIANT: unassigned` and the run id as distinct id.
    fn stamp(&self, event: Pending) -> TelemetryEvent {
        let (variant, distinct_id) = match &self.identity {
            Some((variant, id)) => (variant.name(), id.clone()),
            None => ("unassigned", self.run_id.clone()),
        };
        let mut properties = event.props;
        properties.insert(props::VARIANT.into(), json!(variant));
        properties.insert(props::RUN_ID.into(), json!(self.run_id));
        properties.insert(props::APP_NAME.into(), json!("wizard"));
        properties.insert("$lib".into(), json!("wizard"));
        properties.insert("$lib_version".into(), json!(env!("CARGO_PKG_VERSION")));
        TelemetryEvent {
            event: event.name,
            distinct_id,
            properties,
            timestamp: event.timestamp,
            uuid: event.uuid,
        }
    }

    /// Spawns one send per batch of pending events, each retried until `deadline`.
    fn send_pending(&mut self, deadline: Instant) {
        self.in_flight.retain(|handle| !handle.is_finished());
        let Some(client) = self.client.clone() else {
            return;
        };
        while !self.pending.is_empty() {
            let take = self.pending.len().min(BATCH_SIZE);
            let batch: Vec<TelemetryEvent> = self
                .pending
                .drain(..take)
                .collect::<Vec<_>>()
                .into_iter()
                .map(|e| self.stamp(e))
                .collect();
            let client = client.clone();
            let counters = self.counters.clone();
            let retry = self.retry;
            self.in_flight.push(tokio::spawn(async move {
                let result = client.send(&batch, retry, deadline).await;
                let n = batch.len() as u64;
                match &result {
                    Ok(()) => counters.sent.fetch_add(n, Ordering::Relaxed),
                    Err(e) => {
                        tracing::warn!("telemetry: {n} event(s) dropped: {e}");
                        counters.dropped.fetch_add(n, Ordering::Relaxed)
                    }
                };
                result
            }));
        }
    }
}

impl Actor for TelemetryActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Past this backlog the audit writer drops activity events (unused here).
        ctx.set_mailbox_capacity(super::audit::COALESCE_MAILBOX);
        if self.client.is_none() {
            return;
        }
        ctx.run_interval(self.flush_every, |act, _ctx| {
            if act.identity.is_some() {
                act.send_pending(Instant::now() + PERIODIC_DEADLINE);
            }
        });
    }
}

impl Handler<QueueEvent> for TelemetryActor {
    type Result = ();

    fn handle(&mut self, event: QueueEvent, _ctx: &mut Self::Context) {
        if let Some((name, props)) = telemetry_for(&event, &mut self.metrics) {
            self.enqueue(name, props);
        }
    }
}

impl Handler<Capture> for TelemetryActor {
    type Result = ();

    fn handle(&mut self, msg: Capture, _ctx: &mut Self::Context) {
        self.enqueue(&msg.name, msg.props);
    }
}

impl Handler<AssignVariant> for TelemetryActor {
    type Result = ();

    fn handle(&mut self, msg: AssignVariant, _ctx: &mut Self::Context) {
        self.identity = Some((msg.variant, msg.distinct_id));
    }
}

impl Handler<GetTelemetryStats> for TelemetryActor {
    type Result = TelemetryStats;

    fn handle(&mut self, _msg: GetTelemetryStats, _ctx: &mut Self::Context) -> TelemetryStats {
        TelemetryStats {
            captured: self.captured,
            sent: self.counters.sent.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            pending: self.pending.len() as u64,
        }
    }
}

impl Handler<Flush> for TelemetryActor {
    type Result = ResponseFuture<Result<(), String>>;

    fn handle(&mut self, _msg: Flush, _ctx: &mut Self::Context) -> Self::Result {
        let deadline = Instant::now() + self.exit_deadline;
        self.send_pending(deadline);
        let sends = std::mem::take(&mut self.in_flight);
        Box::pin(async move {
            let mut problems = Vec::new();
            for send in sends {
                match tokio::time::timeout_at(deadline, send).await {
                    Ok(Ok(Ok(()))) => {}
                    Ok(Ok(Err(e))) => problems.push(e.to_string()),
                    Ok(Err(e)) => problems.push(format!("a telemetry send stopped: {e}")),
                    Err(_) => problems
                        .push("a telemetry send was still running at the exit deadline".into()),
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("; "))
            }
        })
    }
}
