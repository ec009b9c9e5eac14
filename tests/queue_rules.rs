//! The queue's rules as pure functions: guards, ids, readiness, dispatch
//! order, retries, failure propagation and the verdict, on `QueueState`
//! directly (no actors, no I/O).

use serde_json::json;
use wizard::messages::{
    AttemptEnd, Enqueuer, EventKind, Handoff, ReportStatus, Task, TaskId, TaskSpec, TaskStatus,
    Usage, Verdict,
};
use wizard::queue::{Catalogue, GuardError, QueueLimits, QueueState};

fn catalogue() -> Catalogue {
    Catalogue::from_triples([
        ("install", "Add the SDK to the manifest", "small"),
        ("init", "Initialise the SDK", "small"),
        ("identify", "Identify users", "medium"),
        ("capture", "Capture events", "medium"),
        ("build", "Install and build", "medium"),
    ])
}

fn queue(limits: QueueLimits) -> QueueState {
    QueueState::new(limits, catalogue())
}

fn limits() -> QueueLimits {
    QueueLimits::default()
}

fn by(id: &str) -> Enqueuer {
    Enqueuer::Task(id.to_string())
}

fn seed(q: &mut QueueState, spec: TaskSpec) -> TaskId {
    q.enqueue(&Enqueuer::Orchestrator, spec)
        .map(|(id, _)| id)
        .expect("the seed's enqueue is accepted")
}

fn handoff(did: &str) -> Handoff {
    Handoff {
        goals: "goal".into(),
        did: did.into(),
        for_next_agent: format!("{did} — next"),
        files_touched: vec![],
        conflict: None,
        ..Default::default()
    }
}

fn done() -> AttemptEnd {
    AttemptEnd::Reported {
        status: ReportStatus::Done,
        handoff: handoff("done"),
    }
}

fn reported_failure() -> AttemptEnd {
    AttemptEnd::Reported {
        status: ReportStatus::Failed,
        handoff: handoff("could not"),
    }
}

fn no_report() -> AttemptEnd {
    AttemptEnd::NoReport {
        detail: "the turn ended".into(),
    }
}

/// Starts every task the cap allows; returns their ids in start order.
fn start_all(q: &mut QueueState) -> Vec<TaskId> {
    let mut ids = Vec::new();
    while let Some((task, _, _)) = q.start_next() {
        ids.push(task.id.clone());
    }
    ids
}

/// Ends the running attempt of `id`.
fn finish(q: &mut QueueState, id: &str, end: AttemptEnd) -> Vec<EventKind> {
    let attempt = q.task(id).expect("the task exists").attempts;
    q.finish_attempt(id, attempt, end, Usage::default(), 0.0)
}

fn status<'a>(q: &'a QueueState, id: &str) -> &'a TaskStatus {
    &q.task(id).expect("the task exists").status
}

fn task<'a>(q: &'a QueueState, id: &str) -> &'a Task {
    q.task(id).expect("the task exists")
}

// ---- guards -------------------------------------------------------------

/// One guard case: a queue built by `setup`, then one enqueue that must be refused.
struct GuardCase {
    name: &'static str,
    limits: QueueLimits,
    setup: fn(&mut QueueState),
    by: Enqueuer,
    spec: TaskSpec,
    guard: &'static str,
    /// A phrase of the error text that tells the agent how to fix the call.
    hint: &'static str,
}

