//! An agent prompt (`agents/<type>.md`): the WHAT of one task type.
//!
//! The frontmatter says which model runs it, what it must achieve, which
//! skills it loads, which tools and paths it may use, and where it sits in
//! the default graph; the body is the intent, in markdown. One file, one
//! task type; the file name is the type.

use serde::{Deserialize, Serialize};

use crate::tools::Permissions;

/// The frontmatter fields an agent prompt accepts (for "did you mean" on typos).
pub const AGENT_FIELDS: &[&str] = &[
    "type",
    "label",
    "model",
    "goal",
    "success",
    "skills",
    "allowedTools",
    "disallowedTools",
    "write",
    "bash",
    "dependsOn",
    "seed",
    "maxTurns",
    "timeoutSecs",
    "check",
    "checkFiles",
    "checkWhenFiles",
    "serveApp",
];

/// One agent prompt: every frontmatter field, typed, plus the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentPrompt {
    /// The task type (the enqueue key); equals the file name without `.md`.
    #[serde(rename = "type")]
    pub task_type: String,
    /// The default label the UI shows.
    pub label: String,
    /// A model tier (`small`, `medium`, `large`) or a concrete model id.
    pub model: String,
    /// What the task must achieve, in one or two sentences.
    pub goal: String,
    /// How the agent knows it succeeded (and what to do when it cannot).
    pub success: String,
    /// Skills (by name) loaded into the prompt.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Tools the task may call.
    #[serde(default)]
    pub allowed_tools: Vec<String>,
    /// Tools the task may never call.
    #[serde(default)]
    pub disallowed_tools: Vec<String>,
    /// Globs (relative to the app) of the only paths the task may create or change.
    #[serde(default)]
    pub write: Vec<String>,
    /// Command prefixes `Bash` may run.
    #[serde(default)]
    pub bash: Vec<String>,
    /// Types this one runs after in the default graph (shown to the seed).
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// True for the one seeding agent, which plans and enqueues the graph.
    #[serde(default)]
    pub seed: bool,
    /// The most model turns the agent may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    /// The most seconds one attempt may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// Commands the runtime runs itself after `complete_task(done)`; each must exit 0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check: Vec<String>,
    /// Globs of files one of which must exist in the app for `check` to run (an npm
    /// build check means nothing in an app without `package.json`); empty: always run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check_when_files: Vec<String>,
    /// File assertions the runtime checks after `complete_task(done)`, before `check`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check_files: Vec<FileCheck>,
    /// True when the runtime starts the built app for this task and reads back the
    /// planned events it caused (the verify task).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub serve_app: bool,
    /// The intent, in markdown (everything after the frontmatter).
    #[serde(skip)]
    pub body: String,
}

/// One `checkFiles` entry: files matching a glob (and, with `pattern`, the
/// occurrences of a regex in them) must number between `min` and `max`, and with
/// `keep`, no fewer than when the attempt started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileCheck {
    /// A glob relative to the app root; dependencies, build output and `.posthog-wizard` are never searched.
    pub files: String,
    /// A regex counted in the matching files; without it the files themselves are counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The fewest matches that pass (1 when neither `min` nor `max` is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    /// The most matches that pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// What a failure says, instead of the generated description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The count may not drop below what it was when the attempt started: what the
    /// app already had survives (a final count cannot tell "overwritten" from "new").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep: bool,
}

impl FileCheck {
    /// The inclusive bounds on the count: no `min`/`max` means "at least one"
    /// (with `keep`, "at least what there was", from zero); only `max` means
    /// "at most", from zero.
    pub fn bounds(&self) -> (u32, Option<u32>) {
        match (self.min, self.max) {
            (None, None) if self.keep => (0, None),
            (None, None) => (1, None),
            (min, max) => (min.unwrap_or(0), max),
        }
    }

    /// The assertion in words: `exactly one match of /posthog\.init\(/ in **/*.ts`.
    pub fn describe(&self) -> String {
        let count = match self.bounds() {
            (min, Some(max)) if min == max => format!("exactly {min}"),
            (0, Some(max)) => format!("at most {max}"),
            (min, Some(max)) => format!("{min} to {max}"),
            (min, None) => format!("at least {min}"),
        };
        let what = match &self.pattern {
            Some(pattern) => format!("match(es) of /{pattern}/ in {}", self.files),
            None => format!("file(s) matching {}", self.files),
        };
        match self.bounds() {
            (0, None) if self.keep => format!("no fewer {what} than at the start"),
            _ if self.keep => format!("{count} {what}, and no fewer than at the start"),
            _ => format!("{count} {what}"),
        }
    }
}

impl AgentPrompt {
    /// The permissions a task of this type runs with.
    pub fn permissions(&self) -> Permissions {
        Permissions {
            allowed_tools: self.allowed_tools.clone(),
            disallowed_tools: self.disallowed_tools.clone(),
            write: self.write.clone(),
            bash: self.bash.clone(),
        }
    }

    /// The path of this prompt inside the content (`agents/<type>.md`).
    pub fn path(&self) -> String {
        format!("agents/{}.md", self.task_type)
    }
}
