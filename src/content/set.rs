//! [`ContentSet`]: a loaded, validated content tree, and what the runner asks of it.
//!
//! A set is built only through [`ContentSet::from_files`], which parses
//! every file and runs every check, so a set in hand is one whose skills,
//! models, graph, tools and globs were all found sound. It is read-only:
//! nothing a run does writes back into skills or prompts (transient task
//! inputs live in the task, never here).

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use super::agent::{AgentPrompt, AGENT_FIELDS};
use super::error::{ContentError, ContentErrors};
use super::frameworks::{FrameworkRules, FRAMEWORKS_FIELDS};
use super::frontmatter;
use super::graph;
use super::layout::{self, FileKind, FRAMEWORKS_FILE, MODELS_FILE};
use super::skill::{Skill, SKILL_FIELDS};
use super::validate::{self, Draft};
use super::yaml;
use crate::queue::Catalogue;
use crate::tools::PackageManagerRule;

/// A loaded and validated content tree.
#[derive(Debug, Clone)]
pub struct ContentSet {
    /// Agent prompts by type, the seed included.
    pub agents: BTreeMap<String, AgentPrompt>,
    /// Skills by name.
    pub skills: BTreeMap<String, Skill>,
    /// Framework detection rules (and package managers) from `frameworks.yaml`.
    pub frameworks: FrameworkRules,
    /// Package managers (the same list as `frameworks.package_managers`).
    pub package_managers: Vec<PackageManagerRule>,
    /// The text of `models.yaml` (empty when the content has none).
    pub models_yaml: String,
    /// Every file, raw, by path relative to the content root.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The seeding agent (also in `agents`).
    seed: AgentPrompt,
}

impl ContentSet {
    /// Parses and validates a content tree given as `relative path → bytes`.
    ///
    /// Every problem is collected; model names are checked with
    /// [`validate::looks_like_model`] (the lead re-checks them against
    /// `models.yaml` with [`ContentSet::validate_models`]).
    pub fn from_files(files: BTreeMap<String, Vec<u8>>) -> Result<Self, ContentErrors> {
        let mut errors = Vec::new();
        let mut agents = BTreeMap::new();
        let mut skills = BTreeMap::new();
        let mut broken_agents = BTreeSet::new();
        let mut broken_skills = BTreeSet::new();
        let mut frameworks = None;
        let mut models_yaml = String::new();

        for (path, bytes) in &files {
            if !layout::is_content_path(path) {
                errors.push(ContentError::file(
                    path,
                    "not a valid content path (absolute, hidden, or leaves the content root)",
                ));
                continue;
            }
            match layout::kind_of(path) {
                FileKind::Agent(id) => match parse_agent(path, id, bytes) {
                    Ok(agent) => {
                        agents.insert(id.to_string(), agent);
                    }
                    Err(e) => {
                        broken_agents.insert(id.to_string());
                        errors.extend(e);
                    }
                },
                FileKind::Skill(id) => match parse_skill(path, id, bytes) {
                    Ok(skill) => {
                        skills.insert(id.to_string(), skill);
                    }
                    Err(e) => {
                        broken_skills.insert(id.to_string());
                        errors.extend(e);
                    }
                },
                FileKind::Data if path == FRAMEWORKS_FILE => {
                    match utf8(path, bytes).map_err(|e| vec![e]).and_then(|text| {
                        yaml::parse::<FrameworkRules>(path, text, FRAMEWORKS_FIELDS, 0)
                    }) {
                        Ok(rules) => frameworks = Some(rules),
                        Err(e) => errors.extend(e),
                    }
                }
                FileKind::Data if path == MODELS_FILE => match utf8(path, bytes) {
                    Ok(text) => models_yaml = text.to_string(),
                    Err(e) => errors.push(e),
                },
                FileKind::Data => {}
            }
        }
        if frameworks.is_none() && !files.contains_key(FRAMEWORKS_FILE) {
            errors.push(ContentError::file(
                FRAMEWORKS_FILE,
                "missing: the content needs its framework and package-manager rules",
            ));
        }

        errors.extend(validate::validate(&Draft {
            agents: &agents,
            skills: &skills,
            frameworks: frameworks.as_ref(),
            files: &files,
            broken_agents: &broken_agents,
            broken_skills: &broken_skills,
        }));
        errors.extend(validate::check_models(&agents, validate::looks_like_model));

        let seeds: Vec<&AgentPrompt> = agents.values().filter(|a| a.seed).collect();
        match (errors.is_empty(), seeds.as_slice(), frameworks) {
            (true, [seed], Some(frameworks)) => {
                let seed = (*seed).clone();
                Ok(Self {
                    package_managers: frameworks.package_managers.clone(),
                    agents,
                    skills,
                    frameworks,
                    models_yaml,
                    files,
                    seed,
                })
            }
            _ => Err(ContentErrors(errors)),
        }
    }