fn guard_cases() -> Vec<GuardCase> {
    vec![
        GuardCase {
            name: "a full run refuses more tasks",
            limits: QueueLimits {
                max_tasks: 2,
                ..limits()
            },
            setup: |q| {
                seed(q, TaskSpec::new("install"));
                seed(q, TaskSpec::new("init"));
            },
            by: Enqueuer::Orchestrator,
            spec: TaskSpec::new("identify"),
            guard: "run-full",
            hint: "finish your own task instead",
        },
        GuardCase {
            name: "a task may enqueue only so many tasks",
            limits: QueueLimits {
                max_enqueues_per_task: 2,
                ..limits()
            },
            setup: |q| {
                seed(q, TaskSpec::new("install"));
                for n in 0..2 {
                    q.enqueue(
                        &by("install"),
                        TaskSpec::new("capture").with_inputs(json!({ "n": n })),
                    )
                    .expect("under the per-task limit");
                }
            },
            by: by("install"),
            spec: TaskSpec::new("capture").with_inputs(json!({ "n": 2 })),
            guard: "too-many-enqueues",
            hint: "Fold the remaining work into the tasks you already enqueued",
        },
        GuardCase {
            name: "a task may not nest deeper than the limit",
            limits: limits(),
            setup: |q| {
                seed(q, TaskSpec::new("install"));
                q.enqueue(&by("install"), TaskSpec::new("capture"))
                    .expect("depth 2");
                q.enqueue(&by("capture"), TaskSpec::new("build"))
                    .expect("depth 3");
            },
            by: by("build"),
            spec: TaskSpec::new("identify"),
            guard: "too-deep",
            hint: "Do the work yourself",
        },
        GuardCase {
            name: "an unknown type is refused with the closest valid one",
            limits: limits(),
            setup: |_| {},
            by: Enqueuer::Orchestrator,
            spec: TaskSpec::new("instal"),
            guard: "unknown-type",
            hint: "(did you mean \"install\"?). Valid types: build, capture, identify, init, install.",
        },
        GuardCase {
            name: "an unknown dependency is refused with the existing ids",
            limits: limits(),
            setup: |q| {
                seed(q, TaskSpec::new("install"));
            },
            by: Enqueuer::Orchestrator,
            spec: TaskSpec::new("init").after(["instal"]),
            guard: "unknown-dependency",
            hint: "(did you mean \"install\"?). dependsOn takes ids returned by earlier enqueue_task calls",
        },
        GuardCase {
            name: "the same type with the same inputs in another key order is a duplicate",
            limits: limits(),
            setup: |q| {
                seed(
                    q,
                    TaskSpec::new("capture")
                        .with_inputs(json!({ "event": "signup", "props": { "a": 1, "b": 2 } })),
                );
            },
            by: Enqueuer::Orchestrator,
            spec: TaskSpec::new("capture")
                .with_inputs(json!({ "props": { "b": 2, "a": 1 }, "event": "signup" })),
            guard: "duplicate",
            hint: "task capture already has type \"capture\" and the same inputs. Use its id as a dependency",
        },
    ]
}

#[test]
fn each_guard_refuses_its_case_with_a_fixable_message() {
    for case in guard_cases() {
        let mut q = queue(case.limits.clone());
        (case.setup)(&mut q);
        let before = q.tasks().len();
        let err = q.enqueue(&case.by, case.spec.clone()).expect_err(case.name);
        assert_eq!(err.guard(), case.guard, "{}: {err}", case.name);
        let text = err.to_string();
        assert!(
            text.contains(case.hint),
            "{}: the message should tell the agent how to fix the call, got: {text}",
            case.name
        );
        assert_eq!(q.tasks().len(), before, "{}: nothing was added", case.name);
    }
}

#[test]
fn guard_errors_carry_their_limits_and_names() {
    let mut q = queue(QueueLimits {
        max_tasks: 1,
        ..limits()
    });
    seed(&mut q, TaskSpec::new("install"));
    assert_eq!(
        q.enqueue(&Enqueuer::Orchestrator, TaskSpec::new("init")),
        Err(GuardError::RunFull { limit: 1 })
    );

    let mut q = queue(limits());
    seed(&mut q, TaskSpec::new("install"));
    q.enqueue(&by("install"), TaskSpec::new("capture")).unwrap();
    q.enqueue(&by("capture"), TaskSpec::new("build")).unwrap();
    assert_eq!(
        q.enqueue(&by("build"), TaskSpec::new("init")),
        Err(GuardError::TooDeep { depth: 4, limit: 3 })
    );
}

