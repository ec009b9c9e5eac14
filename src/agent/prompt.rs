//! Prompt assembly, in a fixed order so everything before the task's own text
//! is byte-identical across the tasks of a run and can be cached:
//!
//! 1. the contract (one isolated task; do only your task; report once with
//!    `complete_task`; stay inside the project),
//! 2. the project context (framework, package manager, install dir, public
//!    facts such as the host — never a secret),
//! 3. a pointer to the framework's reference example,
//! 4. *cache breakpoint*,
//! 5. for tasks that start after an earlier task wrote a file every later task
//!    needs (the event plan, named by the content), that file in a block of its
//!    own, and a second *cache breakpoint* (end of the system prompt),
//! 6. the agent prompt (goal, success, body), its mini-skills, the task's
//!    transient `inputs`, and "Context from previous steps": the handoffs of
//!    all transitive ancestors, roots first, each once.
//!
//! The seeding agent gets the seed contract and the catalogue of task types instead.

use std::fmt::Write;

use serde_json::Value;

use crate::messages::{Task, TaskHandoff};
use crate::providers::SystemBlock;
use crate::tools::queue_tools::COMPLETE_TASK;

/// What every agent of a run is told about the project. Holds no secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectContext {
    /// The app's directory.
    pub install_dir: String,
    /// The detected framework's name, if any.
    pub framework: Option<String>,
    /// The package manager the project uses, if known.
    pub package_manager: Option<String>,
    /// Other public facts, as (name, value): hosts, versions, router.
    pub facts: Vec<(String, String)>,
    /// Where the framework's reference example is, relative to the install dir.
    pub example_path: Option<String>,
    /// Names of the secrets `set_env_values` can resolve (never their values).
    pub secret_names: Vec<String>,
    /// What every agent would otherwise spend turns reading, as (title, text):
    /// the manifest and a bounded file tree. Rendered inside the cached block
    /// (see `runner::prefix`).
    pub sections: Vec<(String, String)>,
    /// What the task agents and the linear runner are shown after `sections` and the
    /// seed is not: the reference example and the task types. The seed plans from the
    /// manifest, the tree and its catalogue; every token it is not sent is prefill its
    /// first line does not wait for (the run's first visible progress).
    pub task_sections: Vec<(String, String)>,
}

const TASK_CONTRACT: &str = "You are one task in a queue of small agents that together change a software project. \
You are a fresh agent: you know only what this prompt tells you.
Rules:
- Do only your own task. Other tasks (listed in the context from previous steps, or queued after you) do the rest.
- Stay inside the project directory. Use paths relative to it.
- Read a file right before you change it. Make small, precise edits; keep the project's style.
- Never write secrets into code or output. Env files are reached only through check_env_keys and set_env_values, \
which resolve secrets by name without you seeing them.
- Trust the context from previous steps; do not redo their work.
- When you are done, call complete_task exactly once with status done, failed or skipped and a handoff \
(goals, did, forNextAgent, filesTouched, and conflict only for a real problem the user must review). \
If the task does not apply to this project, report skipped and say why.
- Save turns: make independent calls in one answer, and report in the same answer as your last edits \
when you are sure of them (a done report after a call that failed is refused; fix the call, then report).";

const SEED_CONTRACT: &str = "You plan the work. Take a quick look at the project (a few reads at most), then call \
enqueue_task once per task to seed the queue. Each call returns an id; pass ids (never types) in dependsOn of later \
tasks. Give each task a short label with no file names. Tasks start as soon as you enqueue them, so enqueue the \
first tasks first. You are not a task: do not edit the project and do not call complete_task. When the graph is \
queued, stop.";

const LINEAR_CONTRACT: &str = "You integrate a product into a software project, end to end, in one session. \
The steps below are your plan; do them in order.
Rules:
- Stay inside the project directory. Use paths relative to it.
- Read a file right before you change it. Make small, precise edits; keep the project's style.
- Never write secrets into code or output. Env files are reached only through check_env_keys and set_env_values, \
which resolve secrets by name without you seeing them.
- If a step does not apply to this project, skip it and say why in your final message.
- When every step is done, end with a short summary of what you changed and what the user must still do. \
Ending your turn is how you say you are done: the runtime then runs the steps' checks (the build among them) \
and, if one fails, sends you its output; fix the cause and end your turn again.";

