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

use std::path::Path;
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
    /// Peak resident memory of the child process (`VmHWM`), in MiB.
    pub peak_rss_mib: f64,
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
pub fn run_one(shape: Shape, tasks: usize, cap: usize) -> Result<MachineryRun> {
    if tasks < 3 {
        bail!("a run needs at least 3 tasks, got {tasks}");
    }
    let tasks = match shape {
        Shape::FanOutFanIn => tasks,
        Shape::Chains => tasks - tasks % CHAIN_LENGTH,
    };
    let app = tempfile::tempdir().context("creating the run's folder")?;
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
        coalesce: Duration::from_millis(50),
        fail_queue_writes_after: None,
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
    let peak_rss_mib = peak_rss_mib()?;
    if !result.storage_errors.is_empty() {
        bail!("storage errors: {}", result.storage_errors.join("; "));
    }
    let queue_path = state_dir.join("queue.json");
    let text = std::fs::read_to_string(&queue_path)
        .with_context(|| format!("reading {}", queue_path.display()))?;
    let file: QueueFile = serde_json::from_str(&text)
        .with_context(|| format!("parsing {}", queue_path.display()))?;
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
        completed,
        wall_ms: wall * 1000.0,
        tasks_per_sec: tasks as f64 / wall,
        queue_writes: stats.queue_writes,
        queue_writes_per_sec: stats.queue_writes as f64 / wall,
        queue_bytes: stats.queue_bytes,
        queue_file_bytes: text.len() as u64,
        audit_bytes: stats.audit_bytes,
        events: file.last_seq,
        peak_rss_mib,
    })
}

/// `VmHWM` of this process, in MiB.
fn peak_rss_mib() -> Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
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
    Ok(kib / 1024.0)
}

/// How one figure grows from one task count to the next (same shape and cap).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Growth {
    /// The graph.
    pub shape: Shape,
    /// The cap.
    pub cap: usize,
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
            .filter(|b| b.shape == a.shape && b.cap == a.cap && b.tasks > a.tasks)
            .min_by_key(|b| b.tasks);
        let Some(b) = next else { continue };
        let ratio = b.tasks as f64 / a.tasks as f64;
        let wall = exponent(a.wall_ms, b.wall_ms, ratio);
        let bytes = exponent(a.queue_bytes as f64, b.queue_bytes as f64, ratio);
        let rss = exponent(a.peak_rss_mib, b.peak_rss_mib, ratio);
        out.push(Growth {
            shape: a.shape,
            cap: a.cap,
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
pub fn run_all(
    exe: &Path,
    shapes: &[Shape],
    sizes: &[usize],
    caps: &[usize],
) -> Result<Vec<MachineryRun>> {
    let mut runs = Vec::new();
    for &shape in shapes {
        for &tasks in sizes {
            for &cap in caps {
                eprintln!(
                    "machinery: {} tasks={tasks} cap={cap} …",
                    shape.name()
                );
                let out = Command::new(exe)
                    .args(["machinery-one", "--shape", shape.name()])
                    .args(["--tasks", &tasks.to_string(), "--cap", &cap.to_string()])
                    .output()
                    .with_context(|| format!("starting {}", exe.display()))?;
                if !out.status.success() {
                    bail!(
                        "machinery run {} tasks={tasks} cap={cap} failed: {}",
                        shape.name(),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                let line = String::from_utf8_lossy(&out.stdout);
                let run: MachineryRun = serde_json::from_str(line.trim()).with_context(|| {
                    format!("parsing the child's figures: {}", line.trim())
                })?;
                eprintln!(
                    "  {:.0} tasks/s, {} queue.json writes ({:.1} MB), peak RSS {:.0} MiB",
                    run.tasks_per_sec,
                    run.queue_writes,
                    run.queue_bytes as f64 / 1e6,
                    run.peak_rss_mib
                );
                runs.push(run);
            }
        }
    }
    Ok(runs)
}
