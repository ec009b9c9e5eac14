//! Part 1 of the benchmarks: the responsiveness A/B, linear against the
//! orchestrator at caps 1, 2 and 4.
//!
//! Each variant runs the real `wizard integrate` binary on a fresh copy of
//! `examples/next-app`, with `--provider anthropic` pointed at a loopback
//! [`FakeAnthropic`] that plays the demo cassette through a [`FakeModel`]
//! (scripts found from each request, usage with simulated prompt caching, a
//! latency model per tier). The figures come from the run's JSON lines, its
//! `queue.json` and the fake's request log ([`crate::figures`]).
//!
//! The `build` task (and the linear script's build step) would run `npm
//! install` and `npm run build` for real, which needs a package registry; the
//! benchmark rewrites those `Bash` calls into reads of `package.json`, so the
//! scripts keep their turns and tool calls and the Bash allow-lists in the
//! content stay as they are.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use wizard::messages::{QueueFile, TaskStatus, Usage};
use wizard::providers::pricing::ModelTable;
use wizard_fakes::FakeAnthropic;

use crate::fake_model::{FakeModel, Pacing, RequestRecord};
use crate::figures::{self, FixedPrompt, Spend, Timeline};
use crate::scripts::Scripts;

/// The longest a single variant may run before the benchmark gives up on it.
const VARIANT_GUARD: Duration = Duration::from_secs(600);

/// Options of the responsiveness part.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Factor on every model wait (0.1 = ten times faster than life).
    #[arg(long, default_value_t = 0.1)]
    pub time_scale: f64,
    /// The cassette whose scripts the fake server plays.
    #[arg(long)]
    pub cassette: Option<PathBuf>,
    /// The app each variant integrates (copied first).
    #[arg(long)]
    pub app: Option<PathBuf>,
    /// Orchestrator caps to run (linear always runs, at cap 1).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2, 4])]
    pub caps: Vec<usize>,
    /// Runs per variant; the run with the median wall clock is kept.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            time_scale: 0.1,
            cassette: None,
            app: None,
            caps: vec![1, 2, 4],
            repeat: 1,
        }
    }
}

/// One variant's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantFigures {
    /// `linear` or `orchestrator-capN`.
    pub name: String,
    /// `linear` or `orchestrator`.
    pub runner: String,
    /// The concurrency cap.
    pub cap: usize,
    /// The binary's exit code.
    pub exit_code: Option<i32>,
    /// Tasks in the run, and how many completed.
    pub tasks: usize,
    /// Tasks completed.
    pub completed: usize,
    /// Tasks that reported themselves not needed (skipped).
    pub not_needed: usize,
    /// Model requests the fake answered.
    pub requests: usize,
    /// Times, from the JSON lines (scaled time, milliseconds).
    pub timeline: Timeline,
    /// From spawning the binary to its exit, in milliseconds.
    pub process_wall_ms: f64,
    /// Tokens before each agent's own text.
    pub fixed_prompt: FixedPrompt,
    /// Model requests per task agent (the seed left out; linear's one session is one agent).
    pub turns_per_task: f64,
    /// Tokens and cost, from `queue.json`: what the real API would bill, with
    /// each model's minimum cacheable prefix (the headline).
    pub spend: Spend,
    /// The same, summed by the fake server from each request it billed (a cross-check).
    pub server_spend: Spend,
    /// The floor-free simulation: the same requests billed by a cache that
    /// caches any prefix (see [`crate::fake_model::min_cacheable_tokens`]).
    pub spend_without_floors: Spend,
    /// Each figure over linear's (absent for linear itself).
    pub vs_linear: Option<VsLinear>,
}

/// A variant's figures over linear's.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VsLinear {
    /// First visible progress.
    pub first_progress: Option<f64>,
    /// First completion.
    pub first_completion: Option<f64>,
    /// Longest silence.
    pub longest_silence: Option<f64>,
    /// Wall clock (run_started → run_finished).
    pub wall: Option<f64>,
    /// All input tokens (uncached, cache reads and writes).
    pub input_tokens: Option<f64>,
    /// Output tokens.
    pub output_tokens: Option<f64>,
    /// Cost.
    pub cost: Option<f64>,
}

