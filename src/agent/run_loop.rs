//! The agent loop: one fresh context, streamed answers, tools, until `complete_task`.
//!
//! Each turn sends the whole conversation, runs every tool the model asked
//! for (in order, several per turn), and returns the results. A tool error
//! goes back to the model as an error result; it never ends the task. The
//! loop ends when the agent calls `complete_task` (at once, even if more
//! calls follow in the same turn), when the model stops without reporting,
//! at `max_turns`, when the same call repeats too often, or on a provider
//! error that retries could not fix. Every tool call (refused, unknown and
//! `complete_task` included) is reported as a short activity phrase with the
//! usage so far, as soon as it starts streaming (again when it runs only if the phrase
//! changed), and the first line of each answer as soon as it has streamed.
//! Calls to the agent's early tools run while the answer still streams
//! ([`super::early_calls`]).

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use serde_json::Value;

use super::checks::{
    failure_after_stop, failure_for_agent, failure_reason, run_checks, StartCounts, TaskChecks,
};
use super::early_calls::{EarlyCalls, Outcome};
use super::TaskPort;
use crate::messages::{AttemptEnd, CommandCheck, FileAssertion, Handoff, ReportStatus, Usage};
use crate::providers::{
    ContentBlock, Message, ModelClient, ModelRequest, ModelResponse, ProviderEvent, RequestMeta,
    Role, StopReason, SystemBlock, ToolSpec,
};
use crate::queue::canonical_json;
use crate::tools::permissions::check_tool_allowed;
use crate::tools::queue_tools::{complete_task_spec, parse_complete_task, COMPLETE_TASK};
use crate::tools::{Secrets, Tool, ToolContext, ToolError};

/// Everything one agent needs, already resolved from content and the task.
pub struct AgentSetup {
    /// A concrete model id.
    pub model: String,
    /// The system prompt (the shared, cacheable prefix).
    pub system: Vec<SystemBlock>,
    /// The first user message: the task's own text.
    pub prompt: String,
    /// Every tool the run offers (the same list for every task, so the prefix caches);
    /// permissions decide which calls run.
    pub tools: Vec<Arc<dyn Tool>>,
    /// Offer `complete_task` (task agents) or not (the seed, the linear runner).
    pub offers_complete_task: bool,
    /// What the runtime checks after `complete_task(done)` before it accepts it. An
    /// agent offered no `complete_task` (the linear runner's) says "done" by ending its
    /// turn: the same checks run then, and a failure comes back as the next user message.
    pub checks: TaskChecks,
    /// Install dir, permissions, secrets.
    pub ctx: ToolContext,
    /// Turn limit.
    pub max_turns: u32,
    /// Output limit per request.
    pub max_tokens: u32,
    /// Who the requests are for.
    pub meta: RequestMeta,
    /// Identical tool calls in a row that stop the agent.
    pub repeat_limit: u32,
    /// The run's permission asks and grants (none: a refusal is final).
    pub asks: Option<Arc<crate::tools::asks::RunAsks>>,
    /// Tools whose calls run as soon as the stream has them whole, before the answer
    /// ends (the seed's `enqueue_task`, so the first task starts while the seed still
    /// plans). Only tools whose effect does not depend on the answer's other calls belong
    /// here; a call a permission refuses waits for the answer's end (and its ask).
    pub early_tools: Vec<String>,
}

/// How the loop ended, with what it used.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopResult {
    /// How it ended.
    pub end: AttemptEnd,
    /// Tokens over all requests.
    pub usage: Usage,
    /// Cost over all requests.
    pub cost_usd: f64,
    /// Files tools reported touching.
    pub files_touched: Vec<String>,
    /// Model requests made.
    pub turns: u32,
    /// Retries the provider made.
    pub retries: u32,
    /// The model's last text, if any (the linear runner's summary).
    pub final_text: Option<String>,
    /// The checks that passed at an end of turn (an agent without `complete_task`).
    pub checks: Vec<CommandCheck>,
    /// The file assertions that passed at that end of turn.
    pub file_checks: Vec<FileAssertion>,
}

/// The `NoReport` detail when the model simply ended its turn.
pub const ENDED_TURN: &str = "the model ended its turn";

/// Prices a request's usage for a model id.
pub type Pricer = dyn Fn(&str, &Usage) -> f64 + Send + Sync;

