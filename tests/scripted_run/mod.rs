//! A hand-written run: queue events with fixed times, for UI and report tests.
//!
//! Each call appends the event the queue would emit, carrying the whole task
//! after the transition (fat events), with `t_ms` and wall-clock times that
//! agree (`2025-01-01T00:00:00Z` + `t_ms`), so every rendering is stable.

#![allow(dead_code)]

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use wizard::messages::{
    EventKind, Handoff, Problem, QueueEvent, RunInfo, RunOutcome, Task, TaskError, TaskStatus,
    Usage, Variant, Verdict,
};
use wizard::ui::view::RunView;

/// The app every scripted run integrates.
pub const INSTALL_DIR: &str = "/home/dev/shop-app";

/// Events of one run, built call by call.
#[derive(Default)]
pub struct Script {
    pub events: Vec<QueueEvent>,
    tasks: HashMap<String, Task>,
    order: Vec<String>,
}

/// The wall clock at `t_ms`.
pub fn at(t_ms: u64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::milliseconds(t_ms as i64)
}

/// Usage with these input/output/cache-read numbers.
pub fn usage(input: u64, output: u64, cache_read: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: cache_read,
        cache_write_tokens: 0,
    }
}

impl Script {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, t_ms: u64, kind: EventKind) {
        let seq = self.events.len() as u64 + 1;
        self.events.push(QueueEvent { seq, t_ms, kind });
    }

    fn task(&mut self, id: &str) -> &mut Task {
        self.tasks.get_mut(id).expect("scripted task exists")
    }

    pub fn run_info(variant: Variant) -> RunInfo {
        RunInfo {
            run_id: "0b7e2c3a-run".into(),
            variant,
            install_dir: INSTALL_DIR.into(),
            created_at: at(0),
            framework: None,
            concurrency: 2,
            content_hash: None,
        }
    }

    pub fn run_started(&mut self, t_ms: u64) -> &mut Self {
        self.push(
            t_ms,
            EventKind::RunStarted {
                run: Self::run_info(Variant::Orchestrator),
            },
        );
        self
    }

    pub fn enqueue(
        &mut self,
        t_ms: u64,
        id: &str,
        label: &str,
        model: &str,
        depends_on: &[&str],
    ) -> &mut Self {
        let task_type = id.split('-').next().unwrap_or(id).to_string();
        let task = Task {
            id: id.into(),
            task_type,
            label: label.into(),
            status: TaskStatus::Pending,
            depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
            inputs: json!({}),
            model: model.into(),
            attempts: 0,
            max_attempts: 2,
            enqueued_by: "orchestrator".into(),
            depth: 1,
            created_at: at(t_ms),
            started_at: None,
            finished_at: None,
            handoff: None,
            error: None,
            usage: Usage::default(),
            cost_usd: 0.0,
            provider_retries: 0,
            app: ".".into(),
        };
        self.tasks.insert(id.into(), task.clone());
        self.order.push(id.into());
        self.push(t_ms, EventKind::TaskEnqueued { task: task.into() });
        self
    }

    pub fn start(&mut self, t_ms: u64, id: &str) -> &mut Self {
        let task = self.task(id);
        task.status = TaskStatus::Running;
        task.attempts += 1;
        task.started_at = Some(at(t_ms));
        task.error = None;
        let task = task.clone();
        self.push(t_ms, EventKind::TaskStarted { task: task.into() });
        self
    }

    pub fn seed_activity(&mut self, t_ms: u64, phrase: &str) -> &mut Self {
        let phrase = phrase.into();
        self.push(
            t_ms,
            EventKind::SeedActivity {
                phrase,
                usage: None,
                cost_usd: None,
            },
        );
        self
    }

    pub fn seeding_finished(&mut self, t_ms: u64) -> &mut Self {
        self.push(t_ms, EventKind::SeedingFinished { error: None });
        self
    }

    pub fn activity(
        &mut self,
        t_ms: u64,
        id: &str,
        phrase: &str,
        so_far: Option<Usage>,
    ) -> &mut Self {
        self.push(
            t_ms,
            EventKind::TaskActivity {
                task_id: id.into(),
                phrase: phrase.into(),
                usage: so_far,
                cost_usd: so_far.map(|u| u.total() as f64 * 0.000_001),
            },
        );
        self
    }

    pub fn complete(
        &mut self,
        t_ms: u64,
        id: &str,
        used: Usage,
        cost: f64,
        did: &str,
        conflict: Option<&str>,
    ) -> &mut Self {
        let task = self.task(id);
        task.status = TaskStatus::Completed;
        task.finished_at = Some(at(t_ms));
        task.usage.add(&used);
        task.cost_usd += cost;
        task.handoff = Some(Handoff {
            goals: "do the step".into(),
            did: did.into(),
            for_next_agent: String::new(),
            files_touched: vec![],
            conflict: conflict.map(str::to_string),
            ..Default::default()
        });
        let task = task.clone();
        self.push(t_ms, EventKind::TaskCompleted { task: task.into() });
        self
    }

    pub fn not_needed(&mut self, t_ms: u64, id: &str, reason: &str) -> &mut Self {
        let task = self.task(id);
        task.status = TaskStatus::Skipped {
            reason: reason.into(),
            blocked_by: None,
        };
        task.finished_at = Some(at(t_ms));
        let task = task.clone();
        self.push(t_ms, EventKind::TaskSkipped { task: task.into() });
        self
    }

    pub fn requeue(&mut self, t_ms: u64, id: &str, used: Usage, reason: &str) -> &mut Self {
        let task = self.task(id);
        task.status = TaskStatus::Pending;
        task.started_at = None;
        task.usage.add(&used);
        task.error = Some(TaskError {
            kind: "self-reported".into(),
            message: reason.into(),
        });
        let task = task.clone();
        self.push(
            t_ms,
            EventKind::TaskRequeued {
                task: task.into(),
                reason: reason.into(),
            },
        );
        self
    }

    /// Fails a task for good and skips every pending task that depends on it, as the queue does.
    pub fn fail(&mut self, t_ms: u64, id: &str, used: Usage, cost: f64, reason: &str) -> &mut Self {
        let task = self.task(id);
        task.status = TaskStatus::Failed;
        task.finished_at = Some(at(t_ms));
        task.usage.add(&used);
        task.cost_usd += cost;
        task.error = Some(TaskError {
            kind: "self-reported".into(),
            message: reason.into(),
        });
        let task = task.clone();
        self.push(t_ms, EventKind::TaskFailed { task: task.into() });
        let dependents: Vec<String> = self
            .order
            .iter()
            .filter(|d| {
                let t = &self.tasks[*d];
                t.status == TaskStatus::Pending && t.depends_on.iter().any(|x| x == id)
            })
            .cloned()
            .collect();
        for d in dependents {
            let task = self.task(&d);
            task.status = TaskStatus::Skipped {
                reason: format!("dependency {id} failed"),
                blocked_by: Some(id.into()),
            };
            task.finished_at = Some(at(t_ms));
            let task = task.clone();
            self.push(t_ms, EventKind::TaskSkipped { task: task.into() });
        }
        self
    }

    pub fn relabel(&mut self, t_ms: u64, id: &str, label: &str) -> &mut Self {
        self.task(id).label = label.into();
        self.push(
            t_ms,
            EventKind::TaskRelabeled {
                task_id: id.into(),
                label: label.into(),
            },
        );
        self
    }

    /// The outcome the queue would compute now, with this verdict.
    pub fn outcome(&self, verdict: Verdict, message: &str) -> RunOutcome {
        let mut outcome = RunOutcome {
            verdict,
            message: message.into(),
            total: self.order.len(),
            completed: 0,
            not_needed: 0,
            failed: 0,
            blocked: 0,
            never_ran: 0,
            problems: vec![],
            conflicts: vec![],
            usage: Usage::default(),
            cost_usd: 0.0,
        };
        for t in self.tasks() {
            outcome.usage.add(&t.usage);
            outcome.cost_usd += t.cost_usd;
            if let Some(c) = t.handoff.as_ref().and_then(|h| h.conflict.clone()) {
                outcome.conflicts.push((t.id.clone(), c));
            }
            let problem = |reason: &str| Problem {
                task_id: t.id.clone(),
                task_type: t.task_type.clone(),
                label: t.label.clone(),
                reason: reason.into(),
            };
            match &t.status {
                TaskStatus::Completed => outcome.completed += 1,
                TaskStatus::Skipped {
                    blocked_by: None, ..
                } => outcome.not_needed += 1,
                TaskStatus::Skipped { reason, .. } => {
                    outcome.blocked += 1;
                    outcome.problems.push(problem(reason));
                }
                TaskStatus::Failed => {
                    outcome.failed += 1;
                    outcome
                        .problems
                        .push(problem(&t.error.as_ref().unwrap().message));
                }
                _ => {
                    outcome.never_ran += 1;
                    outcome
                        .problems
                        .push(problem("the run was interrupted before it ran"));
                }
            }
        }
        outcome
    }

    pub fn finish(&mut self, t_ms: u64, verdict: Verdict, message: &str) -> &mut Self {
        let outcome = self.outcome(verdict, message);
        self.push(t_ms, EventKind::RunFinished { outcome });
        self
    }

    /// The tasks in enqueue order, as the queue holds them now.
    pub fn tasks(&self) -> Vec<Task> {
        self.order.iter().map(|id| self.tasks[id].clone()).collect()
    }

    /// A view that applied every event so far.
    pub fn view(&self) -> RunView {
        let mut view = RunView::new();
        for ev in &self.events {
            view.apply(ev);
        }
        view
    }
}

