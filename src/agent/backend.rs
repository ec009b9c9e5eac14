//! The model backend: runs each task as a fresh agent on a real (or replayed) model.
//!
//! For one attempt it resolves the task's agent prompt from the content,
//! the concrete model from the model table, the task's permissions, skills
//! and ancestors' handoffs, assembles the prompt and runs the agent loop.
//! The seeding agent runs the same loop with read-only tools and
//! `enqueue_task`. Product-ignorant: everything specific comes from content.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::checks::TaskChecks;
use super::prompt::{self, AgentText, CatalogueEntry, ProjectContext, SkillText};
use super::run_loop::{run_agent, AgentSetup};
use super::{AgentBackend, AgentJob, AttemptReport, SeedReport, TaskPort};
use crate::content::ContentSet;
use crate::messages::{AttemptEnd, Handoff, ReportStatus, Task};
use crate::providers::pricing::ModelTable;
use crate::providers::{ModelClient, RequestMeta};
use crate::runner::bootstrap::credentials::secret_names;
use crate::tools::mcp::McpHandle;
use crate::tools::queue_tools::{EnqueueTask, ReadHandoffsTool, ENQUEUE_TASK};
use crate::tools::{Tool, ToolContext};
use crate::verify;

/// Limits that apply when an agent prompt does not set its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentDefaults {
    /// Turns per agent.
    pub max_turns: u32,
    /// Wall time per attempt.
    pub time_limit: Duration,
    /// Output tokens per request.
    pub max_tokens: u32,
    /// Identical calls in a row that stop an agent.
    pub repeat_limit: u32,
}

impl Default for AgentDefaults {
    fn default() -> Self {
        Self {
            max_turns: 20,
            time_limit: Duration::from_secs(600),
            max_tokens: 8_192,
            repeat_limit: 5,
        }
    }
}

/// Runs tasks on a model.
pub struct ModelBackend {
    env: AgentEnv,
    defaults: AgentDefaults,
    mcp: Option<McpHandle>,
}

/// What every agent of a run shares, whichever runner drives it.
#[derive(Clone)]
pub struct AgentEnv {
    /// The model client.
    pub client: Arc<dyn ModelClient>,
    /// The provider's name in the model table (`anthropic`, `openai`, `replay`).
    pub provider: String,
    /// The run's content.
    pub content: Arc<ContentSet>,
    /// Model tiers and prices.
    pub models: Arc<ModelTable>,
    /// The built-in tools (the queue and MCP tools are added per agent).
    pub tools: Vec<Arc<dyn Tool>>,
    /// Install dir, secrets, limits; each agent adds its own permissions.
    pub base_ctx: ToolContext,
    /// What every prompt says about the project.
    pub project: ProjectContext,
    /// The detected framework's id, for framework-specific skills.
    pub framework_id: Option<String>,
    /// The run's permission asks and grants.
    pub asks: Option<Arc<crate::tools::asks::RunAsks>>,
}

impl AgentEnv {
    /// A pricer over the model table, for the agent loop.
    pub fn pricer(&self) -> impl Fn(&str, &crate::messages::Usage) -> f64 + Send + Sync + 'static {
        let models = self.models.clone();
        move |model: &str, usage: &crate::messages::Usage| models.cost_usd(model, usage)
    }
}

/// How long a task that may use MCP tools waits for the MCP server's tool list.
const MCP_WAIT: Duration = Duration::from_secs(15);

impl ModelBackend {
    /// A backend for the agents of a run.
    pub fn new(env: AgentEnv) -> Self {
        Self {
            env,
            defaults: AgentDefaults::default(),
            mcp: None,
        }
    }

    /// Offers the tools of an MCP server (connected in the background) to tasks allowed them.
    pub fn with_mcp(mut self, mcp: McpHandle) -> Self {
        self.mcp = Some(mcp);
        self
    }

    /// Replaces the default limits.
    pub fn with_defaults(mut self, defaults: AgentDefaults) -> Self {
        self.defaults = defaults;
        self
    }

