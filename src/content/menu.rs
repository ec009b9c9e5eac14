//! The JSON menus of a context-mill-style content server.
//!
//! `agent-menu.json` is context-mill's own shape; `skill-menu.json` and
//! `data-menu.json` follow it (context-mill's skill menu groups zips by
//! category, which this format has no use for). `downloadUrl` may be
//! absolute or relative to the menu's URL; this crate's server writes
//! relative ones so it works behind any prefix. Unknown fields are ignored
//! so a newer server's menus still load.

use serde::{Deserialize, Serialize};

/// The menu format version this crate writes.
pub const MENU_VERSION: &str = "1.0";

/// `GET /agent-menu.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentMenu {
    /// Menu format version.
    pub version: String,
    /// One entry per agent prompt; `id` is the task type.
    pub agents: Vec<MenuEntry>,
}

/// `GET /skill-menu.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillMenu {
    /// Menu format version.
    pub version: String,
    /// One entry per skill; `id` is the skill name.
    pub skills: Vec<MenuEntry>,
}

/// `GET /data-menu.json`: every other file (rules, models, examples, cassettes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataMenu {
    /// Menu format version.
    pub version: String,
    /// One entry per file.
    pub files: Vec<DataEntry>,
}

/// An agent or a skill in a menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuEntry {
    /// The agent's type or the skill's name.
    pub id: String,
    /// Where its markdown is.
    #[serde(rename = "downloadUrl")]
    pub download_url: String,
}

/// A data file in the data menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataEntry {
    /// Its path relative to the content root (`examples/nextjs-app-router/EXAMPLE.md`).
    pub path: String,
    /// Where its bytes are.
    #[serde(rename = "downloadUrl")]
    pub download_url: String,
}
