//! The actors of a run. See each file's header for what it owns.
//!
//! QueueActor owns all task state; TaskAgents run one attempt at a time;
//! the Orchestrator seeds and waits for the end; PersistActor, UiActor and
//! TelemetryActor subscribe to [`QueueEvent`](crate::messages::QueueEvent)s
//! and own nothing.

pub mod audit;
pub mod orchestrator;
pub mod persist;
pub mod queue;
pub mod task_agent;
pub mod telemetry;
pub mod ui;
