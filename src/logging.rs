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
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    Ok(())
}
