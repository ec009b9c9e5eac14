//! The linear runner is the A/B baseline: its requests to the model are pinned here, on
//! the demo cassette, so a change made for the orchestrator cannot silently alter them.
//!
//! The golden file holds the first request whole (system prompt, tools, the one big
//! prompt) and, for every later request, only the messages it adds; that pins every byte
//! the model is sent without storing the growing conversation again and again. When a
//! change to the linear path is intended, review the diff and accept it with
//! `INSTA_UPDATE=always cargo nextest run --test linear_golden`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{json, Value};
use wizard::agent::backend::AgentEnv;
use wizard::agent::prompt::ProjectContext;
use wizard::agent::{AgentBackend, AgentJob, TaskPort};
use wizard::content::{self, ContentSource};
use wizard::messages::{
    AttemptEnd, HandoffQuery, ReportStatus, Task, TaskHandoff, TaskId, TaskSpec, TaskStatus, Usage,
};
use wizard::providers::pricing::ModelTable;
use wizard::providers::replay::ReplayClient;
use wizard::providers::{ModelClient, ModelRequest, ModelResponse, ProviderError, ProviderEvent};
use wizard::queue::{GuardError, QueryError};
use wizard::runner::linear::LinearBackend;
use wizard::tools::{BashLimits, Secrets, ToolContext, ToolRegistry};

/// Replays the cassette and keeps every request it was sent.
struct Recording {
    inner: ReplayClient,
    seen: Mutex<Vec<ModelRequest>>,
}

#[async_trait]
impl ModelClient for Recording {
    async fn complete(
        &self,
        request: &ModelRequest,
        progress: &(dyn Fn(ProviderEvent) + Send + Sync),
    ) -> Result<ModelResponse, ProviderError> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(request.clone());
        }
        self.inner.complete(request, progress).await
    }

    fn name(&self) -> &'static str {
        "replay"
    }
}

/// The linear task's port: it never enqueues or reads handoffs.
struct NoQueue;

