//! The process clock: every event's `t_ms` counts from the process start.

use std::sync::OnceLock;
use std::time::Instant;

static START: OnceLock<Instant> = OnceLock::new();

/// Fixes the process start. Call first thing in `main`; later calls do nothing.
pub fn start() {
    START.get_or_init(Instant::now);
}

/// Milliseconds since [`start`] (or since the first call, if `start` was never called).
pub fn now_ms() -> u64 {
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}
