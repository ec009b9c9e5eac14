//! Messages that ask an actor for its counters, and the counters they return:
//! what benchmarks and tests read after a run.

use actix::prelude::*;
use serde::Serialize;

/// Counters a benchmark reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistStats {
    /// `queue.json` writes.
    pub queue_writes: u64,
    /// Bytes written to `queue.json` over all writes.
    pub queue_bytes: u64,
    /// Bytes appended to `audit.jsonl`.
    pub audit_bytes: u64,
    /// Handoff files written.
    pub handoff_writes: u64,
}

/// Ask for the counters.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "PersistStats")]
pub struct GetStats;

/// Ask for the counters.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "TelemetryStats")]
pub struct GetTelemetryStats;

/// What the actor has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, MessageResponse)]
pub struct TelemetryStats {
    /// Events accepted (captured or derived).
    pub captured: u64,
    /// Events the server accepted.
    pub sent: u64,
    /// Events given up on (send failed, or the pending queue overflowed).
    pub dropped: u64,
    /// Events waiting to be sent.
    pub pending: u64,
}