/// The demo graph, enqueued at 0.4–0.6 s: install ∥ init, identify, capture, build, report.
pub fn seeded() -> Script {
    let mut s = Script::new();
    s.run_started(0)
        .enqueue(400, "install", "Add the SDK to package.json", "small", &[])
        .enqueue(450, "init", "Initialise the client", "medium", &[])
        .enqueue(
            500,
            "identify",
            "Identify signed-in users",
            "small",
            &["init"],
        )
        .enqueue(520, "capture", "Capture key events", "medium", &["init"])
        .enqueue(
            540,
            "build",
            "Install and build",
            "small",
            &["install", "capture"],
        )
        .enqueue(600, "report", "Write the setup report", "small", &["build"]);
    s
}

/// `install` and `init` running side by side, each with an activity phrase.
pub fn two_running() -> Script {
    let mut s = seeded();
    s.start(700, "install")
        .start(720, "init")
        .activity(
            1_900,
            "install",
            "Editing package.json",
            Some(usage(800, 120, 2_400)),
        )
        .activity(
            2_300,
            "init",
            "Editing app/layout.tsx",
            Some(usage(1_500, 300, 0)),
        );
    s
}

/// `build` fails for good after a retry; `report` is blocked; everything else done.
pub fn failed_build() -> Script {
    let mut s = two_running();
    s.complete(
        3_200,
        "install",
        usage(900, 150, 2_400),
        0.0021,
        "Added the SDK to package.json",
        None,
    )
    .complete(
        5_000,
        "init",
        usage(2_000, 600, 3_000),
        0.0134,
        "Created instrumentation-client.ts",
        None,
    )
    .start(5_010, "identify")
    .start(5_020, "capture")
    .not_needed(6_500, "identify", "the app has no sign-in")
    .activity(7_000, "capture", "Editing app/checkout/page.tsx", None)
    .complete(
        9_800,
        "capture",
        usage(3_000, 900, 6_000),
        0.0312,
        "Captured checkout_started and order_placed",
        None,
    )
    .start(9_810, "build")
    .requeue(
        21_000,
        "build",
        usage(1_000, 200, 0),
        "npm install exited with code 1",
    )
    .start(21_010, "build")
    .fail(
        33_000,
        "build",
        usage(1_100, 250, 0),
        0.004,
        "npm install exited with code 1: peer dependency conflict with react@19",
    );
    s
}