#[test]
fn default_limits_are_thirty_tasks_five_enqueues_depth_three_two_attempts() {
    let mut q = queue(QueueLimits::default());
    seed(&mut q, TaskSpec::new("install"));
    for n in 0..5 {
        q.enqueue(
            &by("install"),
            TaskSpec::new("capture").with_inputs(json!({ "n": n })),
        )
        .expect("five enqueues per task are allowed");
    }
    assert_eq!(
        q.enqueue(
            &by("install"),
            TaskSpec::new("capture").with_inputs(json!({ "n": 5 }))
        ),
        Err(GuardError::TooManyEnqueues {
            by: "install".into(),
            limit: 5
        })
    );
    for n in 6..30 {
        seed(
            &mut q,
            TaskSpec::new("build").with_inputs(json!({ "n": n })),
        );
    }
    assert_eq!(q.tasks().len(), 30);
    assert_eq!(
        q.enqueue(&Enqueuer::Orchestrator, TaskSpec::new("init")),
        Err(GuardError::RunFull { limit: 30 })
    );
    assert!(q.tasks().iter().all(|t| t.max_attempts == 2));
    assert_eq!(QueueLimits::default().max_depth, 3);
}

/// Each case breaks two guards at once; the one checked first must answer.
#[test]
fn guards_are_checked_in_order() {
    struct OrderCase {
        name: &'static str,
        limits: QueueLimits,
        setup: fn(&mut QueueState),
        by: Enqueuer,
        spec: TaskSpec,
        first: &'static str,
    }
    let cases = vec![
        OrderCase {
            name: "run full before too many enqueues",
            limits: QueueLimits {
                max_tasks: 2,
                max_enqueues_per_task: 1,
                ..limits()
            },
            setup: |q| {
                seed(q, TaskSpec::new("install"));
                q.enqueue(&by("install"), TaskSpec::new("capture")).unwrap();
            },
            by: by("install"),
            spec: TaskSpec::new("build"),
            first: "run-full",
        },
        OrderCase {
            name: "too many enqueues before too deep",
            limits: QueueLimits {
                max_enqueues_per_task: 0,
                max_depth: 1,
                ..limits()
            },
            setup: |q| {
                seed(q, TaskSpec::new("install"));
            },
            by: by("install"),
            spec: TaskSpec::new("build"),
            first: "too-many-enqueues",
        },
        OrderCase {
            name: "too deep before unknown type",
            limits: QueueLimits {
                max_depth: 1,
                ..limits()
            },
            setup: |q| {
                seed(q, TaskSpec::new("install"));
            },
            by: by("install"),
            spec: TaskSpec::new("no-such-type"),
            first: "too-deep",
        },
        OrderCase {
            name: "unknown type before unknown dependency",
            limits: limits(),
            setup: |_| {},
            by: Enqueuer::Orchestrator,
            spec: TaskSpec::new("no-such-type").after(["ghost"]),
            first: "unknown-type",
        },
        OrderCase {
            name: "unknown dependency before duplicate",
            limits: limits(),
            setup: |q| {
                seed(q, TaskSpec::new("install"));
            },
            by: Enqueuer::Orchestrator,
            spec: TaskSpec::new("install").after(["ghost"]),
            first: "unknown-dependency",
        },
    ];
    for case in cases {
        let mut q = queue(case.limits.clone());
        (case.setup)(&mut q);
        let err = q.enqueue(&case.by, case.spec).expect_err(case.name);
        assert_eq!(err.guard(), case.first, "{}: {err}", case.name);
    }
}

#[test]
fn the_seed_is_not_limited_by_enqueues_per_task() {
    let mut q = queue(QueueLimits {
        max_enqueues_per_task: 1,
        ..limits()
    });
    for ty in ["install", "init", "identify", "capture"] {
        seed(&mut q, TaskSpec::new(ty));
    }
    assert_eq!(q.tasks().len(), 4);
    assert!(q.tasks().iter().all(|t| t.depth == 1));
}