/// Runs one agent to its end.
pub async fn run_agent(
    client: &dyn ModelClient,
    setup: AgentSetup,
    port: &dyn TaskPort,
    price: &Pricer,
) -> LoopResult {
    let mut run = AgentRun::start(setup, port).await;
    while run.take_turn(client, price).await.is_continue() {}
    run.result
}

/// One agent's state between turns: the conversation, what it used, and what
/// ends it early (repeats, failing checks).
struct AgentRun<'a> {
    setup: AgentSetup,
    port: &'a dyn TaskPort,
    /// The tools offered to the model, sorted by name so the prefix caches.
    specs: Vec<ToolSpec>,
    by_name: HashMap<String, Arc<dyn Tool>>,
    secrets: Secrets,
    messages: Vec<Message>,
    result: LoopResult,
    last_call: Option<String>,
    repeats: u32,
    /// The output of the task's checks while they fail: how the attempt ends if it ends now.
    failing_checks: Option<String>,
    retries: AtomicU32,
    start_counts: StartCounts,
    /// Outcomes of calls that ran while the current answer streamed.
    early: EarlyCalls,
    /// The current answer's first line was shown while it streamed.
    line_shown: bool,
    /// Phrases of the current answer's calls, shown as they started streaming.
    shown_at_start: ShownAtStart,
    /// The current answer's usage reached the port (with its first call's phrase).
    answer_usage_shown: bool,
}

impl<'a> AgentRun<'a> {
    /// Prepares the tools and the first message, and counts what `keep` assertions need.
    async fn start(setup: AgentSetup, port: &'a dyn TaskPort) -> Self {
        let mut specs: Vec<_> = setup.tools.iter().map(|t| t.spec()).collect();
        if setup.offers_complete_task {
            specs.push(complete_task_spec());
        }
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        let by_name: HashMap<String, Arc<dyn Tool>> = setup
            .tools
            .iter()
            .map(|t| (t.spec().name, t.clone()))
            .collect();
        let secrets = setup.ctx.secrets.clone();
        let messages = vec![Message {
            role: Role::User,
            content: vec![ContentBlock::Text {
                text: setup.prompt.clone(),
            }],
        }];
        // Before the first turn: `keep` assertions compare with the app as the agent found it.
        let start_counts = StartCounts::take(&setup.checks, &setup.ctx.install_dir).await;
        AgentRun {
            setup,
            port,
            specs,
            by_name,
            secrets,
            messages,
            result: LoopResult {
                end: AttemptEnd::NoReport {
                    detail: String::new(),
                },
                usage: Usage::default(),
                cost_usd: 0.0,
                files_touched: Vec::new(),
                turns: 0,
                retries: 0,
                final_text: None,
                checks: Vec::new(),
                file_checks: Vec::new(),
            },
            last_call: None,
            repeats: 0,
            failing_checks: None,
            retries: AtomicU32::new(0),
            start_counts,
            early: EarlyCalls::default(),
            line_shown: false,
            shown_at_start: ShownAtStart::default(),
            answer_usage_shown: false,
        }
    }

    /// Ends the attempt: `end`, unless the task's checks still fail.
    fn finish(&mut self, end: AttemptEnd) -> ControlFlow<()> {
        self.result.end = checks_or(&self.failing_checks, end);
        ControlFlow::Break(())
    }

    /// One model request and the tool calls it asks for.
    async fn take_turn(&mut self, client: &dyn ModelClient, price: &Pricer) -> ControlFlow<()> {
        if self.result.turns >= self.setup.max_turns {
            return self.finish(AttemptEnd::Error {
                error_kind: "max-turns".into(),
                message: format!(
                    "the agent used all {} turns without reporting",
                    self.setup.max_turns
                ),
                fatal: false,
            });
        }
        self.result.turns += 1;
        let response = match self.ask_model(client, price).await {
            Ok(response) => response,
            Err(end) => {
                // A provider error ends the attempt as it is, failing checks or not.
                self.result.end = end;
                return ControlFlow::Break(());
            }
        };
        let calls = tool_calls(&response.content);
        if let Some(text) = all_text(&response.content) {
            self.result.final_text = Some(text);
        }
        match first_text(&response.content) {
            Some(text) if !self.line_shown => {
                self.port
                    .activity(text, Some(self.result.usage), Some(self.result.cost_usd))
            }
            _ => {}
        }
        self.messages.push(Message {
            role: Role::Assistant,
            content: response.content.clone(),
        });
        if calls.is_empty() {
            self.drop_unclaimed_early_calls();
            return self.on_stop(response.stop_reason).await;
        }

        let reason = first_text(&response.content);
        let mut results = Vec::with_capacity(calls.len());
        for (id, name, input) in calls {
            self.handle_call(id, name, input, &reason, &mut results)
                .await?;
        }
        self.drop_unclaimed_early_calls();
        self.messages.push(Message {
            role: Role::User,
            content: results,
        });
        ControlFlow::Continue(())
    }

