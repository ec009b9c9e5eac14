//! `wizard_bench`: the benchmarks — numbers, not timed tests.
//!
//! One binary (a cargo bench target with its own `main`) with a subcommand per
//! part, so `bench/run.sh` can run everything and each part can be rerun
//! alone. Every part merges its section into `target/bench/results.json` and
//! rewrites `target/bench/results.md` from the whole file, so a partial rerun
//! keeps the other parts' latest figures.
//!
//! * `responsiveness` — the A/B of linear against the orchestrator at caps 1,
//!   2, 4, through the real `wizard` binary and the real Anthropic client
//!   against a loopback fake with a latency model ([`responsiveness`]).
//! * `machinery` — the queue at 1k/10k/50k synthetic tasks with a
//!   zero-latency backend, one child process per configuration ([`machinery`]).
//! * `crash` — SIGKILL the real binary at seeded random points, resume to the
//!   end, check the invariants ([`crash`]).

mod crash;
mod fake_model;
mod figures;
mod heap;
mod machinery;
mod responsiveness;
mod results;
mod scripts;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use machinery::{Shape, Storage};

#[global_allocator]
static ALLOCATOR: heap::CountingSystem = heap::CountingSystem;

#[derive(Debug, Parser)]
#[command(name = "wizard_bench", about = "wizard's benchmarks")]
struct Cli {
    /// Where results.json and results.md go.
    #[arg(long, global = true)]
    out: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, global = true, hide = true)]
    bench: bool,
    #[command(subcommand)]
    command: Part,
}

#[derive(Debug, Subcommand)]
enum Part {
    /// Every part, with its defaults.
    All {
        /// Smaller sizes and fewer rounds (a smoke run).
        #[arg(long)]
        quick: bool,
    },
    /// The responsiveness A/B (linear vs orchestrator) against a fake Anthropic server.
    Responsiveness(responsiveness::Options),
    /// The queue machinery at scale (no options: the default plan; with any, every combination of them).
    Machinery {
        /// Task counts.
        #[arg(long, value_delimiter = ',')]
        sizes: Option<Vec<usize>>,
        /// Concurrency caps.
        #[arg(long, value_delimiter = ',')]
        caps: Option<Vec<usize>>,
        /// Graph shapes.
        #[arg(long, value_enum, value_delimiter = ',')]
        shapes: Option<Vec<Shape>>,
        /// Where the state folder lives.
        #[arg(long, value_enum, value_delimiter = ',')]
        storage: Option<Vec<Storage>>,
    },
    /// One machinery configuration in this process; prints its figures as JSON (used by `machinery`).
    #[command(hide = true)]
    MachineryOne {
        /// The graph.
        #[arg(long, value_enum)]
        shape: Shape,
        /// Task count.
        #[arg(long)]
        tasks: usize,
        /// Concurrency cap.
        #[arg(long)]
        cap: usize,
        /// Where the state folder lives.
        #[arg(long, value_enum, default_value_t = Storage::Disk)]
        storage: Storage,
    },
    /// Random-kill crash harness over the real binary.
    Crash(crash::Options),
}

fn main() {
    wizard::clock::start();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("wizard_bench: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let out = cli.out.unwrap_or_else(results::default_dir);
    let exe = std::env::current_exe().context("finding this benchmark's own binary")?;
    match cli.command {
        Part::MachineryOne {
            shape,
            tasks,
            cap,
            storage,
        } => {
            let run = machinery::run_one(machinery::Config {
                shape,
                tasks,
                cap,
                storage,
            })?;
            println!("{}", serde_json::to_string(&run)?);
            Ok(())
        }
        Part::Machinery {
            sizes,
            caps,
            shapes,
            storage,
        } => {
            let plan = machinery_plan(sizes, caps, shapes, storage);
            let runs = machinery::run_all(&exe, &plan)?;
            results::update(&out, |r| r.set_machinery(runs))
        }
        Part::Responsiveness(opts) => {
            let section = responsiveness::run(&opts, &out)?;
            results::update(&out, |r| r.responsiveness = Some(section))
        }
        Part::Crash(opts) => {
            let section = crash::run(&opts)?;
            results::update(&out, |r| r.crash = Some(section))
        }
        Part::All { quick } => {
            let resp = responsiveness::Options::default();
            let section = responsiveness::run(&resp, &out)?;
            results::update(&out, |r| r.responsiveness = Some(section))?;
            let sizes: &[usize] = if quick {
                &[1_000, 10_000]
            } else {
                &[1_000, 10_000, 50_000]
            };
            let runs = machinery::run_all(&exe, &machinery::default_plan(sizes))?;
            results::update(&out, |r| r.set_machinery(runs))?;
            let crash_opts = crash::Options {
                rounds: if quick { 20 } else { 200 },
                ..crash::Options::default()
            };
            let section = crash::run(&crash_opts)?;
            results::update(&out, |r| r.crash = Some(section))
        }
    }
}

/// The default plan when no option is given, else every combination of the options
/// (missing ones take their default: 1k/10k/50k tasks, caps 1/8/64, fan-out/fan-in, disk).
fn machinery_plan(
    sizes: Option<Vec<usize>>,
    caps: Option<Vec<usize>>,
    shapes: Option<Vec<Shape>>,
    storage: Option<Vec<Storage>>,
) -> Vec<machinery::Config> {
    let default_sizes = [1_000, 10_000, 50_000];
    if caps.is_none() && shapes.is_none() && storage.is_none() {
        return machinery::default_plan(sizes.as_deref().unwrap_or(&default_sizes));
    }
    let mut plan = Vec::new();
    for storage in storage.unwrap_or_else(|| vec![Storage::Disk]) {
        for &shape in shapes.as_deref().unwrap_or(&[Shape::FanOutFanIn]) {
            for &cap in caps.as_deref().unwrap_or(&[1, 8, 64]) {
                for &tasks in sizes.as_deref().unwrap_or(&default_sizes) {
                    plan.push(machinery::Config {
                        shape,
                        tasks,
                        cap,
                        storage,
                    });
                }
            }
        }
    }
    plan
}