/// The part's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponsivenessSection {
    /// The latency model.
    pub pacing: Pacing,
    /// The cassette played.
    pub cassette: String,
    /// `Bash` calls rewritten into reads (no registry in the benchmark).
    pub bash_calls_rewritten: usize,
    /// Runs per variant (the median by wall clock is kept).
    pub repeat: usize,
    /// Linear first, then the orchestrator by cap.
    pub variants: Vec<VariantFigures>,
}

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Runs every variant and returns the figures.
pub fn run(opts: &Options, out: &Path) -> Result<ResponsivenessSection> {
    let cassette = opts
        .cassette
        .clone()
        .unwrap_or_else(|| repo_path("content/cassettes/next-app.yaml"));
    let app = opts
        .app
        .clone()
        .unwrap_or_else(|| repo_path("examples/next-app"));
    let yaml = std::fs::read_to_string(&cassette)
        .with_context(|| format!("reading the cassette {}", cassette.display()))?;
    let mut scripts = Scripts::parse(&cassette.display().to_string(), &yaml)?;
    let rewritten = scripts.replace_bash("build", "package.json")
        + scripts.replace_bash("linear", "package.json");
    let models_path = repo_path("content/models.yaml");
    let models_yaml = std::fs::read_to_string(&models_path)
        .with_context(|| format!("reading {}", models_path.display()))?;
    let models = ModelTable::parse(&models_yaml).map_err(|e| anyhow!("{e}"))?;
    let pacing = Pacing::standard(opts.time_scale);

    let mut plan = vec![("linear".to_string(), true, 1)];
    for &cap in &opts.caps {
        plan.push((format!("orchestrator-cap{cap}"), false, cap));
    }
    let mut variants = Vec::new();
    for (name, linear, cap) in plan {
        let mut runs = Vec::new();
        for i in 0..opts.repeat.max(1) {
            eprintln!("responsiveness: {name} (run {}) …", i + 1);
            let (run, lines, requests) =
                run_variant(&app, &scripts, &models, pacing, &name, linear, cap)?;
            save_raw(out, &format!("{name}-{}", i + 1), &lines, &requests)?;
            eprintln!(
                "  verdict {:?}, first progress {:?} ms, longest silence {:?} ms, wall {:?} ms, ${:.4}",
                run.timeline.verdict,
                run.timeline.first_progress_ms,
                run.timeline.longest_silence_ms,
                run.timeline.wall_ms,
                run.spend.cost_usd
            );
            runs.push(run);
        }
        runs.sort_by(|a, b| a.process_wall_ms.total_cmp(&b.process_wall_ms));
        let median = runs.swap_remove(runs.len() / 2);
        variants.push(median);
    }
    let linear = variants.first().cloned();
    if let Some(linear) = linear {
        for v in variants.iter_mut().skip(1) {
            v.vs_linear = Some(vs_linear(v, &linear));
        }
    }
    Ok(ResponsivenessSection {
        pacing,
        cassette: cassette
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&cassette)
            .display()
            .to_string(),
        bash_calls_rewritten: rewritten,
        repeat: opts.repeat.max(1),
        variants,
    })
}

fn vs_linear(v: &VariantFigures, linear: &VariantFigures) -> VsLinear {
    let ms = |x: Option<u64>| x.map(|x| x as f64);
    let all_input =
        |s: &Spend| Some((s.input_tokens + s.cache_read_tokens + s.cache_write_tokens) as f64);
    VsLinear {
        first_progress: figures::ratio(
            ms(v.timeline.first_progress_ms),
            ms(linear.timeline.first_progress_ms),
        ),
        first_completion: figures::ratio(
            ms(v.timeline.first_completion_ms),
            ms(linear.timeline.first_completion_ms),
        ),
        longest_silence: figures::ratio(
            ms(v.timeline.longest_silence_ms),
            ms(linear.timeline.longest_silence_ms),
        ),
        wall: figures::ratio(ms(v.timeline.wall_ms), ms(linear.timeline.wall_ms)),
        input_tokens: figures::ratio(all_input(&v.spend), all_input(&linear.spend)),
        output_tokens: figures::ratio(
            Some(v.spend.output_tokens as f64),
            Some(linear.spend.output_tokens as f64),
        ),
        cost: figures::ratio(Some(v.spend.cost_usd), Some(linear.spend.cost_usd)),
    }
}

