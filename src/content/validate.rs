//! The checks a content tree must pass before any model call.
//!
//! Each check is independent and adds every problem it finds, so an author
//! sees all of them at once. Nothing here knows particular agent types or
//! skills: the checks are about the format (names resolve, exactly one
//! seed, the graph is acyclic, globs compile, tools exist), so a content
//! tree with entirely different agents passes them just as well.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use globset::GlobBuilder;
use regex::Regex;

use super::agent::AgentPrompt;
use super::error::{did_you_mean, ContentError};
use super::frameworks::FrameworkRules;
use super::graph;
use super::layout::{self, FRAMEWORKS_FILE};
use super::skill::Skill;
use crate::queue::closest;
use crate::tools::permissions::check_bash_command;
use crate::tools::Permissions;

/// The model tiers every provider maps to a concrete model.
pub const MODEL_TIERS: &[&str] = &["small", "medium", "large"];

/// The built-in tool names an agent may list (besides `mcp__<server>__<tool>`).
pub const BUILTIN_TOOLS: &[&str] = &[
    "Read",
    "Write",
    "Edit",
    "Glob",
    "Grep",
    "Bash",
    "enqueue_task",
    "complete_task",
    "read_handoffs",
    "check_env_keys",
    "set_env_values",
    "detect_package_manager",
    "request_app",
    "browse_app",
];

/// True for a built-in tool name, `mcp__<server>__<tool>` or `mcp__<server>__*`.
pub fn is_known_tool(name: &str) -> bool {
    if BUILTIN_TOOLS.contains(&name) {
        return true;
    }
    let Some(rest) = name.strip_prefix("mcp__") else {
        return false;
    };
    let Some((server, tool)) = rest.split_once("__") else {
        return false;
    };
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    word(server) && (tool == "*" || word(tool))
}

/// The default model check until the lead wires `models.yaml`: a tier, or
/// something shaped like a model id (`^[a-z0-9][a-z0-9.\-]*$`) that is not
/// a near-miss of a tier (`meduim` is a typo, not a model).
pub fn looks_like_model(name: &str) -> bool {
    static MODEL_ID: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9.\-]*$").expect("static regex"));
    MODEL_TIERS.contains(&name)
        || (MODEL_ID.is_match(name) && closest(name, MODEL_TIERS.iter().copied()).is_none())
}

/// What validation looks at: the parsed parts, plus the names of files that
/// failed to parse (so a broken skill is not also reported as unknown).
pub(crate) struct Draft<'a> {
    pub agents: &'a BTreeMap<String, AgentPrompt>,
    pub skills: &'a BTreeMap<String, Skill>,
    pub frameworks: Option<&'a FrameworkRules>,
    pub files: &'a BTreeMap<String, Vec<u8>>,
    pub broken_agents: &'a BTreeSet<String>,
    pub broken_skills: &'a BTreeSet<String>,
}

/// Every problem in a draft, model names aside (see [`check_models`]).
pub(crate) fn validate(d: &Draft<'_>) -> Vec<ContentError> {
    let mut errors = Vec::new();
    check_seed(d, &mut errors);
    for agent in d.agents.values() {
        check_agent_skills(d, agent, &mut errors);
        check_agent_depends_on(d, agent, &mut errors);
        check_agent_tools(agent, &mut errors);
        check_agent_write(agent, &mut errors);
        check_agent_limits(agent, &mut errors);
        check_agent_checks(agent, &mut errors);
    }
    check_graph(d, &mut errors);
    if let Some(rules) = d.frameworks {
        check_state_files(rules, &mut errors);
        check_frameworks(rules, d.files, &mut errors);
        check_package_managers(rules, &mut errors);
        check_skill_frameworks(d, rules, &mut errors);
    }
    errors
}

