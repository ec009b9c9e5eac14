//! `wizard integrate`: from flags to a verdict.
//!
//! Loads and validates the content (before any model call), picks the model
//! client, detects the framework, decides between resuming and a fresh run,
//! builds the task agents' backend, runs the queue, then writes the run
//! report and prints the outro. The one place where the runners meet.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix::Actor;
use anyhow::{anyhow, bail, Context, Result};

use crate::actors::persist::files;
use crate::actors::queue::Budget;
use crate::actors::telemetry::TelemetryActor;
use crate::actors::ui::UiMode;
use crate::agent::backend::{AgentEnv, ModelBackend};
use crate::agent::prompt::ProjectContext;
use crate::agent::AgentBackend;
use crate::atomic_file::{self, Access};
use crate::content::{self, ContentSet, ContentSource};
use crate::messages::{AssignVariant, Capture, QueueFile, RunInfo, RunOutcome, Variant};
use crate::providers::anthropic::{AnthropicClient, AnthropicConfig};
use crate::providers::openai::{OpenAiClient, OpenAiConfig};
use crate::providers::pricing::{ModelTable, Tier};
use crate::providers::replay::ReplayClient;
use crate::providers::ModelClient;
use crate::queue::QueueLimits;
use crate::runner::apps;
use crate::runner::bootstrap::{
    check_health, resolve_credentials, settings_conflicts, AuthCheck, AuthProblem, ConflictInputs,
    CredentialFlags, Credentials, HealthDecision,
};
use crate::runner::flag::{decide_variant, FlagInputs, VariantDecision, VariantSource};
use crate::runner::linear::{linear_catalogue, LinearBackend};
use crate::runner::lock::RunLock;
use crate::runner::orchestrated::{self, RunResult, RunSetup};
use crate::runner::resume;
use crate::runner::settings::{Given, RunSettings};
use crate::telemetry::{names, TelemetryClient, TelemetrySetting};
use crate::tools::mcp::{McpCatalogue, McpHandle};
use crate::tools::{BashLimits, ToolContext, ToolRegistry};
use crate::ui::outro::{outro_text, OutroContext};

/// Which model client runs the agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderChoice {
    /// The Anthropic Messages API (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`).
    Anthropic,
    /// An OpenAI-compatible server (`OPENAI_BASE_URL`, `OPENAI_API_KEY`).
    Openai,
    /// PostHog's LLM gateway, with the PostHog sign-in (`wizard login`) or personal API key.
    Posthog,
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
    /// `--orchestrator` / `--linear`, when given (else `WIZARD_ORCHESTRATOR`, else the flag).
    pub variant: Option<Variant>,
    /// `--project-token`, `--region`, `--host`, `--mcp-url` (env vars are read by bootstrap).
    pub credentials: CredentialFlags,
    /// `--ci`, `--no-browser`, `--api-key`, `--project-id`.
    pub sign_in: crate::auth::SignInFlags,
    /// `--allow-command`, `--allow-write`, `--allow-tool`.
    pub asks: crate::tools::asks::AskFlags,
    /// `--review`: run in a scratch copy and apply the diff on confirmation.
    pub review: bool,
    /// `--email`, for the flag's targeting.
    pub email: Option<String>,
    /// `--no-telemetry`.
    pub no_telemetry: bool,
    /// Budget limits.
    pub budget: Option<Budget>,
    /// Resume behaviour.
    pub resume: ResumeChoice,
    /// When set, Bash commands are not run, for this reason.
    pub skip_commands: Option<String>,
    /// How long each stub task takes (`--provider stub`).
    pub stub_delay: Duration,
    /// Which settings the command line gave; a resume takes the others from the run.
    pub given: Given,
    /// `--app PATH` (repeatable) and `--all-apps`: which apps of a monorepo to integrate.
    pub apps: Vec<String>,
    /// `--all-apps`.
    pub all_apps: bool,
}

/// Runs `integrate` (or `resume`) and returns the exit code.
pub fn integrate(mut opts: IntegrateOptions) -> Result<i32> {
    if opts.review {
        use crate::runner::review::{review, Confirm};
        let confirm = match (opts.sign_in.ci, opts.yes) {
            (true, _) => Confirm::PatchOnly,
            (false, true) => Confirm::Apply,
            (false, false) if opts.ui == UiMode::Tui => Confirm::Screen,
            (false, false) => Confirm::Ask,
        };
        let real = opts.dir.clone();
        return review(&real, confirm, |dir| {
            integrate(IntegrateOptions {
                dir,
                review: false,
                ..opts
            })
        });
    }
    let install_dir = opts
        .dir
        .canonicalize()
        .with_context(|| format!("cannot open the app directory {}", opts.dir.display()))?;
    let state_dir = install_dir.join(files::STATE_DIR);
    let _lock = RunLock::acquire(&state_dir)?;
    crate::logging::init_logging(&state_dir)?;
    if continues_a_run(&opts, &state_dir) {
        if let Some(recorded) = RunSettings::load(&state_dir) {
            recorded.apply(&mut opts);
        }
    }
    // Commands are supervised (see `tools::process`): what a killed wizard left in
    // this directory dies now, and what this run's commands detach dies with the run.
    let marker = crate::tools::process::run_marker(&install_dir);
    crate::tools::process::become_subreaper();
    crate::tools::process::kill_marked(&marker, true);
    let system = actix::System::new();
    let code = system.block_on(run(opts, install_dir, state_dir));
    crate::tools::process::kill_marked(&marker, true);
    // Dropping the runtime joins its blocking pool, and work a stopped task
    // abandoned there (a read that never returns) would hold the process after
    // the outro forever. Everything is flushed by now: the process exit ends it.
    std::mem::forget(system);
    code
}

