//! The long crash harness: SIGKILL the real binary at seeded random points,
//! resume it to the end, and check that nothing was lost or done twice.
//!
//! `tests/crash_harness.rs` kills once after every k-th event of one run; this
//! goes further, for as many rounds as asked (default 200): each round picks,
//! from its own seed, a concurrency cap (1, 2 or 4) and one to three kills,
//! each either right after a random number of JSON lines or after a random
//! delay (which lands inside writes too), resuming between kills, then resumes
//! to the end and checks the invariants of the test harness:
//! * `queue.json` parses and records success, every task completed;
//! * in `audit.jsonl`, every task completed exactly once and never started
//!   again after it completed; unreadable lines are at most one per kill (a
//!   line torn by the kill);
//! * every task has a parseable `handoffs/<id>.json` naming it.
//!
//! Runs on the stub provider (`--provider stub --stub-delay-ms 5`): no model.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use wizard::messages::{EventKind, QueueEvent, QueueFile, TaskHandoff, TaskStatus, Verdict};

/// Options of the crash harness.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Rounds to run.
    #[arg(long, default_value_t = 200)]
    pub rounds: usize,
    /// Seed of the kill points (round r uses seed + r).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Milliseconds each stub task takes.
    #[arg(long, default_value_t = 5)]
    pub stub_delay_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rounds: 200,
            seed: 1,
            stub_delay_ms: 5,
        }
    }
}

/// The harness's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrashSection {
    /// The seed.
    pub seed: u64,
    /// Rounds run.
    pub rounds: usize,
    /// Rounds whose invariants all held.
    pub passed: usize,
    /// Kills made, over all rounds.
    pub kills: usize,
    /// Kills made right after a JSON line.
    pub kills_after_a_line: usize,
    /// Kills made after a delay.
    pub kills_after_a_delay: usize,
    /// Kills that came after the run had already finished.
    pub kills_after_the_end: usize,
    /// Rounds whose kills all came before the run was on record (nothing to
    /// resume: `integrate` started it again, as a user would).
    pub restarted: usize,
    /// The first failures, with their round and seed.
    pub failures: Vec<String>,
    /// How long the harness took, in seconds.
    pub elapsed_s: f64,
}

fn wizard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wizard"))
}

fn run_flags(opts: &Options, cap: usize) -> Vec<String> {
    [
        "--provider",
        "stub",
        "--stub-delay-ms",
        &opts.stub_delay_ms.to_string(),
        "--concurrency",
        &cap.to_string(),
        "--ui",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Where a kill lands.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    AfterLines(usize),
    AfterDelay(Duration),
}

/// Runs `command` on `dir` and SIGKILLs it at `point`. Returns true when it had already ended.
fn run_and_kill(dir: &Path, command: &str, flags: &[String], point: KillPoint) -> Result<bool> {
    let mut child = wizard()
        .arg(command)
        .arg(dir)
        .args(flags)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the wizard binary")?;
    let stdout = child.stdout.take().context("the child's stdout")?;
    let ended = match point {
        KillPoint::AfterLines(k) => {
            let mut seen = 0;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.trim().is_empty() {
                    continue;
                }
                seen += 1;
                if seen == k {
                    break;
                }
            }
            let ended = child.try_wait()?.is_some() || seen < k;
            let _ = child.kill();
            ended
        }
        KillPoint::AfterDelay(delay) => {
            // Drain stdout so the child never blocks on a full pipe.
            let drain = std::thread::spawn(move || for _ in BufReader::new(stdout).lines() {});
            std::thread::sleep(delay);
            let ended = child.try_wait()?.is_some();
            let _ = child.kill();
            let _ = drain.join();
            ended
        }
    };
    let _ = child.wait();
    Ok(ended)
}