#[test]
fn dynamic_enqueues_are_one_level_deeper_and_name_their_enqueuer() {
    let mut q = queue(limits());
    seed(&mut q, TaskSpec::new("install"));
    let (id, _) = q.enqueue(&by("install"), TaskSpec::new("capture")).unwrap();
    let t = task(&q, &id);
    assert_eq!((t.depth, t.enqueued_by.as_str()), (2, "install"));
    assert_eq!(task(&q, "install").enqueued_by, "orchestrator");
}

#[test]
fn a_failed_task_no_longer_counts_as_a_duplicate() {
    let mut q = queue(QueueLimits {
        max_attempts: 1,
        ..limits()
    });
    seed(&mut q, TaskSpec::new("install"));
    start_all(&mut q);
    finish(&mut q, "install", reported_failure());
    assert_eq!(status(&q, "install"), &TaskStatus::Failed);
    let again = seed(&mut q, TaskSpec::new("install"));
    assert_eq!(again, "install-2");
}

#[test]
fn null_inputs_are_the_same_as_empty_inputs() {
    let mut q = queue(limits());
    seed(&mut q, TaskSpec::new("install").with_inputs(json!({})));
    let err = q
        .enqueue(
            &Enqueuer::Orchestrator,
            TaskSpec::new("install").with_inputs(serde_json::Value::Null),
        )
        .unwrap_err();
    assert_eq!(err.guard(), "duplicate");
}

// ---- ids ----------------------------------------------------------------

#[test]
fn the_first_task_of_a_type_is_named_for_it_and_later_ones_are_numbered() {
    let mut q = queue(limits());
    let mut ids: Vec<TaskId> = (0..3)
        .map(|n| {
            seed(
                &mut q,
                TaskSpec::new("capture").with_inputs(json!({ "n": n })),
            )
        })
        .collect();
    ids.push(seed(&mut q, TaskSpec::new("install")));
    assert_eq!(ids, ["capture", "capture-2", "capture-3", "install"]);
}

#[test]
fn restored_ids_are_not_reused() {
    let mut q = queue(limits());
    seed(
        &mut q,
        TaskSpec::new("capture").with_inputs(json!({ "n": 1 })),
    );
    seed(
        &mut q,
        TaskSpec::new("capture").with_inputs(json!({ "n": 2 })),
    );
    let saved = q.tasks().to_vec();
    let (mut restored, requeued) = QueueState::restore(limits(), catalogue(), saved, true);
    assert!(requeued.is_empty());
    let id = seed(
        &mut restored,
        TaskSpec::new("capture").with_inputs(json!({ "n": 3 })),
    );
    assert_eq!(id, "capture-3");
}

// ---- readiness and dispatch ---------------------------------------------

#[test]
fn readiness_follows_dependencies() {
    // (what happens, tasks expected ready afterwards)
    let mut q = queue(QueueLimits {
        concurrency: 5,
        ..limits()
    });
    seed(&mut q, TaskSpec::new("install"));
    seed(&mut q, TaskSpec::new("init"));
    seed(&mut q, TaskSpec::new("identify").after(["install", "init"]));
    seed(&mut q, TaskSpec::new("capture").after(["identify"]));
    assert_eq!(
        q.ready_tasks(),
        ["install", "init"],
        "roots are ready at once"
    );

    assert_eq!(start_all(&mut q), ["install", "init"]);
    assert!(q.ready_tasks().is_empty(), "running tasks are not ready");

    finish(&mut q, "install", done());
    assert!(
        q.ready_tasks().is_empty(),
        "identify still waits for init: {:?}",
        q.ready_tasks()
    );

    finish(
        &mut q,
        "init",
        AttemptEnd::Reported {
            status: ReportStatus::Skipped,
            handoff: handoff("not needed here"),
        },
    );
    assert_eq!(
        q.ready_tasks(),
        ["identify"],
        "a task skipped as not needed satisfies its dependents"
    );
}

