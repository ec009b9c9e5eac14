//! TaskAgent: runs one attempt of one task at a time through an [`AgentBackend`].
//!
//! Owns nothing but its backend and the queue's address. Takes `RunTask`;
//! the attempt runs as a future spawned on the actor's context (the mailbox
//! stays free), under a wall-time limit and a panic guard, so a hung or
//! crashing agent fails only its own task. Reports `AttemptFinished`, with
//! the usage the agent had reported so far when the attempt was cut short.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use async_trait::async_trait;
use futures::FutureExt;

use super::queue::QueueActor;
use crate::agent::{AgentBackend, AgentJob, AttemptReport, TaskPort};
use crate::messages::{
    Activity, AttemptEnd, AttemptFinished, Enqueue, Enqueuer, HandoffQuery, ReadHandoffs, Relabel,
    RunTask, SeedActivity, TaskHandoff, TaskId, TaskSpec, Usage,
};
use crate::queue::{GuardError, QueryError};

/// A pooled task agent.
pub struct TaskAgent {
    backend: Arc<dyn AgentBackend>,
    queue: Addr<QueueActor>,
}

impl TaskAgent {
    /// An agent that runs tasks with `backend` and reports to `queue`.
    pub fn new(backend: Arc<dyn AgentBackend>, queue: Addr<QueueActor>) -> Self {
        Self { backend, queue }
    }
}

impl Actor for TaskAgent {
    type Context = Context<Self>;
}

impl Handler<RunTask> for TaskAgent {
    type Result = ();

    fn handle(&mut self, msg: RunTask, ctx: &mut Self::Context) {
        let backend = self.backend.clone();
        let queue = self.queue.clone();
        let task_id = msg.task.id.clone();
        let attempt = msg.task.attempts;
        let limit = backend.time_limit(&msg.task);
        let queue_port = Arc::new(QueuePort::for_task(queue.clone(), task_id.clone()));
        let port: Arc<dyn TaskPort> = queue_port.clone();
        let token = msg.cancel.0;
        let job = AgentJob {
            task: msg.task,
            ancestors: msg.ancestors,
        };
        let span = tracing::info_span!("task", id = %task_id, attempt);
        let attempt_fut = async move {
            let guarded = AssertUnwindSafe(backend.run(job, port)).catch_unwind();
            // An attempt cut short (a crash, the time limit) still used what it
            // reported so far; the budget and the report must count it.
            let cut = |end: AttemptEnd| {
                let (usage, cost_usd) = queue_port.usage_so_far();
                AttemptReport {
                    end,
                    usage,
                    cost_usd,
                    provider_retries: 0,
                }
            };
            // The attempt and every tool call in it see the token; whatever way
            // the attempt ends (its limit included), the token is cancelled, so
            // abandoned blocking work does not apply a change after the end.
            let _cancel_on_end = token.clone().drop_guard();
            let scoped = crate::cancel::scope(token.clone(), guarded);
            let limited = tokio::time::timeout(limit, scoped);
            let outcome = tokio::select! {
                outcome = limited => Some(outcome),
                () = token.cancelled() => None,
            };
            let Some(outcome) = outcome else {
                return cut(AttemptEnd::Error {
                    error_kind: "interrupted".into(),
                    message: "the attempt was stopped".into(),
                    fatal: false,
                });
            };
            match outcome {
                Ok(Ok(report)) => report,
                Ok(Err(panic)) => cut(AttemptEnd::Error {
                    error_kind: "panic".into(),
                    message: format!("the agent crashed: {}", panic_message(&panic)),
                    fatal: false,
                }),
                Err(_) => cut(AttemptEnd::Error {
                    error_kind: "timeout".into(),
                    message: match queue_port.failing_checks() {
                        Some(failure) => format!(
                            "the task ran past its time limit of {} with its checks failing: {failure}",
                            describe_limit(limit)
                        ),
                        None => format!(
                            "the task ran past its time limit of {}",
                            describe_limit(limit)
                        ),
                    },
                    fatal: false,
                }),
            }
        };
        let fut = tracing::Instrument::instrument(attempt_fut, span);
        ctx.spawn(fut.into_actor(self).map(move |report, _act, _ctx| {
            queue.do_send(AttemptFinished {
                task_id,
                attempt,
                end: report.end,
                usage: report.usage,
                cost_usd: report.cost_usd,
                provider_retries: report.provider_retries,
            });
        }));
    }
}

