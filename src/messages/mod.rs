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
mod task;
mod verification;

pub use asks::*;
pub use events::*;
pub use handoff::*;
pub use queue_file::*;
pub use requests::*;
pub use task::*;
pub use verification::*;