#[test]
fn a_dependency_listed_twice_is_waited_for_once() {
    let mut q = queue(limits());
    seed(&mut q, TaskSpec::new("install"));
    let id = seed(&mut q, TaskSpec::new("init").after(["install", "install"]));
    assert_eq!(task(&q, &id).depends_on, ["install"]);
    start_all(&mut q);
    finish(&mut q, "install", done());
    assert_eq!(q.ready_tasks(), [id]);
}

#[test]
fn ready_tasks_start_in_enqueue_order() {
    let mut q = queue(limits());
    seed(&mut q, TaskSpec::new("install"));
    // `identify` becomes ready only after `init` and `capture` are ready, but
    // it was enqueued before them, so it starts first.
    seed(&mut q, TaskSpec::new("identify").after(["install"]));
    seed(&mut q, TaskSpec::new("init"));
    seed(&mut q, TaskSpec::new("capture"));
    let mut order = start_all(&mut q);
    finish(&mut q, "install", done());
    while let Some(id) = start_all(&mut q).pop() {
        order.push(id.clone());
        finish(&mut q, &id, done());
    }
    assert_eq!(order, ["install", "identify", "init", "capture"]);
}

#[test]
fn the_cap_bounds_how_many_run_at_once() {
    for cap in 1..=3 {
        let mut q = queue(QueueLimits {
            concurrency: cap,
            ..limits()
        });
        for ty in ["install", "init", "identify", "capture", "build"] {
            seed(&mut q, TaskSpec::new(ty));
        }
        assert_eq!(start_all(&mut q).len(), cap);
        assert_eq!(q.running(), cap);
        assert!(!q.can_dispatch(), "cap {cap} reached");
        let first = q.tasks()[0].id.clone();
        finish(&mut q, &first, done());
        assert_eq!(start_all(&mut q).len(), 1, "a finished task frees one slot");
        assert_eq!(q.running(), cap);
    }
}

#[test]
fn a_started_task_gets_every_ancestor_handoff_roots_first() {
    let mut q = queue(QueueLimits {
        concurrency: 3,
        ..limits()
    });
    seed(&mut q, TaskSpec::new("install"));
    seed(&mut q, TaskSpec::new("init"));
    seed(&mut q, TaskSpec::new("identify").after(["install"]));
    seed(&mut q, TaskSpec::new("capture").after(["identify", "init"]));
    start_all(&mut q);
    finish(&mut q, "install", done());
    finish(&mut q, "init", done());
    start_all(&mut q);
    finish(&mut q, "identify", done());
    let (started, ancestors, events) = q.start_next().expect("capture is ready");
    assert_eq!(started.id, "capture");
    assert_eq!(started.status, TaskStatus::Running);
    assert_eq!(started.attempts, 1);
    let ids: Vec<&str> = ancestors.iter().map(|h| h.task_id.as_str()).collect();
    assert_eq!(ids, ["install", "init", "identify"]);
    assert!(matches!(&events[..], [EventKind::TaskStarted { task }] if task.id == "capture"));
}

// ---- failures, retries --------------------------------------------------

#[test]
fn a_failure_skips_every_transitive_dependent_with_its_reason() {
    let mut q = queue(QueueLimits {
        max_attempts: 1,
        ..limits()
    });
    seed(&mut q, TaskSpec::new("install"));
    seed(&mut q, TaskSpec::new("init"));
    seed(&mut q, TaskSpec::new("identify").after(["install"]));
    seed(&mut q, TaskSpec::new("capture").after(["identify"]));
    seed(&mut q, TaskSpec::new("build").after(["capture", "init"]));
    start_all(&mut q);
    let events = finish(&mut q, "install", reported_failure());

    let names: Vec<&str> = events.iter().map(|e| e.name()).collect();
    assert_eq!(names[0], "task_failed");
    let mut skipped: Vec<&str> = events[1..]
        .iter()
        .map(|e| {
            assert_eq!(e.name(), "task_skipped");
            e.task().unwrap().id.as_str()
        })
        .collect();
    skipped.sort();
    assert_eq!(
        skipped,
        ["build", "capture", "identify"],
        "each skipped once"
    );
    for id in ["identify", "capture", "build"] {
        assert_eq!(
            status(&q, id),
            &TaskStatus::Skipped {
                reason: "dependency install failed".into(),
                blocked_by: Some("install".into()),
            }
        );
    }
    assert_eq!(
        status(&q, "init"),
        &TaskStatus::Pending,
        "unrelated task untouched"
    );
}

