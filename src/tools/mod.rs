//! The tools an agent may call, and the permissions that fence them.
//!
//! Every tool checks its permission in Rust before it touches anything; a
//! refusal is a [`ToolError`] whose text names the rule, returned to the
//! model as an error result. Nothing here trusts the model's input.

pub mod context;
pub mod mcp;
pub mod queue_tools;

pub use context::*;