async fn run(opts: IntegrateOptions, install_dir: PathBuf, state_dir: PathBuf) -> Result<i32> {
    let (content, mut models) = match load_content(&opts).await? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let content = Arc::new(content);
    if opts.provider == Some(ProviderChoice::Stub) {
        return run_stub(&opts, &content, install_dir, state_dir).await;
    }

    let env = |name: &str| std::env::var(name).ok();
    let http = reqwest::Client::new();
    let scope = Scope {
        opts: &opts,
        install_dir: &install_dir,
        state_dir: &state_dir,
        content: &content,
    };
    let RunStart {
        credentials,
        access,
        resume_file,
        run_id,
        app_env_values,
    } = match sign_in_and_resume(&scope, &http).await? {
        Ok(start) => start,
        Err(code) => return Ok(code),
    };

    // Telemetry first, so the run's own start is counted; it never blocks the run.
    let telemetry_setting = TelemetrySetting::resolve(opts.no_telemetry, &env);
    let telemetry = start_telemetry(
        &telemetry_setting,
        &http,
        &run_id,
        &credentials,
        &app_env_values,
    );
    telemetry.do_send(Capture::new(names::STARTED).prop("resumed", resume_file.is_some()));

    let (client, provider, auth) = model_client(&opts, &content, &mut models, access.as_ref())?;
    let apps = match choose_apps(&scope, resume_file.as_ref()).await? {
        Ok(apps) => apps,
        Err(code) => return Ok(code),
    };
    if resume_file.is_none()
        && !bootstrap_checks(&opts, &install_dir, &credentials, auth, &http).await?
    {
        return Ok(crate::exit::EXIT_USAGE);
    }
    telemetry.do_send(Capture::new(names::BOOTSTRAP_COMPLETED).prop("provider", provider));

    let decision = choose_variant(
        &opts,
        resume_file.as_ref(),
        &run_id,
        &telemetry_setting,
        &install_dir,
        &http,
        apps.branched,
    )
    .await;
    let client = match (&access, provider) {
        (Some(access), "posthog") => {
            let detection = &apps.targets[0].detection;
            let framework = detection.framework.as_ref().map(|f| f.id.clone());
            let tags = gateway_tags(&opts, &decision, &run_id, framework);
            gateway_client(access, &tags)?
        }
        _ => client,
    };
    announce_variant(&telemetry, &decision);

    let model = ModelSide {
        client,
        provider,
        models,
    };
    let agents = agents(
        &scope,
        &credentials,
        app_env_values,
        &apps,
        decision.variant,
        model,
    );
    run_to_verdict(
        &scope,
        agents,
        &apps,
        decision.variant,
        run_id,
        resume_file,
        &telemetry,
    )
    .await
}

/// What every step of a model-driven run reads: the options, its folders and the content.
struct Scope<'a> {
    opts: &'a IntegrateOptions,
    install_dir: &'a Path,
    state_dir: &'a Path,
    content: &'a Arc<ContentSet>,
}

/// Who the run acts as and which run it is: a fresh one or the one it continues.
struct RunStart {
    credentials: Credentials,
    access: Option<crate::auth::PostHogAccess>,
    resume_file: Option<QueueFile>,
    run_id: String,
    /// The app's env values: secrets like the credentials, scrubbed everywhere.
    app_env_values: Vec<String>,
}

/// Signs in (or takes the given credentials), decides whether the run continues an
/// earlier one, and reads the app's env values. `Err(code)`: stop with that exit code.
async fn sign_in_and_resume(
    scope: &Scope<'_>,
    http: &reqwest::Client,
) -> Result<Result<RunStart, i32>> {
    let opts = scope.opts;
    let env = |name: &str| std::env::var(name).ok();
    let offline = opts.provider == Some(ProviderChoice::Replay);
    let given = resolve_credentials(&opts.credentials, &env)?;
    let (credentials, access) =
        crate::auth::prepare_run(&opts.sign_in, &opts.credentials, given, offline, &env, http)
            .await?;
    let resume_file = match resume_or_fresh(opts, scope.state_dir, scope.content)? {
        Ok(file) => file,
        Err(code) => return Ok(Err(code)),
    };
    let run_id = resume_file
        .as_ref()
        .map(|f| f.run.run_id.clone())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    // Off the runtime's thread: it reads the app's env files.
    let dir = scope.install_dir.to_path_buf();
    let fences = scope.content.frameworks.fences.clone();
    let app_env_values = tokio::task::spawn_blocking(move || {
        crate::secrets::env_files::app_env_values(&dir, &fences)
    })
    .await
    .context("reading the app's env files stopped")?;
    Ok(Ok(RunStart {
        credentials,
        access,
        resume_file,
        run_id,
        app_env_values,
    }))
}

