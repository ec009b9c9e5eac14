//! Content: the agent prompts, skills, framework rules and examples that
//! hold everything the wizard knows about the product, and the code that
//! loads, validates, serves and exports them.
//!
//! The runner is product-ignorant; this module is format-aware but
//! product-ignorant too: it knows the shape of an agent prompt, not which
//! agents exist. Content is read from the binary, a directory or a server
//! ([`ContentSource`]), checked in full before any model call
//! ([`load`] collects every problem), and then only read: nothing a run
//! does writes into content. The formats are documented in
//! `content/README.md`.

mod agent;
mod detect;
mod error;
mod frameworks;
pub mod frontmatter;
mod graph;
mod layout;
mod menu;
pub mod product;
mod remote;
mod report;
mod serve;
mod set;
mod skill;
mod source;
mod store;
mod validate;
mod yaml;

pub use agent::{AgentPrompt, FileCheck, AGENT_FIELDS};
pub use detect::{detect, detect_package_manager, lowest_version, Detection, FrameworkMatch};
pub use error::{ContentError, ContentErrors};
pub use frameworks::{DependencyRule, FrameworkRule, FrameworkRules};
pub use layout::{FileKind, FRAMEWORKS_FILE, MODELS_FILE};
pub use menu::{AgentMenu, DataEntry, DataMenu, MenuEntry, SkillMenu, MENU_VERSION};
pub use report::check_report;
pub use serve::serve;
pub use set::ContentSet;
pub use skill::{Skill, SKILL_FIELDS};
pub use source::{load, load_blocking, ContentSource};
pub use store::{export_embedded, FileStore};
pub use validate::{is_known_tool, looks_like_model, BUILTIN_TOOLS, MODEL_TIERS};
