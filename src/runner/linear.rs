//! The linear runner: the A/B baseline. One agent, one assembled prompt.
//!
//! Every non-seed agent prompt and every skill, in default-graph order, with
//! the same contract style and project context as the orchestrator; the
//! `medium` model; the union of the graph's tools and permissions; it ends
//! when the model stops. To be a fair baseline it runs through the same
//! queue machinery as a single task (`linear`), so it leaves the same files,
//! events and verdict, and its tool calls are its progress.
//!
//! Its end of turn is its "done": the runtime then runs the steps' checks
//! ([`linear_checks`]) and hands a failure back as the next message. After it,
//! the content's verify step (a `serveApp` agent) runs as in the orchestrator,
//! through the same [`ModelBackend`]: one way to start the app and read events back.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::agent::backend::{AgentEnv, ModelBackend};
use crate::agent::checks::TaskChecks;
use crate::agent::prompt::{self, AgentText, LinearStep, SkillText};
use crate::agent::run_loop::{run_agent, AgentSetup};
use crate::agent::{AgentBackend, AgentJob, AttemptReport, SeedReport, TaskPort};
use crate::content::ContentSet;
use crate::messages::{AttemptEnd, Handoff, ReportStatus, Task, TaskSpec};
use crate::providers::RequestMeta;
use crate::queue::Catalogue;
use crate::tools::queue_tools::{COMPLETE_TASK, ENQUEUE_TASK, READ_HANDOFFS};
use crate::tools::Permissions;

/// The single task type the linear runner enqueues.
pub const LINEAR_TYPE: &str = "linear";

/// The linear runner's catalogue: its one type, plus the content's verify steps
/// (`serveApp` agents), which run after it.
pub fn linear_catalogue(content: &ContentSet, label: &str) -> Catalogue {
    let verify = verify_steps(content)
        .into_iter()
        .map(|a| (a.task_type.as_str(), a.label.as_str(), a.model.as_str()));
    Catalogue::from_triples(std::iter::once((LINEAR_TYPE, label, "medium")).chain(verify))
}

/// The agents that run against the built app (verification), after the linear agent.
fn verify_steps(content: &ContentSet) -> Vec<&crate::content::AgentPrompt> {
    content
        .graph_order()
        .into_iter()
        .filter(|a| a.serve_app)
        .collect()
}

/// What the linear agent's end of turn is checked against: every step's commands, and
/// the file assertions that hold whether or not a step applied (upper bounds, `keep`).
/// An "at least one" assertion (an identify call exists) belongs to a step the one
/// session may rightly leave out (an app without users), and it cannot say so per step.
pub fn linear_checks(content: &ContentSet) -> TaskChecks {
    let mut union = TaskChecks::default();
    for agent in content.graph_order().into_iter().filter(|a| !a.serve_app) {
        let checks = TaskChecks::of(agent);
        for file in checks.files {
            if file.bounds().0 == 0 && !union.files.contains(&file) {
                union.files.push(file);
            }
        }
        for command in checks.commands {
            if !union.commands.contains(&command) {
                union.commands.push(command);
            }
        }
    }
    union
}

/// The union of every non-seed agent's permissions, without the queue tools.
pub fn union_permissions(content: &ContentSet) -> Permissions {
    let mut p = Permissions::default();
    for a in content.graph_order().into_iter().filter(|a| !a.serve_app) {
        let mine = a.permissions();
        for t in mine.allowed_tools {
            if !mine.disallowed_tools.contains(&t) && !p.allowed_tools.contains(&t) {
                p.allowed_tools.push(t);
            }
        }
        for w in mine.write {
            if !p.write.contains(&w) {
                p.write.push(w);
            }
        }
        for b in mine.bash {
            if !p.bash.contains(&b) {
                p.bash.push(b);
            }
        }
    }
    p.allowed_tools
        .retain(|t| t != COMPLETE_TASK && t != ENQUEUE_TASK && t != READ_HANDOFFS);
    p
}

/// Runs the whole integration as one agent.
pub struct LinearBackend {
    env: AgentEnv,
    /// Runs the verify steps exactly as the orchestrator does.
    steps: ModelBackend,
    max_turns: u32,
    time_limit: Duration,
}

