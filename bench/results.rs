//! placeholder
use std::path::{Path, PathBuf};
use serde::{Deserialize, Serialize};
use crate::machinery::{MachineryRun, Growth};
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Results {
    pub responsiveness: Option<crate::responsiveness::ResponsivenessSection>,
    pub machinery: Option<(Vec<MachineryRun>, Vec<Growth>)>,
    pub crash: Option<crate::crash::CrashSection>,
}
impl Results { pub fn set_machinery(&mut self, runs: Vec<MachineryRun>) { let g = crate::machinery::growth(&runs); self.machinery = Some((runs, g)); } }
pub fn default_dir() -> PathBuf { PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench") }
pub fn update(dir: &Path, f: impl FnOnce(&mut Results)) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let p = dir.join("results.json");
    let mut r: Results = std::fs::read_to_string(&p).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    f(&mut r);
    std::fs::write(&p, serde_json::to_string_pretty(&r)?)?;
    Ok(())
}