/// How many JSON lines and how long a whole run takes at this cap.
fn probe(opts: &Options, cap: usize) -> Result<(usize, Duration)> {
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let out = wizard()
        .arg("integrate")
        .arg(dir.path())
        .args(run_flags(opts, cap))
        .stdin(Stdio::null())
        .output()
        .context("starting the wizard binary")?;
    if !out.status.success() {
        bail!(
            "a whole stub run at cap {cap} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    Ok((lines, started.elapsed()))
}

/// Runs the harness.
pub fn run(opts: &Options) -> Result<CrashSection> {
    let started = Instant::now();
    let caps = [1usize, 2, 4];
    let mut probes = BTreeMap::new();
    for cap in caps {
        probes.insert(cap, probe(opts, cap)?);
    }
    let mut section = CrashSection {
        seed: opts.seed,
        rounds: opts.rounds,
        passed: 0,
        kills: 0,
        kills_after_a_line: 0,
        kills_after_a_delay: 0,
        kills_after_the_end: 0,
        restarted: 0,
        failures: Vec::new(),
        elapsed_s: 0.0,
    };
    for round in 0..opts.rounds {
        let seed = opts.seed.wrapping_add(round as u64);
        let mut rng = StdRng::seed_from_u64(seed);
        let cap = caps[rng.random_range(0..caps.len())];
        let (lines, wall) = probes[&cap];
        let flags = run_flags(opts, cap);
        let dir = tempfile::tempdir()?;
        let kills = rng.random_range(1..=3);
        let mut result = Ok(());
        for k in 0..kills {
            let point = if rng.random_bool(0.5) {
                section.kills_after_a_line += 1;
                KillPoint::AfterLines(rng.random_range(1..lines.max(2)))
            } else {
                section.kills_after_a_delay += 1;
                let max = wall.as_millis().max(2) as u64;
                KillPoint::AfterDelay(Duration::from_millis(rng.random_range(0..max)))
            };
            // Before the run is on record (a kill in its first milliseconds) there is
            // nothing to resume: the user starts it again.
            let command = if k > 0 && run_on_record(dir.path()) {
                "resume"
            } else {
                "integrate"
            };
            section.kills += 1;
            match run_and_kill(dir.path(), command, &flags, point) {
                Ok(true) => section.kills_after_the_end += 1,
                Ok(false) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if !run_on_record(dir.path()) {
            section.restarted += 1;
        }
        let result = result.and_then(|()| finish_and_check(dir.path(), &flags, kills));
        match result {
            Ok(()) => section.passed += 1,
            Err(e) => {
                eprintln!("crash: round {round} (seed {seed}, cap {cap}) failed: {e:#}");
                if section.failures.len() < 10 {
                    section
                        .failures
                        .push(format!("round {round} (seed {seed}, cap {cap}): {e:#}"));
                }
            }
        }
        if (round + 1) % 50 == 0 {
            eprintln!(
                "crash: {}/{} rounds passed so far",
                section.passed,
                round + 1
            );
        }
    }
    section.elapsed_s = started.elapsed().as_secs_f64();
    eprintln!(
        "crash: {}/{} rounds passed ({} kills)",
        section.passed, section.rounds, section.kills
    );
    Ok(section)
}

/// True once the run's first event (`run_started`) is in the audit log, so `resume` can continue it.
fn run_on_record(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join(".posthog-wizard/audit.jsonl")) else {
        return false;
    };
    text.lines()
        .next()
        .and_then(|line| serde_json::from_str::<QueueEvent>(line).ok())
        .is_some_and(|e| matches!(e.kind, EventKind::RunStarted { .. }))
}

/// Resumes the run to its end (or starts it again when the kills came before it was on record), then checks it.
fn finish_and_check(dir: &Path, flags: &[String], kills: usize) -> Result<()> {
    let command = if run_on_record(dir) {
        "resume"
    } else {
        "integrate"
    };
    let out = wizard()
        .arg(command)
        .arg(dir)
        .args(flags)
        .stdin(Stdio::null())
        .output()
        .context("starting the wizard binary")?;
    if out.status.code() != Some(0) {
        bail!(
            "the final {command} exited with {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    check_finished(dir, kills)
}

/// The invariants of `tests/crash_harness.rs`, as errors instead of panics.
fn check_finished(dir: &Path, kills: usize) -> Result<()> {
    let state = dir.join(".posthog-wizard");
    let text = std::fs::read_to_string(state.join("queue.json")).context("no queue.json")?;
    let file: QueueFile = serde_json::from_str(&text).context("queue.json does not parse")?;
    let outcome = file.outcome.as_ref().context("queue.json has no verdict")?;
    if outcome.verdict != Verdict::Success {
        bail!("the verdict is {:?}: {}", outcome.verdict, outcome.message);
    }
    if let Some(t) = file
        .tasks
        .iter()
        .find(|t| t.status != TaskStatus::Completed)
    {
        bail!("task {} ended {:?}", t.id, t.status);
    }

    let audit = std::fs::read_to_string(state.join("audit.jsonl")).context("no audit.jsonl")?;
    let mut unreadable = 0;
    let mut completed: BTreeMap<String, usize> = BTreeMap::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    for line in audit.lines() {
        let Ok(event) = serde_json::from_str::<QueueEvent>(line) else {
            unreadable += 1;
            continue;
        };
        match &event.kind {
            EventKind::TaskCompleted { task } => {
                *completed.entry(task.id.clone()).or_default() += 1;
                done.insert(task.id.clone());
            }
            EventKind::TaskStarted { task } if done.contains(&task.id) => {
                bail!("{} started again after it completed", task.id);
            }
            _ => {}
        }
    }
    if unreadable > kills {
        bail!("{unreadable} unreadable audit lines after {kills} kills");
    }
    if let Some((id, n)) = completed.iter().find(|(_, n)| **n != 1) {
        bail!("{id} completed {n} times");
    }
    for t in &file.tasks {
        if !completed.contains_key(&t.id) {
            bail!("the audit log never saw {} complete", t.id);
        }
        let path = state.join("handoffs").join(format!("{}.json", t.id));
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("no handoff for {}", t.id))?;
        let handoff: TaskHandoff = serde_json::from_str(&text)
            .with_context(|| format!("the handoff of {} does not parse", t.id))?;
        if handoff.task_id != t.id {
            bail!("handoffs/{}.json names {}", t.id, handoff.task_id);
        }
    }
    Ok(())
}
