//! `wizard integrate`: from flags to a verdict.
//!
//! Loads and validates the content (before any model call), picks the model
//! client, detects the framework, decides between resuming and a fresh run,
//! builds the task agents' backend, runs the queue, then writes the run
//! report and prints the outro. The one place where the runners meet.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

use crate::actors::persist::{files, write_atomic};
use crate::actors::queue::Budget;
use crate::actors::ui::UiMode;
use crate::agent::backend::ModelBackend;
use crate::agent::prompt::ProjectContext;
use crate::agent::AgentBackend;
use crate::content::{self, ContentSet, ContentSource};
use crate::messages::{QueueFile, RunInfo, RunOutcome, Variant};
use crate::providers::anthropic::{AnthropicClient, AnthropicConfig};
use crate::providers::openai::{OpenAiClient, OpenAiConfig};
use crate::providers::pricing::ModelTable;
use crate::providers::replay::ReplayClient;
use crate::providers::ModelClient;
use crate::queue::QueueLimits;
use crate::runner::linear::{linear_catalogue, LinearBackend};
use crate::runner::lock::RunLock;
use crate::runner::orchestrated::{self, RunResult, RunSetup};
use crate::runner::resume;
use crate::tools::{BashLimits, Secrets, ToolContext, ToolRegistry};
use crate::ui::outro::{outro_text, OutroContext};

/// Environment variables that may hold a model provider's credential.
const PROVIDER_KEY_VARS: [&str; 3] = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "OPENAI_API_KEY",
];

/// Which model client runs the agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderChoice {
    /// The Anthropic Messages API (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`).
    Anthropic,
    /// An OpenAI-compatible server (`OPENAI_BASE_URL`, `OPENAI_API_KEY`).
    Openai,
    /// A scripted cassette (offline).
    Replay,
    /// No model: stub tasks that write a file each (machinery tests).
    #[value(hide = true)]
    Stub,
}

/// Whether to continue an unfinished run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeChoice {
    /// Ask when stdin is a terminal; otherwise start fresh only if told.
    Ask,
    /// Continue it.
    Resume,
    /// Start over.
    Fresh,
}

/// Everything `integrate`, `resume` and `demo` share.
#[derive(Debug, Clone)]
pub struct IntegrateOptions {
    /// The app's directory.
    pub dir: PathBuf,
    /// Queue limits.
    pub limits: QueueLimits,
    /// How the run is shown.
    pub ui: UiMode,
    /// Answer yes to questions.
    pub yes: bool,
    /// The model client (None: pick from the environment).
    pub provider: Option<ProviderChoice>,
    /// A cassette path or name (replay).
    pub cassette: Option<String>,
    /// Replay latency factor (1 = realistic, 0 = instant).
    pub replay_speed: f64,
    /// `--content`.
    pub content: Option<String>,
    /// Which runner.
    pub variant: Variant,
    /// The project token (a secret).
    pub project_token: Option<String>,
    /// The ingestion host.
    pub host: String,
    /// Budget limits.
    pub budget: Option<Budget>,
    /// Resume behaviour.
    pub resume: ResumeChoice,
    /// When set, Bash commands are not run, for this reason.
    pub skip_commands: Option<String>,
    /// How long each stub task takes (`--provider stub`).
    pub stub_delay: Duration,
}

/// Runs `integrate` (or `resume`) and returns the exit code.
pub fn integrate(opts: IntegrateOptions) -> Result<i32> {
    let install_dir = opts
        .dir
        .canonicalize()
        .with_context(|| format!("cannot open the app directory {}", opts.dir.display()))?;
    let state_dir = install_dir.join(files::STATE_DIR);
    let _lock = RunLock::acquire(&state_dir)?;
    crate::cli::init_logging(&state_dir)?;
    actix::System::new().block_on(run(opts, install_dir, state_dir))
}