/// A time limit in words: whole seconds as `600s`, anything finer in milliseconds
/// (a sub-second limit must not read as `0s`).
pub(crate) fn describe_limit(limit: std::time::Duration) -> String {
    if limit.subsec_millis() == 0 {
        format!("{}s", limit.as_secs())
    } else {
        format!("{}ms", limit.as_millis())
    }
}

/// The text of a caught panic.
pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// A [`TaskPort`] over the queue actor's address.
#[derive(Clone)]
pub struct QueuePort {
    queue: Addr<QueueActor>,
    by: Enqueuer,
    task_id: Option<TaskId>,
    /// The latest usage and cost the agent reported with an activity (cumulative).
    so_far: Arc<Mutex<(Usage, f64)>>,
    /// The output of the task's checks while they fail.
    checks: Arc<Mutex<Option<String>>>,
}

impl QueuePort {
    /// The port of a running task.
    pub fn for_task(queue: Addr<QueueActor>, task_id: TaskId) -> Self {
        Self {
            queue,
            by: Enqueuer::Task(task_id.clone()),
            task_id: Some(task_id),
            so_far: Arc::default(),
            checks: Arc::default(),
        }
    }

    /// The port of the seeding agent.
    pub fn for_seed(queue: Addr<QueueActor>) -> Self {
        Self {
            queue,
            by: Enqueuer::Orchestrator,
            task_id: None,
            so_far: Arc::default(),
            checks: Arc::default(),
        }
    }

    /// The output of the task's checks, if they failed last time they ran.
    pub fn failing_checks(&self) -> Option<String> {
        match self.checks.lock() {
            Ok(checks) => checks.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The usage and cost the agent last reported (what an attempt cut short had used).
    pub fn usage_so_far(&self) -> (Usage, f64) {
        match self.so_far.lock() {
            Ok(so_far) => *so_far,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}

#[async_trait]
impl TaskPort for QueuePort {
    async fn enqueue(&self, spec: TaskSpec) -> Result<TaskId, GuardError> {
        self.queue
            .send(Enqueue {
                by: self.by.clone(),
                spec,
            })
            .await
            .unwrap_or(Err(GuardError::Closed))
    }

    async fn read_handoffs(&self, query: HandoffQuery) -> Result<Vec<TaskHandoff>, QueryError> {
        let query = match (query, &self.task_id) {
            (HandoffQuery::DependenciesOf(id), _) if !id.is_empty() => {
                HandoffQuery::DependenciesOf(id)
            }
            (HandoffQuery::DependenciesOf(_), Some(me)) => HandoffQuery::DependenciesOf(me.clone()),
            (q, _) => q,
        };
        self.queue
            .send(ReadHandoffs { query })
            .await
            .unwrap_or(Err(QueryError::Closed))
    }

    fn activity(&self, phrase: String, usage: Option<Usage>, cost_usd: Option<f64>) {
        if let (Some(usage), Some(cost)) = (usage, cost_usd) {
            let mut so_far = self.so_far.lock().unwrap_or_else(|p| p.into_inner());
            *so_far = (usage, cost);
        }
        match &self.task_id {
            Some(id) => self.queue.do_send(Activity {
                task_id: id.clone(),
                phrase,
                usage,
                cost_usd,
            }),
            None => self.queue.do_send(SeedActivity {
                phrase,
                usage,
                cost_usd,
            }),
        }
    }

    fn relabel(&self, label: String) {
        if let Some(id) = &self.task_id {
            self.queue.do_send(Relabel {
                task_id: id.clone(),
                label,
            });
        }
    }

    fn task_id(&self) -> Option<&str> {
        self.task_id.as_deref()
    }

    fn check_failed(&self, failure: Option<String>) {
        *self.checks.lock().unwrap_or_else(|p| p.into_inner()) = failure;
    }
}
