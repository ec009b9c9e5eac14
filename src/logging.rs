//! Logging set-up: tracing output goes to the run's log file, never to the terminal
//! (it would tear the TUI). Called by the runner once the state folder exists.

use std::path::Path;

use anyhow::{Context, Result};

use crate::actors::persist::files;

/// Sends tracing output to `<state_dir>/wizard.log`; `WIZARD_LOG` sets the filter.
pub fn init_logging(state_dir: &Path) -> Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(state_dir.join(files::LOG))
        .with_context(|| format!("cannot open the log file in {}", state_dir.display()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("WIZARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Lines go to a thread of their own: a slow disk never stalls the actor
    // that logs (past its 128k-line buffer, lines are dropped, never waited for).
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .thread_name("wizard-log")
        .finish(file);
    if tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer)
        .try_init()
        .is_ok()
    {
        if let Ok(mut slot) = LOG_GUARD.lock() {
            *slot = Some(guard);
        }
    }
    Ok(())
}

/// The log writer's guard: dropping it writes out what is still buffered.
static LOG_GUARD: std::sync::Mutex<Option<tracing_appender::non_blocking::WorkerGuard>> =
    std::sync::Mutex::new(None);

/// Writes out the log lines still buffered (before the process exits: statics are never dropped).
pub fn flush_logs() {
    let guard = LOG_GUARD.lock().ok().and_then(|mut slot| slot.take());
    drop(guard);
}
