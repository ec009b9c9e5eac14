//! Properties over random task graphs and caps: every run terminates, every
//! task ends terminal, the cap is never exceeded, and no task starts before
//! its dependencies allow it.
//!
//! Checked twice: on `QueueState` directly, simulating agents that finish in
//! a random order with random outcomes (many cases, cheap), and through the
//! real actors with a zero-delay stub backend (fewer cases).

mod recorder;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::json;
use wizard::actors::ui::UiMode;
use wizard::agent::stub::{StubBackend, StubBehaviour};
use wizard::messages::{
    AttemptEnd, Enqueuer, EventKind, Handoff, ReportStatus, Task, TaskId, TaskSpec, TaskStatus,
    Usage, Verdict,
};
use wizard::queue::{Catalogue, QueueLimits, QueueState};
use wizard::runner::orchestrated::{self, RunSetup};

use recorder::{final_tasks, max_running, recorder, run_info, HANG_GUARD};

/// How one attempt ends, in the simulation.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Done,
    NotNeeded,
    ReportsFailure,
    NoReport,
    Crash,
}

impl Outcome {
    fn end(self) -> AttemptEnd {
        let handoff = Handoff {
            goals: "g".into(),
            did: "d".into(),
            for_next_agent: "n".into(),
            files_touched: vec![],
            conflict: None,
            ..Default::default()
        };
        match self {
            Outcome::Done => AttemptEnd::Reported {
                status: ReportStatus::Done,
                handoff,
            },
            Outcome::NotNeeded => AttemptEnd::Reported {
                status: ReportStatus::Skipped,
                handoff,
            },
            Outcome::ReportsFailure => AttemptEnd::Reported {
                status: ReportStatus::Failed,
                handoff,
            },
            Outcome::NoReport => AttemptEnd::NoReport {
                detail: "stopped".into(),
            },
            Outcome::Crash => AttemptEnd::Error {
                error_kind: "panic".into(),
                message: "crashed".into(),
                fatal: false,
            },
        }
    }
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        4 => Just(Outcome::Done),
        1 => Just(Outcome::NotNeeded),
        1 => Just(Outcome::ReportsFailure),
        1 => Just(Outcome::NoReport),
        1 => Just(Outcome::Crash),
    ]
}

/// One task of a random graph.
#[derive(Debug, Clone)]
struct TaskPlan {
    /// Which of the (up to 16) most recently accepted tasks it depends on.
    deps: u16,
    /// Enqueued by a running task (when one runs) rather than the seed.
    dynamic: bool,
    /// How its attempts end, in turn (cycled).
    attempts: Vec<Outcome>,
}

#[derive(Debug, Clone)]
struct Plan {
    cap: usize,
    max_attempts: u32,
    tasks: Vec<TaskPlan>,
    /// Per step: enqueue the next task now (true) or let an agent finish first.
    enqueue_first: Vec<bool>,
    /// Per step: which running task finishes (or enqueues).
    picks: Vec<Index>,
}

fn plan(max_tasks: usize) -> impl Strategy<Value = Plan> {
    // Two masks ANDed: each earlier task is a dependency with odds of one in four.
    let sparse = (any::<u16>(), any::<u16>()).prop_map(|(a, b)| a & b);
    let task = (
        sparse,
        prop::bool::weighted(0.2),
        prop::collection::vec(outcome(), 1..=3),
    )
        .prop_map(|(deps, dynamic, attempts)| TaskPlan {
            deps,
            dynamic,
            attempts,
        });
    (
        1usize..=4,
        1u32..=3,
        prop::collection::vec(task, 1..=max_tasks),
        prop::collection::vec(any::<bool>(), 1..32),
        prop::collection::vec(any::<Index>(), 1..32),
    )
        .prop_map(|(cap, max_attempts, tasks, enqueue_first, picks)| Plan {
            cap,
            max_attempts,
            tasks,
            enqueue_first,
            picks,
        })
}

const TYPES: [&str; 4] = ["install", "init", "identify", "capture"];

fn catalogue() -> Catalogue {
    Catalogue::from_triples(TYPES.iter().map(|t| (*t, *t, "small")))
}