    /// Ends the answer's early calls: an outcome no call of the final answer claimed (its
    /// attempt failed and the retry made other calls) must not answer a later turn's call.
    fn drop_unclaimed_early_calls(&mut self) {
        let unclaimed = self.early.finish();
        if unclaimed > 0 {
            tracing::warn!(
                unclaimed,
                "calls that ran while an attempt streamed are not in the final answer"
            );
        }
    }

    /// Sends the conversation, reporting retries as activity, and adds up usage and cost.
    async fn ask_model(
        &mut self,
        client: &dyn ModelClient,
        price: &Pricer,
    ) -> Result<ModelResponse, AttemptEnd> {
        let request = ModelRequest {
            model: self.setup.model.clone(),
            system: self.setup.system.clone(),
            messages: self.messages.clone(),
            tools: self.specs.clone(),
            max_tokens: self.setup.max_tokens,
            meta: self.setup.meta.clone(),
            cache_conversation: true,
        };
        let retries = &self.retries;
        let port = self.port;
        let (usage, cost) = (self.result.usage, self.result.cost_usd);
        let line_shown = AtomicBool::new(false);
        // Streamed calls and retries go, in stream order, to `run_early` below.
        let (streamed, mut to_run) = tokio::sync::mpsc::unbounded_channel();
        // One line per model call: re-run benchmarks and tests count them.
        tracing::info!(model = %request.model, "model call");
        let line_shown_ref = &line_shown;
        let by_name = &self.by_name;
        self.answer_usage_shown = false;
        let shown_at_start = &self.shown_at_start;
        shown_at_start.clear();
        let asking = async move {
            let progress = |event: ProviderEvent| match event {
                ProviderEvent::Retrying {
                    attempt,
                    wait_ms,
                    ref reason,
                } => {
                    retries.fetch_add(1, Ordering::Relaxed);
                    port.activity(
                        format!(
                            "Model busy ({reason}); retry {attempt} in {:.1}s",
                            wait_ms as f64 / 1000.0
                        ),
                        None,
                        None,
                    );
                    let _ = streamed.send(event);
                }
                ProviderEvent::FirstLine(line) => {
                    if !line_shown_ref.swap(true, Ordering::Relaxed) {
                        port.activity(phrase_of(&line), Some(usage), Some(cost));
                    }
                }
                // A long Write or handoff streams for seconds: say what comes while it does.
                ProviderEvent::ToolCallStarted { ref name, ref lead } => {
                    let phrase = call_phrase(by_name.get(name), name, lead);
                    shown_at_start.record(&phrase);
                    port.activity(phrase, Some(usage), Some(cost));
                }
                ProviderEvent::ToolCallReady { .. } => {
                    let _ = streamed.send(event);
                }
                ProviderEvent::FirstToken => {}
            };
            client.complete(&request, &progress).await
            // `streamed` is dropped here, which ends `run_early`.
        };
        let run_early = run_early_calls(
            &mut to_run,
            &mut self.early,
            EarlyTools {
                names: &self.setup.early_tools,
                by_name: &self.by_name,
                ctx: &self.setup.ctx,
                port,
                usage,
                cost,
                shown_at_start: &self.shown_at_start,
            },
        );
        let (response, ()) = tokio::join!(asking, run_early);
        self.line_shown = line_shown.into_inner();
        self.result.retries = self.retries.load(Ordering::Relaxed);
        let response = response.map_err(|e| AttemptEnd::Error {
            error_kind: "provider".into(),
            message: e.to_string(),
            fatal: e.is_fatal(),
        })?;
        self.result.usage.add(&response.usage);
        self.result.cost_usd += price(&self.setup.model, &response.usage);
        Ok(response)
    }

