//! Part 2 of the benchmarks: the queue machinery at scale, with no model at all.
//!
//! Each configuration (shape × task count × concurrency cap) runs in a child
//! process of its own (`wizard_bench machinery-one …`), so its peak RSS
//! (`VmHWM`) is its own and not the largest run's so far. The child runs the
//! real [`orchestrated::run`] — queue actor, task agent pool, persister on its
//! own arbiter, write-ahead audit log, quiet UI — over a [`ZeroLatency`]
//! backend whose seed enqueues a synthetic graph and whose tasks complete at
//! once with a tiny handoff. It prints one JSON line; the parent collects them
//! and works out how each figure grows with the task count.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;

use wizard::actors::ui::UiMode;
use wizard::agent::{AgentBackend, AgentJob, AttemptReport, SeedReport, TaskPort};
use wizard::messages::{
    AttemptEnd, Handoff, QueueFile, ReportStatus, RunInfo, TaskSpec, TaskStatus, Variant,
};
use wizard::queue::{Catalogue, QueueLimits};
use wizard::runner::orchestrated::{self, RunSetup};

/// The graph a seed enqueues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// One root, N-2 middle tasks that depend on it, one sink that depends on every middle.
    FanOutFanIn,
    /// N/10 independent chains of 10 tasks, each depending on the one before it.
    Chains,
}

impl Shape {
    /// The name used in results.
    pub fn name(self) -> &'static str {
        match self {
            Shape::FanOutFanIn => "fan-out-fan-in",
            Shape::Chains => "chains",
        }
    }
}

/// Where the run's state folder lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Storage {
    /// The system's temp dir (`$TMPDIR`, else `/tmp`): a real disk, as a user's app would be.
    Disk,
    /// `/dev/shm`: memory, to show the machinery's own cost without the file system's.
    Tmpfs,
}

impl Storage {
    /// The name used in results.
    pub fn name(self) -> &'static str {
        match self {
            Storage::Disk => "disk",
            Storage::Tmpfs => "tmpfs",
        }
    }

    fn base(self) -> PathBuf {
        match self {
            Storage::Disk => std::env::temp_dir(),
            Storage::Tmpfs => PathBuf::from("/dev/shm"),
        }
    }

    /// True when this storage exists here.
    pub fn available(self) -> bool {
        self.base().is_dir()
    }
}

/// One configuration to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The graph.
    pub shape: Shape,
    /// Tasks.
    pub tasks: usize,
    /// Concurrency cap.
    pub cap: usize,
    /// Where the state folder lives.
    pub storage: Storage,
}

/// The largest run of the default plan with the state folder on disk: a disk
/// run is bound by file creation (one handoff file per task), which on a slow
/// file system makes a 50k-task run take minutes.
const DISK_PLAN_MAX_TASKS: usize = 10_000;

/// The default plan, each at every size: the fan-out/fan-in graph at caps 1,
/// 8 and 64 and chains at cap 8 with the state folder in memory (the
/// machinery's own cost), and the fan-out/fan-in graph at cap 8 on disk (what
/// the file system adds; up to [`DISK_PLAN_MAX_TASKS`]). Without `/dev/shm`,
/// everything runs on disk.
pub fn default_plan(sizes: &[usize]) -> Vec<Config> {
    let memory = if Storage::Tmpfs.available() {
        Storage::Tmpfs
    } else {
        Storage::Disk
    };
    let mut plan = Vec::new();
    let mut add = |shape, cap, storage: Storage| {
        for &tasks in sizes {
            if storage == Storage::Disk && memory == Storage::Tmpfs && tasks > DISK_PLAN_MAX_TASKS {
                continue;
            }
            let config = Config {
                shape,
                tasks,
                cap,
                storage,
            };
            if !plan.contains(&config) {
                plan.push(config);
            }
        }
    };
    for cap in [1, 8, 64] {
        add(Shape::FanOutFanIn, cap, memory);
    }
    add(Shape::Chains, 8, memory);
    add(Shape::FanOutFanIn, 8, Storage::Disk);
    plan
}