/// The apps the run integrates; `branched` when that is not one app at the root.
struct Apps {
    targets: Vec<apps::AppTarget>,
    branched: bool,
}

/// Which apps to integrate (asking in a monorepo when allowed). `Err(code)`: stop.
async fn choose_apps(
    scope: &Scope<'_>,
    resume_file: Option<&QueueFile>,
) -> Result<Result<Apps, i32>> {
    let opts = scope.opts;
    let flags = apps::AppFlags {
        apps: opts.apps.clone(),
        all: opts.all_apps,
        interactive: !opts.yes && std::io::stdin().is_terminal(),
    };
    let targets = match apps::choose(scope.install_dir, scope.content, &flags, resume_file).await? {
        apps::AppChoice::Run(targets) => targets,
        apps::AppChoice::Exit(code) => return Ok(Err(code)),
    };
    let branched = !(targets.len() == 1 && targets[0].rel == crate::messages::SINGLE_APP);
    if branched && decision_is_linear(opts) {
        bail!("the linear runner integrates one app at the root; pass --orchestrator to run an app in a subfolder or several apps");
    }
    for t in &targets {
        tracing::info!(app = %t.rel, reason = %t.detection.reason, "detection");
    }
    Ok(Ok(Apps { targets, branched }))
}

/// Tells telemetry which runner this run uses, and why.
fn announce_variant(telemetry: &actix::Addr<TelemetryActor>, decision: &VariantDecision) {
    telemetry.do_send(AssignVariant {
        variant: decision.variant,
        distinct_id: decision.distinct_id.clone(),
    });
    telemetry.do_send(
        Capture::new(names::VARIANT_ASSIGNED)
            .prop("source", decision.source.name())
            .prop("reason", decision.reason.clone()),
    );
}

/// The model the agents talk to, by provider name, and its price table.
struct ModelSide {
    client: Arc<dyn ModelClient>,
    provider: &'static str,
    models: ModelTable,
}

/// The agents' side of a run: the backend and catalogue, the run's permission asks,
/// and the TUI's ask panel (connected to the UI once it starts).
struct Agents {
    backend: Arc<dyn AgentBackend>,
    catalogue: crate::queue::Catalogue,
    asks: Arc<crate::tools::asks::RunAsks>,
    ui_asker: Option<Arc<crate::ui::asker::UiAsker>>,
}

/// Builds the agents: their tools and secrets, what they are told about the project,
/// and the backend for the chosen runner.
fn agents(
    scope: &Scope<'_>,
    credentials: &Credentials,
    app_env_values: Vec<String>,
    apps: &Apps,
    variant: Variant,
    model: ModelSide,
) -> Agents {
    let (opts, content) = (scope.opts, scope.content);
    let mcp = mcp_handle(credentials);
    let detection = &apps.targets[0].detection;
    let framework_id = detection.framework.as_ref().map(|f| f.id.clone());
    let mut secrets = credentials.secrets();
    for value in app_env_values {
        secrets.insert_hidden(value);
    }
    let project = project_context(
        scope.install_dir,
        scope.state_dir,
        content,
        &apps.targets,
        apps.branched,
        variant,
        credentials.host(),
        &secrets,
    );
    let base_ctx = ToolContext {
        install_dir: scope.install_dir.to_path_buf(),
        permissions: Default::default(),
        secrets,
        bash: BashLimits {
            skip_reason: opts.skip_commands.clone(),
            ..BashLimits::default()
        },
        package_managers: content.package_managers.clone(),
        fences: content.frameworks.fences.clone(),
    };
    let model_names = crate::queue::ModelNames {
        tiers: [Tier::Small, Tier::Medium, Tier::Large]
            .map(|t| t.as_str().to_string())
            .to_vec(),
        priced: model.models.priced_ids().map(str::to_string).collect(),
    };
    let (asker, ui_asker) = run_asker(opts);
    let asks = crate::tools::asks::for_run(&opts.asks, asker);
    let env = AgentEnv {
        client: model.client,
        provider: model.provider.to_string(),
        content: content.clone(),
        models: Arc::new(model.models),
        tools: ToolRegistry::builtin().tools(),
        base_ctx,
        project,
        framework_id,
        asks: Some(asks.clone()),
    };
    let (backend, catalogue) = backend_and_catalogue(
        variant,
        apps.branched,
        env,
        &apps.targets,
        mcp,
        content,
        model_names,
    );
    Agents {
        backend,
        catalogue,
        asks,
        ui_asker,
    }
}