/// The system prompt of the linear runner's single agent.
pub fn linear_system(project: &ProjectContext) -> Vec<SystemBlock> {
    vec![
        SystemBlock {
            text: LINEAR_CONTRACT.to_string(),
            cache: false,
        },
        SystemBlock {
            text: project_text(project),
            cache: true,
        },
    ]
}

/// One step of the linear runner's plan: an agent prompt and its skills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinearStep<'a> {
    /// The task type.
    pub task_type: &'a str,
    /// Its label.
    pub label: &'a str,
    /// Its fields.
    pub agent: AgentText<'a>,
    /// Its skills.
    pub skills: Vec<SkillText<'a>>,
}

/// The linear runner's one prompt: every step, in default-graph order.
pub fn linear_prompt(steps: &[LinearStep<'_>]) -> String {
    let mut s = String::from("# Integrate, step by step\n\n");
    for (i, step) in steps.iter().enumerate() {
        let _ = writeln!(s, "## Step {}: {} ({})", i + 1, step.label, step.task_type);
        let _ = writeln!(s, "Goal: {}\n", step.agent.goal.trim());
        let _ = writeln!(s, "Done when: {}\n", step.agent.success.trim());
        let body = step.agent.body.trim();
        if !body.is_empty() {
            let _ = writeln!(s, "{body}\n");
        }
        for skill in &step.skills {
            let _ = writeln!(s, "### Skill: {}\n{}\n", skill.name, skill.body.trim());
        }
    }
    s
}

/// The shared system prompt of every task agent: contract, project, example pointer, cache breakpoint.
pub fn task_system(project: &ProjectContext) -> Vec<SystemBlock> {
    vec![
        SystemBlock {
            text: TASK_CONTRACT.to_string(),
            cache: false,
        },
        SystemBlock {
            text: project_text(project),
            cache: true,
        },
    ]
}

/// A file an earlier task wrote and later tasks need (the event plan), as a system block
/// after the project's, with a breakpoint of its own: the tasks that start once it exists
/// share that prefix too, and stop spending a turn reading the file.
pub fn shared_file_block(path: &str, text: &str) -> SystemBlock {
    SystemBlock {
        text: format!(
            "## `{path}`, as an earlier task wrote it
             This is the file as it was when your task started: use it from here, and read              the file only if you must change it.
```
{}
```
",
            text.trim_end()
        ),
        cache: true,
    }
}

/// The system prompt of the seeding agent.
pub fn seed_system(project: &ProjectContext) -> Vec<SystemBlock> {
    vec![
        SystemBlock {
            text: SEED_CONTRACT.to_string(),
            cache: false,
        },
        SystemBlock {
            text: project_text(&ProjectContext {
                task_sections: Vec::new(),
                ..project.clone()
            }),
            cache: true,
        },
    ]
}

fn project_text(project: &ProjectContext) -> String {
    let mut s = String::from("# Project\n");
    let _ = writeln!(s, "- Directory: {}", project.install_dir);
    let _ = writeln!(
        s,
        "- Framework: {}",
        project.framework.as_deref().unwrap_or("not detected")
    );
    if let Some(pm) = &project.package_manager {
        let _ = writeln!(s, "- Package manager: {pm}");
    }
    for (k, v) in &project.facts {
        let _ = writeln!(s, "- {k}: {v}");
    }
    if !project.secret_names.is_empty() {
        let _ = writeln!(
            s,
            "- Secrets for set_env_values (pass {{\"secret\": \"<name>\"}} as the value): {}",
            project.secret_names.join(", ")
        );
    }
    if let Some(example) = &project.example_path {
        let _ = writeln!(
            s,
            "\nA reference integration for this framework is at `{example}`. Read it when you need a pattern; adapt it to this project."
        );
    }
    for (title, text) in project.sections.iter().chain(&project.task_sections) {
        let _ = write!(s, "\n## {title}\n{}\n", text.trim_end());
    }
    s
}

/// One mini-skill as rendered into a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillText<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its procedure.
    pub body: &'a str,
}

