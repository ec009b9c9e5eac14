//! `target/bench/results.json` and `target/bench/results.md`: the benchmark's output.
//!
//! Each part replaces its own section of `results.json` and leaves the others
//! as they were, then the targets are judged again and the markdown is
//! rewritten from the whole file. The fields are documented in
//! `bench/README.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::crash::CrashSection;
use crate::machinery::{self, Growth, MachineryRun, Shape, Storage};
use crate::responsiveness::{ResponsivenessSection, VariantFigures};

/// The whole results file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Results {
    /// When the file was last written.
    #[serde(default)]
    pub updated_at: String,
    /// The machine: CPUs the benchmark saw, and the build profile.
    #[serde(default)]
    pub machine: Machine,
    /// Part 1: linear against the orchestrator.
    pub responsiveness: Option<ResponsivenessSection>,
    /// Part 2: the queue at scale.
    pub machinery: Option<MachinerySection>,
    /// The random-kill crash harness.
    pub crash: Option<CrashSection>,
    /// Where each target of the issue stands (judged, never asserted).
    #[serde(default)]
    pub targets: Vec<Target>,
}

/// Where the numbers were taken.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    /// Logical CPUs available.
    pub cpus: usize,
    /// `release` (from `cargo bench`) or `debug`.
    pub profile: String,
}

/// Part 2's runs and how they grow.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MachinerySection {
    /// One entry per (shape, tasks, cap).
    pub runs: Vec<MachineryRun>,
    /// Growth between consecutive task counts.
    pub growth: Vec<Growth>,
}

/// One target of the issue and where it stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// What is measured.
    pub what: String,
    /// The target, in words.
    pub target: String,
    /// The measured value, in words.
    pub actual: String,
    /// True when met.
    pub met: bool,
}

impl Results {
    /// Replaces the machinery section.
    pub fn set_machinery(&mut self, runs: Vec<MachineryRun>) {
        let growth = machinery::growth(&runs);
        self.machinery = Some(MachinerySection { runs, growth });
    }
}

/// `<repo>/target/bench`, or `$CARGO_TARGET_DIR/bench`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("bench")
}