    /// The run's whole tool list for an agent: built-ins plus queue tools bound to its port.
    /// The list is the same for every task (so the prompt prefix caches), except that a task
    /// allowed MCP tools also gets the MCP server's tools, waiting a little for them.
    async fn tools_for(&self, port: &Arc<dyn TaskPort>, allowed: &[String]) -> Vec<Arc<dyn Tool>> {
        let types: Vec<String> = self.env.content.catalogue().types.keys().cloned().collect();
        let mut tools = self.env.tools.clone();
        tools.push(Arc::new(EnqueueTask::new(port.clone(), types)));
        tools.push(Arc::new(ReadHandoffsTool::new(port.clone())));
        let wants_mcp = allowed.iter().any(|t| t.starts_with("mcp__"));
        if let (true, Some(mcp)) = (wants_mcp, &self.mcp) {
            tools.extend(mcp.tools(MCP_WAIT).await);
        }
        tools
    }
}

/// A shared file longer than this stays out of the prompt (the agents read it themselves).
const SHARED_FILE_CHARS: usize = 12_000;

impl ModelBackend {
    /// The event plan (`product.yaml` → `verify.eventPlan`) as a second cached system block,
    /// once a task has written it; `None` before that, or when it is not a plain file or too
    /// long. Secret values are redacted, as from every file in a prompt.
    async fn shared_plan(&self) -> Option<crate::providers::SystemBlock> {
        let product = self.env.content.product();
        let path = product.verify?.event_plan;
        let full = self.env.base_ctx.install_dir.join(&path);
        // Not through a link: the file is the one a task wrote inside the app.
        let meta = tokio::fs::symlink_metadata(&full).await.ok()?;
        if !meta.is_file() || meta.len() > SHARED_FILE_CHARS as u64 {
            return None;
        }
        let text = tokio::fs::read_to_string(&full).await.ok()?;
        if text.trim().is_empty() {
            return None;
        }
        let text = self.env.base_ctx.secrets.redact(&text);
        Some(prompt::shared_file_block(&path, &text))
    }
}

fn effective_tools(allowed: &[String], disallowed: &[String]) -> Vec<String> {
    allowed
        .iter()
        .filter(|t| !disallowed.contains(t))
        .cloned()
        .collect()
}

