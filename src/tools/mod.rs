//! The tools an agent may call, and the permissions that fence them.
//!
//! Every tool checks its permission in Rust before it touches anything; a
//! refusal is a [`ToolError`] whose text names the rule, returned to the
//! model as an error result. Nothing here trusts the model's input.
//!
//! [`ToolRegistry::builtin`] holds every tool defined here; the queue and MCP
//! tools are added to it by their owners with [`ToolRegistry::insert`].

pub mod asks;
pub mod bash;
pub mod context;
pub mod env;
pub mod fs;
pub mod input;
pub mod mcp;
pub mod package_manager;
pub mod paths;
pub mod permissions;
pub mod queue_tools;
pub mod registry;

pub use context::*;
pub use permissions::check_tool_allowed;
pub use registry::ToolRegistry;

/// Runs file-system work on tokio's blocking pool, so an actor thread never waits on a disk.
pub(crate) async fn run_blocking<T, F>(work: F) -> Result<T, ToolError>
where
    F: FnOnce() -> Result<T, ToolError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ToolError::Failed(format!("the tool's worker stopped unexpectedly: {e}")))?
}
