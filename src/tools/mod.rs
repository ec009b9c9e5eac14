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
pub mod child_env;
pub mod context;
pub mod env;
pub mod executed_config;
pub mod file_locks;
pub mod fs;
pub mod input;
pub mod install_lock;
pub mod mcp;
pub mod package_args;
pub mod package_manager;
pub mod paths;
pub mod permissions;
pub mod process;
pub mod queue_tools;
pub mod registry;

pub use context::*;
pub use permissions::{check_tool_allowed, is_loaded_env_file_name};
pub use registry::ToolRegistry;

/// Runs file-system work on tokio's blocking pool, so an actor thread never waits on a disk.
///
/// A blocking call cannot be interrupted, so when the task's token is
/// cancelled (interrupt, time limit, budget stop, end of the run) the call is
/// abandoned: this returns at once and the thread finishes on its own; the
/// work sees the cancellation through [`crate::cancel::blocking_cancelled`]
/// and must not apply a change after it.
pub(crate) async fn run_blocking<T, F>(work: F) -> Result<T, ToolError>
where
    F: FnOnce() -> Result<T, ToolError> + Send + 'static,
    T: Send + 'static,
{
    let token = crate::cancel::current();
    let carried = token.clone();
    let handle = tokio::task::spawn_blocking(move || crate::cancel::in_blocking(carried, work));
    let joined = match token {
        Some(token) => tokio::select! {
            joined = handle => joined,
            () = token.cancelled() => {
                return Err(ToolError::Failed(
                    "the task was stopped; the file work was abandoned".into(),
                ))
            }
        },
        None => handle.await,
    };
    joined.map_err(|e| ToolError::Failed(format!("the tool's worker stopped unexpectedly: {e}")))?
}