    /// The seeding agent: it plans the run and enqueues the graph.
    pub fn seed(&self) -> &AgentPrompt {
        &self.seed
    }

    /// The agent prompt of a task type.
    pub fn agent(&self, task_type: &str) -> Option<&AgentPrompt> {
        self.agents.get(task_type)
    }

    /// The text of a framework's `EXAMPLE.md`: the example named by the rule
    /// with this id, else `examples/<framework_id>/EXAMPLE.md`.
    pub fn example(&self, framework_id: &str) -> Option<&str> {
        let folder = self
            .frameworks
            .get(framework_id)
            .and_then(|rule| rule.example.as_deref())
            .unwrap_or(framework_id);
        self.text(&layout::example_path(folder))
    }

    /// The text of `cassettes/<name>.yaml`, if the content has it.
    pub fn cassette(&self, name: &str) -> Option<&str> {
        self.text(&layout::cassette_path(name))
    }

    /// The text of any file, if it exists and is UTF-8.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.files
            .get(path)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
    }

    /// A stable hash (SHA-256, hex) of every file's path and bytes: equal
    /// hashes mean equal content, whatever the source. For resume checks.
    pub fn content_hash(&self) -> String {
        hash_files(&self.files)
    }

    /// Every task type a run may enqueue (all agents but the seed), with label and model.
    pub fn catalogue(&self) -> Catalogue {
        Catalogue::from_triples(
            self.agents
                .values()
                .filter(|a| !a.seed)
                .map(|a| (a.task_type.as_str(), a.label.as_str(), a.model.as_str())),
        )
    }

    /// Every non-seed agent in an order of the default graph (dependencies
    /// first, ties broken by name). The linear runner uses it.
    pub fn graph_order(&self) -> Vec<&AgentPrompt> {
        let deps: BTreeMap<&str, Vec<&str>> = self
            .agents
            .values()
            .filter(|a| !a.seed)
            .map(|a| {
                (
                    a.task_type.as_str(),
                    a.depends_on.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        graph::topological_order(&deps)
            .into_iter()
            .filter_map(|t| self.agents.get(t))
            .collect()
    }

    /// The skills an agent loads for an app of `framework_id` (None when no
    /// framework was detected), in the order the agent lists them. A skill
    /// with a `frameworks` list applies only to those frameworks.
    pub fn skills_for(&self, agent: &AgentPrompt, framework_id: Option<&str>) -> Vec<&Skill> {
        agent
            .skills
            .iter()
            .filter_map(|name| self.skills.get(name))
            .filter(|skill| skill.applies_to(framework_id))
            .collect()
    }

    /// Checks every agent's `model` with `is_known` (a tier or model id the
    /// providers know), returning one error per unknown name.
    pub fn validate_models(&self, is_known: impl Fn(&str) -> bool) -> Vec<ContentError> {
        validate::check_models(&self.agents, is_known)
    }
}

/// SHA-256 over each file's path, length and bytes, in path order.
pub(crate) fn hash_files(files: &BTreeMap<String, Vec<u8>>) -> String {
    let mut hasher = Sha256::new();
    for (path, bytes) in files {
        hasher.update((path.len() as u64).to_le_bytes());
        hasher.update(path.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn utf8<'a>(path: &str, bytes: &'a [u8]) -> Result<&'a str, ContentError> {
    std::str::from_utf8(bytes).map_err(|e| ContentError::file(path, format!("not UTF-8 text: {e}")))
}

fn parse_agent(path: &str, id: &str, bytes: &[u8]) -> Result<AgentPrompt, Vec<ContentError>> {
    let text = utf8(path, bytes).map_err(|e| vec![e])?;
    let split =
        frontmatter::split(text).map_err(|e| vec![ContentError::file(path, e.to_string())])?;
    let mut agent: AgentPrompt = yaml::parse(path, split.frontmatter, AGENT_FIELDS, 1)?;
    if agent.task_type != id {
        return Err(vec![ContentError::field(
            path,
            "type",
            format!(
                "\"{}\" does not match the file name \"{id}\" (the file name is the type)",
                agent.task_type
            ),
        )]);
    }
    agent.body = split.body.trim().to_string();
    Ok(agent)
}

fn parse_skill(path: &str, id: &str, bytes: &[u8]) -> Result<Skill, Vec<ContentError>> {
    let text = utf8(path, bytes).map_err(|e| vec![e])?;
    let split =
        frontmatter::split(text).map_err(|e| vec![ContentError::file(path, e.to_string())])?;
    let mut skill: Skill = yaml::parse(path, split.frontmatter, SKILL_FIELDS, 1)?;
    if skill.name != id {
        return Err(vec![ContentError::field(
            path,
            "name",
            format!(
                "\"{}\" does not match the file name \"{id}\" (the file name is the skill's name)",
                skill.name
            ),
        )]);
    }
    skill.body = split.body.trim().to_string();
    Ok(skill)
}