/// Runs the queue to its verdict, then writes the reports and the outro; the exit code.
async fn run_to_verdict(
    scope: &Scope<'_>,
    agents: Agents,
    apps: &Apps,
    variant: Variant,
    run_id: String,
    resume_file: Option<QueueFile>,
    telemetry: &actix::Addr<TelemetryActor>,
) -> Result<i32> {
    let opts = scope.opts;
    let run = run_info(
        opts,
        resume_file.as_ref(),
        run_id,
        variant,
        scope.install_dir,
        &apps.targets,
        apps.branched,
        scope.content,
    );
    let variant = run.variant;
    let setup = RunSetup {
        state_dir: scope.state_dir.to_path_buf(),
        limits: opts.limits.clone(),
        catalogue: agents.catalogue,
        backend: agents.backend,
        ui: opts.ui,
        run,
        resume: resume_file,
        budget: opts.budget,
        subscribers: vec![telemetry.clone().recipient()],
        flush: vec![telemetry.clone().recipient()],
        coalesce: Duration::from_millis(50),
        fail_queue_writes_after: injected_write_fault(),
        asker: agents.ui_asker,
    };
    let asks = agents.asks;
    let found = apps::found_section(&apps.targets, &scope.content.product().name);
    let result = orchestrated::run(setup).await;
    let code = finish(
        scope.opts,
        scope.install_dir,
        scope.state_dir,
        scope.content,
        variant,
        result,
        &found,
    )?;
    if let Err(e) = crate::tools::asks::append_to_report(scope.state_dir, &asks) {
        eprintln!("wizard: could not add the permission asks to the run report: {e}");
    }
    Ok(match code {
        crate::exit::EXIT_FAILED if asks.blocked() => crate::exit::EXIT_BLOCKED,
        code => code,
    })
}

/// Loads the content and its model table; a content error is printed and gives the usage
/// exit code, since nothing can run on content that does not validate.
async fn load_content(opts: &IntegrateOptions) -> Result<Result<(ContentSet, ModelTable), i32>> {
    let source = ContentSource::parse(opts.content.as_deref());
    let content = match content::load(&source).await {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("wizard: the content in {source} is not valid:");
            for e in errors.iter() {
                eprintln!("  {e}");
            }
            return Ok(Err(crate::exit::EXIT_USAGE));
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
        return Ok(Err(crate::exit::EXIT_USAGE));
    }
    if let Some(text) = content.text(crate::content::product::PRODUCT_FILE) {
        crate::content::product::ProductInfo::parse(text)?;
    }
    Ok(Ok((content, models)))
}

/// Starts the telemetry actor (a disabled one when telemetry is off), scrubbing the
/// credentials and the app's env values from everything it sends.
fn start_telemetry(
    setting: &TelemetrySetting,
    http: &reqwest::Client,
    run_id: &str,
    credentials: &Credentials,
    app_env_values: &[String],
) -> actix::Addr<TelemetryActor> {
    match setting.target() {
        Some(target) => TelemetryActor::new(
            Some(TelemetryClient::new(http.clone(), target.clone())),
            run_id.to_string(),
        ),
        None => TelemetryActor::disabled(run_id.to_string()),
    }
    .with_redactions(
        credentials.secret_values().into_iter().chain(
            app_env_values
                .iter()
                .filter(|v| v.trim() != credentials.host())
                .cloned(),
        ),
    )
    .start()
}

/// Which runner this run uses: a resumed run keeps its own; otherwise the flag decides.
/// Several apps (or one in a subfolder) need the orchestrator, whatever the flag said.
#[allow(clippy::too_many_arguments)]
async fn choose_variant(
    opts: &IntegrateOptions,
    resume_file: Option<&QueueFile>,
    run_id: &str,
    telemetry_setting: &TelemetrySetting,
    install_dir: &Path,
    http: &reqwest::Client,
    branched: bool,
) -> VariantDecision {
    let mut decision = match resume_file {
        Some(file) => VariantDecision {
            variant: file.run.variant,
            source: VariantSource::CliFlag,
            reason: "resumed run keeps its runner".into(),
            distinct_id: run_id.to_string(),
        },
        None => {
            let mut inputs = FlagInputs::new(telemetry_setting.clone());
            inputs.cli_override = opts.variant;
            inputs.env_override = std::env::var("WIZARD_ORCHESTRATOR").ok();
            inputs.email = opts.email.clone();
            inputs.git_dir = Some(install_dir.to_path_buf());
            inputs.config_dir = dirs::config_dir();
            decide_variant(inputs, http).await
        }
    };
    if branched && decision.variant == Variant::Linear {
        decision.variant = Variant::Orchestrator;
        decision.reason =
            "the linear runner integrates one app at the root; this run has app branches".into();
    }
    tracing::info!(variant = decision.variant.name(), reason = %decision.reason, "variant");
    if opts.ui != UiMode::Json
        && opts.ui != UiMode::Quiet
        && opts.variant.is_none()
        && resume_file.is_none()
    {
        eprintln!(
            "wizard: {} runner ({})",
            decision.variant.name(),
            decision.reason
        );
    }
    decision
}

/// PostHog's MCP catalogue, connecting in the background so the run does not wait on it;
/// without an endpoint, a handle that says why it is unavailable.
fn mcp_handle(credentials: &Credentials) -> McpHandle {
    match credentials.mcp_endpoint() {
        Some((url, key)) => McpCatalogue::connect_in_background(url, key),
        None => McpHandle::unavailable(
            credentials
                .mcp_unavailable_reason()
                .unwrap_or("no PostHog personal API key (POSTHOG_PERSONAL_API_KEY)"),
        ),
    }
}

