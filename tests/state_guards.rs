//! Smaller state defects, each pinned: an enqueue names only a tier or a priced
//! model; counters from files and providers saturate instead of overflowing;
//! a dead queue is an error, never an empty answer; the seed has a time limit.

mod recorder;

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use async_trait::async_trait;
use wizard::actors::queue::{snapshot, QueueActor, Start};
use wizard::actors::task_agent::QueuePort;
use wizard::agent::{AgentBackend, AgentJob, AttemptReport, SeedReport, TaskPort};
use wizard::messages::{AttemptEnd, Enqueuer, HandoffQuery, TaskSpec, Usage, Verdict};
use wizard::queue::{Catalogue, GuardError, ModelNames, QueryError, QueueLimits, QueueState};
use wizard::runner::orchestrated::{self, RunSetup};

use recorder::run_info;

fn catalogue() -> Catalogue {
    Catalogue::from_triples([("install", "Install", "small"), ("build", "Build", "small")])
        .with_models(ModelNames {
            tiers: vec!["small".into(), "medium".into(), "large".into()],
            priced: ["claude-sonnet-4-5".to_string()].into_iter().collect(),
        })
}

#[test]
fn an_enqueue_may_name_only_a_tier_or_a_priced_model() {
    let mut q = QueueState::new(QueueLimits::default(), catalogue());
    let by = Enqueuer::Orchestrator;
    let mut spec = TaskSpec::new("install");
    spec.model = Some("free-model-nobody-prices".into());
    let err = q
        .enqueue(&by, spec)
        .expect_err("an unpriced model is refused");
    assert_eq!(err.guard(), "unknown-model");
    let text = err.to_string();
    assert!(
        text.contains("free-model-nobody-prices") && text.contains("small, medium, large"),
        "the agent reads how to fix it: {text}"
    );

    let mut spec = TaskSpec::new("install");
    spec.model = Some("large".into());
    q.enqueue(&by, spec).expect("a tier is fine");
    let mut spec = TaskSpec::new("build");
    spec.model = Some("claude-sonnet-4-5".into());
    q.enqueue(&by, spec).expect("a priced model is fine");
}

#[test]
fn usage_saturates_instead_of_overflowing() {
    let mut usage = Usage {
        input_tokens: u64::MAX - 1,
        output_tokens: u64::MAX,
        cache_read_tokens: 5,
        cache_write_tokens: 0,
    };
    usage.add(&Usage {
        input_tokens: 10,
        output_tokens: 10,
        cache_read_tokens: 1,
        cache_write_tokens: u64::MAX,
    });
    assert_eq!(usage.input_tokens, u64::MAX);
    assert_eq!(usage.output_tokens, u64::MAX);
    assert_eq!(usage.total(), u64::MAX);
}

#[test]
fn attempt_counts_from_a_saved_queue_cannot_overflow_the_start_counter() {
    let mut q = QueueState::new(QueueLimits::default(), catalogue());
    let by = Enqueuer::Orchestrator;
    q.enqueue(&by, TaskSpec::new("install")).unwrap();
    q.enqueue(&by, TaskSpec::new("build")).unwrap();
    let mut tasks = q.tasks().to_vec();
    std::sync::Arc::make_mut(&mut tasks[0]).attempts = u32::MAX;
    std::sync::Arc::make_mut(&mut tasks[1]).attempts = 7;
    std::sync::Arc::make_mut(&mut tasks[1]).usage.input_tokens = u64::MAX;
    std::sync::Arc::make_mut(&mut tasks[0]).usage.input_tokens = u64::MAX;
    let (state, _) = QueueState::restore(QueueLimits::default(), catalogue(), tasks, true);
    assert_eq!(state.spent().0, u64::MAX);
    assert!(
        !state.can_dispatch(),
        "the start limit is reached, not wrapped"
    );
}

#[actix::test]
async fn a_dead_queue_is_an_error_not_an_empty_answer() {
    let arbiter = Arbiter::new();
    let queue = QueueActor::start_in_arbiter(&arbiter.handle(), |_| {
        QueueActor::new(
            QueueState::new(QueueLimits::default(), catalogue()),
            run_info(1),
            Start::Fresh,
            Vec::new(),
        )
    });
    assert!(snapshot(&queue).await.is_ok());
    arbiter.stop();
    let _ = arbiter.join();
    tokio::time::sleep(Duration::from_millis(50)).await;

    assert!(
        snapshot(&queue).await.is_err(),
        "a snapshot of a dead queue"
    );
    let port = QueuePort::for_task(queue.clone(), "install".into());
    assert_eq!(
        port.read_handoffs(HandoffQuery::Type("install".into()))
            .await,
        Err(QueryError::Closed)
    );
    assert_eq!(
        port.enqueue(TaskSpec::new("build")).await,
        Err(GuardError::Closed)
    );
}

/// A seed that never finishes, with a short limit of its own.
struct EndlessSeed;

#[async_trait]
impl AgentBackend for EndlessSeed {
    async fn run(&self, _job: AgentJob, _port: Arc<dyn TaskPort>) -> AttemptReport {
        AttemptReport {
            end: AttemptEnd::NoReport {
                detail: "unused".into(),
            },
            usage: Usage::default(),
            cost_usd: 0.0,
            provider_retries: 0,
        }
    }

    async fn seed(&self, _port: Arc<dyn TaskPort>) -> SeedReport {
        std::future::pending().await
    }

    fn seed_time_limit(&self) -> Duration {
        Duration::from_millis(300)
    }
}

#[actix::test]
async fn the_seed_is_cut_at_its_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let setup = RunSetup {
        state_dir: dir.path().join(".posthog-wizard"),
        limits: QueueLimits::default(),
        catalogue: catalogue(),
        backend: Arc::new(EndlessSeed),
        ui: wizard::actors::ui::UiMode::Quiet,
        run: run_info(1),
        resume: None,
        budget: None,
        subscribers: Vec::new(),
        flush: Vec::new(),
        coalesce: Duration::from_millis(5),
        fail_queue_writes_after: None,
        asker: None,
    };
    let result = tokio::time::timeout(Duration::from_secs(10), orchestrated::run(setup))
        .await
        .expect("the seed's limit ends the run");
    assert_eq!(result.outcome.verdict, Verdict::Failed);
    assert!(
        result.outcome.message.contains("time limit"),
        "{}",
        result.outcome.message
    );
}
