//! The command line: flags in, a run out, an exit code back.
//!
//! Exit codes (README, "Exit codes"): 0 success, 1 a task failed, 2 usage or
//! input error, 3 authentication, 4 a budget stopped the run, 10 blocked by a
//! permission the run needed, 130 interrupted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::actors::persist::files;
use crate::actors::queue::Budget;
use crate::actors::ui::UiMode;
use crate::content::{self, ContentSource};
use crate::exit::{EXIT_AUTH, EXIT_OK, EXIT_USAGE};
use crate::messages::{QueueFile, Variant};
use crate::queue::QueueLimits;
use crate::runner::bootstrap::{CredentialFlags, Region};
use crate::runner::demo;
use crate::runner::integrate::{self, IntegrateOptions, ProviderChoice, ResumeChoice};
use crate::runner::settings::Given;

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
    Integrate(RunArgs),
    /// Continue the unfinished run in DIR.
    Resume(RunArgs),
    /// See it work: integrate a bundled sample Next.js app offline, with scripted models.
    Demo(DemoArgs),
    /// Sign in to PostHog in the browser; the sign-in is kept in your config dir.
    Login(LoginArgs),
    /// Forget the stored PostHog sign-in.
    Logout,
    /// Show the last run's queue in DIR.
    Status {
        /// The app's directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Work with agent prompts and skills.
    #[command(subcommand)]
    Content(ContentCommand),
    /// List the apps in DIR and what each already has, without a model.
    Detect {
        /// The repository or app directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Print one JSON document instead of a table.
        #[arg(long)]
        json: bool,
        /// Content: a directory or a content server URL (default: built in).
        #[arg(long)]
        content: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ContentCommand {
    /// Validate content and list what it holds.
    Check {
        /// A content directory or server URL (default: the built-in content).
        #[arg(long)]
        content: Option<String>,
    },
    /// Write the built-in content to DIR, to start a custom set.
    Export {
        /// An empty or new directory.
        dir: PathBuf,
    },
    /// Serve content on the context-mill routes.
    Serve {
        /// A content directory (default: the built-in content).
        #[arg(long)]
        content: Option<String>,
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 8765)]
        port: u16,
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

#[derive(Debug, Args, Clone)]
struct RunArgs {
    /// The app's directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Tasks that may run at once [default: 1; a resume keeps the run's].
    #[arg(long)]
    concurrency: Option<usize>,
    /// How the run is shown.
    #[arg(long, value_enum, default_value_t = UiChoice::Auto)]
    ui: UiChoice,
    /// Most tasks a run may hold [default: 30; a resume keeps the run's].
    #[arg(long)]
    max_tasks: Option<usize>,
    /// Deepest enqueue level [default: 3; a resume keeps the run's].
    #[arg(long)]
    max_depth: Option<u32>,
    /// Attempts per task [default: 2; a resume keeps the run's].
    #[arg(long)]
    max_attempts: Option<u32>,
    /// Answer yes to every question.
    #[arg(long, short)]
    yes: bool,
    /// Headless: no prompts, no browser; every question takes its documented default.
    #[arg(long)]
    ci: bool,
    /// Do not open a browser to sign in; print the URL and take the pasted code.
    #[arg(long)]
    no_browser: bool,
    /// A PostHog personal API key (phx_…) instead of a sign-in, for CI (else POSTHOG_PERSONAL_API_KEY).
    #[arg(long)]
    api_key: Option<String>,
    /// The PostHog project id (with a personal API key, or to choose at sign-in).
    #[arg(long)]
    project_id: Option<u64>,
    /// Grant a command prefix no task was given (repeatable), e.g. --allow-command "npm run lint".
    #[arg(long, value_name = "PATTERN")]
    allow_command: Vec<String>,
    /// Grant writes to paths matching GLOB (repeatable), e.g. --allow-write "lib/**".
    #[arg(long, value_name = "GLOB")]
    allow_write: Vec<String>,
    /// Grant a tool that a task's allowedTools do not list (repeatable), e.g. --allow-tool Grep.
    #[arg(long, value_name = "NAME")]
    allow_tool: Vec<String>,
    /// Run in a scratch copy, show the diff, and apply it only on confirmation (--yes applies;
    /// with --ci only .posthog-wizard/changes.patch is written).
    #[arg(long)]
    review: bool,
    /// The model provider (default: anthropic when its key is set, else openai when OPENAI_BASE_URL is set).
    #[arg(long, value_enum)]
    provider: Option<ProviderChoice>,
    /// The cassette for --provider replay: a file path, or a cassette name in the content.
    #[arg(long)]
    cassette: Option<String>,
    /// Replay latency factor: 1 is realistic, 0 is instant [default: 1].
    #[arg(long)]
    replay_speed: Option<f64>,
    /// Content: a directory or a content server URL (default: built in; a resume keeps the run's).
    #[arg(long)]
    content: Option<String>,
    /// Use the orchestrator (queue of small agents).
    #[arg(long, conflicts_with = "linear")]
    orchestrator: bool,
    /// Use the linear runner (one agent).
    #[arg(long)]
    linear: bool,
    /// The PostHog project token (else POSTHOG_PROJECT_TOKEN).
    #[arg(long)]
    project_token: Option<String>,
    /// PostHog cloud region.
    #[arg(long, value_enum)]
    region: Option<Region>,
    /// PostHog host, self-hosted or a custom domain (else POSTHOG_HOST).
    #[arg(long)]
    host: Option<String>,
    /// The PostHog MCP server (default by region).
    #[arg(long)]
    mcp_url: Option<String>,
    /// Your email, for the rollout flag (else git's user.email).
    #[arg(long)]
    email: Option<String>,
    /// Stop starting tasks once this many US dollars are spent.
    #[arg(long)]
    budget_usd: Option<f64>,
    /// Stop starting tasks once this many tokens are used.
    #[arg(long)]
    max_tokens: Option<u64>,
    /// Resume an unfinished run without asking.
    #[arg(long, conflicts_with = "fresh")]
    resume: bool,
    /// Start over even if a run is unfinished.
    #[arg(long)]
    fresh: bool,
    /// Send no telemetry.
    #[arg(long)]
    no_telemetry: bool,
    /// Check the agents' commands (install, build) against their permissions but do not run them.
    #[arg(long)]
    skip_commands: bool,
    /// In a monorepo, the app to integrate (a path from `wizard detect`); repeatable.
    #[arg(long = "app", value_name = "PATH")]
    apps: Vec<String>,
    /// In a monorepo, integrate every app.
    #[arg(long, conflicts_with = "apps")]
    all_apps: bool,
    /// Milliseconds each stub task takes (--provider stub only).
    #[arg(long, hide = true)]
    stub_delay_ms: Option<u64>,
}

#[derive(Debug, Args)]
struct LoginArgs {
    /// Print the sign-in URL instead of opening a browser, and take the pasted code.
    #[arg(long)]
    no_browser: bool,
    /// The PostHog project to use (default: your current project; asked when you have several).
    #[arg(long)]
    project_id: Option<u64>,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// The sample app to integrate (a folder of `examples/`), replayed with the cassette
    /// of the same name (default: next-app).
    #[arg(long)]
    app: Option<String>,
    /// Where to put the sample app (default: a new temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Tasks that may run at once.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// How the run is shown.
    #[arg(long, value_enum, default_value_t = UiChoice::Auto)]
    ui: UiChoice,
    /// Run the real `npm install` and `npm run build` (needs the npm registry).
    #[arg(long)]
    build: bool,
    /// Replay latency factor: 1 is realistic, 0 is instant.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Use the linear runner instead of the orchestrator.
    #[arg(long)]
    linear: bool,
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
        Command::Integrate(args) => integrate::integrate(options(args, ResumeChoice::Ask)),
        Command::Resume(args) => integrate::integrate(options(args, ResumeChoice::Resume)),
        Command::Demo(args) => demo_command(args),
        Command::Login(args) => login_command(args),
        Command::Logout => logout_command(),
        Command::Status { dir } => status(&dir),
        Command::Content(cmd) => content_command(cmd),
        Command::Detect { dir, json, content } => {
            crate::runner::detect::detect_command(&dir, json, content.as_deref())
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wizard: {e:#}");
            if e.downcast_ref::<crate::auth::AuthError>().is_some() {
                EXIT_AUTH
            } else {
                EXIT_USAGE
            }
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

fn options(args: RunArgs, mut resume: ResumeChoice) -> IntegrateOptions {
    if resume == ResumeChoice::Ask {
        if args.resume {
            resume = ResumeChoice::Resume;
        } else if args.fresh {
            resume = ResumeChoice::Fresh;
        }
    }
    let variant = if args.linear {
        Some(Variant::Linear)
    } else if args.orchestrator {
        Some(Variant::Orchestrator)
    } else {
        None
    };
    let budget = (args.budget_usd.is_some() || args.max_tokens.is_some()).then_some(Budget {
        max_usd: args.budget_usd,
        max_tokens: args.max_tokens,
    });
    let given = Given {
        content: args.content.is_some(),
        provider: args.provider.is_some(),
        cassette: args.cassette.is_some(),
        replay_speed: args.replay_speed.is_some(),
        concurrency: args.concurrency.is_some(),
        max_tasks: args.max_tasks.is_some(),
        max_depth: args.max_depth.is_some(),
        max_attempts: args.max_attempts.is_some(),
        budget: budget.is_some(),
        skip_commands: args.skip_commands,
        stub_delay: args.stub_delay_ms.is_some(),
    };
    IntegrateOptions {
        dir: args.dir,
        limits: QueueLimits {
            max_tasks: args.max_tasks.unwrap_or(30),
            max_depth: args.max_depth.unwrap_or(3),
            max_attempts: args.max_attempts.unwrap_or(2).max(1),
            concurrency: args.concurrency.unwrap_or(1).max(1),
            ..QueueLimits::default()
        },
        ui: resolve_ui(args.ui),
        yes: args.yes || args.ci,
        provider: args.provider,
        cassette: args.cassette,
        replay_speed: args.replay_speed.unwrap_or(1.0).max(0.0),
        content: args.content,
        variant,
        credentials: CredentialFlags {
            project_token: args.project_token,
            region: args.region,
            host: args.host,
            mcp_url: args.mcp_url,
        },
        sign_in: crate::auth::SignInFlags {
            ci: args.ci,
            no_browser: args.no_browser,
            api_key: args.api_key,
            project_id: args.project_id,
        },
        asks: crate::tools::asks::AskFlags {
            allow_commands: args.allow_command,
            allow_writes: args.allow_write,
            allow_tools: args.allow_tool,
        },
        review: args.review,
        email: args.email,
        no_telemetry: args.no_telemetry,
        budget,
        resume,
        skip_commands: args
            .skip_commands
            .then(|| "commands are switched off for this run (--skip-commands)".to_string()),
        stub_delay: Duration::from_millis(args.stub_delay_ms.unwrap_or(300)),
        given,
        apps: args.apps,
        all_apps: args.all_apps,
    }
}

fn demo_command(args: DemoArgs) -> Result<i32> {
    let dir = demo::prepare(
        args.app.as_deref().unwrap_or(demo::DEFAULT_APP),
        args.dir.as_deref(),
    )?;
    eprintln!("wizard demo: the sample app is in {}", dir.display());
    let opts = IntegrateOptions {
        dir,
        limits: QueueLimits {
            concurrency: args.concurrency.max(1),
            ..QueueLimits::default()
        },
        ui: resolve_ui(args.ui),
        yes: true,
        provider: Some(ProviderChoice::Replay),
        // Without `--app`, the product's demo cassette (content decides).
        cassette: args.app,
        replay_speed: args.speed.max(0.0),
        content: None,
        variant: Some(if args.linear {
            Variant::Linear
        } else {
            Variant::Orchestrator
        }),
        credentials: CredentialFlags::default(),
        sign_in: crate::auth::SignInFlags::default(),
        asks: Default::default(),
        review: false,
        email: None,
        no_telemetry: true,
        budget: None,
        resume: ResumeChoice::Fresh,
        skip_commands: (!args.build).then(|| {
            "the demo does not run commands; `wizard demo --build` runs npm for real".to_string()
        }),
        stub_delay: Duration::ZERO,
        given: Given::default(),
        apps: Vec::new(),
        all_apps: false,
    };
    integrate::integrate(opts)
}

fn login_command(args: LoginArgs) -> Result<i32> {
    use std::io::IsTerminal;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let opts = crate::auth::LoginOptions {
        no_browser: args.no_browser,
        project_id: args.project_id,
        interactive: std::io::stdin().is_terminal(),
    };
    let env = |name: &str| std::env::var(name).ok();
    let http = reqwest::Client::new();
    let signed_in = rt.block_on(crate::auth::login(&opts, &env, &http))?;
    println!(
        "Signed in{} to PostHog; project {} (id {}). `wizard integrate` will use it; `wizard logout` forgets it.",
        signed_in
            .email
            .as_deref()
            .map(|e| format!(" as {e}"))
            .unwrap_or_default(),
        signed_in.project.name,
        signed_in.project.id,
    );
    Ok(EXIT_OK)
}

fn logout_command() -> Result<i32> {
    match crate::auth::logout()? {
        Some(path) => println!("Signed out: removed {}.", path.display()),
        None => println!("Not signed in: nothing to remove."),
    }
    Ok(EXIT_OK)
}

fn status(dir: &Path) -> Result<i32> {
    let path = dir.join(files::STATE_DIR).join(files::QUEUE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no run found: cannot read {}", path.display()))?;
    let file: QueueFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid queue file", path.display()))?;
    print!("{}", crate::ui::status::status_table(&file.tasks));
    if let Some(outcome) = &file.outcome {
        println!("\n{}", outcome.message);
    }
    Ok(EXIT_OK)
}

fn content_command(cmd: ContentCommand) -> Result<i32> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cmd {
        ContentCommand::Check { content } => {
            let source = ContentSource::parse(content.as_deref());
            match rt.block_on(content::load(&source)) {
                Ok(set) => {
                    let models = crate::providers::pricing::ModelTable::parse(&set.models_yaml);
                    let model_errors = match &models {
                        Ok(table) => set.validate_models(|m| table.is_known(m)),
                        Err(e) => {
                            eprintln!("models.yaml: {e}");
                            return Ok(EXIT_USAGE);
                        }
                    };
                    print!("{}", content::check_report(&set));
                    if !model_errors.is_empty() {
                        for e in model_errors {
                            eprintln!("{e}");
                        }
                        return Ok(EXIT_USAGE);
                    }
                    Ok(EXIT_OK)
                }
                Err(errors) => {
                    eprintln!("the content in {source} is not valid:");
                    for e in errors.iter() {
                        eprintln!("  {e}");
                    }
                    Ok(EXIT_USAGE)
                }
            }
        }
        ContentCommand::Export { dir } => {
            let written = content::export_embedded(&dir)?;
            println!("wrote {} files to {}", written.len(), dir.display());
            Ok(EXIT_OK)
        }
        ContentCommand::Serve { content, port } => {
            let source = ContentSource::parse(content.as_deref());
            let (tx, _rx) = tokio::sync::oneshot::channel();
            rt.block_on(content::serve(&source, port, tx))?;
            Ok(EXIT_OK)
        }
    }
}
