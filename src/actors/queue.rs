//! QueueActor: the one owner of task state.
//!
//! Owns a [`QueueState`] and the pool of idle task agents. Takes `Enqueue`,
//! `AttemptFinished`, `Activity`, `Relabel`, `ReadHandoffs`, `Snapshot`,
//! `SeedingDone` and `Interrupt`; emits every transition as a numbered
//! [`QueueEvent`] to its subscribers, dispatches ready tasks to idle agents
//! while the cap allows, and sends `RunFinished` when nothing can happen any
//! more. It never awaits: every handler is a quick state change.

use std::collections::HashMap;

use actix::prelude::*;

use super::persist::AuditLog;
use crate::clock;
use crate::messages::{
    Activity, AttemptFinished, Enqueue, EventKind, Interrupt, QueueEvent, ReadHandoffs, Relabel,
    RunFinished, RunInfo, RunTask, SeedingDone, Snapshot, Task, TaskHandoff, TaskId,
};
use crate::queue::{GuardError, Halt, QueryError, QueueState};

/// How the queue starts: a fresh run, or a resumed one.
#[derive(Debug, Clone)]
pub enum Start {
    /// A new run.
    Fresh,
    /// A resumed run: these tasks went back to pending; events continue after `last_seq`.
    Resumed {
        /// Ids requeued on load.
        requeued: Vec<TaskId>,
        /// The last event number already recorded.
        last_seq: u64,
    },
}

/// The queue actor.
pub struct QueueActor {
    state: QueueState,
    run: RunInfo,
    start: Start,
    idle: Vec<Recipient<RunTask>>,
    busy: HashMap<TaskId, Recipient<RunTask>>,
    subscribers: Vec<Recipient<QueueEvent>>,
    on_finish: Vec<Recipient<RunFinished>>,
    seq: u64,
    finished: bool,
    budget: Option<Budget>,
    audit: Option<AuditLog>,
}

/// A run-level token or cost limit: no new task starts once reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Largest total cost, in US dollars.
    pub max_usd: Option<f64>,
    /// Largest total of input and output tokens.
    pub max_tokens: Option<u64>,
}

impl QueueActor {
    /// A queue actor over `state`, for `run`, dispatching to `agents`.
    pub fn new(
        state: QueueState,
        run: RunInfo,
        start: Start,
        agents: Vec<Recipient<RunTask>>,
    ) -> Self {
        let seq = match &start {
            Start::Fresh => 0,
            Start::Resumed { last_seq, .. } => *last_seq,
        };
        Self {
            state,
            run,
            start,
            idle: agents,
            busy: HashMap::new(),
            subscribers: Vec::new(),
            on_finish: Vec::new(),
            seq,
            finished: false,
            budget: None,
            audit: None,
        }
    }

    /// Adds an event subscriber (persister, UI, telemetry).
    pub fn subscribe(mut self, subscriber: Recipient<QueueEvent>) -> Self {
        self.subscribers.push(subscriber);
        self
    }

    /// Adds someone to tell when the run is over.
    pub fn notify_finish(mut self, recipient: Recipient<RunFinished>) -> Self {
        self.on_finish.push(recipient);
        self
    }

    /// Appends every event to this write-ahead log before anyone sees it.
    pub fn with_audit(mut self, audit: AuditLog) -> Self {
        self.audit = Some(audit);
        self
    }

    /// Sets a run budget.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = Some(budget);
        self
    }

    fn emit(&mut self, kinds: Vec<EventKind>) {
        for kind in kinds {
            self.seq += 1;
            let event = QueueEvent {
                seq: self.seq,
                t_ms: clock::now_ms(),
                kind,
            };
            if let Some(log) = self.audit.as_mut() {
                log.append(&event);
            }
            for s in &self.subscribers {
                s.do_send(event.clone());
            }
        }
    }

    /// Dispatches what may start, then ends the run if nothing more can happen.
    fn pump(&mut self) {
        if self.finished {
            return;
        }
        while !self.idle.is_empty() {
            let Some((task, ancestors, events)) = self.state.start_next() else {
                break;
            };
            self.emit(events);
            let Some(agent) = self.idle.pop() else { break };
            agent.do_send(RunTask {
                task: task.clone(),
                ancestors,
            });
            self.busy.insert(task.id, agent);
        }
        if self.state.is_over() {
            self.finished = true;
            let outcome = self.state.outcome();
            self.emit(vec![EventKind::RunFinished {
                outcome: outcome.clone(),
            }]);
            let storage_error = self.audit.as_mut().and_then(|log| {
                log.sync();
                log.error().map(str::to_string)
            });
            for r in &self.on_finish {
                r.do_send(RunFinished {
                    outcome: outcome.clone(),
                    storage_error: storage_error.clone(),
                });
            }
        }
    }

    fn check_budget(&mut self) {
        let Some(budget) = self.budget else { return };
        let (mut tokens, mut cost) = (0u64, 0.0f64);
        for t in self.state.tasks() {
            tokens += t.usage.total();
            cost += t.cost_usd;
        }
        let over_usd = budget.max_usd.is_some_and(|m| cost >= m);
        let over_tokens = budget.max_tokens.is_some_and(|m| tokens >= m);
        if over_usd || over_tokens {
            let what = if over_usd {
                format!(
                    "the cost budget of ${:.2} was reached (${cost:.2} spent)",
                    budget.max_usd.unwrap_or(0.0)
                )
            } else {
                format!(
                    "the token budget of {} was reached ({tokens} used)",
                    budget.max_tokens.unwrap_or(0)
                )
            };
            self.state.halt(Halt {
                verdict: crate::messages::Verdict::BudgetExhausted,
                message: format!("Stopped: {what}; resume with a larger budget to continue."),
            });
        }
    }
}

