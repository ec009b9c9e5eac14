//! The protocol between actors: plain serde data, no behaviour.
//!
//! Everything that crosses an actor boundary or lands in a file a run leaves
//! (`queue.json`, `audit.jsonl`, `handoffs/`) is defined here, so tests can
//! build messages by hand and assert on replies and events.

mod asks;
mod events;
mod handoff;
mod queue_file;
mod requests;
mod stats;
mod task;
mod telemetry;
mod ui;
mod verification;

pub use asks::*;
pub use events::*;
pub use handoff::*;
pub use queue_file::*;
pub use requests::*;
pub use stats::*;
pub use task::*;
pub use telemetry::*;
pub use ui::*;
pub use verification::*;
