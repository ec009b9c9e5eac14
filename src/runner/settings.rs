//! `run.json`: how a run was started, so `wizard resume DIR` continues it the same way.
//!
//! A fresh run records its content source (a directory or a URL), provider,
//! cassette, concurrency, limits, budget and whether commands were switched
//! off. A resume takes each of them from here unless its command line gives
//! that setting again: resuming a `--content DIR` run with a plain
//! `wizard resume DIR` must not silently switch to the built-in content.

use std::path::Path;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use super::integrate::{IntegrateOptions, ProviderChoice};
use super::resume::SETTINGS;
use crate::actors::queue::Budget;
use crate::atomic_file;

/// The settings a run records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSettings {
    /// `--content`: a directory (absolute) or a URL; none for the built-in content.
    #[serde(default)]
    pub content: Option<String>,
    /// The provider's name (`anthropic`, `openai`, `replay`, `stub`), when one was chosen.
    #[serde(default)]
    pub provider: Option<String>,
    /// The cassette, for replay.
    #[serde(default)]
    pub cassette: Option<String>,
    /// The replay latency factor.
    pub replay_speed: f64,
    /// Tasks that may run at once.
    pub concurrency: usize,
    /// Most tasks a run may hold.
    pub max_tasks: usize,
    /// Deepest enqueue level.
    pub max_depth: u32,
    /// Attempts per task.
    pub max_attempts: u32,
    /// The cost budget, in US dollars.
    #[serde(default)]
    pub budget_usd: Option<f64>,
    /// The token budget.
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// Why commands are not run, when they were switched off.
    #[serde(default)]
    pub skip_commands: Option<String>,
    /// Milliseconds per stub task.
    #[serde(default)]
    pub stub_delay_ms: u64,
}

/// Which settings the command line gave; the others come from `run.json` on a resume.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Given {
    /// `--content`.
    pub content: bool,
    /// `--provider`.
    pub provider: bool,
    /// `--cassette`.
    pub cassette: bool,
    /// `--replay-speed`.
    pub replay_speed: bool,
    /// `--concurrency`.
    pub concurrency: bool,
    /// `--max-tasks`.
    pub max_tasks: bool,
    /// `--max-depth`.
    pub max_depth: bool,
    /// `--max-attempts`.
    pub max_attempts: bool,
    /// `--budget-usd` or `--max-tokens`.
    pub budget: bool,
    /// `--skip-commands`.
    pub skip_commands: bool,
    /// `--stub-delay-ms`.
    pub stub_delay: bool,
}

impl RunSettings {
    /// The settings `opts` start a run with. A content directory is recorded absolute,
    /// so a resume from another working directory finds it.
    pub fn of(opts: &IntegrateOptions) -> Self {
        let content = opts.content.as_ref().map(|c| {
            let path = Path::new(c);
            if !c.contains("://") && path.exists() {
                path.canonicalize()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| c.clone())
            } else {
                c.clone()
            }
        });
        Self {
            content,
            provider: opts
                .provider
                .and_then(|p| p.to_possible_value())
                .map(|v| v.get_name().to_string()),
            cassette: opts.cassette.clone(),
            replay_speed: opts.replay_speed,
            concurrency: opts.limits.concurrency,
            max_tasks: opts.limits.max_tasks,
            max_depth: opts.limits.max_depth,
            max_attempts: opts.limits.max_attempts,
            budget_usd: opts.budget.and_then(|b| b.max_usd),
            max_tokens: opts.budget.and_then(|b| b.max_tokens),
            skip_commands: opts.skip_commands.clone(),
            stub_delay_ms: u64::try_from(opts.stub_delay.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Fills in every setting the command line did not give.
    pub fn apply(&self, opts: &mut IntegrateOptions) {
        let given = opts.given;
        if !given.content {
            opts.content = self.content.clone();
        }
        if !given.provider {
            if let Some(p) = self
                .provider
                .as_deref()
                .and_then(|name| ProviderChoice::from_str(name, true).ok())
            {
                opts.provider = Some(p);
            }
        }
        if !given.cassette {
            opts.cassette = self.cassette.clone();
        }
        if !given.replay_speed {
            opts.replay_speed = self.replay_speed;
        }
        if !given.concurrency {
            opts.limits.concurrency = self.concurrency.max(1);
        }
        if !given.max_tasks {
            opts.limits.max_tasks = self.max_tasks;
        }
        if !given.max_depth {
            opts.limits.max_depth = self.max_depth;
        }
        if !given.max_attempts {
            opts.limits.max_attempts = self.max_attempts.max(1);
        }
        if !given.budget && (self.budget_usd.is_some() || self.max_tokens.is_some()) {
            opts.budget = Some(Budget {
                max_usd: self.budget_usd,
                max_tokens: self.max_tokens,
            });
        }
        if !given.skip_commands {
            opts.skip_commands = self.skip_commands.clone();
        }
        if !given.stub_delay {
            opts.stub_delay = std::time::Duration::from_millis(self.stub_delay_ms);
        }
    }

    /// Reads `run.json` from `state_dir`, if the run recorded one.
    pub fn load(state_dir: &Path) -> Option<Self> {
        let bytes = std::fs::read(state_dir.join(SETTINGS)).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(settings) => Some(settings),
            Err(e) => {
                tracing::warn!(
                    "{} is not readable ({e}); using the command line only",
                    SETTINGS
                );
                None
            }
        }
    }

    /// Writes `run.json` into `state_dir`.
    pub fn save(&self, state_dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(state_dir)?;
        atomic_file::write_json(&state_dir.join(SETTINGS), self).map(|_| ())
    }
}