/// The run's header in `queue.json`: a resumed run keeps its own (only the concurrency
/// follows this invocation's flags); a fresh one is described from this invocation.
#[allow(clippy::too_many_arguments)]
fn run_info(
    opts: &IntegrateOptions,
    resume_file: Option<&QueueFile>,
    run_id: String,
    variant: Variant,
    install_dir: &Path,
    targets: &[apps::AppTarget],
    branched: bool,
    content: &ContentSet,
) -> RunInfo {
    match resume_file {
        Some(file) => RunInfo {
            concurrency: opts.limits.concurrency,
            ..file.run_info()
        },
        None => RunInfo {
            run_id,
            variant,
            install_dir: install_dir.display().to_string(),
            created_at: chrono::Utc::now(),
            framework: if branched {
                Some(apps::frameworks_line(targets))
            } else {
                targets[0]
                    .detection
                    .framework
                    .as_ref()
                    .map(|f| f.name.clone())
            },
            concurrency: opts.limits.concurrency,
            content_hash: Some(content.content_hash()),
        },
    }
}

/// What every agent is told about the project. With several apps the per-app sections
/// and inventory belong to each branch, so the shared context leaves them out.
#[allow(clippy::too_many_arguments)]
fn project_context(
    install_dir: &Path,
    state_dir: &Path,
    content: &ContentSet,
    targets: &[apps::AppTarget],
    branched: bool,
    variant: Variant,
    host: &str,
    secrets: &crate::tools::Secrets,
) -> ProjectContext {
    let detection = &targets[0].detection;
    let framework_id = detection.framework.as_ref().map(|f| f.id.clone());
    let example_path = match detection.framework.as_ref().and_then(|f| f.example.clone()) {
        Some(example) => write_example(state_dir, content, &example),
        None => None,
    };
    let mut project = ProjectContext {
        install_dir: install_dir.display().to_string(),
        framework: detection.framework.as_ref().map(|f| f.name.clone()),
        package_manager: detection.package_manager.as_ref().map(|p| p.name.clone()),
        facts: vec![("Host".into(), host.to_string())],
        example_path,
        secret_names: secrets.names().map(str::to_string).collect(),
        sections: if branched {
            Vec::new()
        } else {
            super::prefix::sections(install_dir, content, secrets)
        },
        task_sections: if branched {
            Vec::new()
        } else {
            super::prefix::reference(content, framework_id.as_deref())
                .into_iter()
                .collect()
        },
    };
    if variant == Variant::Orchestrator {
        project
            .task_sections
            .extend(super::prefix::task_types(content));
    }
    if !branched {
        project
            .facts
            .extend(apps::inventory_fact(&targets[0], &content.product().name));
    }
    project
}

/// The agents and the task catalogue for the chosen runner: one model backend per app
/// branch, one for a single app, or the linear runner's single agent.
fn backend_and_catalogue(
    variant: Variant,
    branched: bool,
    env: AgentEnv,
    targets: &[apps::AppTarget],
    mcp: McpHandle,
    content: &ContentSet,
    model_names: crate::queue::ModelNames,
) -> (Arc<dyn AgentBackend>, crate::queue::Catalogue) {
    match variant {
        Variant::Orchestrator if branched => (
            apps::branch_backend(&env, targets, &mcp, &|t| {
                let example = t.detection.framework.as_ref()?.example.clone()?;
                write_example(&apps::app_state_dir(t)?, content, &example)
            }),
            content.catalogue().with_models(model_names),
        ),
        Variant::Orchestrator => (
            Arc::new(ModelBackend::new(env).with_mcp(mcp)),
            content.catalogue().with_models(model_names),
        ),
        Variant::Linear => (
            Arc::new(LinearBackend::new(env)),
            linear_catalogue(content, &format!("Integrate {}", content.product().name)),
        ),
    }
}

/// Who answers permission asks: the TUI's ask panel when the TUI owns the screen, else the
/// terminal; no one under `--ci` or without a terminal. The panel's asker is also returned,
/// to be connected to the UI actor once it starts.
fn run_asker(
    opts: &IntegrateOptions,
) -> (
    Option<Arc<dyn crate::tools::asks::Asker>>,
    Option<Arc<crate::ui::asker::UiAsker>>,
) {
    use std::io::IsTerminal;
    if opts.sign_in.ci || !std::io::stdin().is_terminal() {
        return (None, None);
    }
    if opts.ui == UiMode::Tui {
        let panel = Arc::new(crate::ui::asker::UiAsker::new());
        return (Some(panel.clone()), Some(panel));
    }
    (
        Some(Arc::new(crate::tools::asks::TerminalAsker::new())),
        None,
    )
}

/// True when the command line asks for the linear runner.
fn decision_is_linear(opts: &IntegrateOptions) -> bool {
    opts.variant == Some(Variant::Linear)
}