#[test]
fn a_task_enqueued_after_its_dependency_failed_is_skipped_at_once() {
    let mut q = queue(QueueLimits {
        max_attempts: 1,
        ..limits()
    });
    seed(&mut q, TaskSpec::new("install"));
    start_all(&mut q);
    finish(&mut q, "install", reported_failure());
    let (id, events) = q
        .enqueue(
            &Enqueuer::Orchestrator,
            TaskSpec::new("identify").after(["install"]),
        )
        .unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["task_enqueued", "task_skipped"]);
    assert_eq!(
        status(&q, &id),
        &TaskStatus::Skipped {
            reason: "dependency install failed".into(),
            blocked_by: Some("install".into()),
        }
    );
    assert!(q.ready_tasks().is_empty());
}

#[test]
fn a_task_enqueued_after_a_blocked_dependency_names_the_failed_task() {
    let mut q = queue(QueueLimits {
        max_attempts: 1,
        ..limits()
    });
    seed(&mut q, TaskSpec::new("install"));
    seed(&mut q, TaskSpec::new("identify").after(["install"]));
    start_all(&mut q);
    finish(&mut q, "install", reported_failure());
    let id = seed(&mut q, TaskSpec::new("capture").after(["identify"]));
    assert_eq!(
        status(&q, &id),
        &TaskStatus::Skipped {
            reason: "dependency install failed".into(),
            blocked_by: Some("install".into()),
        },
        "identify was skipped, not failed: the reason names the task that failed"
    );
}

#[test]
fn an_attempt_without_a_report_is_retried_until_attempts_run_out() {
    let mut q = queue(limits());
    seed(&mut q, TaskSpec::new("install"));
    start_all(&mut q);
    let events = finish(&mut q, "install", no_report());
    assert!(
        matches!(&events[..], [EventKind::TaskRequeued { task, .. }] if task.status == TaskStatus::Pending)
    );
    let t = task(&q, "install");
    assert_eq!((t.attempts, t.max_attempts), (1, 2));
    assert_eq!(t.error.as_ref().unwrap().kind, "no-report");
    assert_eq!(
        q.ready_tasks(),
        ["install"],
        "requeued tasks are ready again"
    );

    assert_eq!(start_all(&mut q), ["install"]);
    let events = finish(&mut q, "install", no_report());
    assert!(matches!(&events[..], [EventKind::TaskFailed { .. }]));
    assert_eq!(task(&q, "install").attempts, 2);
    assert_eq!(status(&q, "install"), &TaskStatus::Failed);
}

#[test]
fn a_retried_task_can_still_complete() {
    let mut q = queue(limits());
    seed(&mut q, TaskSpec::new("install"));
    start_all(&mut q);
    finish(&mut q, "install", reported_failure());
    start_all(&mut q);
    finish(&mut q, "install", done());
    let t = task(&q, "install");
    assert_eq!((&t.status, t.attempts), (&TaskStatus::Completed, 2));
    assert!(t.handoff.is_some());
}

#[test]
fn a_stale_report_is_ignored() {
    let mut q = queue(limits());
    seed(&mut q, TaskSpec::new("install"));
    start_all(&mut q);
    finish(&mut q, "install", no_report());
    start_all(&mut q);
    let events = q.finish_attempt("install", 1, done(), Usage::default(), 0.0);
    assert!(events.is_empty());
    assert_eq!(status(&q, "install"), &TaskStatus::Running);
    assert!(q
        .finish_attempt("ghost", 1, done(), Usage::default(), 0.0)
        .is_empty());
}

