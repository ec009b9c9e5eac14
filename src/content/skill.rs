//! A skill (`skills/<name>.md`): the HOW of one step, as a procedure.
//!
//! Agents name the skills they load. A skill with a `frameworks` list
//! applies only to those frameworks, so one agent can carry a Next.js skill
//! and an Express skill and get only the one that fits the app.

use serde::{Deserialize, Serialize};

/// The frontmatter fields a skill accepts (for "did you mean" on typos).
pub const SKILL_FIELDS: &[&str] = &["name", "description", "frameworks"];

/// One skill: its frontmatter, typed, plus the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Skill {
    /// The skill's name; equals the file name without `.md`.
    pub name: String,
    /// One line on what the skill is for.
    pub description: String,
    /// Framework ids (from `frameworks.yaml`) it applies to; absent = every framework.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frameworks: Option<Vec<String>>,
    /// The procedure, in markdown.
    #[serde(skip)]
    pub body: String,
}

impl Skill {
    /// True when the skill applies to an app of `framework` (None = not detected).
    pub fn applies_to(&self, framework: Option<&str>) -> bool {
        match (&self.frameworks, framework) {
            (None, _) => true,
            (Some(list), Some(id)) => list.iter().any(|f| f == id),
            (Some(_), None) => false,
        }
    }

    /// The path of this skill inside the content (`skills/<name>.md`).
    pub fn path(&self) -> String {
        format!("skills/{}.md", self.name)
    }
}
