//! The agent loop, driven by replayed model turns (speed 0) against real tools
//! on a temp copy of the fixture app.
//!
//! Three levels. `run_agent` directly, with an in-test [`TaskPort`] that
//! records enqueues and activity phrases and a client wrapper that records
//! every request, so each test can check what the model was sent back.
//! `ModelBackend` directly, on the fixture content, for what a task's prompt,
//! permissions and limits come from. And whole runs through the queue actors
//! (`orchestrated::run`), for the rules that live there: the wall-time limit
//! and the retry of an agent that stopped without reporting.

mod recorder;
mod runtime_support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use wizard::actors::ui::UiMode;
use wizard::agent::backend::{AgentDefaults, AgentEnv, ModelBackend};
use wizard::agent::checks::TaskChecks;
use wizard::agent::prompt::{self, ProjectContext};
use wizard::agent::run_loop::{run_agent, AgentSetup, LoopResult, ENDED_TURN};
use wizard::agent::{AgentBackend, AgentJob, TaskPort};
use wizard::content::{ContentSet, ContentSource, FileCheck};
use wizard::messages::{
    AttemptEnd, Handoff, HandoffQuery, ReportStatus, Task, TaskHandoff, TaskId, TaskSpec,
    TaskStatus, Usage, Verdict,
};
use wizard::providers::anthropic::{AnthropicClient, AnthropicConfig, AnthropicCredential};
use wizard::providers::credential::ApiSecret;
use wizard::providers::pricing::ModelTable;
use wizard::providers::replay::ReplayClient;
use wizard::providers::retry::RetryPolicy;
use wizard::providers::{
    ContentBlock, ModelClient, ModelRequest, ModelResponse, ProviderError, ProviderEvent,
    RequestMeta, Role,
};
use wizard::queue::{GuardError, QueryError, QueueLimits};
use wizard::runner::orchestrated::{self, RunSetup};
use wizard::tools::queue_tools::{EnqueueTask, ReadHandoffsTool};
use wizard::tools::{BashLimits, Permissions, Secrets, ToolContext, ToolRegistry};

use recorder::{final_tasks, recorder, run_info, HANG_GUARD};
use runtime_support::{content_dir, fixture_app};
use wizard_fakes::{Answer, FakeAnthropic, FakeServer, Reply};

// ---- harness ---------------------------------------------------------------

/// A client that records every request, then lets the replay answer it.
struct Recording {
    inner: ReplayClient,
    requests: Mutex<Vec<ModelRequest>>,
}

impl Recording {
    fn new(yaml: &str) -> Self {
        Self {
            inner: ReplayClient::from_yaml(yaml, 0.0).unwrap(),
            requests: Mutex::new(Vec::new()),
        }
    }

    fn requests(&self) -> Vec<ModelRequest> {
        self.requests.lock().unwrap().clone()
    }
}

#[async_trait]
impl ModelClient for Recording {
    async fn complete(
        &self,
        request: &ModelRequest,
        progress: &(dyn Fn(ProviderEvent) + Send + Sync),
    ) -> Result<ModelResponse, ProviderError> {
        self.requests.lock().unwrap().push(request.clone());
        self.inner.complete(request, progress).await
    }

    fn name(&self) -> &'static str {
        "recording"
    }
}

/// A port that accepts every enqueue (ids `<type>`, `<type>-2`…) and keeps what it saw.
#[derive(Default)]
struct Port {
    enqueued: Mutex<Vec<TaskSpec>>,
    activities: Mutex<Vec<String>>,
}

impl Port {
    fn enqueued(&self) -> Vec<TaskSpec> {
        self.enqueued.lock().unwrap().clone()
    }

    fn activities(&self) -> Vec<String> {
        self.activities.lock().unwrap().clone()
    }
}

#[async_trait]
impl TaskPort for Port {
    async fn enqueue(&self, spec: TaskSpec) -> Result<TaskId, GuardError> {
        let mut enqueued = self.enqueued.lock().unwrap();
        let same = enqueued
            .iter()
            .filter(|s| s.task_type == spec.task_type)
            .count();
        let id = match same {
            0 => spec.task_type.clone(),
            n => format!("{}-{}", spec.task_type, n + 1),
        };
        enqueued.push(spec);
        Ok(id)
    }

    async fn read_handoffs(&self, _query: HandoffQuery) -> Result<Vec<TaskHandoff>, QueryError> {
        Ok(Vec::new())
    }

    fn activity(&self, phrase: String, _usage: Option<Usage>, _cost_usd: Option<f64>) {
        self.activities.lock().unwrap().push(phrase);
    }

    fn relabel(&self, _label: String) {}

    fn task_id(&self) -> Option<&str> {
        Some("install")
    }
}

/// One agent of type `install` on a fresh copy of the fixture app, playing `yaml`.
struct Agent {
    _root: tempfile::TempDir,
    app: PathBuf,
    client: Recording,
    port: Arc<Port>,
    permissions: Permissions,
    max_turns: u32,
    repeat_limit: u32,
    checks: TaskChecks,
    bash: BashLimits,
    offers_complete_task: bool,
    early_tools: Vec<String>,
}

impl Agent {
    fn new(yaml: &str) -> Self {
        let root = tempfile::tempdir().unwrap();
        let app = fixture_app(root.path()).canonicalize().unwrap();
        Self {
            _root: root,
            app,
            client: Recording::new(yaml),
            port: Arc::new(Port::default()),
            permissions: Permissions {
                allowed_tools: [
                    "Read",
                    "Write",
                    "Edit",
                    "Glob",
                    "Grep",
                    "enqueue_task",
                    "complete_task",
                ]
                .map(String::from)
                .to_vec(),
                disallowed_tools: vec!["Bash".into()],
                write: vec!["package.json".into(), "src/**".into()],
                bash: Vec::new(),
            },
            max_turns: 10,
            repeat_limit: 3,
            checks: TaskChecks::default(),
            bash: BashLimits::default(),
            offers_complete_task: true,
            early_tools: Vec::new(),
        }
    }