/// The dependencies a mask picks among the most recent ids.
fn pick_deps(mask: u16, ids: &[TaskId]) -> Vec<TaskId> {
    let recent = &ids[ids.len().saturating_sub(16)..];
    recent
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, id)| id.clone())
        .collect()
}

/// Starts what the queue allows, checking the cap and that dependencies allow each start.
fn pump(q: &mut QueueState, running: &mut Vec<Task>, cap: usize) -> Result<(), TestCaseError> {
    while let Some((task, _, _)) = q.start_next() {
        for dep in &task.depends_on {
            let d = q.task(dep).expect("dependencies exist");
            prop_assert!(
                d.status.satisfies_dependents(),
                "{} started while its dependency {dep} is {}",
                task.id,
                d.status.name()
            );
        }
        running.push(Task::clone(&task));
    }
    prop_assert!(
        running.len() <= cap,
        "{} running over cap {cap}",
        running.len()
    );
    prop_assert_eq!(q.running(), running.len());
    Ok(())
}

fn simulate(plan: &Plan) -> Result<(), TestCaseError> {
    let cap = plan.cap;
    let mut q = QueueState::new(
        QueueLimits {
            concurrency: cap,
            max_attempts: plan.max_attempts,
            max_tasks: 64,
            ..QueueLimits::default()
        },
        catalogue(),
    );
    let mut ids: Vec<TaskId> = Vec::new();
    let mut scripts: HashMap<TaskId, Vec<Outcome>> = HashMap::new();
    let mut running: Vec<Task> = Vec::new();
    let mut next = 0;
    let bound = plan.tasks.len() * (plan.max_attempts as usize + 1) + 2;
    let mut step = 0;
    while !q.is_over() {
        prop_assert!(step <= bound, "no end after {step} steps");
        let pick = plan.picks[step % plan.picks.len()];
        let enqueue_now = next < plan.tasks.len()
            && (running.is_empty() || plan.enqueue_first[step % plan.enqueue_first.len()]);
        step += 1;
        if enqueue_now {
            let t = &plan.tasks[next];
            let spec = TaskSpec::new(TYPES[next % TYPES.len()])
                .with_inputs(json!({ "n": next }))
                .after(pick_deps(t.deps, &ids));
            let by = match (t.dynamic, running.is_empty()) {
                (true, false) => Enqueuer::Task(pick.get(&running).id.clone()),
                _ => Enqueuer::Orchestrator,
            };
            match q.enqueue(&by, spec) {
                Ok((id, _)) => {
                    scripts.insert(id.clone(), t.attempts.clone());
                    ids.push(id);
                }
                // A dynamic enqueue may hit the depth or per-task limits; nothing else.
                Err(e) => prop_assert!(
                    matches!(e.guard(), "too-deep" | "too-many-enqueues"),
                    "unexpected refusal: {e}"
                ),
            }
            next += 1;
            if next == plan.tasks.len() {
                q.seeding_done(None, Default::default(), 0.0);
            }
        } else if !running.is_empty() {
            let task = running.remove(pick.index(running.len()));
            let script = &scripts[&task.id];
            let end = script[(task.attempts as usize - 1) % script.len()].end();
            q.finish_attempt(&task.id, task.attempts, end, Usage::default(), 0.0);
        }
        pump(&mut q, &mut running, cap)?;
    }

    prop_assert!(running.is_empty());
    prop_assert_eq!(next, plan.tasks.len(), "the run ended before seeding did");
    for t in q.tasks() {
        prop_assert!(t.status.is_terminal(), "{} ended {}", t.id, t.status.name());
        prop_assert!(t.attempts <= t.max_attempts);
        let blocked = t
            .depends_on
            .iter()
            .any(|d| q.task(d).is_some_and(|d| d.status.blocks_dependents()));
        if blocked {
            prop_assert!(
                t.status.blocks_dependents(),
                "{} has a failed dependency but is {}",
                t.id,
                t.status.name()
            );
        }
    }
    let o = q.outcome();
    prop_assert_eq!(o.total, q.tasks().len());
    prop_assert_eq!(o.completed + o.not_needed + o.failed + o.blocked, o.total);
    prop_assert_eq!(o.never_ran, 0);
    prop_assert_eq!(o.verdict == Verdict::Success, o.problems.is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_simulated_run_ends_with_every_task_terminal_within_the_cap(plan in plan(14)) {
        simulate(&plan)?;
    }
}

// ---- through the actors -------------------------------------------------

fn behaviour() -> impl Strategy<Value = StubBehaviour> {
    prop_oneof![
        6 => Just(StubBehaviour::Complete),
        1 => Just(StubBehaviour::Fail),
        1 => Just(StubBehaviour::FailOnce),
        1 => Just(StubBehaviour::NoReport),
        1 => Just(StubBehaviour::NoReportOnce),
        1 => Just(StubBehaviour::Skip),
        1 => Just(StubBehaviour::Panic),
    ]
}

#[derive(Debug, Clone)]
struct ActorPlan {
    cap: usize,
    /// Per task: dependency mask over earlier tasks, and behaviour.
    tasks: Vec<(u8, StubBehaviour)>,
}

fn actor_plan() -> impl Strategy<Value = ActorPlan> {
    (
        1usize..=3,
        prop::collection::vec((any::<u8>(), behaviour()), 1..=7),
    )
        .prop_map(|(cap, tasks)| ActorPlan { cap, tasks })
}

fn run_actors(plan: &ActorPlan) -> Result<(), TestCaseError> {
    let types: Vec<String> = (0..plan.tasks.len()).map(|i| format!("t{i}")).collect();
    let graph: Vec<(String, Vec<String>)> = plan
        .tasks
        .iter()
        .enumerate()
        .map(|(i, (mask, _))| {
            let deps = (0..i)
                .filter(|j| mask & (1 << (j % 8)) != 0)
                .map(|j| types[j].clone())
                .collect();
            (types[i].clone(), deps)
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join(".posthog-wizard");
    let mut stub = StubBackend::new(state_dir.clone(), Duration::ZERO).with_graph(graph);
    for (ty, (_, b)) in types.iter().zip(&plan.tasks) {
        stub = stub.with(ty, *b);
    }
    let catalogue =
        Catalogue::from_triples(types.iter().map(|t| (t.as_str(), t.as_str(), "small")));
    let cap = plan.cap;

    let (outcome, events) = actix::System::new().block_on(async move {
        let (rec, mut events) = recorder();
        let setup = RunSetup {
            state_dir,
            limits: QueueLimits {
                concurrency: cap,
                ..QueueLimits::default()
            },
            catalogue,
            backend: Arc::new(stub),
            ui: UiMode::Quiet,
            run: run_info(cap),
            resume: None,
            budget: None,
            subscribers: vec![rec],
            coalesce: Duration::from_millis(1),
            fail_queue_writes_after: None,
            asker: None,
            flush: Vec::new(),
        };
        let result = tokio::time::timeout(HANG_GUARD, orchestrated::run(setup)).await;
        let outcome = events.until_finished().await;
        (result.map(|r| r.outcome), (outcome, events.seen))
    });
    let outcome = outcome.map_err(|_| TestCaseError::fail("the run did not end"))?;
    let (seen_outcome, events) = events;
    prop_assert_eq!(&outcome, &seen_outcome);

    prop_assert!(max_running(&events) <= cap, "cap {cap} exceeded");
    let tasks = final_tasks(&events);
    prop_assert_eq!(tasks.len(), plan.tasks.len());
    for t in tasks.values() {
        prop_assert!(t.status.is_terminal(), "{} ended {}", t.id, t.status.name());
    }
    for e in &events {
        if let EventKind::TaskStarted { task } = &e.kind {
            prop_assert!(task.status == TaskStatus::Running);
        }
    }
    prop_assert_eq!(
        outcome.completed + outcome.not_needed + outcome.failed + outcome.blocked,
        outcome.total
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_actor_run_ends_with_every_task_terminal_within_the_cap(plan in actor_plan()) {
        run_actors(&plan)?;
    }
}