    /// The model answered without tool calls. An agent offered no `complete_task` says
    /// "done" this way, so its checks run here; a failure goes back as the next message.
    async fn on_stop(&mut self, stop_reason: StopReason) -> ControlFlow<()> {
        let stopped = match stop_reason {
            StopReason::MaxTokens => AttemptEnd::NoReport {
                detail: "the answer was cut at the output limit".into(),
            },
            StopReason::Refusal => AttemptEnd::NoReport {
                detail: "the model refused".into(),
            },
            _ => AttemptEnd::NoReport {
                detail: ENDED_TURN.into(),
            },
        };
        let says_done = matches!(&stopped, AttemptEnd::NoReport { detail } if detail == ENDED_TURN);
        if says_done && !self.setup.offers_complete_task && !self.setup.checks.is_empty() {
            let outcome = run_checks(
                &self.setup.checks,
                &self.start_counts,
                &self.setup.ctx,
                self.port,
            )
            .await;
            let reason = outcome.failure.as_deref().map(failure_reason);
            self.port
                .check_failed(reason.clone().map(|r| self.secrets.redact(&r)));
            self.failing_checks = reason.map(|r| self.secrets.redact(&r));
            if let Some(failure) = outcome.failure {
                tracing::info!("checks failed at the end of turn; the agent continues");
                self.messages.push(Message {
                    role: Role::User,
                    content: vec![ContentBlock::Text {
                        text: self.secrets.redact(&failure_after_stop(&failure)),
                    }],
                });
                return ControlFlow::Continue(());
            }
            self.result.checks = outcome.commands;
            self.result.file_checks = outcome.files;
        }
        self.finish(stopped)
    }

    /// One tool call: stops on too many repeats, shows it, then reports the task or runs
    /// the tool, adding its result to `results`.
    async fn handle_call(
        &mut self,
        id: String,
        name: String,
        input: Value,
        reason: &Option<String>,
        results: &mut Vec<ContentBlock>,
    ) -> ControlFlow<()> {
        let key = format!("{name}:{}", canonical_json(&input));
        if self.last_call.as_deref() == Some(key.as_str()) {
            self.repeats += 1;
        } else {
            self.repeats = 1;
            self.last_call = Some(key);
        }
        if self.repeats >= self.setup.repeat_limit {
            let repeats = self.repeats;
            return self.finish(AttemptEnd::Error {
                error_kind: "repeat".into(),
                message: format!("the agent made the same {name} call {repeats} times in a row"),
                fatal: false,
            });
        }
        if let Some(outcome) = self.early.take(&name, &input) {
            // It ran while the answer streamed, and showed then.
            results.push(self.result_block(id, &name, outcome));
            return ControlFlow::Continue(());
        }
        // Every call shows, refused ones too: the UI must never sit still
        // while an agent works, and a refusal is work the user may want to see. A phrase
        // already shown as the call started streaming is not repeated, except by the
        // answer's first call: activities carry the usage, and the answer's is known now.
        let phrase = call_phrase(self.by_name.get(&name), &name, &input);
        let shown = self.shown_at_start.take(&phrase);
        if !shown || !self.answer_usage_shown {
            self.answer_usage_shown = true;
            self.port
                .activity(phrase, Some(self.result.usage), Some(self.result.cost_usd));
        }
        if name == COMPLETE_TASK && self.setup.offers_complete_task {
            return match parse_complete_task(&input) {
                // A report in the same answer as its last edits saves a turn, but it was
                // written before their results: one of them failing makes "done" untrue.
                Ok((ReportStatus::Done, _)) if results.iter().any(is_error_result) => {
                    results.push(ContentBlock::ToolResult {
                        tool_use_id: id,
                        content: EARLIER_CALL_FAILED.into(),
                        is_error: true,
                    });
                    ControlFlow::Continue(())
                }
                Ok((status, handoff)) => self.report(id, status, handoff, results).await,
                Err(e) => {
                    results.push(error_result(id, &e));
                    ControlFlow::Continue(())
                }
            };
        }
        results.push(self.run_tool(id, &name, input, reason).await);
        ControlFlow::Continue(())
    }