#[test]
fn usage_and_cost_add_up_over_attempts() {
    let mut q = queue(limits());
    seed(&mut q, TaskSpec::new("install"));
    let usage = Usage {
        input_tokens: 10,
        output_tokens: 5,
        cache_read_tokens: 3,
        cache_write_tokens: 1,
    };
    start_all(&mut q);
    q.finish_attempt("install", 1, no_report(), usage, 0.25);
    start_all(&mut q);
    q.finish_attempt("install", 2, done(), usage, 0.5);
    let t = task(&q, "install");
    assert_eq!(t.usage.total(), 38);
    assert_eq!(t.cost_usd, 0.75);
    let outcome = q.outcome();
    assert_eq!((outcome.usage.total(), outcome.cost_usd), (38, 0.75));
}

#[test]
fn a_fatal_error_stops_dispatch_and_names_the_tasks_that_never_ran() {
    let mut q = queue(limits());
    seed(&mut q, TaskSpec::new("install"));
    seed(&mut q, TaskSpec::new("init"));
    q.seeding_done(None, Default::default(), 0.0);
    start_all(&mut q);
    finish(
        &mut q,
        "install",
        AttemptEnd::Error {
            error_kind: "provider".into(),
            message: "the API key was rejected".into(),
            fatal: true,
        },
    );
    assert_eq!(status(&q, "install"), &TaskStatus::Failed, "no retry");
    assert!(q.start_next().is_none());
    assert!(q.is_over());
    let outcome = q.outcome();
    assert_eq!(outcome.verdict, Verdict::Failed);
    assert_eq!(outcome.message, "the API key was rejected");
    let init = outcome
        .problems
        .iter()
        .find(|p| p.task_id == "init")
        .unwrap();
    assert!(init.reason.contains("not started"), "{}", init.reason);
}

#[test]
fn the_run_stops_at_its_start_limit() {
    let mut q = queue(QueueLimits {
        max_starts: 1,
        ..limits()
    });
    seed(&mut q, TaskSpec::new("install"));
    q.seeding_done(None, Default::default(), 0.0);
    start_all(&mut q);
    finish(&mut q, "install", no_report());
    assert!(q.start_next().is_none());
    assert!(q.is_over());
    let outcome = q.outcome();
    assert_eq!(outcome.never_ran, 1);
    assert!(outcome.problems[0]
        .reason
        .contains("limit of 1 task starts"));
}

// ---- the end of a run ---------------------------------------------------

#[test]
fn the_verdict_names_the_failed_and_blocked_tasks() {
    let mut q = queue(QueueLimits {
        max_attempts: 1,
        ..limits()
    });
    seed(&mut q, TaskSpec::new("install"));
    seed(&mut q, TaskSpec::new("init"));
    seed(&mut q, TaskSpec::new("identify").after(["install"]));
    q.seeding_done(None, Default::default(), 0.0);
    start_all(&mut q);
    finish(&mut q, "install", reported_failure());
    start_all(&mut q);
    finish(&mut q, "init", done());
    assert!(q.is_over());
    let outcome = q.outcome();
    assert_eq!(outcome.verdict, Verdict::Failed);
    assert_eq!(
        (outcome.completed, outcome.failed, outcome.blocked),
        (1, 1, 1)
    );
    let named: Vec<(&str, &str)> = outcome
        .problems
        .iter()
        .map(|p| (p.task_id.as_str(), p.reason.as_str()))
        .collect();
    assert_eq!(
        named,
        [
            ("install", "could not — next"),
            ("identify", "dependency install failed")
        ]
    );
    assert_eq!(
        outcome.message,
        "2 of 3 steps did not finish: install — could not — next"
    );
}

#[test]
fn a_run_where_everything_is_done_or_not_needed_succeeds() {
    let mut q = queue(limits());
    seed(&mut q, TaskSpec::new("install"));
    seed(&mut q, TaskSpec::new("init").after(["install"]));
    q.seeding_done(None, Default::default(), 0.0);
    start_all(&mut q);
    finish(&mut q, "install", done());
    start_all(&mut q);
    finish(
        &mut q,
        "init",
        AttemptEnd::Reported {
            status: ReportStatus::Skipped,
            handoff: handoff("already initialised"),
        },
    );
    assert!(q.is_over());
    let outcome = q.outcome();
    assert_eq!(outcome.verdict, Verdict::Success);
    assert_eq!((outcome.completed, outcome.not_needed), (1, 1));
    assert_eq!(outcome.message, "All 2/2 steps done.");
}