impl LinearBackend {
    /// A linear backend for a run.
    pub fn new(env: AgentEnv) -> Self {
        Self {
            steps: ModelBackend::new(env.clone()),
            env,
            max_turns: 200,
            time_limit: Duration::from_secs(3_600),
        }
    }

    /// The one prompt the linear agent gets.
    pub fn prompt(&self) -> String {
        let steps: Vec<LinearStep<'_>> = self
            .env
            .content
            .graph_order()
            .into_iter()
            // One session has no app started for it: verification is the orchestrator's step.
            .filter(|a| !a.serve_app)
            .map(|a| LinearStep {
                task_type: &a.task_type,
                label: &a.label,
                agent: AgentText {
                    goal: &a.goal,
                    success: &a.success,
                    body: &a.body,
                },
                skills: self
                    .env
                    .content
                    .skills_for(a, self.env.framework_id.as_deref())
                    .into_iter()
                    .map(|s| SkillText {
                        name: &s.name,
                        body: &s.body,
                    })
                    .collect(),
            })
            .collect();
        prompt::linear_prompt(&steps)
    }
}

#[async_trait]
impl AgentBackend for LinearBackend {
    async fn run(&self, job: AgentJob, port: Arc<dyn TaskPort>) -> AttemptReport {
        if job.task.task_type != LINEAR_TYPE {
            return self.steps.run(job, port).await;
        }
        let mut ctx = self.env.base_ctx.clone();
        ctx.permissions = union_permissions(&self.env.content);
        let setup = AgentSetup {
            model: self.env.models.resolve(&self.env.provider, "medium").id,
            system: prompt::linear_system(&self.env.project),
            prompt: self.prompt(),
            tools: self.env.tools.clone(),
            offers_complete_task: false,
            checks: linear_checks(&self.env.content),
            ctx,
            max_turns: self.max_turns,
            max_tokens: 16_384,
            meta: RequestMeta {
                task_id: job.task.id.clone(),
                task_type: LINEAR_TYPE.into(),
            },
            repeat_limit: 5,
            asks: self.env.asks.clone(),
            early_tools: Vec::new(),
        };
        let price = self.env.pricer();
        let result = run_agent(self.env.client.as_ref(), setup, port.as_ref(), &price).await;
        // The linear agent has no complete_task: a normal end of turn is its report.
        let end = match result.end {
            AttemptEnd::NoReport { detail } if detail == crate::agent::run_loop::ENDED_TURN => {
                AttemptEnd::Reported {
                    status: ReportStatus::Done,
                    handoff: Handoff {
                        goals: job.task.label.clone(),
                        did: result
                            .final_text
                            .clone()
                            .unwrap_or_else(|| "finished".into()),
                        for_next_agent: "the linear run is over".into(),
                        files_touched: result.files_touched.clone(),
                        conflict: None,
                        checks: result.checks.clone(),
                        file_checks: result.file_checks.clone(),
                        ..Default::default()
                    },
                }
            }
            other => other,
        };
        AttemptReport {
            end,
            usage: result.usage,
            cost_usd: result.cost_usd,
            provider_retries: result.retries,
        }
    }

    async fn seed(&self, port: Arc<dyn TaskPort>) -> SeedReport {
        let linear = match port.enqueue(TaskSpec::new(LINEAR_TYPE)).await {
            Ok(id) => id,
            Err(e) => {
                return SeedReport {
                    error: Some(format!("could not queue the linear run: {e}")),
                    ..SeedReport::default()
                }
            }
        };
        for step in verify_steps(&self.env.content) {
            let spec = TaskSpec {
                depends_on: vec![linear.clone()],
                ..TaskSpec::new(&step.task_type)
            };
            if let Err(e) = port.enqueue(spec).await {
                return SeedReport {
                    error: Some(format!("could not queue {}: {e}", step.task_type)),
                    ..SeedReport::default()
                };
            }
        }
        SeedReport::default()
    }

    fn time_limit(&self, task: &Task) -> Duration {
        match task.task_type.as_str() {
            LINEAR_TYPE => self.time_limit,
            _ => self.steps.time_limit(task),
        }
    }
}
