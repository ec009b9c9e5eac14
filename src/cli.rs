//! The command line: flags in, a run out, an exit code back.
//!
//! Exit codes: 0 success, 1 the run failed, 2 usage or configuration error,
//! 130 interrupted.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::actors::persist::files;
use crate::actors::ui::UiMode;
use crate::agent::stub::{stub_catalogue, StubBackend};
use crate::messages::{QueueFile, RunInfo, Variant, Verdict};
use crate::queue::QueueLimits;
use crate::runner::lock::RunLock;
use crate::runner::orchestrated::{self, RunSetup};

/// Exit code for a successful run.
pub const EXIT_OK: i32 = 0;
/// Exit code for a run that failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code for a usage or configuration error.
pub const EXIT_USAGE: i32 = 2;
/// Exit code for an interrupted run.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Integrate PostHog into your app with a queue of small AI agents.
#[derive(Debug, Parser)]
#[command(name = "wizard", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Integrate PostHog into the app in DIR.
    Integrate(IntegrateArgs),
    /// Show the last run's queue in DIR.
    Status {
        /// The app's directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

/// How the run is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UiChoice {
    /// The terminal UI when stdout is a terminal, else plain.
    Auto,
    /// The terminal UI.
    Tui,
    /// One line per transition.
    Plain,
    /// One JSON object per event.
    Json,
}

#[derive(Debug, Args)]
struct IntegrateArgs {
    /// The app's directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Tasks that may run at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// How the run is shown.
    #[arg(long, value_enum, default_value_t = UiChoice::Auto)]
    ui: UiChoice,
    /// Most tasks a run may hold.
    #[arg(long, default_value_t = 30)]
    max_tasks: usize,
    /// Deepest enqueue level.
    #[arg(long, default_value_t = 3)]
    max_depth: u32,
    /// Attempts per task.
    #[arg(long, default_value_t = 2)]
    max_attempts: u32,
    /// Answer yes to every question.
    #[arg(long, short)]
    yes: bool,
    /// Milliseconds each stub task takes (the stub backend only).
    #[arg(long, default_value_t = 300, hide = true)]
    stub_delay_ms: u64,
}

/// Parses the command line and runs it; returns the process exit code.
pub fn main() -> i32 {
    crate::clock::start();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    let result = match cli.command {
        Command::Integrate(args) => integrate(args),
        Command::Status { dir } => status(&dir),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wizard: {e:#}");
            EXIT_USAGE
        }
    }
}

fn resolve_ui(choice: UiChoice) -> UiMode {
    use std::io::IsTerminal;
    match choice {
        UiChoice::Json => UiMode::Json,
        UiChoice::Plain => UiMode::Plain,
        UiChoice::Tui => UiMode::Tui,
        UiChoice::Auto if std::io::stdout().is_terminal() => UiMode::Tui,
        UiChoice::Auto => UiMode::Plain,
    }
}

fn integrate(args: IntegrateArgs) -> Result<i32> {
    let install_dir = args
        .dir
        .canonicalize()
        .with_context(|| format!("cannot open the app directory {}", args.dir.display()))?;
    let state_dir = install_dir.join(files::STATE_DIR);
    let _lock = RunLock::acquire(&state_dir)?;
    init_logging(&state_dir)?;
    let limits = QueueLimits {
        max_tasks: args.max_tasks,
        max_depth: args.max_depth,
        max_attempts: args.max_attempts.max(1),
        concurrency: args.concurrency.max(1),
        ..QueueLimits::default()
    };
    let run = RunInfo {
        run_id: uuid::Uuid::new_v4().to_string(),
        variant: Variant::Orchestrator,
        install_dir: install_dir.display().to_string(),
        created_at: chrono::Utc::now(),
        framework: None,
        concurrency: limits.concurrency,
        content_hash: None,
    };
    let backend = Arc::new(StubBackend::new(
        state_dir.clone(),
        Duration::from_millis(args.stub_delay_ms),
    ));
    let setup = RunSetup {
        state_dir,
        limits,
        catalogue: stub_catalogue(),
        backend,
        ui: resolve_ui(args.ui),
        run,
        resume: None,
        budget: None,
        subscribers: Vec::new(),
        coalesce: Duration::from_millis(50),
        fail_queue_writes: false,
    };
    let result = actix::System::new().block_on(orchestrated::run(setup));
    for e in &result.storage_errors {
        eprintln!("wizard: {e}");
    }
    Ok(exit_code(result.outcome.verdict))
}

/// The exit code for a verdict.
pub fn exit_code(verdict: Verdict) -> i32 {
    match verdict {
        Verdict::Success => EXIT_OK,
        Verdict::Failed | Verdict::BudgetExhausted => EXIT_FAILED,
        Verdict::Interrupted => EXIT_INTERRUPTED,
    }
}

fn status(dir: &Path) -> Result<i32> {
    let path = dir.join(files::STATE_DIR).join(files::QUEUE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no run found: cannot read {}", path.display()))?;
    let file: QueueFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid queue file", path.display()))?;
    for t in &file.tasks {
        println!(
            "{:<16} {:<10} {:<8} {}",
            t.id,
            t.status.name(),
            t.model,
            t.label
        );
    }
    Ok(EXIT_OK)
}

/// Sends tracing output to `<state_dir>/wizard.log`, never to the terminal.
fn init_logging(state_dir: &Path) -> Result<()> {
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
