//! placeholder
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, clap::Args)]
pub struct Options { #[arg(long, default_value_t = 200)] pub rounds: usize, #[arg(long, default_value_t = 1)] pub seed: u64 }
impl Default for Options { fn default() -> Self { Self { rounds: 200, seed: 1 } } }
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrashSection { pub rounds: usize }
pub fn run(o: &Options) -> anyhow::Result<CrashSection> { Ok(CrashSection { rounds: o.rounds }) }