#[async_trait]
impl AgentBackend for ModelBackend {
    async fn run(&self, job: AgentJob, port: Arc<dyn TaskPort>) -> AttemptReport {
        let task = job.task;
        let Some(agent) = self.env.content.agent(&task.task_type) else {
            return AttemptReport::free(AttemptEnd::Error {
                error_kind: "content".into(),
                message: format!("no agent prompt for task type {}", task.task_type),
                fatal: false,
            });
        };
        let model = self.env.models.resolve(&self.env.provider, &task.model).id;
        let mut ctx = self.env.base_ctx.clone();
        ctx.permissions = agent.permissions();
        let skills: Vec<SkillText<'_>> = self
            .env
            .content
            .skills_for(agent, self.env.framework_id.as_deref())
            .into_iter()
            .map(|s| SkillText {
                name: &s.name,
                body: &s.body,
            })
            .collect();
        let allowed = effective_tools(&agent.allowed_tools, &agent.disallowed_tools);
        // The verify task runs against the built app, which the runtime starts and stops.
        let session = match agent.serve_app {
            false => None,
            true => {
                let host = ctx.secrets.get(secret_names::HOST);
                let framework = self.env.framework_id.as_deref();
                let browse = allowed.iter().any(|t| t == verify::browse_app::BROWSE_APP);
                match verify::prepare(&self.env.content, framework, &ctx, host, browse).await {
                    verify::Prepared::Serve(session) => Some(session),
                    verify::Prepared::Skip {
                        reason,
                        verification,
                    } => {
                        return AttemptReport::free(AttemptEnd::Reported {
                            status: ReportStatus::Skipped,
                            handoff: Handoff {
                                goals: agent.goal.clone(),
                                did: reason.clone(),
                                for_next_agent: reason,
                                verification: Some(verification),
                                ..Handoff::default()
                            },
                        })
                    }
                }
            }
        };
        let mut text = prompt::task_prompt(
            &task,
            &AgentText {
                goal: &agent.goal,
                success: &agent.success,
                body: &agent.body,
            },
            &skills,
            &job.ancestors,
            &allowed,
        );
        let mut tools = self.tools_for(&port, &allowed).await;
        if let Some(session) = &session {
            text.push_str(&session.prompt_note());
            tools.extend(session.tools());
        }
        let mut system = prompt::task_system(&self.env.project);
        system.extend(self.shared_plan().await);
        let setup = AgentSetup {
            model,
            system,
            prompt: text,
            tools,
            offers_complete_task: true,
            checks: TaskChecks::of(agent),
            ctx,
            max_turns: agent.max_turns.unwrap_or(self.defaults.max_turns),
            max_tokens: self.defaults.max_tokens,
            meta: RequestMeta {
                task_id: task.id.clone(),
                task_type: task.task_type.clone(),
            },
            repeat_limit: self.defaults.repeat_limit,
            asks: self.env.asks.clone(),
            early_tools: Vec::new(),
        };
        let price = self.env.pricer();
        let mut result = run_agent(self.env.client.as_ref(), setup, port.as_ref(), &price).await;
        if let Some(session) = session {
            let verification = session.finish().await;
            if let AttemptEnd::Reported { handoff, .. } = &mut result.end {
                handoff.verification = Some(verification);
            }
        }
        AttemptReport {
            end: result.end,
            usage: result.usage,
            cost_usd: result.cost_usd,
            provider_retries: result.retries,
        }
    }

    async fn seed(&self, port: Arc<dyn TaskPort>) -> SeedReport {
        let seed = self.env.content.seed();
        let catalogue = self.env.content.graph_order();
        let entries: Vec<CatalogueEntry<'_>> = catalogue
            .iter()
            .map(|a| CatalogueEntry {
                task_type: &a.task_type,
                label: &a.label,
                model: &a.model,
                depends_on: &a.depends_on,
            })
            .collect();
        let mut ctx = self.env.base_ctx.clone();
        ctx.permissions = seed.permissions();
        let setup = AgentSetup {
            model: self.env.models.resolve(&self.env.provider, &seed.model).id,
            system: prompt::seed_system(&self.env.project),
            prompt: prompt::seed_prompt(&seed.body, &entries),
            tools: self.tools_for(&port, &[]).await,
            offers_complete_task: false,
            checks: TaskChecks::default(),
            ctx,
            max_turns: seed.max_turns.unwrap_or(self.defaults.max_turns),
            max_tokens: self.defaults.max_tokens,
            meta: RequestMeta {
                task_id: "seed".into(),
                task_type: "seed".into(),
            },
            repeat_limit: self.defaults.repeat_limit,
            asks: self.env.asks.clone(),
            // The first task starts while the seed still plans the rest.
            early_tools: vec![ENQUEUE_TASK.to_string()],
        };
        let price = self.env.pricer();
        let result = run_agent(self.env.client.as_ref(), setup, port.as_ref(), &price).await;
        let error = match result.end {
            AttemptEnd::Error { message, .. } => Some(message),
            _ => None,
        };
        SeedReport {
            error,
            usage: result.usage,
            cost_usd: result.cost_usd,
        }
    }

    fn seed_time_limit(&self) -> Duration {
        self.env
            .content
            .seed()
            .timeout_secs
            .map(Duration::from_secs)
            .unwrap_or(self.defaults.time_limit)
    }

    fn time_limit(&self, task: &Task) -> Duration {
        self.env
            .content
            .agent(&task.task_type)
            .and_then(|a| a.timeout_secs)
            .map(Duration::from_secs)
            .unwrap_or(self.defaults.time_limit)
    }
}