/// Tasks per chain in the `chains` shape.
const CHAIN_LENGTH: usize = 10;

/// What one configuration measured (one child process).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MachineryRun {
    /// The graph.
    pub shape: Shape,
    /// Tasks in the run.
    pub tasks: usize,
    /// The concurrency cap.
    pub cap: usize,
    /// Where the state folder lived.
    pub storage: Storage,
    /// Tasks that completed (must equal `tasks`).
    pub completed: usize,
    /// From the first enqueue to `run` returning, final `queue.json` write included.
    pub wall_ms: f64,
    /// `tasks / wall`.
    pub tasks_per_sec: f64,
    /// `queue.json` writes over the run.
    pub queue_writes: u64,
    /// `queue_writes / wall`.
    pub queue_writes_per_sec: f64,
    /// Bytes written to `queue.json`, over all writes.
    pub queue_bytes: u64,
    /// Size of the final `queue.json`.
    pub queue_file_bytes: u64,
    /// Size of `audit.jsonl`.
    pub audit_bytes: u64,
    /// Events in the run (the final file's `lastSeq`).
    pub events: u64,
    /// Peak resident memory of the child process (`VmHWM`), in MB (10^6 bytes).
    pub peak_rss_mb: f64,
    /// Peak live heap (bytes allocated and not yet freed), in MB.
    pub peak_heap_mb: f64,
}

/// A backend that completes every task at once with a tiny handoff; its seed enqueues `shape`.
struct ZeroLatency {
    shape: Shape,
    tasks: usize,
    first_enqueue: Mutex<Option<Instant>>,
}

fn spec(task_type: &str, n: usize) -> TaskSpec {
    // Distinct inputs per task: the duplicate guard compares type + inputs.
    TaskSpec::new(task_type).with_inputs(json!({ "n": n }))
}

impl ZeroLatency {
    async fn enqueue(&self, port: &dyn TaskPort, spec: TaskSpec) -> Result<String, String> {
        port.enqueue(spec).await.map_err(|e| e.to_string())
    }

