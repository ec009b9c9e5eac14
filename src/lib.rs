//! wizard: integrates PostHog into an app with a queue of small, fresh-context AI agents.
//!
//! The runner is product-ignorant: everything about PostHog lives in
//! `content/`. See `docs/ARCHITECTURE.md` for how the parts fit.

pub mod actors;
pub mod agent;
pub mod atomic_file;
pub mod auth;
pub mod cancel;
pub mod cli;
pub mod clock;
pub mod content;
pub mod detect;
pub mod exit;
pub mod logging;
pub mod messages;
pub mod providers;
pub mod queue;
pub mod report;
pub mod runner;
pub mod secrets;
pub mod telemetry;
pub mod tools;
pub mod ui;
pub mod verify;