/// The agent prompt fields a task's text needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentText<'a> {
    /// What to achieve.
    pub goal: &'a str,
    /// How to know it is achieved.
    pub success: &'a str,
    /// The intent, in markdown.
    pub body: &'a str,
}

/// The task's own text: the first user message.
pub fn task_prompt(
    task: &Task,
    agent: &AgentText<'_>,
    skills: &[SkillText<'_>],
    ancestors: &[TaskHandoff],
    allowed_tools: &[String],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Your task: {}", task.label);
    let _ = writeln!(s, "Task id: {} · type: {}", task.id, task.task_type);
    // complete_task is always offered to a task; agent prompts usually list it too.
    let mut tools: Vec<&str> = allowed_tools
        .iter()
        .map(String::as_str)
        .filter(|t| *t != COMPLETE_TASK)
        .collect();
    tools.push(COMPLETE_TASK);
    let _ = writeln!(s, "Tools you may use: {}\n", tools.join(", "));
    let _ = writeln!(s, "## Goal\n{}\n", agent.goal.trim());
    let _ = writeln!(
        s,
        "## How you know you succeeded\n{}\n",
        agent.success.trim()
    );
    let body = agent.body.trim();
    if !body.is_empty() {
        let _ = writeln!(s, "{body}\n");
    }
    for skill in skills {
        let _ = writeln!(s, "## Skill: {}\n{}\n", skill.name, skill.body.trim());
    }
    if let Some(inputs) = inputs_text(&task.inputs) {
        let _ = writeln!(s, "## Your task input\n{inputs}");
    }
    if !ancestors.is_empty() {
        let _ = writeln!(s, "## Context from previous steps");
        for a in ancestors {
            let _ = writeln!(s, "### {} ({})", a.task_id, a.task_type);
            let _ = writeln!(s, "- did: {}", a.handoff.did.trim());
            let _ = writeln!(s, "- for you: {}", a.handoff.for_next_agent.trim());
            if !a.handoff.files_touched.is_empty() {
                let _ = writeln!(s, "- files: {}", a.handoff.files_touched.join(", "));
            }
            if let Some(c) = &a.handoff.conflict {
                let _ = writeln!(s, "- conflict: {c}");
            }
        }
    }
    s
}

/// One entry of the seed's catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueEntry<'a> {
    /// The type.
    pub task_type: &'a str,
    /// Its default label.
    pub label: &'a str,
    /// Its model tier or id.
    pub model: &'a str,
    /// Types it depends on in the default graph.
    pub depends_on: &'a [String],
}

