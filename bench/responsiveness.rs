//! placeholder
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Options { #[arg(long, default_value_t = 0.05)] pub time_scale: f64 }
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResponsivenessSection { pub x: u32 }
pub fn run(_o: &Options) -> anyhow::Result<ResponsivenessSection> { Ok(ResponsivenessSection { x: 0 }) }