/// Loads `results.json` from `dir` (empty when absent or unreadable), applies
/// `change`, judges the targets and writes `results.json` and `results.md`.
pub fn update(dir: &Path, change: impl FnOnce(&mut Results)) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json_path = dir.join("results.json");
    let mut results: Results = std::fs::read_to_string(&json_path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    change(&mut results);
    results.updated_at = chrono::Utc::now().to_rfc3339();
    results.machine = Machine {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
        .into(),
    };
    results.targets = judge(&results);
    std::fs::write(&json_path, serde_json::to_string_pretty(&results)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    let md_path = dir.join("results.md");
    std::fs::write(&md_path, markdown(&results))
        .with_context(|| format!("writing {}", md_path.display()))?;
    eprintln!("wrote {} and {}", json_path.display(), md_path.display());
    Ok(())
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn judge(r: &Results) -> Vec<Target> {
    let mut out = Vec::new();
    if let Some(resp) = &r.responsiveness {
        let cap4 = resp.variants.iter().find(|v| v.name == "orchestrator-cap4");
        if let Some(v) = cap4 {
            let ratios = v.vs_linear.clone().unwrap_or_default();
            let mut ratio_target = |what: &str, value: Option<f64>, limit: f64| {
                out.push(Target {
                    what: format!("orchestrator cap 4 vs linear: {what}"),
                    target: format!("≤ {} of linear", pct(limit)),
                    actual: value
                        .map_or("not measured".into(), |x| format!("{} of linear", pct(x))),
                    met: value.is_some_and(|x| x <= limit),
                });
            };
            ratio_target("first visible progress", ratios.first_progress, 0.25);
            ratio_target("longest silence", ratios.longest_silence, 0.50);
            ratio_target("wall clock", ratios.wall, 0.50);
            ratio_target("cost, with cache floors", ratios.cost, 0.70);
            out.push(Target {
                what: "fixed prompt per task (orchestrator, largest)".into(),
                target: "≤ 5,000 tokens".into(),
                actual: format!(
                    "{} tokens (mean {:.0})",
                    v.fixed_prompt.max_tokens, v.fixed_prompt.mean_tokens
                ),
                met: v.fixed_prompt.max_tokens > 0 && v.fixed_prompt.max_tokens <= 5_000,
            });
            out.push(Target {
                what: "input tokens served from cache, with cache floors (orchestrator cap 4)"
                    .into(),
                target: "≥ 70%".into(),
                actual: pct(v.spend.cache_hit_share),
                met: v.spend.cache_hit_share >= 0.70,
            });
        }
    }
    if let Some(m) = &r.machinery {
        for storage in [Storage::Disk, Storage::Tmpfs] {
            let slowest = m
                .runs
                .iter()
                .filter(|x| {
                    x.tasks == 10_000 && x.shape == Shape::FanOutFanIn && x.storage == storage
                })
                .min_by(|a, b| a.tasks_per_sec.total_cmp(&b.tasks_per_sec));
            if let Some(slowest) = slowest {
                out.push(Target {
                    what: format!(
                        "throughput at 10k tasks (fan-out/fan-in, state on {}, slowest cap)",
                        storage.name()
                    ),
                    target: "≥ 5,000 tasks/s".into(),
                    actual: format!("{:.0} tasks/s (cap {})", slowest.tasks_per_sec, slowest.cap),
                    met: slowest.tasks_per_sec >= 5_000.0,
                });
            }
        }
        if let Some(busiest) = m
            .runs
            .iter()
            .max_by(|a, b| a.queue_writes_per_sec.total_cmp(&b.queue_writes_per_sec))
        {
            out.push(Target {
                what: "queue.json writes per second (any run)".into(),
                target: "≤ 50 /s".into(),
                actual: format!(
                    "{:.1} /s at most ({} tasks, cap {}, {})",
                    busiest.queue_writes_per_sec,
                    busiest.tasks,
                    busiest.cap,
                    busiest.shape.name()
                ),
                met: busiest.queue_writes_per_sec <= 50.0,
            });
        }
        if let Some(largest) = m
            .runs
            .iter()
            .filter(|x| x.tasks >= 50_000)
            .max_by(|a, b| a.peak_rss_mb.total_cmp(&b.peak_rss_mb))
        {
            out.push(Target {
                what: "peak RSS at 50k tasks (largest run)".into(),
                target: "≤ 150 MB".into(),
                actual: format!(
                    "{:.0} MB, live heap {:.0} MB ({}, cap {}, {})",
                    largest.peak_rss_mb,
                    largest.peak_heap_mb,
                    largest.shape.name(),
                    largest.cap,
                    largest.storage.name()
                ),
                met: largest.peak_rss_mb <= 150.0,
            });
        }
        if let Some(worst) = m
            .growth
            .iter()
            .max_by(|a, b| a.wall_exponent.total_cmp(&b.wall_exponent))
        {
            out.push(Target {
                what: "growth with the task count (wall clock, worst)".into(),
                target: "not quadratic (exponent well below 2)".into(),
                actual: format!(
                    "exponent {:.2} ({}, cap {}, {}, {}→{} tasks)",
                    worst.wall_exponent,
                    worst.shape.name(),
                    worst.cap,
                    worst.storage.name(),
                    worst.from_tasks,
                    worst.to_tasks
                ),
                met: worst.wall_exponent < 1.5,
            });
        }
    }
    if let Some(c) = &r.crash {
        out.push(Target {
            what: "crash harness rounds that resume to success".into(),
            target: "all".into(),
            actual: format!("{}/{}", c.passed, c.rounds),
            met: c.passed == c.rounds,
        });
    }
    out
}

fn opt_ms(x: Option<u64>) -> String {
    x.map_or("—".into(), |x| format!("{:.2} s", x as f64 / 1000.0))
}

fn opt_ratio(x: Option<f64>) -> String {
    x.map_or("—".into(), |x| format!("{x:.2}×"))
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The whole results file as markdown tables.
pub fn markdown(r: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Results of `bench/run.sh` ({} build, {} CPUs), {}.\n",
        r.machine.profile, r.machine.cpus, r.updated_at
    );
    if let Some(resp) = &r.responsiveness {
        responsiveness_md(&mut s, resp);
    }
    if let Some(m) = &r.machinery {
        machinery_md(&mut s, m);
    }
    if let Some(c) = &r.crash {
        let _ = writeln!(s, "### Crash harness (random kill points)\n");
        let _ = writeln!(
            s,
            "{}/{} rounds resumed to success with every invariant holding (seed {}; {} kills: {} right after a JSON line, {} after a random delay, {} after the run had already ended; {} rounds killed before the run was on record and started again; {:.0} s).\n",
            c.passed, c.rounds, c.seed, c.kills, c.kills_after_a_line, c.kills_after_a_delay, c.kills_after_the_end, c.restarted, c.elapsed_s
        );
        for f in &c.failures {
            let _ = writeln!(s, "- failed: {f}");
        }
        if !c.failures.is_empty() {
            s.push('\n');
        }
    }
    if !r.targets.is_empty() {
        let _ = writeln!(s, "### Targets\n");
        let _ = writeln!(s, "| what | target | measured | met |");
        let _ = writeln!(s, "|---|---|---|---|");
        for t in &r.targets {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                t.what,
                t.target,
                t.actual,
                if t.met { "yes" } else { "**no**" }
            );
        }
        s.push('\n');
    }
    s
}

fn responsiveness_md(s: &mut String, resp: &ResponsivenessSection) {
    let _ = writeln!(s, "### Responsiveness A/B\n");
    let _ = writeln!(
        s,
        "Cassette `{}` through the real Anthropic client against a loopback fake; time scale {} (times below are scaled: divide by {} for real-life seconds); {} `Bash` calls rewritten into reads; {} run(s) per variant, median kept.\n",
        resp.cassette, resp.pacing.time_scale, resp.pacing.time_scale, resp.bash_calls_rewritten, resp.repeat
    );
    let _ = writeln!(
        s,
        "| variant | verdict | done / tasks | requests | turns / task | first progress | first completion | longest silence | wall | fixed prompt / task | input | cache read | cache write | output | cost (cache floors) | cache hit (floors) | cost, no floors | cache hit, no floors |"
    );
    let _ = writeln!(
        s,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for v in &resp.variants {
        variant_row(s, v);
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "| variant ÷ linear | first progress | first completion | longest silence | wall | input tokens | output tokens | cost |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for v in resp.variants.iter().filter(|v| v.vs_linear.is_some()) {
        let x = v.vs_linear.clone().unwrap_or_default();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            v.name,
            opt_ratio(x.first_progress),
            opt_ratio(x.first_completion),
            opt_ratio(x.longest_silence),
            opt_ratio(x.wall),
            opt_ratio(x.input_tokens),
            opt_ratio(x.output_tokens),
            opt_ratio(x.cost)
        );
    }
    s.push('\n');
}

fn variant_row(s: &mut String, v: &VariantFigures) {
    let _ = writeln!(
        s,
        "| {} | {} | {}/{} | {} | {:.1} | {} | {} | {} | {} | {} (max {}) | {} | {} | {} | {} | ${:.4} | {} | ${:.4} | {} |",
        v.name,
        v.timeline.verdict.as_deref().unwrap_or("—"),
        v.completed + v.not_needed,
        v.tasks,
        v.requests,
        v.turns_per_task,
        opt_ms(v.timeline.first_progress_ms),
        opt_ms(v.timeline.first_completion_ms),
        opt_ms(v.timeline.longest_silence_ms),
        opt_ms(v.timeline.wall_ms),
        thousands(v.fixed_prompt.mean_tokens.round() as u64),
        thousands(v.fixed_prompt.max_tokens),
        thousands(v.spend.input_tokens),
        thousands(v.spend.cache_read_tokens),
        thousands(v.spend.cache_write_tokens),
        thousands(v.spend.output_tokens),
        v.spend.cost_usd,
        pct(v.spend.cache_hit_share),
        v.spend_without_floors.cost_usd,
        pct(v.spend_without_floors.cache_hit_share)
    );
}

fn machinery_md(s: &mut String, m: &MachinerySection) {
    let _ = writeln!(s, "### Machinery at scale (zero-latency backend)\n");
    let _ = writeln!(
        s,
        "| shape | state on | tasks | cap | tasks/s | wall | queue.json writes | writes/s | queue.json MB written | final queue.json MB | audit MB | peak RSS MB | peak heap MB |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for x in &m.runs {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.2} s | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} | {:.0} |",
            x.shape.name(),
            x.storage.name(),
            thousands(x.tasks as u64),
            x.cap,
            thousands(x.tasks_per_sec.round() as u64),
            x.wall_ms / 1000.0,
            x.queue_writes,
            x.queue_writes_per_sec,
            x.queue_bytes as f64 / 1e6,
            x.queue_file_bytes as f64 / 1e6,
            x.audit_bytes as f64 / 1e6,
            x.peak_rss_mb,
            x.peak_heap_mb
        );
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "Growth per 10× tasks (10× = linear, 100× = quadratic; exponent 1 = linear, 2 = quadratic):\n"
    );
    let _ = writeln!(
        s,
        "| shape | state on | cap | tasks | wall ×/10× (exp.) | queue.json bytes ×/10× (exp.) | audit bytes exp. | peak RSS ×/10× (exp.) |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for g in &m.growth {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {}→{} | {:.1}× ({:.2}) | {:.1}× ({:.2}) | {:.2} | {:.1}× ({:.2}) |",
            g.shape.name(),
            g.storage.name(),
            g.cap,
            thousands(g.from_tasks as u64),
            thousands(g.to_tasks as u64),
            g.wall_per_10x,
            g.wall_exponent,
            g.queue_bytes_per_10x,
            g.queue_bytes_exponent,
            g.audit_bytes_exponent,
            g.peak_rss_per_10x,
            g.peak_rss_exponent
        );
    }
    s.push('\n');
}