async fn run(opts: IntegrateOptions, install_dir: PathBuf, state_dir: PathBuf) -> Result<i32> {
    let source = ContentSource::parse(opts.content.as_deref());
    let content = match content::load(&source).await {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("wizard: the content in {source} is not valid:");
            for e in errors.iter() {
                eprintln!("  {e}");
            }
            return Ok(crate::cli::EXIT_USAGE);
        }
    };
    let models =
        ModelTable::parse(&content.models_yaml).map_err(|e| anyhow!("content models.yaml: {e}"))?;
    let model_errors = content.validate_models(|m| models.is_known(m));
    if !model_errors.is_empty() {
        eprintln!("wizard: the content in {source} is not valid:");
        for e in &model_errors {
            eprintln!("  {e}");
        }
        return Ok(crate::cli::EXIT_USAGE);
    }
    if let Some(text) = content.text(crate::content::product::PRODUCT_FILE) {
        crate::content::product::ProductInfo::parse(text)?;
    }
    let content = Arc::new(content);
    if opts.provider == Some(ProviderChoice::Stub) {
        return run_stub(&opts, &content, install_dir, state_dir).await;
    }
    let (client, provider) = model_client(&opts, &content, &models)?;

    let rules = content.frameworks.clone();
    let dir = install_dir.clone();
    let detection = tokio::task::spawn_blocking(move || content::detect(&dir, &rules))
        .await
        .context("framework detection stopped")?;
    tracing::info!(reason = %detection.reason, "detection");

    let resume_file = decide_resume(&opts, &state_dir, &content)?;
    let framework_name = detection.framework.as_ref().map(|f| f.name.clone());
    let framework_id = detection.framework.as_ref().map(|f| f.id.clone());

    let mut secrets = Secrets::default();
    secrets.insert(
        "posthog_project_token",
        opts.project_token
            .clone()
            .unwrap_or_else(|| "phc_demo_placeholder".into()),
    );
    // The host is public (it is in every prompt's project facts); it is named only
    // so set_env_values can write it, and must never be redacted from what agents read.
    secrets.insert_public("posthog_host", opts.host.clone());
    // Provider keys in the environment are secrets too: a command an agent runs
    // (`printenv`, a build script) must neither see them nor echo them to a model.
    for var in PROVIDER_KEY_VARS {
        if let Some(key) = std::env::var(var).ok().filter(|k| !k.trim().is_empty()) {
            secrets.insert_hidden(key);
        }
    }

    let example_path = match detection.framework.as_ref().and_then(|f| f.example.clone()) {
        Some(example) => write_example(&state_dir, &content, &example),
        None => None,
    };
    let project = ProjectContext {
        install_dir: install_dir.display().to_string(),
        framework: framework_name.clone(),
        package_manager: detection.package_manager.as_ref().map(|p| p.name.clone()),
        facts: vec![("Host".into(), opts.host.clone())],
        example_path,
        secret_names: secrets.names().map(str::to_string).collect(),
    };
    let base_ctx = ToolContext {
        install_dir: install_dir.clone(),
        permissions: Default::default(),
        secrets,
        bash: BashLimits {
            skip_reason: opts.skip_commands.clone(),
            ..BashLimits::default()
        },
        package_managers: content.package_managers.clone(),
    };
    let tools = ToolRegistry::builtin().tools();
    let models = Arc::new(models);
    let (backend, catalogue): (Arc<dyn AgentBackend>, _) = match opts.variant {
        Variant::Orchestrator => (
            Arc::new(ModelBackend::new(
                client,
                provider,
                content.clone(),
                models,
                tools,
                base_ctx,
                project,
                framework_id,
            )),
            content.catalogue(),
        ),
        Variant::Linear => (
            Arc::new(LinearBackend::new(
                client,
                provider,
                content.clone(),
                models,
                tools,
                base_ctx,
                project,
                framework_id,
            )),
            linear_catalogue(&format!("Integrate {}", content.product().name)),
        ),
    };

    let run_info = match &resume_file {
        Some(file) => RunInfo {
            concurrency: opts.limits.concurrency,
            ..file.run_info()
        },
        None => RunInfo {
            run_id: uuid::Uuid::new_v4().to_string(),
            variant: opts.variant,
            install_dir: install_dir.display().to_string(),
            created_at: chrono::Utc::now(),
            framework: framework_name,
            concurrency: opts.limits.concurrency,
            content_hash: Some(content.content_hash()),
        },
    };
    let variant = run_info.variant;
    let setup = RunSetup {
        state_dir: state_dir.clone(),
        limits: opts.limits.clone(),
        catalogue,
        backend,
        ui: opts.ui,
        run: run_info,
        resume: resume_file,
        budget: opts.budget,
        subscribers: Vec::new(),
        coalesce: Duration::from_millis(50),
        fail_queue_writes: std::env::var_os("WIZARD_FAIL_QUEUE_WRITES").is_some(),
    };
    let result = orchestrated::run(setup).await;
    finish(&opts, &install_dir, &state_dir, &content, variant, result)
}