    fn file(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.app.join(path)).ok()
    }

    async fn run(&self) -> LoopResult {
        self.run_with(&self.client).await
    }

    /// Runs the agent against another client.
    async fn run_with(&self, client: &dyn ModelClient) -> LoopResult {
        let port: Arc<dyn TaskPort> = self.port.clone();
        let mut tools = ToolRegistry::builtin().tools();
        tools.push(Arc::new(EnqueueTask::new(
            port.clone(),
            vec!["install".into(), "init".into()],
        )));
        tools.push(Arc::new(ReadHandoffsTool::new(port.clone())));
        let mut secrets = Secrets::default();
        secrets.insert("project_token", "phc_LoopSecret_0123456789");
        secrets.insert_public("host", "https://ingest.example.test");
        let setup = AgentSetup {
            model: "replay-small".into(),
            system: prompt::task_system(&ProjectContext::default()),
            prompt: "# Your task: Declare the SDK\nTask id: install · type: install\n".into(),
            tools,
            offers_complete_task: self.offers_complete_task,
            checks: self.checks.clone(),
            ctx: ToolContext {
                install_dir: self.app.clone(),
                permissions: self.permissions.clone(),
                secrets,
                bash: self.bash.clone(),
                package_managers: Vec::new(),
                fences: Default::default(),
            },
            max_turns: self.max_turns,
            max_tokens: 1_000,
            meta: RequestMeta {
                task_id: "install".into(),
                task_type: "install".into(),
            },
            repeat_limit: self.repeat_limit,
            asks: None,
            early_tools: self.early_tools.clone(),
        };
        let price = |_: &str, u: &Usage| u.total() as f64 * 1e-6;
        run_agent(client, setup, self.port.as_ref(), &price).await
    }

    /// The tool results the runtime sent back in request `n` (0-based), in order.
    fn results_in(&self, n: usize) -> Vec<(String, String, bool)> {
        let requests = self.client.requests();
        let last = requests[n].messages.last().unwrap();
        assert_eq!(last.role, Role::User);
        last.content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::ToolResult {
                    tool_use_id,
                    content,
                    is_error,
                } => Some((tool_use_id.clone(), content.clone(), *is_error)),
                _ => None,
            })
            .collect()
    }

    /// The ids of the tool calls in the model's answer `n` (0-based), as the next request holds it.
    fn call_ids_of_answer(&self, n: usize) -> Vec<String> {
        let requests = self.client.requests();
        let answer = &requests[n + 1].messages[2 * n + 1];
        assert_eq!(answer.role, Role::Assistant);
        answer
            .content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::ToolUse { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect()
    }
}

fn complete(did: &str) -> String {
    format!(
        r#"
        - tool: complete_task
          input:
            status: done
            handoff:
              goals: Declare the SDK
              did: {did}
              forNextAgent: Install before building"#
    )
}

fn reported(result: &LoopResult) -> (&ReportStatus, &Handoff) {
    match &result.end {
        AttemptEnd::Reported { status, handoff } => (status, handoff),
        other => panic!("the agent did not report: {other:?}"),
    }
}

// ---- run_agent -------------------------------------------------------------