#[async_trait]
impl TaskPort for NoQueue {
    async fn enqueue(&self, _spec: TaskSpec) -> Result<TaskId, GuardError> {
        Err(GuardError::Closed)
    }
    async fn read_handoffs(&self, _query: HandoffQuery) -> Result<Vec<TaskHandoff>, QueryError> {
        Ok(Vec::new())
    }
    fn activity(&self, _phrase: String, _usage: Option<Usage>, _cost_usd: Option<f64>) {}
    fn relabel(&self, _label: String) {}
    fn task_id(&self) -> Option<&str> {
        Some("linear")
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn linear_task() -> Task {
    Task {
        id: "linear".into(),
        task_type: "linear".into(),
        label: "Integrate PostHog".into(),
        status: TaskStatus::Running,
        depends_on: vec![],
        inputs: json!({}),
        model: "medium".into(),
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

#[actix::test]
async fn the_linear_runners_requests_on_the_demo_cassette_match_the_golden_file() {
    let set = Arc::new(
        content::load(&ContentSource::Embedded)
            .await
            .expect("the built-in content loads"),
    );
    let models = ModelTable::parse(&set.models_yaml).unwrap();
    let cassette = set
        .cassette("next-app")
        .expect("the demo cassette")
        .to_string();
    let client = Arc::new(Recording {
        inner: ReplayClient::from_yaml(&cassette, 0.0)
            .unwrap()
            .with_models(models.clone()),
        seen: Mutex::new(Vec::new()),
    });

    let root = tempfile::tempdir().unwrap();
    let app = root.path().join("app");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/next-app"),
        &app,
    );
    let app = app.canonicalize().unwrap();
    let detection = content::detect(&app, &set.frameworks);
    let framework = detection
        .framework
        .clone()
        .expect("the sample app is detected");

    let mut secrets = Secrets::default();
    secrets.insert("posthog_project_token", "phc_golden_token");
    secrets.insert_public("posthog_host", "https://us.i.posthog.com");
    let ctx = ToolContext {
        install_dir: app.clone(),
        permissions: Default::default(),
        secrets,
        bash: BashLimits {
            skip_reason: Some("the golden test does not run commands".into()),
            ..BashLimits::default()
        },
        package_managers: set.package_managers.clone(),
        fences: set.frameworks.fences.clone(),
    };
    // The same project context the runner builds, with the temp path replaced by a fixed one.
    let project = ProjectContext {
        install_dir: "/app".into(),
        framework: Some(framework.name.clone()),
        package_manager: detection.package_manager.as_ref().map(|p| p.name.clone()),
        facts: vec![("Host".into(), "https://us.i.posthog.com".into())],
        example_path: framework
            .example
            .as_ref()
            .map(|e| format!(".posthog-wizard/reference/{e}/EXAMPLE.md")),
        secret_names: vec!["posthog_host".into(), "posthog_project_token".into()],
        sections: wizard::runner::prefix::sections(&app, &set, &ctx.secrets),
        task_sections: wizard::runner::prefix::reference(&set, Some(framework.id.as_str()))
            .into_iter()
            .collect(),
    };
    if let Some(example) = &framework.example {
        let dir = app.join(".posthog-wizard/reference").join(example);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("EXAMPLE.md"), set.example(example).unwrap()).unwrap();
    }
    let backend = LinearBackend::new(AgentEnv {
        client: client.clone(),
        provider: "replay".into(),
        content: set.clone(),
        models: Arc::new(models),
        tools: ToolRegistry::builtin().tools(),
        base_ctx: ctx,
        project,
        framework_id: Some(framework.id.clone()),
        asks: None,
    });
    let report = backend
        .run(
            AgentJob {
                task: linear_task(),
                ancestors: vec![],
            },
            Arc::new(NoQueue),
        )
        .await;
    assert!(
        matches!(
            report.end,
            AttemptEnd::Reported {
                status: ReportStatus::Done,
                ..
            }
        ),
        "the linear run ends with its summary: {:?}",
        report.end
    );

    let requests = client.seen.lock().unwrap().clone();
    assert!(requests.len() > 5, "the linear script has many turns");
    let first = serde_json::to_value(&requests[0]).unwrap();
    let mut turns = Vec::new();
    for pair in requests.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        assert_eq!(
            before.system, after.system,
            "the system prompt never changes"
        );
        assert_eq!(before.tools, after.tools, "the tool list never changes");
        assert_eq!(
            &after.messages[..before.messages.len()],
            &before.messages[..],
            "history is only appended to"
        );
        turns.push(serde_json::to_value(&after.messages[before.messages.len()..]).unwrap());
    }
    let golden = json!({ "first": first, "then": turns });
    let text = serde_json::to_string_pretty(&golden)
        .unwrap()
        .replace(&app.display().to_string(), "/app");
    let _: Value = serde_json::from_str(&text).expect("the golden text is JSON");
    insta::assert_snapshot!("linear_requests", text);
}

#[test]
fn the_linear_agent_is_checked_by_every_steps_commands_and_its_never_break_assertions() {
    let set = content::load_blocking(&ContentSource::Embedded).unwrap();
    let checks = wizard::runner::linear::linear_checks(&set);
    // The build (the build step's check) runs once, whatever the number of steps naming it.
    assert_eq!(checks.commands, ["npm run build --if-present"]);
    let all: Vec<_> = set
        .graph_order()
        .into_iter()
        .filter(|a| !a.serve_app)
        .flat_map(|a| a.check_files.clone())
        .collect();
    for check in &all {
        let never_break = check.bounds().0 == 0;
        assert_eq!(
            checks.files.contains(check),
            never_break,
            "{}",
            check.describe()
        );
    }
    // "at most one posthog.init" and the kept Sentry init are in; "an identify call
    // exists" is not (an app without users rightly has none).
    let has = |needle: &str| checks.files.iter().any(|c| c.describe().contains(needle));
    assert!(has("posthog\\.init\\(/"), "{checks:?}");
    assert!(checks.files.iter().any(|c| c.keep));
    assert!(!has("identify"), "{checks:?}");
    // Each assertion once, though init and error-tracking both keep other SDKs' inits.
    let mut seen = std::collections::BTreeSet::new();
    assert!(checks.files.iter().all(|c| seen.insert(c.describe())));
}