/// Settings conflicts and health, before any task. Returns false when the run must not start.
async fn bootstrap_checks(
    opts: &IntegrateOptions,
    install_dir: &Path,
    credentials: &Credentials,
    auth: Option<Arc<dyn AuthCheck>>,
    http: &reqwest::Client,
) -> Result<bool> {
    let dir = install_dir.to_path_buf();
    let provider_flag = opts.provider.map(|p| match p {
        ProviderChoice::Anthropic => "anthropic",
        ProviderChoice::Openai => "openai",
        ProviderChoice::Posthog => "posthog",
        ProviderChoice::Replay => "replay",
        ProviderChoice::Stub => "stub",
    });
    let run_token = credentials
        .project_token()
        .filter(|_| !credentials.is_demo_token())
        .map(str::to_string);
    let conflicts = tokio::task::spawn_blocking(move || {
        let env = |name: &str| std::env::var(name).ok();
        settings_conflicts(&ConflictInputs {
            install_dir: &dir,
            env: &env,
            provider_flag,
            run_token: run_token.as_deref(),
        })
    })
    .await
    .context("the settings check stopped")?;
    for c in &conflicts {
        eprintln!("wizard: {}", c.line);
    }
    if conflicts.iter().any(|c| c.blocking) && !opts.yes && !ask("Continue anyway? [y/N] ")? {
        eprintln!("wizard: stopped before changing anything.");
        return Ok(false);
    }
    let Some(auth) = auth else { return Ok(true) };
    let report = check_health(auth.as_ref(), credentials.host(), http).await;
    match report.decision(opts.yes) {
        HealthDecision::Proceed { warnings } => {
            for w in warnings {
                eprintln!("wizard: warning: {w}");
            }
            Ok(true)
        }
        HealthDecision::Ask { warnings } => {
            for w in &warnings {
                eprintln!("wizard: warning: {w}");
            }
            ask("Continue anyway? [y/N] ")
        }
        HealthDecision::Stop { message } => {
            Err(crate::auth::AuthError::ModelRejected(message).into())
        }
    }
}

/// Health probes for a real model client.
struct ClientAuth<C>(Arc<C>);

#[async_trait::async_trait]
impl AuthCheck for ClientAuth<AnthropicClient> {
    async fn check_auth(&self) -> Result<(), AuthProblem> {
        self.0.check_auth().await.map_err(auth_problem)
    }
}

#[async_trait::async_trait]
impl AuthCheck for ClientAuth<OpenAiClient> {
    async fn check_auth(&self) -> Result<(), AuthProblem> {
        self.0.check_auth().await.map_err(auth_problem)
    }
}

fn auth_problem(e: crate::providers::ProviderError) -> AuthProblem {
    match e {
        crate::providers::ProviderError::Auth { .. } => AuthProblem::Rejected {
            detail: e.to_string(),
        },
        other => AuthProblem::Unreachable {
            detail: other.to_string(),
        },
    }
}

/// The walking skeleton: the stub graph through the real machinery, no model.
async fn run_stub(
    opts: &IntegrateOptions,
    content: &ContentSet,
    install_dir: PathBuf,
    state_dir: PathBuf,
) -> Result<i32> {
    use crate::agent::stub::{stub_catalogue, StubBackend};
    let resume_file = match resume_or_fresh(opts, &state_dir, content)? {
        Ok(file) => file,
        Err(code) => return Ok(code),
    };
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
        flush: Vec::new(),
        coalesce: Duration::from_millis(50),
        fail_queue_writes_after: injected_write_fault(),
        asker: None,
    };
    let result = orchestrated::run(setup).await;
    finish(
        opts,
        &install_dir,
        &state_dir,
        content,
        Variant::Orchestrator,
        result,
        "",
    )
}

