//! Telemetry: the wizard's own usage events, sent to its own PostHog project.
//!
//! A small PostHog client on reqwest, split by job:
//! * [`target`]: where events go, or why they go nowhere (`--no-telemetry`,
//!   `DO_NOT_TRACK`, no project configured);
//! * [`event`]: the event names and the wire shape of one event;
//! * [`client`]: `/batch/` requests, gzip-compressed, retried with backoff
//!   within a deadline;
//! * [`metrics`]: responsiveness numbers (time to first task, longest silence);
//! * [`from_queue`]: which [`QueueEvent`](crate::messages::QueueEvent)s become
//!   which telemetry events, with which properties.
//!
//! The actor that batches and flushes is [`crate::actors::telemetry`]. What
//! an event may carry is narrow on purpose: types, ids, numbers, verdicts;
//! never a secret, a handoff, task inputs, a label or a path.

pub mod client;
pub mod event;
pub mod from_queue;
pub mod metrics;
pub mod target;

pub use client::{default_retry, RetryPolicy, TelemetryClient, TelemetryError};
pub use event::{names, TelemetryEvent};
pub use metrics::{MetricsSummary, RunMetrics};
pub use target::{TelemetrySetting, TelemetryTarget};