/// The walking skeleton: the stub graph through the real machinery, no model.
async fn run_stub(
    opts: &IntegrateOptions,
    content: &ContentSet,
    install_dir: PathBuf,
    state_dir: PathBuf,
) -> Result<i32> {
    use crate::agent::stub::{stub_catalogue, StubBackend};
    let resume_file = decide_resume(opts, &state_dir, content)?;
    let run_info = match &resume_file {
        Some(file) => RunInfo {
            concurrency: opts.limits.concurrency,
            ..file.run_info()
        },
        None => RunInfo {
            run_id: uuid::Uuid::new_v4().to_string(),
            variant: Variant::Orchestrator,
            install_dir: install_dir.display().to_string(),
            created_at: chrono::Utc::now(),
            framework: None,
            concurrency: opts.limits.concurrency,
            content_hash: None,
        },
    };
    let setup = RunSetup {
        state_dir: state_dir.clone(),
        limits: opts.limits.clone(),
        catalogue: stub_catalogue(),
        backend: Arc::new(StubBackend::new(state_dir.clone(), opts.stub_delay)),
        ui: opts.ui,
        run: run_info,
        resume: resume_file,
        budget: opts.budget,
        subscribers: Vec::new(),
        coalesce: Duration::from_millis(50),
        fail_queue_writes: std::env::var_os("WIZARD_FAIL_QUEUE_WRITES").is_some(),
    };
    let result = orchestrated::run(setup).await;
    finish(
        opts,
        &install_dir,
        &state_dir,
        content,
        Variant::Orchestrator,
        result,
    )
}

fn finish(
    opts: &IntegrateOptions,
    install_dir: &Path,
    state_dir: &Path,
    content: &ContentSet,
    variant: Variant,
    result: RunResult,
) -> Result<i32> {
    let reports = match crate::report::write_reports(state_dir, &result.view) {
        Ok(paths) => Some(paths),
        Err(e) => {
            eprintln!("wizard: {e}");
            None
        }
    };
    for e in &result.storage_errors {
        eprintln!("wizard: {e}");
    }
    let product = content.product();
    let ctx = OutroContext {
        product: &product.name,
        user_report: product.user_report.as_deref(),
        install_dir,
        variant,
    };
    let outro = outro_text(&result.outcome, &result.view, reports.as_ref(), &ctx);
    if opts.ui == UiMode::Json {
        eprintln!("{outro}");
    } else if opts.ui != UiMode::Quiet {
        println!("\n{outro}");
    }
    Ok(exit_code(&result.outcome))
}

fn exit_code(outcome: &RunOutcome) -> i32 {
    crate::cli::exit_code(outcome.verdict)
}