/// One error per agent whose `model` `is_known` rejects.
pub(crate) fn check_models(
    agents: &BTreeMap<String, AgentPrompt>,
    is_known: impl Fn(&str) -> bool,
) -> Vec<ContentError> {
    agents
        .values()
        .filter(|a| !is_known(&a.model))
        .map(|a| {
            let hint = did_you_mean(closest(&a.model, MODEL_TIERS.iter().copied()));
            ContentError::field(
                a.path(),
                "model",
                format!(
                    "unknown model tier or id \"{}\"{hint}; tiers are {}",
                    a.model,
                    MODEL_TIERS.join(", ")
                ),
            )
        })
        .collect()
}

fn check_seed(d: &Draft<'_>, errors: &mut Vec<ContentError>) {
    let seeds: Vec<&AgentPrompt> = d.agents.values().filter(|a| a.seed).collect();
    match seeds.as_slice() {
        [] if d.broken_agents.is_empty() => errors.push(ContentError::file(
            "agents/",
            "no seed: exactly one agent needs `seed: true` (the agent that plans and enqueues the graph)",
        )),
        [] | [_] => {}
        [_, others @ ..] => {
            let names: Vec<String> = seeds.iter().map(|a| a.path()).collect();
            for other in others {
                errors.push(ContentError::field(
                    other.path(),
                    "seed",
                    format!(
                        "more than one seed ({}): exactly one agent may have `seed: true`",
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    for seed in &seeds {
        if !seed.depends_on.is_empty() {
            errors.push(ContentError::field(
                seed.path(),
                "dependsOn",
                "the seed runs first and takes no part in the graph; remove its dependsOn",
            ));
        }
    }
}

fn check_agent_skills(d: &Draft<'_>, agent: &AgentPrompt, errors: &mut Vec<ContentError>) {
    for name in &agent.skills {
        if d.skills.contains_key(name) || d.broken_skills.contains(name) {
            continue;
        }
        let hint = did_you_mean(closest(name, d.skills.keys().map(String::as_str)));
        errors.push(ContentError::field(
            agent.path(),
            "skills",
            format!("unknown skill \"{name}\"{hint}"),
        ));
    }
}

fn check_agent_depends_on(d: &Draft<'_>, agent: &AgentPrompt, errors: &mut Vec<ContentError>) {
    for dep in &agent.depends_on {
        match d.agents.get(dep) {
            Some(target) if target.seed => errors.push(ContentError::field(
                agent.path(),
                "dependsOn",
                format!("\"{dep}\" is the seed, not a task type"),
            )),
            Some(_) => {}
            None if d.broken_agents.contains(dep) => {}
            None => {
                let candidates = d
                    .agents
                    .values()
                    .filter(|a| !a.seed)
                    .map(|a| a.task_type.as_str());
                let hint = did_you_mean(closest(dep, candidates));
                errors.push(ContentError::field(
                    agent.path(),
                    "dependsOn",
                    format!("unknown task type \"{dep}\"{hint}"),
                ));
            }
        }
    }
}

fn check_agent_tools(agent: &AgentPrompt, errors: &mut Vec<ContentError>) {
    for (field, names) in [
        ("allowedTools", &agent.allowed_tools),
        ("disallowedTools", &agent.disallowed_tools),
    ] {
        for name in names {
            if !is_known_tool(name) {
                let hint = did_you_mean(closest(name, BUILTIN_TOOLS.iter().copied()));
                errors.push(ContentError::field(
                    agent.path(),
                    field,
                    format!(
                        "unknown tool \"{name}\"{hint}; known: {} and mcp__<server>__<tool>",
                        BUILTIN_TOOLS.join(", ")
                    ),
                ));
            }
        }
    }
    let bash_allowed = agent.allowed_tools.iter().any(|t| t == "Bash")
        && !agent.disallowed_tools.iter().any(|t| t == "Bash");
    if bash_allowed && agent.bash.is_empty() {
        errors.push(ContentError::field(
            agent.path(),
            "bash",
            "Bash is allowed but no command prefixes are listed, so it could run nothing",
        ));
    }
    if !bash_allowed && !agent.bash.is_empty() {
        errors.push(ContentError::field(
            agent.path(),
            "bash",
            "command prefixes are listed but Bash is not in allowedTools",
        ));
    }
    for prefix in &agent.bash {
        if prefix.trim().is_empty() {
            errors.push(ContentError::field(
                agent.path(),
                "bash",
                "an empty command prefix would allow every command",
            ));
        }
    }
}

fn check_agent_write(agent: &AgentPrompt, errors: &mut Vec<ContentError>) {
    for glob in &agent.write {
        if let Some(problem) = glob_problem(glob) {
            errors.push(ContentError::field(agent.path(), "write", problem));
        }
    }
}

fn check_agent_limits(agent: &AgentPrompt, errors: &mut Vec<ContentError>) {
    if agent.max_turns == Some(0) {
        errors.push(ContentError::field(
            agent.path(),
            "maxTurns",
            "must be at least 1",
        ));
    }
    if agent.timeout_secs == Some(0) {
        errors.push(ContentError::field(
            agent.path(),
            "timeoutSecs",
            "must be at least 1",
        ));
    }
    for (field, value) in [
        ("type", &agent.task_type),
        ("label", &agent.label),
        ("goal", &agent.goal),
        ("success", &agent.success),
    ] {
        if value.trim().is_empty() {
            errors.push(ContentError::field(
                agent.path(),
                field,
                "must not be empty",
            ));
        }
    }
}

/// `check` commands pass the Bash tool's syntax rules (as their own prefix: the
/// runtime runs them, so `bash` need not list them) and name no path outside the
/// app; `checkFiles` globs and regexes compile and their bounds make sense.
fn check_agent_checks(agent: &AgentPrompt, errors: &mut Vec<ContentError>) {
    for (i, command) in agent.check.iter().enumerate() {
        if let Some(problem) = check_command_problem(command) {
            errors.push(ContentError::field(
                agent.path(),
                format!("check[{i}]"),
                problem,
            ));
        }
    }
    for (i, glob) in agent.check_when_files.iter().enumerate() {
        if let Some(problem) = glob_problem(glob) {
            errors.push(ContentError::field(
                agent.path(),
                format!("checkWhenFiles[{i}]"),
                problem,
            ));
        }
    }
    for (i, check) in agent.check_files.iter().enumerate() {
        let at = |field: &str| format!("checkFiles[{i}].{field}");
        if let Some(problem) = glob_problem(&check.files) {
            errors.push(ContentError::field(agent.path(), at("files"), problem));
        }
        if let Some(pattern) = &check.pattern {
            if let Err(e) = Regex::new(pattern) {
                errors.push(ContentError::field(
                    agent.path(),
                    at("pattern"),
                    format!("regex /{pattern}/ does not compile: {e}"),
                ));
            }
        }
        if check.keep && check.pattern.is_none() {
            errors.push(ContentError::field(
                agent.path(),
                at("keep"),
                "keep compares a pattern's matches with the start; it needs `pattern`",
            ));
        }
        if let (Some(min), Some(max)) = (check.min, check.max) {
            if min > max {
                errors.push(ContentError::field(
                    agent.path(),
                    at("max"),
                    format!("max {max} is below min {min}, so nothing could pass"),
                ));
            }
        }
    }
}

/// Why a `check` command could never run as Bash would run it.
fn check_command_problem(command: &str) -> Option<String> {
    let own_prefix = Permissions {
        // Without its `| tail -n N`, which the allow-list never sees.
        bash: vec![command.split('|').next().unwrap_or(command).to_string()],
        ..Permissions::default()
    };
    let allowed = match check_bash_command(&own_prefix, command) {
        Ok(allowed) => allowed,
        Err(e) => {
            // The Bash tool's message ends with the allowed prefixes, which here is the command itself.
            let text = e.to_string();
            let why = text
                .split(". Commands run without a shell")
                .next()
                .unwrap_or(&text);
            return Some(format!("`{command}`: {why}"));
        }
    };
    // The real path check needs the app; here only what is outside any app is refused.
    let outside = allowed.argv.iter().skip(1).find(|word| {
        word.split('=').any(|part| {
            part.starts_with('/') || part.starts_with('~') || part.split('/').any(|s| s == "..")
        })
    });
    outside.map(|word| format!("`{command}`: argument {word} points outside the app"))
}

/// Why a write glob is unusable: it does not compile, or it reaches outside the app.
fn glob_problem(glob: &str) -> Option<String> {
    if glob.starts_with('/') || glob.contains('\\') || glob.split('/').any(|s| s == "..") {
        return Some(format!(
            "glob \"{glob}\" must be relative to the app and stay inside it"
        ));
    }
    GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .err()
        .map(|e| format!("glob \"{glob}\" does not compile: {e}"))
}

fn check_graph(d: &Draft<'_>, errors: &mut Vec<ContentError>) {
    let deps: BTreeMap<&str, Vec<&str>> = d
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
    if let Some(cycle) = graph::find_cycle(&deps) {
        let first = cycle.first().copied().unwrap_or_default();
        errors.push(ContentError::field(
            format!("agents/{first}.md"),
            "dependsOn",
            format!("the default graph has a cycle: {}", cycle.join(" → ")),
        ));
    }
}

/// `fences.stateFiles`: each a plain file directly in the run's state folder, never one of
/// the runner's own files there (the queue, the audit log, the handoffs…).
fn check_state_files(rules: &FrameworkRules, errors: &mut Vec<ContentError>) {
    use crate::actors::persist::files::{RUNNER_OWNED, STATE_DIR};
    for (i, path) in rules.fences.state_files.iter().enumerate() {
        let name = path
            .strip_prefix(STATE_DIR)
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or("");
        let plain = !name.is_empty()
            && name != "."
            && name != ".."
            && !name.contains(['/', '\\', '*', '?', '[', ']', '{', '}']);
        let why = if !plain {
            format!("\"{path}\" must be one file directly in {STATE_DIR}/ (`{STATE_DIR}/<name>`)")
        } else if RUNNER_OWNED.contains(&name) {
            format!("\"{path}\" is the runner's own file; agents never write it")
        } else {
            continue;
        };
        errors.push(ContentError::field(
            FRAMEWORKS_FILE,
            format!("fences.stateFiles[{i}]"),
            why,
        ));
    }
}

fn check_frameworks(
    rules: &FrameworkRules,
    files: &BTreeMap<String, Vec<u8>>,
    errors: &mut Vec<ContentError>,
) {
    let mut ids = BTreeSet::new();
    for (i, rule) in rules.frameworks.iter().enumerate() {
        let at = |field: &str| format!("frameworks[{i}].{field}");
        if !layout::is_menu_id(&rule.id) {
            errors.push(ContentError::field(
                FRAMEWORKS_FILE,
                at("id"),
                format!("\"{}\" must be letters, digits, `-`, `_` or `.`", rule.id),
            ));
        }
        if !ids.insert(rule.id.as_str()) {
            errors.push(ContentError::field(
                FRAMEWORKS_FILE,
                at("id"),
                format!("\"{}\" is used by an earlier rule", rule.id),
            ));
        }
        if let Some(example) = &rule.example {
            let path = layout::example_path(example);
            if !files.contains_key(&path) {
                errors.push(ContentError::field(
                    FRAMEWORKS_FILE,
                    at("example"),
                    format!("no {path} in the content"),
                ));
            }
        }
        for dep in &rule.dependencies {
            if let Some(req) = &dep.version {
                if let Err(e) = semver::VersionReq::parse(req) {
                    errors.push(ContentError::field(
                        FRAMEWORKS_FILE,
                        at("dependencies"),
                        format!(
                            "version \"{req}\" of {} is not a semver requirement: {e}",
                            dep.name
                        ),
                    ));
                }
            }
        }
        if let Some(env) = &rule.relay_env {
            if let Some(why) = relay_env_problem(env, rule.start.is_some()) {
                errors.push(ContentError::field(FRAMEWORKS_FILE, at("relayEnv"), why));
            }
        }
        for (field, globs) in [
            ("filesPresent", &rule.files_present),
            ("filesAbsent", &rule.files_absent),
        ] {
            for glob in globs {
                if let Some(problem) = glob_problem(glob) {
                    errors.push(ContentError::field(FRAMEWORKS_FILE, at(field), problem));
                }
            }
        }
    }
}

/// What is wrong with a rule's `relayEnv`: it is set on the started app's process, so it
/// must be a plain variable name, and only a rule the verify step can start may have one.
fn relay_env_problem(env: &str, has_start: bool) -> Option<String> {
    let mut chars = env.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !plain {
        Some(format!(
            "\"{env}\" must be an environment variable name (letters, digits, `_`)"
        ))
    } else if !has_start {
        Some(format!(
            "\"{env}\" is set only on an app the verify step starts; the rule has no `start`"
        ))
    } else {
        None
    }
}

fn check_package_managers(rules: &FrameworkRules, errors: &mut Vec<ContentError>) {
    if rules.package_managers.is_empty() {
        errors.push(ContentError::field(
            FRAMEWORKS_FILE,
            "packageManagers",
            "at least one package manager is needed",
        ));
        return;
    }
    let defaults = rules.package_managers.iter().filter(|p| p.default).count();
    if defaults != 1 {
        errors.push(ContentError::field(
            FRAMEWORKS_FILE,
            "packageManagers",
            format!("exactly one needs `default: true` (found {defaults})"),
        ));
    }
    let mut names = BTreeSet::new();
    for (i, pm) in rules.package_managers.iter().enumerate() {
        if !names.insert(pm.name.as_str()) {
            errors.push(ContentError::field(
                FRAMEWORKS_FILE,
                format!("packageManagers[{i}].name"),
                format!("\"{}\" is listed twice", pm.name),
            ));
        }
    }
}

fn check_skill_frameworks(d: &Draft<'_>, rules: &FrameworkRules, errors: &mut Vec<ContentError>) {
    for skill in d.skills.values() {
        for id in skill.frameworks.iter().flatten() {
            if rules.get(id).is_none() {
                let hint =
                    did_you_mean(closest(id, rules.frameworks.iter().map(|f| f.id.as_str())));
                errors.push(ContentError::field(
                    skill.path(),
                    "frameworks",
                    format!("unknown framework \"{id}\"{hint} (ids come from {FRAMEWORKS_FILE})"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_and_mcp_tool_names_are_known() {
        assert!(is_known_tool("Read"));
        assert!(is_known_tool("set_env_values"));
        assert!(is_known_tool("mcp__posthog__dashboard-create"));
        assert!(is_known_tool("mcp__posthog-wizard__*"));
        assert!(!is_known_tool("mcp__posthog"));
        assert!(!is_known_tool("mcp____x"));
        assert!(!is_known_tool("read"));
        assert!(!is_known_tool("WebFetch"));
    }

    #[test]
    fn tiers_and_model_ids_look_like_models_but_tier_typos_do_not() {
        assert!(looks_like_model("small"));
        assert!(looks_like_model("claude-haiku-4-5"));
        assert!(looks_like_model("gpt-4.1-mini"));
        assert!(!looks_like_model("meduim"));
        assert!(!looks_like_model("Large"));
        assert!(!looks_like_model("huge model"));
    }

    #[test]
    fn check_commands_follow_the_bash_rules() {
        assert!(check_command_problem("npm run build").is_none());
        assert!(check_command_problem("npx tsc --noEmit | tail -n 40").is_none());
        assert!(check_command_problem("npm run build && rm -rf x").is_some());
        assert!(check_command_problem("cat .env").is_some());
        assert!(check_command_problem("cat ../secret").is_some());
        assert!(check_command_problem("ls /etc").is_some());
        assert!(check_command_problem("").is_some());
    }

    #[test]
    fn globs_outside_the_app_or_malformed_are_refused() {
        assert!(glob_problem("src/**/*.{ts,tsx}").is_none());
        assert!(glob_problem("../x").is_some());
        assert!(glob_problem("/etc/*").is_some());
        assert!(glob_problem("src/[a-").is_some());
    }
}