#[tokio::test]
async fn a_task_reads_edits_enqueues_and_completes() {
    let agent = Agent::new(&format!(
        r#"
version: 1
scripts:
  install:
    - turn:
        - text: Reading the manifest
        - tool: Read
          input: {{file_path: package.json}}
    - turn:
        - tool: Edit
          input: {{file_path: package.json, old_string: '"react": "^19.1.0",', new_string: '"react": "^19.1.0", "sdk-fixture": "^1.0.0",'}}
    - turn:
        - tool: enqueue_task
          input: {{type: init, inputs: {{router: app}}, reason: the SDK needs initialising}}
    - turn:{}
"#,
        complete("Declared sdk-fixture")
    ));
    let result = agent.run().await;

    let (status, handoff) = reported(&result);
    assert_eq!(*status, ReportStatus::Done);
    assert_eq!(handoff.did, "Declared sdk-fixture");
    // The loop adds the files its tools touched, even when the model forgot them.
    assert_eq!(handoff.files_touched, ["package.json"]);
    assert!(agent
        .file("package.json")
        .unwrap()
        .contains(r#""react": "^19.1.0", "sdk-fixture": "^1.0.0","#));
    let enqueued = agent.port.enqueued();
    assert_eq!(enqueued.len(), 1);
    assert_eq!(enqueued[0].task_type, "init");
    assert_eq!(enqueued[0].inputs, json!({"router": "app"}));
    assert_eq!(
        enqueued[0].reason.as_deref(),
        Some("the SDK needs initialising")
    );
    assert_eq!(result.turns, 4);
    assert_eq!(agent.client.requests().len(), 4);
    assert!(result.usage.total() > 0 && result.cost_usd > 0.0);

    // The read came back numbered, and the enqueue returned the new id.
    let read = &agent.results_in(1)[0];
    assert!(read.1.contains("\"next\": \"^15.3.2\""), "{}", read.1);
    assert!(!read.2);
    assert_eq!(agent.results_in(3)[0].1, r#"{"id":"init"}"#);
}

#[tokio::test]
async fn several_tool_calls_in_one_turn_all_run_in_order() {
    let agent = Agent::new(&format!(
        r#"
version: 1
scripts:
  install:
    - turn:
        - tool: Write
          input: {{file_path: src/a.ts, content: "one\n"}}
        - tool: Edit
          input: {{file_path: src/a.ts, old_string: one, new_string: two}}
        - tool: Read
          input: {{file_path: src/a.ts}}
    - turn:{}
"#,
        complete("Wrote src/a.ts")
    ));
    let result = agent.run().await;
    reported(&result);

    let results = agent.results_in(1);
    assert_eq!(results.len(), 3, "one result per call");
    let ids: Vec<String> = results.iter().map(|r| r.0.clone()).collect();
    assert_eq!(ids, agent.call_ids_of_answer(0), "results in call order");
    assert!(results.iter().all(|r| !r.2), "{results:?}");
    // The Read saw the Edit, which saw the Write: they ran in order.
    assert!(results[2].1.contains("two"), "{}", results[2].1);
    assert!(!results[2].1.contains("one"));
    assert_eq!(agent.file("src/a.ts").as_deref(), Some("two\n"));
}

#[tokio::test]
async fn complete_task_ends_the_agent_at_once() {
    let agent = Agent::new(&format!(
        r#"
version: 1
scripts:
  install:
    - turn:
        - tool: Write
          input: {{file_path: src/before.ts, content: "x"}}{}
        - tool: Write
          input: {{file_path: src/after.ts, content: "x"}}
"#,
        complete("Wrote src/before.ts")
    ));
    let result = agent.run().await;

    let (_, handoff) = reported(&result);
    assert_eq!(handoff.files_touched, ["src/before.ts"]);
    assert!(agent.file("src/before.ts").is_some(), "calls before it ran");
    assert!(
        agent.file("src/after.ts").is_none(),
        "the call after it did not"
    );
    assert_eq!(
        agent.client.requests().len(),
        1,
        "no request after the report"
    );
}

#[tokio::test]
async fn a_tool_error_goes_back_to_the_model_as_an_error_result_and_the_task_goes_on() {
    let agent = Agent::new(&format!(
        r#"
version: 1
scripts:
  install:
    - turn:
        - tool: Read
          input: {{file_path: missing.ts}}
        - tool: Edit
          input: {{file_path: app/page.tsx, old_string: Hello, new_string: Bye}}
        - tool: Read
          input: {{path: package.json}}
    - turn:{}
"#,
        complete("Nothing to do")
    ));
    let result = agent.run().await;
    reported(&result);

    let results = agent.results_in(1);
    assert_eq!(results.len(), 3);
    assert!(
        results.iter().all(|r| r.2),
        "every result is an error: {results:?}"
    );
    assert!(results[0].1.contains("missing.ts"), "{}", results[0].1);
    assert!(
        results[1].1.starts_with("permission denied: write rule"),
        "{}",
        results[1].1
    );
    assert!(
        results[2].1.starts_with("invalid input"),
        "{}",
        results[2].1
    );
    assert_eq!(agent.client.requests().len(), 2, "the model got to answer");
}

#[tokio::test]
async fn a_done_report_after_a_failed_call_of_the_same_answer_is_refused_until_it_is_fixed() {
    let agent = Agent::new(&format!(
        r#"
version: 1
scripts:
  install:
    - turn:
        - tool: Edit
          input: {{file_path: package.json, old_string: not in the file, new_string: x}}{}
    - turn:
        - tool: Edit
          input: {{file_path: package.json, old_string: '"react": "^19.1.0",', new_string: '"react": "^19.1.0", "sdk-fixture": "^1.0.0",'}}{}
"#,
        complete("Declared too early"),
        complete("Declared sdk-fixture")
    ));
    let result = agent.run().await;

    let first = agent.results_in(1);
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(first[0].2, "the edit failed: {first:?}");
    assert!(first[1].2, "so the report was refused: {first:?}");
    assert!(
        first[1]
            .1
            .starts_with("Not reported: an earlier call in this answer failed"),
        "{}",
        first[1].1
    );
    // In one answer with edits that succeed, the report ends the task.
    assert_eq!(reported(&result).1.did, "Declared sdk-fixture");
    assert_eq!(agent.client.requests().len(), 2);
}

#[tokio::test]
async fn a_skipped_report_after_a_failed_call_is_accepted() {
    let agent = Agent::new(
        r#"
version: 1
scripts:
  install:
    - turn:
        - tool: Read
          input: {file_path: missing.ts}
        - tool: complete_task
          input: {status: skipped, handoff: {goals: g, did: Nothing to read, forNextAgent: n}}
"#,
    );
    let result = agent.run().await;
    assert_eq!(*reported(&result).0, ReportStatus::Skipped);
}

#[tokio::test]
async fn an_invalid_complete_task_is_an_error_result_and_the_agent_may_try_again() {
    let agent = Agent::new(&format!(
        r#"
version: 1
scripts:
  install:
    - turn:
        - tool: complete_task
          input: {{status: done, handoff: {{goals: g, did: "", forNextAgent: n}}}}
    - turn:{}
"#,
        complete("Second try")
    ));
    let result = agent.run().await;

    assert_eq!(reported(&result).1.did, "Second try");
    let first = &agent.results_in(1)[0];
    assert!(first.2);
    assert_eq!(
        first.1,
        "invalid input: complete_task: handoff.did must not be empty"
    );
}

#[tokio::test]
async fn every_tool_call_produces_an_activity_phrase() {
    let agent = Agent::new(&format!(
        r#"
version: 1
scripts:
  install:
    - turn:
        - tool: Read
          input: {{file_path: package.json}}
        - tool: Glob
          input: {{pattern: "app/*.tsx"}}
        - tool: Bash
          input: {{command: ls}}
        - tool: Teleport
          input: {{to: mars}}
    - turn:
        - tool: enqueue_task
          input: {{type: init, reason: next}}{}
"#,
        complete("Done")
    ));
    let result = agent.run().await;
    reported(&result);

    // One phrase per call as it starts streaming, refused and unknown calls included, in
    // call order; each answer's first call shows again when it runs, with the answer's usage.
    assert_eq!(
        agent.port.activities(),
        [
            "Reading package.json",
            "Finding files matching app/*.tsx",
            "Running ls",
            "Calling Teleport",
            "Reading package.json",
            "Planning init",
            "Reporting the result",
            "Planning init",
        ]
    );
}

#[tokio::test]
async fn max_turns_ends_an_agent_that_never_reports() {
    let mut agent = Agent::new(
        r#"
version: 1
scripts:
  install:
    - turn: [{tool: Glob, input: {pattern: "*.json"}}]
    - turn: [{tool: Glob, input: {pattern: "app/*"}}]
    - turn: [{tool: Read, input: {file_path: package.json}}]
    - turn: [{tool: Read, input: {file_path: app/page.tsx}}]
    - turn: [{tool: Read, input: {file_path: app/layout.tsx}}]
"#,
    );
    agent.max_turns = 3;
    let result = agent.run().await;

    assert_eq!(
        result.end,
        AttemptEnd::Error {
            error_kind: "max-turns".into(),
            message: "the agent used all 3 turns without reporting".into(),
            fatal: false,
        }
    );
    assert_eq!(result.turns, 3);
    assert_eq!(agent.client.requests().len(), 3);
}

#[tokio::test]
async fn the_repeat_breaker_stops_the_same_call_made_over_and_over() {
    let same = "[{tool: Read, input: {file_path: package.json}}]";
    let mut agent = Agent::new(&format!(
        r#"
version: 1
scripts:
  install:
    - turn: {same}
    - turn: {same}
    - turn: {same}
    - turn: {same}
"#
    ));
    agent.repeat_limit = 3;
    let result = agent.run().await;

    assert_eq!(
        result.end,
        AttemptEnd::Error {
            error_kind: "repeat".into(),
            message: "the agent made the same Read call 3 times in a row".into(),
            fatal: false,
        }
    );
    assert_eq!(agent.client.requests().len(), 3);
    // A call that runs shows as it streams and again with its answer's usage (the first
    // call of an answer); the third identical call showed as it streamed, then did not run.
    assert_eq!(agent.port.activities().len(), 5);
}

#[tokio::test]
async fn calls_that_differ_do_not_trip_the_repeat_breaker() {
    let mut agent = Agent::new(&format!(
        r#"
version: 1
scripts:
  install:
    - turn: [{{tool: Read, input: {{file_path: package.json}}}}]
    - turn: [{{tool: Read, input: {{file_path: app/page.tsx}}}}]
    - turn: [{{tool: Read, input: {{file_path: package.json}}}}]
    - turn: [{{tool: Read, input: {{file_path: app/page.tsx}}}}]
    - turn:{}
"#,
        complete("Read twice")
    ));
    agent.repeat_limit = 2;
    let result = agent.run().await;
    assert_eq!(reported(&result).1.did, "Read twice");
}

#[tokio::test]
async fn a_model_that_ends_its_turn_without_reporting_is_a_no_report() {
    let agent = Agent::new(
        r#"
version: 1
scripts:
  install:
    - turn:
        - text: I think everything is fine.
"#,
    );
    let result = agent.run().await;
    assert_eq!(
        result.end,
        AttemptEnd::NoReport {
            detail: ENDED_TURN.into()
        }
    );
    assert_eq!(
        result.final_text.as_deref(),
        Some("I think everything is fine.")
    );
}

// ---- early calls: run while the answer streams -------------------------------

/// The replay client, except that each answer ends only once the port has seen an enqueue
/// (or `guard` passes): a loop that waits for the answer's end before running its calls
/// would never get there, and the test says so.
struct EndsAfterAnEnqueue {
    inner: Recording,
    port: Arc<Port>,
    guard: Duration,
    enqueues_before_the_end: Mutex<Vec<usize>>,
}

impl EndsAfterAnEnqueue {
    fn new(agent: &Agent, yaml: &str, guard: Duration) -> Self {
        Self {
            inner: Recording::new(yaml),
            port: agent.port.clone(),
            guard,
            enqueues_before_the_end: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl ModelClient for EndsAfterAnEnqueue {
    async fn complete(
        &self,
        request: &ModelRequest,
        progress: &(dyn Fn(ProviderEvent) + Send + Sync),
    ) -> Result<ModelResponse, ProviderError> {
        let response = self.inner.complete(request, progress).await?;
        let deadline = tokio::time::Instant::now() + self.guard;
        while self.port.enqueued().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.enqueues_before_the_end
            .lock()
            .unwrap()
            .push(self.port.enqueued().len());
        Ok(response)
    }

    fn name(&self) -> &'static str {
        "ends-after-an-enqueue"
    }
}

const SEED_LIKE: &str = r#"
version: 1
scripts:
  install:
    - turn:
        - text: "Queuing the install\nand the rest after it"
        - tool: enqueue_task
          input: {type: install, reason: declare the SDK}
        - tool: Read
          input: {file_path: package.json}
    - turn:
        - text: Planned.
"#;

#[tokio::test]
async fn an_early_tool_runs_before_the_answer_ends_and_is_not_run_again() {
    let mut agent = Agent::new(SEED_LIKE);
    agent.offers_complete_task = false;
    agent.early_tools = vec!["enqueue_task".into()];
    let client = EndsAfterAnEnqueue::new(&agent, SEED_LIKE, HANG_GUARD);
    let result = agent.run_with(&client).await;
    assert_eq!(result.turns, 2, "{:?}", result.end);

    let before_the_end = client.enqueues_before_the_end.lock().unwrap().clone();
    assert_eq!(
        before_the_end[0], 1,
        "the enqueue ran while the first answer was still streaming"
    );
    assert_eq!(agent.port.enqueued().len(), 1, "and only once");
    // The results keep the answer's ids and order: the early enqueue's, then the Read's.
    let requests = client.inner.requests();
    let answer = &requests[1].messages[1];
    let ids: Vec<&str> = answer
        .content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolUse { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    let results: Vec<(&str, &str, bool)> = requests[1].messages[2]
        .content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => Some((tool_use_id.as_str(), content.as_str(), *is_error)),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 2);
    assert_eq!(
        (results[0].0, results[0].1, results[0].2),
        (ids[0], r#"{"id":"install"}"#, false)
    );
    assert_eq!(results[1].0, ids[1]);
    assert!(
        results[1].1.contains("sdk") || results[1].1.contains("react"),
        "{}",
        results[1].1
    );
    // The first line showed as it streamed, then the call: each once.
    let activities = agent.port.activities();
    assert_eq!(
        activities
            .iter()
            .filter(|a| *a == "Queuing the install")
            .count(),
        1,
        "{activities:?}"
    );
    assert_eq!(
        activities
            .iter()
            .filter(|a| *a == "Planning install")
            .count(),
        1,
        "{activities:?}"
    );
    let line = activities.iter().position(|a| a == "Queuing the install");
    let call = activities.iter().position(|a| a == "Planning install");
    assert!(line < call, "{activities:?}");
}

#[tokio::test]
async fn without_early_tools_every_call_waits_for_the_answers_end() {
    let mut agent = Agent::new(SEED_LIKE);
    agent.offers_complete_task = false;
    // The answer waits a little for an enqueue that, here, only its end runs.
    let client = EndsAfterAnEnqueue::new(&agent, SEED_LIKE, Duration::from_millis(200));
    let result = agent.run_with(&client).await;
    assert_eq!(result.turns, 2);
    assert_eq!(client.enqueues_before_the_end.lock().unwrap()[0], 0);
    assert_eq!(agent.port.enqueued().len(), 1);
}

/// An Anthropic stream whose first tool call is whole and whose second is cut JSON.
fn stream_with_a_broken_second_call() -> String {
    let event = |data: serde_json::Value| {
        format!(
            "event: {}\ndata: {data}\n\n",
            data["type"].as_str().unwrap()
        )
    };
    let mut sse = String::new();
    sse += &event(
        json!({"type": "message_start", "message": {"model": "claude-haiku-4-5", "usage": {"input_tokens": 10, "output_tokens": 1}}}),
    );
    for (index, partial) in [
        r#"{"type": "install", "reason": "declare the SDK"}"#,
        r#"{"type": "init", "reason": "#,
    ]
    .into_iter()
    .enumerate()
    {
        sse += &event(json!({"type": "content_block_start", "index": index,
            "content_block": {"type": "tool_use", "id": format!("toolu_broken_{index}"), "name": "enqueue_task", "input": {}}}));
        sse += &event(json!({"type": "content_block_delta", "index": index,
            "delta": {"type": "input_json_delta", "partial_json": partial}}));
        sse += &event(json!({"type": "content_block_stop", "index": index}));
    }
    sse += &event(
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}}),
    );
    sse += &event(json!({"type": "message_stop"}));
    sse
}

fn anthropic_for(server: &FakeServer, max_retries: u32) -> AnthropicClient {
    let mut config = AnthropicConfig::new(
        server.base_url(),
        AnthropicCredential::ApiKey(ApiSecret::new("sk-ant-loop-test")),
    );
    config.retry = RetryPolicy {
        max_retries,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        idle_timeout: Duration::from_secs(30),
    };
    AnthropicClient::new(config).unwrap()
}

#[tokio::test]
async fn a_streamed_call_with_broken_json_is_retried_and_nothing_runs_twice() {
    let broken = stream_with_a_broken_second_call();
    let server = FakeAnthropic::start(move |_, index| match index {
        0 => Reply::sse(broken.clone()),
        1 => Answer::new()
            .with_tool(
                "enqueue_task",
                json!({"type": "install", "reason": "declare the SDK"}),
            )
            .with_tool(
                "enqueue_task",
                json!({"type": "init", "reason": "set it up"}),
            )
            .anthropic_reply(),
        _ => Answer::text("Planned.").anthropic_reply(),
    })
    .await;
    let mut agent = Agent::new(SEED_LIKE);
    agent.offers_complete_task = false;
    agent.early_tools = vec!["enqueue_task".into()];
    let result = agent.run_with(&anthropic_for(&server, 2)).await;
    assert_eq!(result.turns, 2, "{:?}", result.end);
    assert_eq!(result.retries, 1);

    // install ran early in the broken attempt and was not run again after the retry.
    let types: Vec<String> = agent
        .port
        .enqueued()
        .into_iter()
        .map(|s| s.task_type)
        .collect();
    assert_eq!(types, ["install", "init"]);
    let activities = agent.port.activities();
    assert!(
        activities
            .iter()
            .any(|a| a.contains("tool `enqueue_task` input is not valid JSON")),
        "the retry names the broken call: {activities:?}"
    );
    // The model got one result per call of the answer that counted, in its order and ids.
    let bodies: Vec<serde_json::Value> = server.requests().into_iter().map(|r| r.body).collect();
    let last = bodies.last().unwrap();
    let messages = last["messages"].as_array().unwrap();
    let calls: Vec<&str> = messages[1]["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    let results: Vec<(&str, &str)> = messages[2]["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            assert!(b.get("is_error").is_none(), "{b}");
            (
                b["tool_use_id"].as_str().unwrap(),
                b["content"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            (calls[0], r#"{"id":"install"}"#),
            (calls[1], r#"{"id":"init"}"#)
        ]
    );
}

#[tokio::test]
async fn a_call_whose_json_stays_broken_ends_the_attempt_with_a_clear_error() {
    let broken = stream_with_a_broken_second_call();
    let server = FakeAnthropic::start(move |_, _| Reply::sse(broken.clone())).await;
    let mut agent = Agent::new(SEED_LIKE);
    agent.offers_complete_task = false;
    agent.early_tools = vec!["enqueue_task".into()];
    let result = agent.run_with(&anthropic_for(&server, 2)).await;
    match &result.end {
        AttemptEnd::Error {
            error_kind,
            message,
            ..
        } => {
            assert_eq!(error_kind, "provider");
            assert!(
                message.contains("tool `enqueue_task` input is not valid JSON"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests().len(), 3, "three attempts");
    let types: Vec<String> = agent
        .port
        .enqueued()
        .into_iter()
        .map(|s| s.task_type)
        .collect();
    assert_eq!(
        types,
        ["install"],
        "the whole call ran once, the broken one never"
    );
}

#[tokio::test]
async fn a_provider_error_ends_the_attempt_and_names_the_cause() {
    // The script runs out after one turn: the replay answers the second request with an error.
    let agent = Agent::new(
        r#"
version: 1
scripts:
  install:
    - turn: [{tool: Read, input: {file_path: package.json}}]
"#,
    );
    let result = agent.run().await;
    match &result.end {
        AttemptEnd::Error {
            error_kind,
            message,
            ..
        } => {
            assert_eq!(error_kind, "provider");
            assert!(
                message.contains("script `install` has 1 turns"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(result.turns, 2);
}

#[tokio::test]
async fn a_secret_in_tool_output_is_redacted_before_the_model_sees_it_and_a_public_value_is_not() {
    let agent = Agent::new(&format!(
        r#"
version: 1
scripts:
  install:
    - turn: [{{tool: Read, input: {{file_path: src/leak.ts}}}}]
    - turn:{}
"#,
        complete("Read it")
    ));
    std::fs::create_dir_all(agent.app.join("src")).unwrap();
    std::fs::write(
        agent.app.join("src/leak.ts"),
        "const key = 'phc_LoopSecret_0123456789';\nconst host = 'https://ingest.example.test';\n",
    )
    .unwrap();
    agent.run().await;
    let read = &agent.results_in(1)[0].1;
    assert!(read.contains("const key = '[redacted]'"), "{read}");
    assert!(!read.contains("phc_LoopSecret_0123456789"));
    assert!(
        read.contains("const host = 'https://ingest.example.test'"),
        "{read}"
    );
}

// ---- ModelBackend ----------------------------------------------------------

async fn load_content(dir: &Path) -> Arc<ContentSet> {
    let source = ContentSource::parse(Some(dir.to_str().unwrap()));
    Arc::new(
        wizard::content::load(&source)
            .await
            .unwrap_or_else(|e| panic!("the fixture content is valid: {e:?}")),
    )
}

fn project(app: &Path) -> ProjectContext {
    ProjectContext {
        install_dir: app.display().to_string(),
        framework: Some("Next.js".into()),
        package_manager: Some("npm".into()),
        facts: vec![("Host".into(), "https://example.test".into())],
        example_path: None,
        secret_names: vec!["project_token".into()],
        sections: Vec::new(),
        task_sections: Vec::new(),
    }
}

/// A backend over `client` on the fixture content and a copy of the fixture app.
struct Backend {
    _root: tempfile::TempDir,
    _content_root: tempfile::TempDir,
    content: Arc<ContentSet>,
    app: PathBuf,
    backend: ModelBackend,
}

async fn backend(client: Arc<dyn ModelClient>, defaults: AgentDefaults) -> Backend {
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path()).canonicalize().unwrap();
    let content_root = content_dir();
    let content = load_content(content_root.path()).await;
    let models = Arc::new(ModelTable::parse(&content.models_yaml).unwrap());
    let mut secrets = Secrets::default();
    secrets.insert("project_token", "phc_BackendSecret_0123456789");
    let ctx = ToolContext {
        install_dir: app.clone(),
        permissions: Permissions::default(),
        secrets,
        bash: BashLimits::default(),
        package_managers: content.package_managers.clone(),
        fences: content.frameworks.fences.clone(),
    };
    let backend = ModelBackend::new(AgentEnv {
        client,
        provider: "replay".into(),
        content: content.clone(),
        models,
        tools: ToolRegistry::builtin().tools(),
        base_ctx: ctx,
        project: project(&app),
        framework_id: Some("nextjs-app-router".into()),
        asks: None,
    })
    .with_defaults(defaults);
    Backend {
        _root: root,
        _content_root: content_root,
        content,
        app,
        backend,
    }
}

fn task(id: &str, task_type: &str, model: &str) -> Task {
    Task {
        id: id.into(),
        task_type: task_type.into(),
        label: format!("Run {id}"),
        status: TaskStatus::Running,
        depends_on: vec![],
        inputs: json!({"focus": "checkout"}),
        model: model.into(),
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

fn handoff_of(id: &str, did: &str) -> TaskHandoff {
    TaskHandoff {
        task_id: id.into(),
        task_type: id.into(),
        handoff: Handoff {
            goals: format!("{id} goals"),
            did: did.into(),
            for_next_agent: format!("{id} says hello"),
            files_touched: vec![format!("{id}.ts")],
            conflict: None,
            ..Default::default()
        },
    }
}

#[tokio::test]
async fn a_task_runs_with_its_agents_prompt_skills_permissions_and_ancestors() {
    let client = Arc::new(Recording::new(
        r#"
version: 1
scripts:
  init:
    - turn:
        - tool: Bash
          input: {command: ls app}
        - tool: Write
          input: {file_path: package.json, content: "{}"}
        - tool: enqueue_task
          input: {type: noop, reason: not allowed here}
        - tool: Write
          input: {file_path: lib/analytics.ts, content: "export {};\n"}
    - turn:
        - tool: complete_task
          input: {status: done, handoff: {goals: g, did: Wrote the client, forNextAgent: n}}
"#,
    ));
    let b = backend(client.clone(), AgentDefaults::default()).await;
    let port = Arc::new(Port::default());
    let job = AgentJob {
        task: task("init", "init", "small"),
        ancestors: vec![
            handoff_of("install", "ROOT-DID declared the SDK"),
            handoff_of("plan-2", "MIDDLE-DID planned"),
        ],
    };
    let report = b.backend.run(job, port.clone()).await;

    match &report.end {
        AttemptEnd::Reported { handoff, .. } => {
            assert_eq!(handoff.files_touched, ["lib/analytics.ts"])
        }
        other => panic!("{other:?}"),
    }
    assert!(report.usage.total() > 0 && report.cost_usd > 0.0);

    let requests = client.requests();
    let first = &requests[0];
    assert_eq!(
        first.model, "replay-small",
        "the tier resolves through models.yaml"
    );
    assert_eq!(first.system, prompt::task_system(&project(&b.app)));
    let text = match &first.messages[0].content[0] {
        ContentBlock::Text { text } => text.clone(),
        other => panic!("{other:?}"),
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# Your task: Run init");
    assert_eq!(lines[1], "Task id: init · type: init");
    assert_eq!(
        lines[2],
        "Tools you may use: Read, Write, Grep, Bash, check_env_keys, set_env_values, complete_task",
        "each tool once; complete_task always"
    );
    assert!(text.contains("## Skill: client-file\n"));
    assert!(text.contains("CLIENT-SKILL-BODY"));
    assert!(
        !text.contains("VITE-SKILL-BODY"),
        "a skill for another framework"
    );
    assert!(text.contains("## Your task input\n- focus: checkout"));
    let context = text.find("## Context from previous steps").unwrap();
    let root = text.find("ROOT-DID declared the SDK").unwrap();
    let middle = text.find("MIDDLE-DID planned").unwrap();
    assert!(context < root && root < middle, "ancestors, roots first");

    // The agent prompt's permissions fence the calls.
    let results: Vec<(String, bool)> = match requests[1].messages.last() {
        Some(m) => m
            .content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::ToolResult {
                    content, is_error, ..
                } => Some((content.clone(), *is_error)),
                _ => None,
            })
            .collect(),
        None => panic!("no second request"),
    };
    assert!(!results[0].1, "ls is on init's bash list: {}", results[0].0);
    assert!(results[0].0.contains("page.tsx"));
    assert!(
        results[1].1 && results[1].0.contains("write rule"),
        "{:?}",
        results[1]
    );
    assert!(
        results[2].1
            && results[2]
                .0
                .contains("enqueue_task is in this task's disallowedTools"),
        "{:?}",
        results[2]
    );
    assert!(!results[3].1);
    assert!(port.enqueued().is_empty());
}

#[tokio::test]
async fn a_task_that_starts_after_the_event_plan_exists_gets_it_as_a_second_cached_block() {
    let client = Arc::new(Recording::new(
        r#"
version: 1
scripts:
  init:
    - turn:
        - tool: complete_task
          input: {status: done, handoff: {goals: g, did: d, forNextAgent: n}}
"#,
    ));
    let b = backend(client.clone(), AgentDefaults::default()).await;
    let job = || AgentJob {
        task: task("init", "init", "small"),
        ancestors: vec![],
    };
    let shared = prompt::task_system(&project(&b.app));

    // Before the plan exists: the shared prefix alone.
    b.backend.run(job(), Arc::new(Port::default())).await;
    assert_eq!(client.requests()[0].system, shared);

    // The path comes from the content (`product.yaml` → `verify.eventPlan`).
    let path = b.content.product().verify.unwrap().event_plan;
    assert_eq!(path, ".posthog-wizard/event-plan.json");
    std::fs::create_dir_all(b.app.join(".posthog-wizard")).unwrap();
    std::fs::write(
        b.app.join(&path),
        r#"[{"event": "plan_bought", "side": "server", "note": "phc_BackendSecret_0123456789"}]"#,
    )
    .unwrap();
    b.backend.run(job(), Arc::new(Port::default())).await;
    let system = &client.requests()[1].system;
    assert_eq!(system.len(), shared.len() + 1);
    assert_eq!(
        system[..shared.len()],
        shared[..],
        "the first prefix is unchanged"
    );
    let plan = system.last().unwrap();
    assert!(plan.cache, "the plan ends a second cached prefix");
    assert!(plan
        .text
        .starts_with("## `.posthog-wizard/event-plan.json`, as an earlier task wrote it"));
    assert!(
        plan.text.contains(r#""event": "plan_bought""#),
        "{}",
        plan.text
    );
    assert!(
        !plan.text.contains("phc_BackendSecret"),
        "secrets are redacted"
    );
}

#[tokio::test]
async fn the_seed_plans_through_its_port_without_complete_task() {
    let client = Arc::new(Recording::new(
        r#"
version: 1
scripts:
  seed:
    - turn:
        - tool: enqueue_task
          input: {type: install, reason: declare}
        - tool: enqueue_task
          input: {type: report, dependsOn: [install], reason: tell}
    - turn:
        - text: Queued.
"#,
    ));
    let b = backend(client.clone(), AgentDefaults::default()).await;
    let port = Arc::new(Port::default());
    let report = b.backend.seed(port.clone()).await;

    assert_eq!(report.error, None);
    let enqueued = port.enqueued();
    assert_eq!(
        enqueued
            .iter()
            .map(|s| (s.task_type.as_str(), s.depends_on.clone()))
            .collect::<Vec<_>>(),
        [("install", vec![]), ("report", vec!["install".to_string()])]
    );
    let request = &client.requests()[0];
    assert_eq!(request.meta.task_type, "seed");
    assert!(request.tools.iter().all(|t| t.name != "complete_task"));
    assert!(request.tools.iter().any(|t| t.name == "enqueue_task"));
}

#[tokio::test]
async fn the_time_limit_comes_from_the_agent_prompt_or_the_default() {
    let client = Arc::new(Recording::new("version: 1\nscripts: {}\n"));
    let defaults = AgentDefaults {
        time_limit: Duration::from_millis(1_500),
        ..AgentDefaults::default()
    };
    let b = backend(client, defaults).await;
    assert_eq!(
        b.backend.time_limit(&task("install", "install", "small")),
        Duration::from_secs(60),
        "install.md sets timeoutSecs: 60"
    );
    assert_eq!(
        b.backend.time_limit(&task("noop", "noop", "small")),
        Duration::from_millis(1_500),
        "noop.md sets none"
    );
}

// ---- through the queue -----------------------------------------------------

/// A whole run through the actors with a `ModelBackend` playing `yaml` at `speed`.
async fn queue_run(
    yaml: &str,
    speed: f64,
    limits: QueueLimits,
    defaults: AgentDefaults,
) -> (
    wizard::messages::RunOutcome,
    Vec<wizard::messages::QueueEvent>,
) {
    let models =
        std::fs::read_to_string(Path::new(runtime_support::REAL_CONTENT).join("models.yaml"))
            .unwrap();
    // With the model table the replay knows each model's tier, so latency follows the tier.
    let client = Arc::new(
        ReplayClient::from_yaml(yaml, speed)
            .unwrap()
            .with_models(ModelTable::parse(&models).unwrap()),
    );
    let b = backend(client, defaults).await;
    let (rec, mut events) = recorder();
    let setup = RunSetup {
        state_dir: b.app.join(".posthog-wizard"),
        run: run_info(limits.concurrency),
        limits,
        catalogue: b.content.catalogue(),
        backend: Arc::new(b.backend),
        ui: UiMode::Quiet,
        resume: None,
        budget: None,
        subscribers: vec![rec],
        coalesce: Duration::from_millis(5),
        fail_queue_writes_after: None,
        asker: None,
        flush: Vec::new(),
    };
    let result = tokio::time::timeout(HANG_GUARD, orchestrated::run(setup))
        .await
        .expect("a run never hangs");
    let seen = events.until_finished().await;
    assert_eq!(seen, result.outcome);
    (result.outcome, events.seen)
}

const SEED_ONE_NOOP: &str = r#"
  seed:
    - turn:
        - tool: enqueue_task
          input: {type: noop, model: large, reason: one task}
    - turn:
        - text: Queued.
"#;

#[actix::test]
async fn a_task_past_its_time_limit_is_cut_and_fails_with_a_timeout() {
    // The large tier answers after ten minutes; the small seed at once.
    let yaml = format!(
        r#"
version: 1
latency:
  small: {{ttftMs: 0, tokensPerSec: 1000000000}}
  large: {{ttftMs: 600000, tokensPerSec: 1}}
scripts:{SEED_ONE_NOOP}
  noop:
    - turn:
        - tool: complete_task
          input: {{status: done, handoff: {{goals: g, did: d, forNextAgent: n}}}}
"#
    );
    let (outcome, events) = queue_run(
        &yaml,
        1.0,
        QueueLimits {
            max_attempts: 1,
            ..QueueLimits::default()
        },
        AgentDefaults {
            time_limit: Duration::from_millis(300),
            ..AgentDefaults::default()
        },
    )
    .await;

    let tasks = final_tasks(&events);
    let noop = &tasks["noop"];
    assert_eq!(noop.status, TaskStatus::Failed);
    assert_eq!(noop.model, "large");
    let error = noop.error.as_ref().unwrap();
    assert_eq!(error.kind, "timeout");
    assert_eq!(error.message, "the task ran past its time limit of 300ms");
    assert_eq!(outcome.verdict, Verdict::Failed);
}

#[actix::test]
async fn an_agent_that_stops_without_reporting_is_retried_then_fails() {
    let yaml = format!(
        r#"
version: 1
scripts:{SEED_ONE_NOOP}
  noop:
    - turn:
        - text: All good, I think.
"#
    );
    let (outcome, events) = queue_run(
        &yaml,
        0.0,
        QueueLimits {
            max_attempts: 2,
            ..QueueLimits::default()
        },
        AgentDefaults::default(),
    )
    .await;

    let reason = "the agent stopped without calling complete_task: the model ended its turn";
    let requeued: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            wizard::messages::EventKind::TaskRequeued { task, reason } if task.id == "noop" => {
                Some(reason.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(requeued, [reason], "one retry, with the reason");
    let noop = &final_tasks(&events)["noop"];
    assert_eq!(noop.status, TaskStatus::Failed);
    assert_eq!(noop.attempts, 2);
    let error = noop.error.as_ref().unwrap();
    assert_eq!(error.kind, "no-report");
    assert_eq!(error.message, reason);
    assert!(noop.usage.total() > 0, "both attempts' usage is kept");
    assert_eq!(outcome.verdict, Verdict::Failed);
}

/// Processes whose command line holds `marker` as one argument (Linux `/proc`).
#[cfg(target_os = "linux")]
fn processes_with_arg(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            if cmdline
                .split(|b| *b == 0)
                .any(|arg| arg == marker.as_bytes())
            {
                found.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    found
}

#[cfg(target_os = "linux")]
#[actix::test]
async fn a_task_cut_at_its_time_limit_keeps_its_usage_and_leaves_no_command_running() {
    // `timeout` forks `sleep`: the grandchild must die with the task, not run on for a minute.
    let marker = format!("61.{}", std::process::id());
    let yaml = format!(
        r#"
version: 1
scripts:
  seed:
    - turn:
        - tool: enqueue_task
          input: {{type: slow, reason: a long command}}
    - turn:
        - text: Queued.
  slow:
    - turn:
        - tool: Bash
          input: {{command: "timeout 61 sleep {marker}", timeout_ms: 120000}}
"#
    );
    let (_, events) = queue_run(
        &yaml,
        0.0,
        QueueLimits {
            max_attempts: 1,
            ..QueueLimits::default()
        },
        AgentDefaults {
            time_limit: Duration::from_millis(500),
            ..AgentDefaults::default()
        },
    )
    .await;
    let slow = &final_tasks(&events)["slow"];
    assert_eq!(slow.error.as_ref().unwrap().kind, "timeout");
    // The answer that asked for the command was paid for; the cut must not forget it.
    assert!(slow.usage.output_tokens > 0, "{:?}", slow.usage);
    assert!(slow.cost_usd > 0.0);

    // Killing is asynchronous in the kernel; give the dead a moment to leave /proc.
    let mut left = processes_with_arg(&marker);
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = processes_with_arg(&marker);
    }
    assert!(left.is_empty(), "still running: pids {left:?}");
}

// ---- the runtime's checks --------------------------------------------------

const SDK_CHECK: &str = "grep -c sdk-fixture package.json";

fn sdk_check() -> TaskChecks {
    TaskChecks {
        files: vec![FileCheck {
            files: "package.json".into(),
            pattern: None,
            min: None,
            max: None,
            message: None,
            keep: false,
        }],
        commands: vec![SDK_CHECK.into()],
        commands_when: Vec::new(),
    }
}

#[tokio::test]
async fn a_failing_check_goes_back_to_the_agent_and_its_fix_makes_it_pass() {
    // The first report also claims a passing check: the runtime's own record replaces it.
    let mut agent = Agent::new(&format!(
        r#"
version: 1
scripts:
  install:
    - turn:
        - tool: complete_task
          input:
            status: done
            handoff:
              goals: Declare the SDK
              did: Nothing yet
              forNextAgent: n
              checks: [{{command: "{SDK_CHECK}", exitCode: 0, ms: 1}}]
    - turn:
        - tool: Edit
          input: {{file_path: package.json, old_string: '"react": "^19.1.0",', new_string: '"react": "^19.1.0", "sdk-fixture": "^1.0.0",'}}
    - turn:{}
"#,
        complete("Declared sdk-fixture")
    ));
    agent.checks = sdk_check();
    let result = agent.run().await;

    let (status, handoff) = reported(&result);
    assert_eq!(*status, ReportStatus::Done);
    assert_eq!(handoff.did, "Declared sdk-fixture");
    assert_eq!(handoff.checks.len(), 1);
    assert_eq!(handoff.checks[0].command, SDK_CHECK);
    assert_eq!(handoff.checks[0].exit_code, Some(0));
    assert!(handoff.checks[0].passed());
    assert_eq!(handoff.file_checks.len(), 1);
    assert!(handoff.file_checks[0].passed);
    assert_eq!(result.turns, 3);

    // The failed check came back as the result of the first complete_task, with its output.
    let (_, text, is_error) = &agent.results_in(1)[0];
    assert!(*is_error);
    assert!(text.starts_with("Not done yet"), "{text}");
    assert!(
        text.contains(&format!("$ {SDK_CHECK}\n0\n[exit status 1]")),
        "{text}"
    );
    let checking: Vec<String> = agent
        .port
        .activities()
        .into_iter()
        .filter(|a| a.starts_with("checking: "))
        .collect();
    assert_eq!(
        checking,
        [
            "checking: package.json",
            &format!("checking: {SDK_CHECK}"),
            "checking: package.json",
            &format!("checking: {SDK_CHECK}"),
        ]
    );
}

#[tokio::test]
async fn without_complete_task_an_end_of_turn_is_checked_and_a_failure_comes_back_as_a_message() {
    // The linear runner's agent: no complete_task; ending its turn is its "done".
    let mut agent = Agent::new(
        r#"
version: 1
scripts:
  install:
    - turn: [{text: "All done, I think"}]
      stop: end_turn
    - turn:
        - tool: Edit
          input: {file_path: package.json, old_string: '"react": "^19.1.0",', new_string: '"react": "^19.1.0", "sdk-fixture": "^1.0.0",'}
    - turn: [{text: "Declared sdk-fixture"}]
      stop: end_turn
"#,
    );
    agent.checks = sdk_check();
    agent.offers_complete_task = false;
    let result = agent.run().await;

    assert!(
        matches!(&result.end, AttemptEnd::NoReport { detail } if detail == ENDED_TURN),
        "{:?}",
        result.end
    );
    assert_eq!(result.turns, 3);
    assert_eq!(result.final_text.as_deref(), Some("Declared sdk-fixture"));
    // The passing checks of the last end of turn are the loop's record.
    assert_eq!(result.checks.len(), 1);
    assert!(result.checks[0].passed(), "{:?}", result.checks);
    assert!(result.file_checks.iter().all(|c| c.passed));
    // The failure of the first end of turn was the next user message, with the output.
    let requests = agent.client.requests();
    let last = requests[1].messages.last().unwrap();
    assert_eq!(last.role, Role::User);
    let text = match &last.content[..] {
        [ContentBlock::Text { text }] => text.clone(),
        other => panic!("expected one text block, got {other:?}"),
    };
    assert!(
        text.starts_with("Not done yet: you ended your turn"),
        "{text}"
    );
    assert!(
        text.contains(&format!("$ {SDK_CHECK}\n0\n[exit status 1]")),
        "{text}"
    );
}

#[tokio::test]
async fn without_complete_task_checks_that_keep_failing_fail_the_attempt() {
    let mut agent = Agent::new(
        r#"
version: 1
scripts:
  install:
    - turn: [{text: "Done"}]
      stop: end_turn
    - turn: [{text: "Done, really"}]
      stop: end_turn
"#,
    );
    agent.checks = sdk_check();
    agent.offers_complete_task = false;
    agent.max_turns = 2;
    let result = agent.run().await;
    match &result.end {
        AttemptEnd::Error {
            error_kind,
            message,
            ..
        } => {
            assert_eq!(error_kind, "checks");
            assert!(message.contains(SDK_CHECK), "{message}");
        }
        other => panic!("expected a checks failure, got {other:?}"),
    }
    assert!(
        result.checks.is_empty(),
        "no passing record: {:?}",
        result.checks
    );
}

#[tokio::test]
async fn a_check_that_keeps_failing_fails_the_attempt_with_its_output() {
    let mut agent = Agent::new(&format!(
        r#"
version: 1
scripts:
  install:
    - turn:{0}
    - turn: [{{tool: Read, input: {{file_path: package.json}}}}]
    - turn:{0}
"#,
        complete("Declared it, I think")
    ));
    agent.checks = sdk_check();
    agent.max_turns = 3;
    let result = agent.run().await;

    match &result.end {
        AttemptEnd::Error {
            error_kind,
            message,
            fatal,
        } => {
            assert_eq!(error_kind, "checks");
            assert!(!fatal);
            assert!(
                message.starts_with(&format!(
                    "its checks still fail: check `{SDK_CHECK}` failed:"
                )),
                "{message}"
            );
            assert!(message.contains("[exit status 1]"), "{message}");
        }
        other => panic!("expected a checks failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_failing_file_check_names_what_it_expected_and_skips_the_commands() {
    let mut agent = Agent::new(&format!(
        r#"
version: 1
scripts:
  install:
    - turn:{}
"#,
        complete("Done")
    ));
    agent.checks = TaskChecks {
        files: vec![FileCheck {
            files: "**/*.{ts,tsx}".into(),
            pattern: Some(r"posthog\.init\(".into()),
            min: Some(1),
            max: Some(1),
            message: Some("exactly one posthog.init in the app".into()),
            keep: false,
        }],
        commands: vec![SDK_CHECK.into()],
        commands_when: Vec::new(),
    };
    agent.max_turns = 1;
    let result = agent.run().await;

    let AttemptEnd::Error { message, .. } = &result.end else {
        panic!("expected a failure, got {:?}", result.end);
    };
    assert!(
        message.contains("file check failed: exactly one posthog.init in the app"),
        "{message}"
    );
    assert!(message.contains("found 0"), "{message}");
    assert!(
        !agent
            .port
            .activities()
            .contains(&format!("checking: {SDK_CHECK}")),
        "the command waits until the files pass"
    );
}

#[tokio::test]
async fn with_commands_skipped_a_check_is_recorded_as_not_run_never_as_passed() {
    let mut agent = Agent::new(&format!(
        r#"
version: 1
scripts:
  install:
    - turn:{}
"#,
        complete("Done")
    ));
    agent.checks = sdk_check();
    agent.bash.skip_reason = Some("the offline demo runs no commands".into());
    let result = agent.run().await;

    let (status, handoff) = reported(&result);
    assert_eq!(*status, ReportStatus::Done);
    assert_eq!(handoff.checks.len(), 1);
    assert_eq!(handoff.checks[0].exit_code, None);
    assert_eq!(
        handoff.checks[0].not_run.as_deref(),
        Some("the offline demo runs no commands")
    );
    assert!(!handoff.checks[0].passed());
    assert!(handoff.file_checks[0].passed, "file checks still run");
}

#[actix::test]
async fn a_task_whose_checks_keep_failing_fails_and_the_outro_says_why() {
    let yaml = r#"
version: 1
scripts:
  seed:
    - turn:
        - tool: enqueue_task
          input: {type: checked, reason: mark the page}
    - turn:
        - text: Queued.
  checked:
    - turn:
        - tool: complete_task
          input: {status: done, handoff: {goals: g, did: d, forNextAgent: n}}
    - turn:
        - tool: Edit
          input: {file_path: app/page.tsx, old_string: Hello, new_string: Hi}
    - turn:
        - tool: complete_task
          input: {status: done, handoff: {goals: g, did: d, forNextAgent: n}}
"#;
    let (outcome, events) = queue_run(
        yaml,
        0.0,
        QueueLimits {
            max_attempts: 1,
            ..QueueLimits::default()
        },
        AgentDefaults::default(),
    )
    .await;

    let checked = &final_tasks(&events)["checked"];
    assert_eq!(checked.status, TaskStatus::Failed);
    let error = checked.error.as_ref().unwrap();
    assert_eq!(error.kind, "checks");
    // The file check passed after the edit; the command then failed, and that is the reason.
    assert!(
        error
            .message
            .starts_with("its checks still fail: check `grep -c CHECKED app/page.tsx` failed:"),
        "{}",
        error.message
    );
    assert!(error.message.contains("[exit status 1]"));

    let mut view = wizard::ui::view::RunView::new();
    for event in &events {
        view.apply(event);
    }
    let install_dir = PathBuf::from("/tmp/app");
    let outro = wizard::ui::outro::outro_text(
        &outcome,
        &view,
        None,
        &wizard::ui::outro::OutroContext {
            product: "PostHog",
            user_report: None,
            install_dir: &install_dir,
            variant: wizard::messages::Variant::Orchestrator,
        },
    );
    assert!(
        outro.starts_with(
            "✗ 1 step failed: checked — its checks still fail: check `grep -c CHECKED app/page.tsx` failed:"
        ),
        "{outro}"
    );
    assert!(outro.contains("[exit status 1]"), "{outro}");
}

#[tokio::test]
async fn a_secret_in_a_handoff_or_an_error_result_is_redacted() {
    let agent = Agent::new(&format!(
        r#"
version: 1
scripts:
  install:
    - turn: [{{tool: Read, input: {{file_path: "src/phc_LoopSecret_0123456789.ts"}}}}]
    - turn:{}
"#,
        complete("Saw phc_LoopSecret_0123 and _0123456789 in pieces")
    ));
    let result = agent.run().await;
    let (_, handoff) = reported(&result);
    assert_eq!(handoff.did, "Saw [redacted] and [redacted] in pieces");
    let error = &agent.results_in(1)[0];
    assert!(error.2, "{error:?}");
    assert!(error.1.contains("src/[redacted].ts"), "{}", error.1);
}