    async fn seed_graph(&self, port: &dyn TaskPort) -> Result<(), String> {
        if let Ok(mut first) = self.first_enqueue.lock() {
            *first = Some(Instant::now());
        }
        match self.shape {
            Shape::FanOutFanIn => {
                let root = self.enqueue(port, spec("root", 0)).await?;
                let mut middles = Vec::with_capacity(self.tasks.saturating_sub(2));
                for n in 1..self.tasks.saturating_sub(1) {
                    let id = self
                        .enqueue(port, spec("middle", n).after([root.clone()]))
                        .await?;
                    middles.push(id);
                }
                self.enqueue(port, spec("sink", self.tasks).after(middles))
                    .await?;
            }
            Shape::Chains => {
                let mut previous: Vec<Option<String>> = vec![None; self.tasks / CHAIN_LENGTH];
                // Layer by layer, so every chain's head can start while the rest is enqueued.
                for step in 0..CHAIN_LENGTH {
                    for (chain, prev) in previous.iter_mut().enumerate() {
                        let mut s = spec("step", chain * CHAIN_LENGTH + step);
                        if let Some(p) = prev.take() {
                            s = s.after([p]);
                        }
                        *prev = Some(self.enqueue(port, s).await?);
                    }
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl AgentBackend for ZeroLatency {
    async fn run(&self, job: AgentJob, _port: Arc<dyn TaskPort>) -> AttemptReport {
        AttemptReport::free(AttemptEnd::Reported {
            status: ReportStatus::Done,
            handoff: Handoff {
                goals: "bench".into(),
                did: format!("{} done", job.task.id),
                for_next_agent: String::new(),
                files_touched: Vec::new(),
                conflict: None,
                ..Default::default()
            },
        })
    }

    async fn seed(&self, port: Arc<dyn TaskPort>) -> SeedReport {
        SeedReport {
            error: self.seed_graph(port.as_ref()).await.err(),
            ..SeedReport::default()
        }
    }
}

/// Runs one configuration in this process and returns its figures (the child's side).
pub fn run_one(config: Config) -> Result<MachineryRun> {
    let Config {
        shape,
        tasks,
        cap,
        storage,
    } = config;
    if tasks < 3 {
        bail!("a run needs at least 3 tasks, got {tasks}");
    }
    let tasks = match shape {
        Shape::FanOutFanIn => tasks,
        Shape::Chains => tasks - tasks % CHAIN_LENGTH,
    };
    let app = tempfile::tempdir_in(storage.base())
        .with_context(|| format!("creating the run's folder in {}", storage.base().display()))?;
    let state_dir = app.path().join(".posthog-wizard");
    let backend = Arc::new(ZeroLatency {
        shape,
        tasks,
        first_enqueue: Mutex::new(None),
    });
    let limits = QueueLimits {
        max_tasks: tasks,
        max_starts: u32::try_from(tasks).context("too many tasks")?,
        concurrency: cap,
        ..QueueLimits::default()
    };
    let run = RunInfo {
        run_id: format!("bench-{}-{tasks}-{cap}", shape.name()),
        variant: Variant::Orchestrator,
        install_dir: app.path().display().to_string(),
        created_at: chrono::Utc::now(),
        framework: None,
        concurrency: cap,
        content_hash: None,
    };
    let setup = RunSetup {
        state_dir: state_dir.clone(),
        limits,
        catalogue: Catalogue::from_triples([
            ("root", "Root", "small"),
            ("middle", "Middle", "small"),
            ("sink", "Sink", "small"),
            ("step", "Step", "small"),
        ]),
        backend: backend.clone(),
        ui: UiMode::Quiet,
        run,
        resume: None,
        budget: None,
        subscribers: Vec::new(),
        flush: Vec::new(),
        coalesce: Duration::from_millis(50),
        fail_queue_writes_after: None,
        asker: None,
    };
    let result = actix::System::new().block_on(orchestrated::run(setup));
    let end = Instant::now();
    let started = backend
        .first_enqueue
        .lock()
        .ok()
        .and_then(|f| *f)
        .context("the seed never enqueued")?;
    // Read the peak before parsing queue.json, which would raise it.
    let peak_rss_mb = peak_rss_mb()?;
    let peak_heap_mb = crate::heap::peak_bytes() as f64 / 1e6;
    if !result.storage_errors.is_empty() {
        bail!("storage errors: {}", result.storage_errors.join("; "));
    }
    let queue_path = state_dir.join("queue.json");
    let text = std::fs::read_to_string(&queue_path)
        .with_context(|| format!("reading {}", queue_path.display()))?;
    let file: QueueFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", queue_path.display()))?;
    let completed = file
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Completed)
        .count();
    let wall = end.duration_since(started).as_secs_f64();
    let stats = result.persist;
    Ok(MachineryRun {
        shape,
        tasks,
        cap,
        storage,
        completed,
        wall_ms: wall * 1000.0,
        tasks_per_sec: tasks as f64 / wall,
        queue_writes: stats.queue_writes,
        queue_writes_per_sec: stats.queue_writes as f64 / wall,
        queue_bytes: stats.queue_bytes,
        queue_file_bytes: text.len() as u64,
        audit_bytes: stats.audit_bytes,
        events: file.last_seq,
        peak_rss_mb,
        peak_heap_mb,
    })
}

/// `VmHWM` of this process, in MB (10^6 bytes).
fn peak_rss_mb() -> Result<f64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM line in /proc/self/status")?;
    let kib: f64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("unreadable VmHWM line: {line}"))?;
    Ok(kib * 1024.0 / 1e6)
}

/// How one figure grows from one task count to the next (same shape and cap).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Growth {
    /// The graph.
    pub shape: Shape,
    /// The cap.
    pub cap: usize,
    /// Where the state folder lived.
    pub storage: Storage,
    /// The smaller task count.
    pub from_tasks: usize,
    /// The larger task count.
    pub to_tasks: usize,
    /// Growth exponent of the wall clock: 1 is linear, 2 quadratic.
    pub wall_exponent: f64,
    /// The wall clock's growth scaled to a 10x step in tasks (`10^exponent`).
    pub wall_per_10x: f64,
    /// Growth exponent of the bytes written to `queue.json`.
    pub queue_bytes_exponent: f64,
    /// Those bytes' growth per 10x tasks.
    pub queue_bytes_per_10x: f64,
    /// Growth exponent of `audit.jsonl`.
    pub audit_bytes_exponent: f64,
    /// Growth exponent of the peak RSS.
    pub peak_rss_exponent: f64,
    /// The peak RSS's growth per 10x tasks.
    pub peak_rss_per_10x: f64,
}

fn exponent(from: f64, to: f64, size_ratio: f64) -> f64 {
    if from <= 0.0 || to <= 0.0 || size_ratio <= 1.0 {
        return 0.0;
    }
    (to / from).ln() / size_ratio.ln()
}

/// Growth between consecutive task counts of each (shape, cap).
pub fn growth(runs: &[MachineryRun]) -> Vec<Growth> {
    let mut out = Vec::new();
    for a in runs {
        let next = runs
            .iter()
            .filter(|b| {
                b.shape == a.shape && b.cap == a.cap && b.storage == a.storage && b.tasks > a.tasks
            })
            .min_by_key(|b| b.tasks);
        let Some(b) = next else { continue };
        let ratio = b.tasks as f64 / a.tasks as f64;
        let wall = exponent(a.wall_ms, b.wall_ms, ratio);
        let bytes = exponent(a.queue_bytes as f64, b.queue_bytes as f64, ratio);
        let rss = exponent(a.peak_rss_mb, b.peak_rss_mb, ratio);
        out.push(Growth {
            shape: a.shape,
            cap: a.cap,
            storage: a.storage,
            from_tasks: a.tasks,
            to_tasks: b.tasks,
            wall_exponent: wall,
            wall_per_10x: 10f64.powf(wall),
            queue_bytes_exponent: bytes,
            queue_bytes_per_10x: 10f64.powf(bytes),
            audit_bytes_exponent: exponent(a.audit_bytes as f64, b.audit_bytes as f64, ratio),
            peak_rss_exponent: rss,
            peak_rss_per_10x: 10f64.powf(rss),
        });
    }
    out
}

/// Runs every configuration, each in a child process of `exe`, and returns their figures.
pub fn run_all(exe: &Path, plan: &[Config]) -> Result<Vec<MachineryRun>> {
    let mut runs = Vec::new();
    for c in plan {
        eprintln!(
            "machinery: {} tasks={} cap={} on {} …",
            c.shape.name(),
            c.tasks,
            c.cap,
            c.storage.name()
        );
        let out = Command::new(exe)
            .args(["machinery-one", "--shape", c.shape.name()])
            .args(["--tasks", &c.tasks.to_string(), "--cap", &c.cap.to_string()])
            .args(["--storage", c.storage.name()])
            .output()
            .with_context(|| format!("starting {}", exe.display()))?;
        if !out.status.success() {
            bail!(
                "machinery run {c:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let line = String::from_utf8_lossy(&out.stdout);
        let run: MachineryRun = serde_json::from_str(line.trim())
            .with_context(|| format!("parsing the child's figures: {}", line.trim()))?;
        if run.completed != run.tasks {
            bail!(
                "machinery run {c:?}: only {} of {} tasks completed",
                run.completed,
                run.tasks
            );
        }
        eprintln!(
            "  {:.0} tasks/s, {} queue.json writes ({:.1} MB), peak RSS {:.0} MB (heap {:.0} MB)",
            run.tasks_per_sec,
            run.queue_writes,
            run.queue_bytes as f64 / 1e6,
            run.peak_rss_mb,
            run.peak_heap_mb
        );
        runs.push(run);
    }
    Ok(runs)
}