    /// `complete_task`: ends the attempt with the handoff, unless a "done" fails its
    /// checks; then the failure goes back as the call's result and the agent continues.
    async fn report(
        &mut self,
        id: String,
        status: ReportStatus,
        mut handoff: Handoff,
        results: &mut Vec<ContentBlock>,
    ) -> ControlFlow<()> {
        // The handoff reaches later prompts, queue.json and the reports.
        for text in [
            &mut handoff.goals,
            &mut handoff.did,
            &mut handoff.for_next_agent,
        ]
        .into_iter()
        .chain(handoff.conflict.as_mut())
        {
            *text = self.secrets.redact(text);
        }
        for f in &self.result.files_touched {
            if !handoff.files_touched.contains(f) {
                handoff.files_touched.push(f.clone());
            }
        }
        if status == ReportStatus::Done && !self.setup.checks.is_empty() {
            let outcome = run_checks(
                &self.setup.checks,
                &self.start_counts,
                &self.setup.ctx,
                self.port,
            )
            .await;
            let reason = outcome.failure.as_deref().map(failure_reason);
            self.port
                .check_failed(reason.clone().map(|r| self.secrets.redact(&r)));
            if let Some(failure) = outcome.failure {
                tracing::info!("checks failed; the agent continues");
                results.push(ContentBlock::ToolResult {
                    tool_use_id: id,
                    content: self.secrets.redact(&failure_for_agent(&failure)),
                    is_error: true,
                });
                self.failing_checks = reason.map(|r| self.secrets.redact(&r));
                return ControlFlow::Continue(());
            }
            handoff.checks = outcome.commands;
            handoff.file_checks = outcome.files;
        }
        self.result.files_touched.clear();
        self.result.end = AttemptEnd::Reported { status, handoff };
        ControlFlow::Break(())
    }

    /// Runs a tool (asking the user when a permission refuses it and asks are on) and
    /// returns its result for the model, scrubbed of secrets.
    async fn run_tool(
        &mut self,
        id: String,
        name: &str,
        input: Value,
        reason: &Option<String>,
    ) -> ContentBlock {
        let tool = self.by_name.get(name);
        let outcome = match tool {
            None => Err(ToolError::InvalidInput(format!(
                "there is no tool named {name}"
            ))),
            Some(tool) => match check_tool_allowed(&self.setup.ctx.permissions, name) {
                Err(e) => Err(e),
                Ok(()) => tool.call(&self.setup.ctx, input.clone()).await,
            },
        };
        let outcome = match (outcome, &self.setup.asks, tool) {
            (Err(ToolError::Denied(why)), Some(asks), Some(tool)) => {
                ask_and_retry(asks, &self.setup, tool, name, input, why, reason, self.port).await
            }
            (other, _, _) => other,
        };
        self.result_block(id, name, outcome)
    }

    /// A tool's outcome as the result the model gets, scrubbed of secrets; notes the
    /// files it touched.
    fn result_block(&mut self, id: String, name: &str, outcome: Outcome) -> ContentBlock {
        match outcome {
            Ok(out) => {
                for f in out.files_touched {
                    if !self.result.files_touched.contains(&f) {
                        self.result.files_touched.push(f);
                    }
                }
                ContentBlock::ToolResult {
                    tool_use_id: id,
                    content: self.secrets.redact(&out.content),
                    is_error: false,
                }
            }
            Err(e) => {
                // A refusal may quote its input, and a failure a file: both are scrubbed.
                let text = self.secrets.redact(&e.to_string());
                tracing::info!(tool = %name, "tool refused or failed: {text}");
                ContentBlock::ToolResult {
                    tool_use_id: id,
                    content: text,
                    is_error: true,
                }
            }
        }
    }
}

/// What running a call early needs, borrowed from the agent.
struct EarlyTools<'a> {
    names: &'a [String],
    by_name: &'a HashMap<String, Arc<dyn Tool>>,
    ctx: &'a ToolContext,
    port: &'a dyn TaskPort,
    usage: Usage,
    cost: f64,
    shown_at_start: &'a ShownAtStart,
}

/// The activity phrases of an answer's calls shown as they started streaming, so the
/// same phrase is not shown again when the call runs (a phrase that differs — the path
/// was not known yet — shows again).
#[derive(Debug, Default)]
struct ShownAtStart(std::sync::Mutex<Vec<String>>);

impl ShownAtStart {
    fn phrases(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        // A panic while holding it leaves only a list of phrases behind: keep using it.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn clear(&self) {
        self.phrases().clear();
    }

    fn record(&self, phrase: &str) {
        self.phrases().push(phrase.to_string());
    }

    /// True (and forgotten) when `phrase` was shown at a call's start.
    fn take(&self, phrase: &str) -> bool {
        let mut phrases = self.phrases();
        match phrases.iter().position(|p| p == phrase) {
            Some(at) => {
                phrases.remove(at);
                true
            }
            None => false,
        }
    }
}