fn finish(
    opts: &IntegrateOptions,
    install_dir: &Path,
    state_dir: &Path,
    content: &ContentSet,
    variant: Variant,
    result: RunResult,
    found: &str,
) -> Result<i32> {
    let reports = match crate::report::write_reports_with_errors(
        state_dir,
        &result.view,
        &result.storage_errors,
    ) {
        Ok(paths) => {
            apps::append_to_report(&paths.markdown, found);
            Some(paths)
        }
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
    let mut outro = outro_text(&result.outcome, &result.view, reports.as_ref(), &ctx);
    if !result.storage_errors.is_empty() {
        outro.push_str(&format!(
            "\n⚠ {} storage error{} during the run (listed above and in the run report): \
             its record on disk may be incomplete.",
            result.storage_errors.len(),
            if result.storage_errors.len() == 1 {
                ""
            } else {
                "s"
            }
        ));
    }
    if opts.ui == UiMode::Json {
        eprintln!("{outro}");
    } else if opts.ui != UiMode::Quiet {
        println!("\n{outro}");
    }
    Ok(exit_code(&result.outcome, &result.storage_errors))
}

/// The verdict's exit code; a success whose files could not all be written is not a success.
fn exit_code(outcome: &RunOutcome, storage_errors: &[String]) -> i32 {
    let code = crate::exit::exit_code(outcome.verdict);
    if code == crate::exit::EXIT_OK && !storage_errors.is_empty() {
        crate::exit::EXIT_FAILED
    } else {
        code
    }
}

/// The model client, its provider name, and its health probe (none for replay).
type ChosenClient = (
    Arc<dyn ModelClient>,
    &'static str,
    Option<Arc<dyn AuthCheck>>,
);

fn model_client(
    opts: &IntegrateOptions,
    content: &ContentSet,
    models: &mut ModelTable,
    access: Option<&crate::auth::PostHogAccess>,
) -> Result<ChosenClient> {
    let choice = match opts.provider {
        Some(p) => p,
        None if std::env::var_os("ANTHROPIC_API_KEY").is_some() || std::env::var_os("ANTHROPIC_AUTH_TOKEN").is_some() => {
            ProviderChoice::Anthropic
        }
        None if std::env::var_os("OPENAI_BASE_URL").is_some() => ProviderChoice::Openai,
        None if access.is_some() => ProviderChoice::Posthog,
        None => bail!(
            "no model provider is configured: run `wizard login` (models through PostHog), set ANTHROPIC_API_KEY, \
             or OPENAI_BASE_URL for an OpenAI-compatible server, or pass --provider. \
             To see the wizard work without any key, run `wizard demo`."
        ),
    };
    Ok(match choice {
        ProviderChoice::Anthropic => {
            let config = AnthropicConfig::from_env().ok_or_else(|| {
                anyhow!("--provider anthropic needs ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN)")
            })?;
            let client = Arc::new(AnthropicClient::new(config)?);
            (
                client.clone(),
                "anthropic",
                Some(Arc::new(ClientAuth(client))),
            )
        }
        ProviderChoice::Openai => {
            if let Ok(model) = std::env::var("OPENAI_MODEL") {
                for tier in [Tier::Small, Tier::Medium, Tier::Large] {
                    models.set_tier("openai", tier, model.clone());
                }
            }
            let config = OpenAiConfig::from_env()
                .ok_or_else(|| anyhow!("--provider openai needs OPENAI_BASE_URL (and OPENAI_API_KEY if the server wants one)"))?;
            let client = Arc::new(OpenAiClient::new(config)?);
            (client.clone(), "openai", Some(Arc::new(ClientAuth(client))))
        }
        ProviderChoice::Posthog => {
            let access = access.ok_or_else(|| {
                crate::auth::AuthError::NotSignedIn(
                    "--provider posthog needs a PostHog sign-in: run `wizard login`, or set POSTHOG_PERSONAL_API_KEY".into(),
                )
            })?;
            let env = |name: &str| std::env::var(name).ok();
            let tags = crate::providers::gateway::GatewayTags::default();
            let config = crate::providers::gateway::gateway_config(access, &tags, &env);
            let client = Arc::new(AnthropicClient::new(config)?);
            (
                client.clone(),
                "posthog",
                Some(Arc::new(ClientAuth(client))),
            )
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
            (Arc::new(client), "replay", None)
        }
    })
}

/// True when this command continues the run in `state_dir` (so the run's recorded
/// settings apply): `wizard resume`, or `integrate --yes` over an unfinished run.
fn continues_a_run(opts: &IntegrateOptions, state_dir: &Path) -> bool {
    match opts.resume {
        ResumeChoice::Resume => true,
        ResumeChoice::Fresh => false,
        ResumeChoice::Ask => opts.yes && resume::has_unfinished_run(state_dir),
    }
}

/// What the gateway records on each generation: the variant, the run, the framework, the flag.
fn gateway_tags(
    opts: &IntegrateOptions,
    decision: &VariantDecision,
    run_id: &str,
    integration: Option<String>,
) -> crate::providers::gateway::GatewayTags {
    let build = match (opts.sign_in.ci, cfg!(debug_assertions)) {
        (true, _) => "ci",
        (false, true) => "dev",
        (false, false) => "prod",
    };
    crate::providers::gateway::GatewayTags {
        variant: Some(
            match decision.variant {
                Variant::Orchestrator => "orchestrator",
                Variant::Linear => "base",
            }
            .into(),
        ),
        run_id: Some(run_id.to_string()),
        integration,
        build: Some(build.into()),
        flags: decision.flags(),
    }
}

/// The gateway client, telling the gateway `tags`.
fn gateway_client(
    access: &crate::auth::PostHogAccess,
    tags: &crate::providers::gateway::GatewayTags,
) -> Result<Arc<dyn ModelClient>> {
    let env = |name: &str| std::env::var(name).ok();
    let config = crate::providers::gateway::gateway_config(access, tags, &env);
    Ok(Arc::new(AnthropicClient::new(config)?))
}

/// The saved queue to continue (`Ok(Some)`), a fresh start (`Ok(None)`), or an exit code
/// when there is nothing to do (`Err`: the run already finished). Records the
/// settings the run goes on with, for the next resume.
fn resume_or_fresh(
    opts: &IntegrateOptions,
    state_dir: &Path,
    content: &ContentSet,
) -> Result<Result<Option<QueueFile>, i32>> {
    match decide_resume(opts, state_dir, content) {
        Ok(file) => {
            if let Err(e) = RunSettings::of(opts).save(state_dir) {
                eprintln!(
                    "wizard: could not record the run's settings in {}: {e}; a resume will need the same flags again",
                    state_dir.join(resume::SETTINGS).display()
                );
            }
            Ok(Ok(file))
        }
        Err(e) => match e.downcast::<resume::ResumeError>() {
            Ok(resume::ResumeError::Finished {
                verdict,
                message,
                file,
                ..
            }) => Ok(Err(already_finished(state_dir, verdict, &message, &file))),
            Ok(other) => Err(other.into()),
            Err(other) => Err(other),
        },
    }
}

/// `resume` on a run that already reached its verdict: make `queue.json` say so
/// (a kill during the final write may have left it behind the log), and report it.
fn already_finished(
    state_dir: &Path,
    verdict: crate::messages::Verdict,
    message: &str,
    file: &QueueFile,
) -> i32 {
    if let Err(e) = atomic_file::write_json(&state_dir.join(files::QUEUE), file) {
        eprintln!(
            "wizard: could not update {}: {e}",
            state_dir.join(files::QUEUE).display()
        );
    }
    eprintln!("wizard: nothing to resume: the run already finished. {message}");
    crate::exit::exit_code(verdict)
}

/// `WIZARD_FAIL_QUEUE_WRITES_AFTER=N`: a storage-fault injection for tests (N good writes,
/// then failures). Only debug builds, the ones the tests run, read it: a release binary
/// ignores it, so no stray variable in a user's shell can break their run.
#[cfg(debug_assertions)]
fn injected_write_fault() -> Option<u64> {
    std::env::var("WIZARD_FAIL_QUEUE_WRITES_AFTER")
        .ok()?
        .parse()
        .ok()
}

/// Release builds have no storage-fault injection.
#[cfg(not(debug_assertions))]
fn injected_write_fault() -> Option<u64> {
    None
}

/// Decides whether to continue the run in `state_dir`. Every fresh start moves
/// the previous run's files aside first, whatever state they are in, so two
/// runs never share a folder.
fn decide_resume(
    opts: &IntegrateOptions,
    state_dir: &Path,
    content: &ContentSet,
) -> Result<Option<QueueFile>> {
    let loaded = match resume::load(state_dir) {
        Ok(l) => l,
        // A failed run is resumed by retrying what failed and what it blocked.
        Err(resume::ResumeError::Finished {
            verdict: crate::messages::Verdict::Failed,
            file,
            ..
        }) if opts.resume == ResumeChoice::Resume => {
            let (file, retried) = resume::retry_failed(*file);
            eprintln!("wizard: retrying {retried} steps that failed or were blocked; finished steps stay done.");
            check_content(opts, &file, content)?;
            return Ok(Some(file));
        }
        Err(resume::ResumeError::NoRun(..)) | Err(resume::ResumeError::Finished { .. })
            if opts.resume != ResumeChoice::Resume =>
        {
            archive_old_run(state_dir)?;
            return Ok(None);
        }
        Err(e) if opts.resume == ResumeChoice::Fresh => {
            tracing::info!("starting fresh: {e}");
            archive_old_run(state_dir)?;
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
    for notice in loaded.notices() {
        eprintln!("wizard: {notice}");
    }
    check_content(opts, &loaded.file, content)?;
    Ok(Some(loaded.file))
}

/// Asks before resuming with content other than the run started with.
fn check_content(opts: &IntegrateOptions, file: &QueueFile, content: &ContentSet) -> Result<()> {
    let current = content.content_hash();
    if let Some(old) = &file.run.content_hash {
        if old != &current
            && !opts.yes
            && !ask(
                "The content changed since this run started. Continue with the new content? [y/N] ",
            )?
        {
            bail!("resume cancelled: the content changed since the run started");
        }
    }
    Ok(())
}

fn ask(question: &str) -> Result<bool> {
    use std::io::{IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        bail!("{question}\n(no terminal to answer on: pass --yes to go on without asking)");
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let line = crate::ui::stdin_lines::next_line_blocking().unwrap_or_default();
    let answer = line.trim().to_ascii_lowercase();
    Ok(answer.is_empty() && question.contains("[Y/n]") || answer == "y" || answer == "yes")
}

/// Moves a previous run's files aside so a fresh run starts clean, into
/// `previous/<UTC time>[-N]/`: a new folder each time, even within one second.
/// Does nothing when there is nothing to move.
pub fn archive_old_run(state_dir: &Path) -> Result<Option<PathBuf>> {
    let names = [
        files::QUEUE,
        files::AUDIT,
        files::HANDOFFS,
        resume::SETTINGS,
        "run-report.md",
        "timeline.svg",
    ];
    if !names.iter().any(|name| state_dir.join(name).exists()) {
        return Ok(None);
    }
    let previous = state_dir.join("previous");
    std::fs::create_dir_all(&previous)
        .with_context(|| format!("cannot create {}", previous.display()))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let mut archive = previous.join(&stamp);
    let mut n = 1u32;
    loop {
        match std::fs::create_dir(&archive) {
            Ok(()) => break,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 10_000 => {
                n += 1;
                archive = previous.join(format!("{stamp}-{n}"));
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create {}", archive.display()))
            }
        }
    }
    for name in names {
        let from = state_dir.join(name);
        if from.exists() {
            std::fs::rename(&from, archive.join(name))
                .with_context(|| format!("cannot move {} aside", from.display()))?;
        }
    }
    tracing::info!(archive = %archive.display(), "moved the previous run aside");
    Ok(Some(archive))
}

/// Writes the framework's reference example where agents can read it; returns its relative path.
fn write_example(state_dir: &Path, content: &ContentSet, example: &str) -> Option<String> {
    let text = content.example(example)?;
    let dir = state_dir.join("reference").join(example);
    std::fs::create_dir_all(&dir).ok()?;
    atomic_file::write(&dir.join("EXAMPLE.md"), text.as_bytes(), Access::OwnerOnly).ok()?;
    Some(format!(
        "{}/reference/{example}/EXAMPLE.md",
        files::STATE_DIR
    ))
}