impl Actor for QueueActor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        let run = self.run.clone();
        let first = match &self.start {
            Start::Fresh => vec![EventKind::RunStarted { run }],
            Start::Resumed { requeued, .. } => {
                let mut events = vec![EventKind::RunResumed {
                    run,
                    requeued: requeued.clone(),
                }];
                for id in requeued {
                    if let Some(task) = self.state.task(id) {
                        events.push(EventKind::TaskRequeued {
                            task: task.clone(),
                            reason: "resumed after the run stopped".into(),
                        });
                    }
                }
                events
            }
        };
        self.emit(first);
        self.check_budget();
        if matches!(self.start, Start::Resumed { .. }) {
            self.pump();
        }
    }
}

impl Handler<Enqueue> for QueueActor {
    type Result = Result<TaskId, GuardError>;

    fn handle(&mut self, msg: Enqueue, _ctx: &mut Self::Context) -> Self::Result {
        if self.finished {
            return Err(GuardError::Closed);
        }
        match self.state.enqueue(&msg.by, msg.spec) {
            Ok((id, events)) => {
                self.emit(events);
                self.pump();
                Ok(id)
            }
            Err(e) => {
                tracing::info!(
                    guard = e.guard(),
                    by = msg.by.name(),
                    "enqueue refused: {e}"
                );
                Err(e)
            }
        }
    }
}

impl Handler<AttemptFinished> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: AttemptFinished, _ctx: &mut Self::Context) {
        if let Some(agent) = self.busy.remove(&msg.task_id) {
            self.idle.push(agent);
        }
        if msg.provider_retries > 0
            && self
                .state
                .task(&msg.task_id)
                .is_some_and(|t| t.attempts == msg.attempt)
        {
            self.state
                .record_retries(&msg.task_id, msg.provider_retries);
        }
        let events =
            self.state
                .finish_attempt(&msg.task_id, msg.attempt, msg.end, msg.usage, msg.cost_usd);
        self.emit(events);
        self.check_budget();
        self.pump();
    }
}

impl Handler<Activity> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: Activity, _ctx: &mut Self::Context) {
        if self.finished {
            return;
        }
        self.emit(vec![EventKind::TaskActivity {
            task_id: msg.task_id,
            phrase: msg.phrase,
            usage: msg.usage,
            cost_usd: msg.cost_usd,
        }]);
    }
}

impl Handler<Relabel> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: Relabel, _ctx: &mut Self::Context) {
        // `run_finished` is the last event of a run; a late relabel must not follow it.
        if self.finished {
            return;
        }
        if let Some(event) = self.state.relabel(&msg.task_id, &msg.label) {
            self.emit(vec![event]);
        }
    }
}

impl Handler<ReadHandoffs> for QueueActor {
    type Result = Result<Vec<TaskHandoff>, QueryError>;

    fn handle(&mut self, msg: ReadHandoffs, _ctx: &mut Self::Context) -> Self::Result {
        self.state.read_handoffs(&msg.query)
    }
}

impl Handler<Snapshot> for QueueActor {
    type Result = MessageResult<Snapshot>;

    fn handle(&mut self, _msg: Snapshot, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.state.tasks().to_vec())
    }
}

impl Handler<SeedingDone> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: SeedingDone, _ctx: &mut Self::Context) {
        self.emit(vec![EventKind::SeedingFinished {
            error: msg.error.clone(),
        }]);
        self.state.seeding_done(msg.error, msg.usage, msg.cost_usd);
        self.pump();
    }
}

impl Handler<Interrupt> for QueueActor {
    type Result = ();

    fn handle(&mut self, _msg: Interrupt, _ctx: &mut Self::Context) {
        if self.finished {
            return;
        }
        let events = self.state.interrupt();
        self.emit(events);
        self.idle.extend(self.busy.drain().map(|(_, a)| a));
        self.pump();
    }
}

/// A helper for tests and the runner: every task in enqueue order.
pub async fn snapshot(queue: &Addr<QueueActor>) -> Vec<Task> {
    queue.send(Snapshot).await.unwrap_or_default()
}