fn model_client(
    opts: &IntegrateOptions,
    content: &ContentSet,
    models: &ModelTable,
) -> Result<(Arc<dyn ModelClient>, &'static str)> {
    let choice = match opts.provider {
        Some(p) => p,
        None if std::env::var_os("ANTHROPIC_API_KEY").is_some() || std::env::var_os("ANTHROPIC_AUTH_TOKEN").is_some() => {
            ProviderChoice::Anthropic
        }
        None if std::env::var_os("OPENAI_BASE_URL").is_some() => ProviderChoice::Openai,
        None => bail!(
            "no model provider is configured: set ANTHROPIC_API_KEY, or OPENAI_BASE_URL for an OpenAI-compatible server, \
             or pass --provider. To see the wizard work without any key, run `wizard demo`."
        ),
    };
    Ok(match choice {
        ProviderChoice::Anthropic => {
            let config = AnthropicConfig::from_env().ok_or_else(|| {
                anyhow!("--provider anthropic needs ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN)")
            })?;
            (Arc::new(AnthropicClient::new(config)?), "anthropic")
        }
        ProviderChoice::Openai => {
            let config = OpenAiConfig::from_env()
                .ok_or_else(|| anyhow!("--provider openai needs OPENAI_BASE_URL (and OPENAI_API_KEY if the server wants one)"))?;
            (Arc::new(OpenAiClient::new(config)?), "openai")
        }
        ProviderChoice::Stub => bail!("the stub provider has no model client"),
        ProviderChoice::Replay => {
            let name = opts
                .cassette
                .clone()
                .or_else(|| content.product().demo_cassette)
                .ok_or_else(|| anyhow!("--provider replay needs --cassette PATH or NAME"))?;
            let text = if Path::new(&name).is_file() {
                std::fs::read_to_string(&name)
                    .with_context(|| format!("cannot read the cassette {name}"))?
            } else {
                content
                    .cassette(&name)
                    .map(str::to_string)
                    .ok_or_else(|| anyhow!("no cassette {name}: not a file, and the content has no cassettes/{name}.yaml"))?
            };
            let client = ReplayClient::from_yaml(&text, opts.replay_speed)
                .map_err(|e| anyhow!("cassette {name}: {e}"))?
                .with_models(models.clone());
            (Arc::new(client), "replay")
        }
    })
}

/// Decides whether to continue an unfinished run in `state_dir`.
fn decide_resume(
    opts: &IntegrateOptions,
    state_dir: &Path,
    content: &ContentSet,
) -> Result<Option<QueueFile>> {
    let loaded = match resume::load(state_dir) {
        Ok(l) => l,
        Err(resume::ResumeError::NoRun(..)) | Err(resume::ResumeError::Finished { .. })
            if opts.resume != ResumeChoice::Resume =>
        {
            return Ok(None)
        }
        Err(e) if opts.resume == ResumeChoice::Fresh => {
            tracing::info!("starting fresh: {e}");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let resume = match opts.resume {
        ResumeChoice::Resume => true,
        ResumeChoice::Fresh => false,
        ResumeChoice::Ask => {
            if opts.yes {
                true
            } else {
                ask(&format!(
                    "An unfinished run ({} tasks) is in {}. Resume it? [Y/n] ",
                    loaded.file.tasks.len(),
                    state_dir.display()
                ))?
            }
        }
    };
    if !resume {
        archive_old_run(state_dir)?;
        return Ok(None);
    }
    let current = content.content_hash();
    if let Some(old) = &loaded.file.content_hash {
        if old != &current
            && !opts.yes
            && !ask(
                "The content changed since this run started. Continue with the new content? [y/N] ",
            )?
        {
            bail!("resume cancelled: the content changed since the run started");
        }
    }
    Ok(Some(loaded.file))
}

fn ask(question: &str) -> Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        bail!("{question}\n(no terminal to answer on: pass --resume, --fresh or --yes)");
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let answer = line.trim().to_ascii_lowercase();
    Ok(answer.is_empty() && question.contains("[Y/n]") || answer == "y" || answer == "yes")
}

/// Moves a previous run's files aside so a fresh run starts clean.
fn archive_old_run(state_dir: &Path) -> Result<()> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    let archive = state_dir.join("previous").join(stamp.to_string());
    std::fs::create_dir_all(&archive)?;
    for name in [
        files::QUEUE,
        files::AUDIT,
        files::HANDOFFS,
        "run-report.md",
        "timeline.svg",
    ] {
        let from = state_dir.join(name);
        if from.exists() {
            std::fs::rename(&from, archive.join(name))
                .with_context(|| format!("cannot move {} aside", from.display()))?;
        }
    }
    Ok(())
}

/// Writes the framework's reference example where agents can read it; returns its relative path.
fn write_example(state_dir: &Path, content: &ContentSet, example: &str) -> Option<String> {
    let text = content.example(example)?;
    let dir = state_dir.join("reference").join(example);
    std::fs::create_dir_all(&dir).ok()?;
    write_atomic(&dir.join("EXAMPLE.md"), text.as_bytes()).ok()?;
    Some(format!(
        "{}/reference/{example}/EXAMPLE.md",
        files::STATE_DIR
    ))
}