fn run_variant(
    app: &Path,
    scripts: &Scripts,
    models: &ModelTable,
    pacing: Pacing,
    name: &str,
    linear: bool,
    cap: usize,
) -> Result<(VariantFigures, Vec<String>, Vec<RequestRecord>)> {
    let dir = tempfile::tempdir().context("creating a folder for the app copy")?;
    let install = dir.path().join("app");
    copy_app(app, &install)?;
    let model = Arc::new(FakeModel::new(scripts.clone(), models.clone(), pacing));
    let served = model.clone();
    let server = FakeAnthropic::builder(move |body, _| served.reply(body)).start_background();

    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wizard"))
        .arg("integrate")
        .arg(&install)
        .args(["--provider", "anthropic", "--ui", "json", "--concurrency"])
        .arg(cap.to_string())
        .arg(if linear { "--linear" } else { "--orchestrator" })
        // The build task's checks would run `npm run build` on an app with no node_modules.
        .args(["--yes", "--fresh", "--no-telemetry", "--skip-commands"])
        .env("ANTHROPIC_BASE_URL", server.base_url())
        .env("ANTHROPIC_API_KEY", "bench")
        // A run with a model needs a PostHog project; no sign-in stored on this machine may leak in.
        .env("POSTHOG_PROJECT_TOKEN", "phc_bench_project_token")
        .env_remove("POSTHOG_PERSONAL_API_KEY")
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env_remove("ANTHROPIC_AUTH_TOKEN")
        .env_remove("WIZARD_ORCHESTRATOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the wizard binary")?;
    let stdout = child.stdout.take().context("the child's stdout")?;
    let mut stderr = child.stderr.take().context("the child's stderr")?;
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for the wizard")? {
            break status;
        }
        if started.elapsed() > VARIANT_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{name}: the run did not finish within {VARIANT_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let process_wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let lines = reader
        .join()
        .map_err(|_| anyhow!("{name}: the stdout reader panicked"))?;
    let stderr = err_reader.join().unwrap_or_default();

    let queue_path = install.join(".posthog-wizard/queue.json");
    let text = std::fs::read_to_string(&queue_path).with_context(|| {
        format!(
            "{name}: no {} (exit {:?}); stderr:\n{stderr}",
            queue_path.display(),
            status.code()
        )
    })?;
    let file: QueueFile = serde_json::from_str(&text)
        .with_context(|| format!("{name}: parsing {}", queue_path.display()))?;
    let requests = model.requests();
    let timeline = figures::timeline(&lines);
    if timeline.verdict.as_deref() != Some("success") {
        eprintln!(
            "  warning: {name} ended with {:?}; failed requests: {:?}\n{stderr}",
            timeline.verdict,
            requests
                .iter()
                .filter_map(|r| r.error.as_ref())
                .collect::<Vec<_>>()
        );
    }
    let figures = VariantFigures {
        name: name.to_string(),
        runner: if linear { "linear" } else { "orchestrator" }.into(),
        cap,
        exit_code: status.code(),
        tasks: file.tasks.len(),
        completed: file
            .tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Completed)
            .count(),
        not_needed: file.outcome.as_ref().map_or(0, |o| o.not_needed),
        requests: requests.len(),
        timeline,
        process_wall_ms,
        fixed_prompt: figures::fixed_prompt(&requests),
        spend: Spend::of_queue(&file).unwrap_or_default(),
        server_spend: server_spend(&requests, models, |r| r.usage),
        spend_without_floors: server_spend(&requests, models, |r| r.usage_without_floors),
        turns_per_task: figures::turns_per_task(&requests),
        vs_linear: None,
    };
    Ok((figures, lines, requests))
}

/// What the fake billed (as `bill` counts each request), priced with the same table.
fn server_spend(
    requests: &[RequestRecord],
    models: &ModelTable,
    bill: impl Fn(&RequestRecord) -> Usage,
) -> Spend {
    let mut usage = Usage::default();
    let mut cost = 0.0;
    for r in requests {
        let billed = bill(r);
        usage.add(&billed);
        cost += models.cost_usd(&r.model, &billed);
    }
    Spend::of(&usage, cost)
}

/// Keeps a variant's raw material next to the results: its JSON lines and the fake's request log.
fn save_raw(dir: &Path, name: &str, lines: &[String], requests: &[RequestRecord]) -> Result<()> {
    let runs = dir.join("runs");
    std::fs::create_dir_all(&runs).with_context(|| format!("creating {}", runs.display()))?;
    std::fs::write(runs.join(format!("{name}.jsonl")), lines.join("\n") + "\n")?;
    std::fs::write(
        runs.join(format!("{name}.requests.json")),
        serde_json::to_string_pretty(requests)?,
    )?;
    Ok(())
}

/// Copies the sample app, leaving out what a previous run or install left in it.
fn copy_app(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if matches!(
            name.to_str(),
            Some(".posthog-wizard" | "node_modules" | ".next")
        ) {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            copy_app(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}