/// Runs the early tools' calls as the stream finishes them, one at a time in stream
/// order, until the request is over (its sender is dropped).
async fn run_early_calls(
    streamed: &mut tokio::sync::mpsc::UnboundedReceiver<ProviderEvent>,
    early: &mut EarlyCalls,
    tools: EarlyTools<'_>,
) {
    while let Some(event) = streamed.recv().await {
        let (name, input) = match event {
            ProviderEvent::Retrying { .. } => {
                early.new_attempt();
                continue;
            }
            ProviderEvent::ToolCallReady { name, input, .. } => (name, input),
            _ => continue,
        };
        let Some(tool) = tools
            .by_name
            .get(&name)
            .filter(|_| tools.names.contains(&name))
        else {
            continue;
        };
        // A refused call waits for the answer's end, where a refusal may become an ask.
        if check_tool_allowed(&tools.ctx.permissions, &name).is_err()
            || !early.should_run(&name, &input)
        {
            continue;
        }
        let phrase = tool.activity(&input);
        if !tools.shown_at_start.take(&phrase) {
            tools
                .port
                .activity(phrase, Some(tools.usage), Some(tools.cost));
        }
        let outcome = tool.call(tools.ctx, input.clone()).await;
        early.record(&name, &input, outcome);
    }
}

/// The tool calls of an answer, in order: (id, name, input).
fn tool_calls(content: &[ContentBlock]) -> Vec<(String, String, Value)> {
    content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolUse { id, name, input } => {
                Some((id.clone(), name.clone(), input.clone()))
            }
            _ => None,
        })
        .collect()
}

/// How an attempt that ends before its checks passed ends: failed, with the
/// checks' output as the reason, whatever else stopped it (turns, a stop, a repeat).
fn checks_or(failing_checks: &Option<String>, otherwise: AttemptEnd) -> AttemptEnd {
    match failing_checks {
        Some(failure) => AttemptEnd::Error {
            error_kind: "checks".into(),
            message: format!("its checks still fail: {failure}"),
            fatal: false,
        },
        None => otherwise,
    }
}

/// The hook where a permission rule refused a call: ask (or apply a grant), then retry the
/// call with the lifted permission, or return the refusal.
#[allow(clippy::too_many_arguments)]
async fn ask_and_retry(
    asks: &crate::tools::asks::RunAsks,
    setup: &AgentSetup,
    tool: &Arc<dyn Tool>,
    name: &str,
    input: Value,
    why: String,
    reason: &Option<String>,
    port: &dyn TaskPort,
) -> Result<crate::tools::ToolOutput, ToolError> {
    let task = (setup.meta.task_id.as_str(), setup.meta.task_type.as_str());
    let (decision, phrase) = asks
        .on_denied(
            task,
            &setup.ctx.permissions,
            name,
            &input,
            why,
            reason.clone(),
        )
        .await;
    if let Some(phrase) = phrase {
        port.activity(phrase, None, None);
    }
    let mut ctx = setup.ctx.clone();
    ctx.permissions = decision?;
    tool.call(&ctx, input).await
}

/// The activity phrase of one call: the tool's own, or a plain one for
/// `complete_task` and for names no tool answers to (cut short: the model chose it).
fn call_phrase(tool: Option<&Arc<dyn Tool>>, name: &str, input: &Value) -> String {
    match tool {
        Some(tool) => tool.activity(input),
        None if name == COMPLETE_TASK => "Reporting the result".into(),
        None => {
            let short: String = name.chars().take(40).collect();
            format!("Calling {short}")
        }
    }
}

/// What a `complete_task(done)` gets when an earlier call of its answer failed.
const EARLIER_CALL_FAILED: &str = "Not reported: an earlier call in this answer failed (see its \
result). Fix that first, then call complete_task again.";

fn is_error_result(block: &ContentBlock) -> bool {
    matches!(block, ContentBlock::ToolResult { is_error: true, .. })
}

fn error_result(id: String, e: &ToolError) -> ContentBlock {
    ContentBlock::ToolResult {
        tool_use_id: id,
        content: e.to_string(),
        is_error: true,
    }
}

/// All the text of an answer, joined.
fn all_text(content: &[ContentBlock]) -> Option<String> {
    let text: Vec<&str> = content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let joined = text.join("\n").trim().to_string();
    (!joined.is_empty()).then_some(joined)
}

/// The first line of the model's text, shortened, as an activity phrase.
fn first_text(content: &[ContentBlock]) -> Option<String> {
    content.iter().find_map(|b| match b {
        ContentBlock::Text { text } => {
            let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
            Some(phrase_of(line))
        }
        _ => None,
    })
}

/// A line of the model's text as an activity phrase: trimmed, at most 80 characters.
fn phrase_of(line: &str) -> String {
    let line = line.trim();
    let mut phrase: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        phrase.push('…');
    }
    phrase
}