/// The seeding agent's text: its body and the catalogue of task types.
pub fn seed_prompt(body: &str, catalogue: &[CatalogueEntry<'_>]) -> String {
    let mut s = String::from("# Plan and seed the queue\n\n");
    let _ = writeln!(s, "{}\n", body.trim());
    let _ = writeln!(
        s,
        "## Task types (type · label · model · default dependsOn types)"
    );
    for e in catalogue {
        let deps = if e.depends_on.is_empty() {
            "—".to_string()
        } else {
            e.depends_on.join(", ")
        };
        let _ = writeln!(
            s,
            "- {} · {} · {} · {}",
            e.task_type, e.label, e.model, deps
        );
    }
    s
}

fn inputs_text(inputs: &Value) -> Option<String> {
    let map = inputs.as_object()?;
    if map.is_empty() {
        return None;
    }
    let mut s = String::new();
    for (k, v) in map {
        match v {
            Value::String(text) => {
                let _ = writeln!(s, "- {k}: {text}");
            }
            other => {
                let _ = writeln!(s, "- {k}: {other}");
            }
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{Handoff, TaskStatus, Usage};
    use serde_json::json;

    fn task(id: &str, inputs: Value) -> Task {
        Task {
            id: id.into(),
            task_type: id.into(),
            label: format!("Do {id}"),
            status: TaskStatus::Running,
            depends_on: vec![],
            inputs,
            model: "small".into(),
            attempts: 1,
            max_attempts: 2,
            enqueued_by: "orchestrator".into(),
            depth: 1,
            created_at: chrono::Utc::now(),
            started_at: None,
            finished_at: None,
            handoff: None,
            error: None,
            usage: Usage::default(),
            cost_usd: 0.0,
            provider_retries: 0,
            app: ".".into(),
        }
    }

    fn project() -> ProjectContext {
        ProjectContext {
            install_dir: "/app".into(),
            framework: Some("Next.js (App Router)".into()),
            package_manager: Some("npm".into()),
            facts: vec![("Host".into(), "https://example.test".into())],
            example_path: Some(".posthog-wizard/reference/EXAMPLE.md".into()),
            secret_names: vec!["project_token".into()],
            sections: vec![("Files".into(), "app/page.tsx".into())],
            task_sections: vec![("Reference integration".into(), "posthog.init".into())],
        }
    }

    #[test]
    fn the_seed_is_not_sent_the_reference_example_or_the_task_types() {
        let text = |blocks: Vec<SystemBlock>| -> String {
            blocks.iter().map(|b| b.text.as_str()).collect()
        };
        let seed = text(seed_system(&project()));
        let task = text(task_system(&project()));
        for both in ["## Files\napp/page.tsx", "project_token"] {
            assert!(seed.contains(both) && task.contains(both), "{both}");
        }
        assert!(task.contains("## Reference integration\nposthog.init"));
        assert!(!seed.contains("Reference integration"), "{seed}");
    }

    #[test]
    fn system_prefix_ends_with_the_cache_breakpoint_and_names_secrets_not_values() {
        let system = task_system(&project());
        assert!(system.last().is_some_and(|b| b.cache));
        assert_eq!(system.iter().filter(|b| b.cache).count(), 1);
        let text: String = system.iter().map(|b| b.text.as_str()).collect();
        assert!(text.contains("project_token"));
        assert!(text.contains("Next.js (App Router)"));
        assert!(text.contains(".posthog-wizard/reference/EXAMPLE.md"));
    }

    #[test]
    fn inputs_are_rendered_only_into_their_own_task() {
        let agent = AgentText {
            goal: "g",
            success: "s",
            body: "b",
        };
        let with = task_prompt(
            &task("capture", json!({"focus": "checkout flow"})),
            &agent,
            &[],
            &[],
            &[],
        );
        let without = task_prompt(&task("capture-2", json!({})), &agent, &[], &[], &[]);
        assert!(with.contains("## Your task input\n- focus: checkout flow"));
        assert!(!without.contains("Your task input"));
        assert!(!without.contains("checkout flow"));
    }

    #[test]
    fn handoffs_render_in_the_given_order_with_conflicts() {
        let h = |id: &str, conflict: Option<&str>| TaskHandoff {
            task_id: id.into(),
            task_type: id.into(),
            handoff: Handoff {
                goals: "g".into(),
                did: format!("{id} did"),
                for_next_agent: format!("{id} says"),
                files_touched: vec![format!("{id}.ts")],
                conflict: conflict.map(str::to_string),
                ..Default::default()
            },
        };
        let agent = AgentText {
            goal: "g",
            success: "s",
            body: "",
        };
        let text = task_prompt(
            &task("build", json!({})),
            &agent,
            &[SkillText {
                name: "how",
                body: "step one",
            }],
            &[h("install", None), h("init", Some("two inits"))],
            &["Read".into()],
        );
        let install = text.find("### install").unwrap();
        let init = text.find("### init").unwrap();
        assert!(install < init);
        assert!(text.contains("- conflict: two inits"));
        assert!(text.contains("## Skill: how\nstep one"));
        assert!(text.contains("Tools you may use: Read, complete_task"));
    }
}