#[test]
fn a_seed_that_enqueues_nothing_fails_the_run() {
    let mut q = queue(limits());
    assert!(!q.is_over(), "the run waits while seeding is open");
    q.seeding_done(None, Default::default(), 0.0);
    assert!(q.is_over());
    let outcome = q.outcome();
    assert_eq!(outcome.verdict, Verdict::Failed);
    assert_eq!(
        outcome.message,
        "Planning failed: the seeding agent enqueued no tasks."
    );
}

#[test]
fn a_failed_seed_fails_the_run_with_its_error() {
    let mut q = queue(limits());
    seed(&mut q, TaskSpec::new("install"));
    start_all(&mut q);
    q.seeding_done(Some("the model timed out".into()), Default::default(), 0.0);
    assert!(!q.is_over(), "the running task still finishes");
    finish(&mut q, "install", done());
    assert!(q.is_over());
    let outcome = q.outcome();
    assert_eq!(outcome.verdict, Verdict::Failed);
    assert_eq!(outcome.message, "Planning failed: the model timed out.");
}

#[test]
fn an_interrupt_puts_running_tasks_back_with_their_attempt_counted() {
    let mut q = queue(QueueLimits {
        concurrency: 2,
        ..limits()
    });
    seed(&mut q, TaskSpec::new("install"));
    seed(&mut q, TaskSpec::new("init"));
    seed(&mut q, TaskSpec::new("identify").after(["install"]));
    start_all(&mut q);
    let events = q.interrupt();
    let requeued: Vec<&str> = events
        .iter()
        .map(|e| match e {
            EventKind::TaskRequeued { task, reason } => {
                assert_eq!(reason, "interrupted");
                task.id.as_str()
            }
            other => panic!("unexpected {}", other.name()),
        })
        .collect();
    assert_eq!(requeued, ["install", "init"]);
    for id in ["install", "init"] {
        assert_eq!(
            (status(&q, id), task(&q, id).attempts),
            (&TaskStatus::Pending, 1)
        );
    }
    assert!(q.is_over(), "an interrupted run is over even while seeding");
    assert!(q.start_next().is_none());
    assert_eq!(
        q.enqueue(&Enqueuer::Orchestrator, TaskSpec::new("capture")),
        Err(GuardError::Closed)
    );
    let outcome = q.outcome();
    assert_eq!(outcome.verdict, Verdict::Interrupted);
    assert_eq!(outcome.never_ran, 3);
}

#[test]
fn a_run_is_not_over_while_a_task_runs() {
    let mut q = queue(limits());
    seed(&mut q, TaskSpec::new("install"));
    q.seeding_done(None, Default::default(), 0.0);
    start_all(&mut q);
    assert!(!q.is_over());
    finish(&mut q, "install", done());
    assert!(q.is_over());
}

#[test]
fn an_interrupt_names_a_task_stopped_mid_attempt_as_stopped_not_as_never_run() {
    let mut q = QueueState::new(limits(), catalogue());
    let (install, _) = q
        .enqueue(&Enqueuer::Orchestrator, TaskSpec::new("install"))
        .unwrap();
    q.enqueue(
        &Enqueuer::Orchestrator,
        TaskSpec::new("init").after([install]),
    )
    .unwrap();
    q.seeding_done(None, Default::default(), 0.0);
    q.start_next().unwrap();
    q.interrupt();
    let outcome = q.outcome();
    let reasons: Vec<(&str, &str)> = outcome
        .problems
        .iter()
        .map(|p| (p.task_id.as_str(), p.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "install",
                "stopped while it was running; a resume runs it again"
            ),
            ("init", "the run was interrupted before it ran"),
        ]
    );
}
