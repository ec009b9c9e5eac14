//! QueueActor: the one owner of task state.
//!
//! Owns a [`QueueState`] and the pool of idle task agents. Takes `Enqueue`,
//! `AttemptFinished`, `Activity`, `Relabel`, `ReadHandoffs`, `Snapshot`,
//! `SeedingDone` and `Interrupt`; emits every transition as a numbered
//! [`QueueEvent`] to its subscribers, dispatches ready tasks to idle agents
//! while the cap allows, and sends `RunFinished` when nothing can happen any
//! more. It never awaits: every handler is a quick state change.
//!
//! A run goes through [`Phase`]s: seeding → running → draining → finished.
//! Every attempt runs under a child of the run's [`CancellationToken`]; an
//! interrupt or a budget stop cancels the running attempts (and the seed) and
//! drains: the queue waits, at most [`DRAIN_GRACE`], for their reports so
//! their usage is kept, then finishes. The end of the run cancels the run's
//! token. After `run_finished`, every message is dropped (with a debug log):
//! nothing changes a finished run.

use std::collections::HashMap;
use std::time::Duration;

use actix::prelude::*;

use super::audit::AuditWriter;
use crate::cancel::{CancellationToken, Carried};
use crate::clock;
use crate::messages::{
    Activity, AttemptFinished, Enqueue, EventKind, Interrupt, QueueEvent, ReadHandoffs, Relabel,
    RunFinished, RunInfo, RunTask, SeedActivity, SeedingDone, Snapshot, Task, TaskHandoff, TaskId,
};
use crate::queue::{GuardError, Halt, QueryError, QueueState};

/// How long a draining run waits for stopped attempts (and the seed) to report.
pub const DRAIN_GRACE: Duration = Duration::from_secs(3);

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

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The seeding agent may still enqueue; tasks already run.
    Seeding,
    /// Seeding is over; tasks run until the queue is empty.
    Running,
    /// Stopped (interrupt, budget): nothing starts; waiting for running work to report.
    Draining,
    /// `run_finished` was emitted; every later message is dropped.
    Finished,
}

/// An attempt in flight.
struct Busy {
    agent: Recipient<RunTask>,
    attempt: u32,
    token: CancellationToken,
    /// Set when the queue stopped the attempt: its report requeues the task, with this reason.
    stopped: Option<String>,
}

/// The queue actor.
pub struct QueueActor {
    state: QueueState,
    run: RunInfo,
    start: Start,
    phase: Phase,
    idle: Vec<Recipient<RunTask>>,
    busy: HashMap<TaskId, Busy>,
    subscribers: Vec<Recipient<QueueEvent>>,
    on_finish: Vec<Recipient<RunFinished>>,
    seq: u64,
    budget: Option<Budget>,
    audit: Option<AuditWriter>,
    /// The run's token: every attempt's token and the seed's are its children.
    token: CancellationToken,
    seed_token: CancellationToken,
    drain_grace: Duration,
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
        let phase = if state.seeding_open() {
            Phase::Seeding
        } else {
            Phase::Running
        };
        let token = CancellationToken::new();
        Self {
            state,
            run,
            start,
            phase,
            idle: agents,
            busy: HashMap::new(),
            subscribers: Vec::new(),
            on_finish: Vec::new(),
            seq,
            budget: None,
            audit: None,
            seed_token: token.child_token(),
            token,
            drain_grace: DRAIN_GRACE,
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

    /// Hands every event to this write-ahead log's writer before anyone sees it.
    pub fn with_audit(mut self, audit: AuditWriter) -> Self {
        self.audit = Some(audit);
        self
    }

    /// Sets a run budget.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Sets how long a stopped run waits for its attempts to report.
    pub fn with_drain_grace(mut self, grace: Duration) -> Self {
        self.drain_grace = grace;
        self
    }

    /// The token the seeding agent runs under: cancelled by an interrupt, a
    /// budget stop and the end of the run.
    pub fn seed_token(&self) -> CancellationToken {
        self.seed_token.clone()
    }

    /// The run's token: cancelled when the run ends.
    pub fn run_token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// The phase the run is in.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    fn emit(&mut self, kinds: Vec<EventKind>) {
        for kind in kinds {
            self.seq = self.seq.saturating_add(1);
            let event = QueueEvent {
                seq: self.seq,
                t_ms: clock::now_ms(),
                kind,
            };
            // Subscribers get the event only once the log's writer has it (the
            // writer's own downstream, only once it is written).
            if let Some(log) = &self.audit {
                log.append(event.clone());
            }
            for s in &self.subscribers {
                s.do_send(event.clone());
            }
        }
    }

    /// True (with a debug log) when the run is over and `what` must be dropped.
    fn ended(&self, what: &str) -> bool {
        if self.phase == Phase::Finished {
            tracing::debug!("dropped {what}: the run already finished");
            return true;
        }
        false
    }

    /// Dispatches what may start, then ends the run if nothing more can happen.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        if self.phase == Phase::Finished {
            return;
        }
        while self.phase != Phase::Draining && !self.idle.is_empty() {
            let Some((task, ancestors, events)) = self.state.start_next() else {
                break;
            };
            self.emit(events);
            let Some(agent) = self.idle.pop() else { break };
            let token = self.token.child_token();
            agent.do_send(RunTask {
                task: Task::clone(&task),
                ancestors,
                cancel: Carried(token.clone()),
            });
            self.busy.insert(
                task.id.clone(),
                Busy {
                    agent,
                    attempt: task.attempts,
                    token,
                    stopped: None,
                },
            );
        }
        let seed_out = self.phase != Phase::Draining || !self.state.seeding_open();
        if self.state.is_over() && seed_out {
            self.finish(ctx);
        }
    }

    /// Stops everything in flight: the running attempts and the seed are cancelled
    /// and the run waits, at most the grace period, for them to report.
    fn drain(&mut self, ctx: &mut Context<Self>, reason: &str) {
        if matches!(self.phase, Phase::Draining | Phase::Finished) {
            return;
        }
        self.phase = Phase::Draining;
        if let Some(log) = &self.audit {
            log.sync_later();
        }
        self.seed_token.cancel();
        for busy in self.busy.values_mut() {
            busy.stopped = Some(reason.to_string());
            busy.token.cancel();
        }
        let reason = reason.to_string();
        ctx.run_later(self.drain_grace, move |act, ctx| act.give_up(ctx, &reason));
    }

    /// The grace period is over: what has not reported is requeued without its report.
    fn give_up(&mut self, ctx: &mut Context<Self>, reason: &str) {
        if self.phase == Phase::Finished {
            return;
        }
        if !self.busy.is_empty() || self.state.seeding_open() {
            tracing::warn!(
                attempts = self.busy.len(),
                seeding = self.state.seeding_open(),
                "stopped work did not report within {:?}; ending the run without it",
                self.drain_grace
            );
        }
        self.busy.clear();
        if self.state.seeding_open() {
            self.state.seed_stopped(Default::default(), 0.0);
        }
        let events = self.state.requeue_running(reason);
        self.emit(events);
        self.pump(ctx);
    }

    fn finish(&mut self, _ctx: &mut Context<Self>) {
        self.phase = Phase::Finished;
        let outcome = self.state.outcome();
        self.emit(vec![EventKind::RunFinished {
            outcome: outcome.clone(),
        }]);
        // Whatever still runs for this run (a straggler past the grace, the seed) stops now.
        self.token.cancel();
        let on_finish = std::mem::take(&mut self.on_finish);
        let synced = self.audit.take().map(|log| log.sync());
        // The log's fsync runs on its writer's thread; the run is over once it is done.
        actix::spawn(async move {
            let errors = match synced {
                Some(answer) => answer
                    .await
                    .unwrap_or_else(|_| vec!["the event log's writer stopped".to_string()]),
                None => Vec::new(),
            };
            let storage_error = (!errors.is_empty()).then(|| errors.join("\n"));
            for r in &on_finish {
                r.do_send(RunFinished {
                    outcome: outcome.clone(),
                    storage_error: storage_error.clone(),
                });
            }
        });
    }

    fn check_budget(&mut self, ctx: &mut Context<Self>) {
        let Some(budget) = self.budget else { return };
        if self.state.is_stopped() {
            return;
        }
        let (tokens, cost) = self.state.spent();
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
            self.drain(ctx, "stopped: the budget was reached");
        }
    }
}

impl Actor for QueueActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
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
        self.check_budget(ctx);
        if matches!(self.start, Start::Resumed { .. }) {
            self.pump(ctx);
        }
    }
}

impl Handler<Enqueue> for QueueActor {
    type Result = Result<TaskId, GuardError>;

    fn handle(&mut self, msg: Enqueue, ctx: &mut Self::Context) -> Self::Result {
        if self.ended("an enqueue") || self.phase == Phase::Draining {
            return Err(GuardError::Closed);
        }
        match self.state.enqueue(&msg.by, msg.spec) {
            Ok((id, events)) => {
                self.emit(events);
                self.pump(ctx);
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

    fn handle(&mut self, msg: AttemptFinished, ctx: &mut Self::Context) {
        if self.ended("an attempt's report") {
            return;
        }
        let stopped = match self.busy.remove(&msg.task_id) {
            Some(busy) if busy.attempt == msg.attempt => {
                self.idle.push(busy.agent);
                busy.stopped
            }
            Some(busy) => {
                // A stale report of an older attempt: the current one is still in flight.
                self.busy.insert(msg.task_id.clone(), busy);
                None
            }
            None => None,
        };
        let events = match stopped {
            Some(reason) => self.state.requeue_stopped(
                &msg.task_id,
                msg.attempt,
                msg.usage,
                msg.cost_usd,
                &reason,
            ),
            None => {
                if msg.provider_retries > 0
                    && self
                        .state
                        .task(&msg.task_id)
                        .is_some_and(|t| t.attempts == msg.attempt)
                {
                    self.state
                        .record_retries(&msg.task_id, msg.provider_retries);
                }
                self.state.finish_attempt(
                    &msg.task_id,
                    msg.attempt,
                    msg.end,
                    msg.usage,
                    msg.cost_usd,
                )
            }
        };
        self.emit(events);
        self.check_budget(ctx);
        self.pump(ctx);
    }
}

impl Handler<Activity> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: Activity, _ctx: &mut Self::Context) {
        if self.ended("an activity") {
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

impl Handler<SeedActivity> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: SeedActivity, _ctx: &mut Self::Context) {
        if self.ended("a seed activity") {
            return;
        }
        self.emit(vec![EventKind::SeedActivity {
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
        if self.ended("a relabel") {
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
        MessageResult(self.state.tasks().iter().map(|t| Task::clone(t)).collect())
    }
}

impl Handler<SeedingDone> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: SeedingDone, ctx: &mut Self::Context) {
        if self.ended("the end of seeding") {
            return;
        }
        if self.phase == Phase::Draining && self.seed_token.is_cancelled() {
            // The seed was stopped, not finished: keep what it used, but do not
            // record the run as seeded, so a resume plans the rest.
            self.state.seed_stopped(msg.usage, msg.cost_usd);
            self.pump(ctx);
            return;
        }
        if self.phase == Phase::Seeding {
            self.phase = Phase::Running;
        }
        self.emit(vec![EventKind::SeedingFinished {
            error: msg.error.clone(),
        }]);
        self.state.seeding_done(msg.error, msg.usage, msg.cost_usd);
        self.check_budget(ctx);
        self.pump(ctx);
    }
}

impl Handler<Interrupt> for QueueActor {
    type Result = ();

    fn handle(&mut self, _msg: Interrupt, ctx: &mut Self::Context) {
        if self.ended("an interrupt") {
            return;
        }
        self.state.close();
        self.drain(ctx, "interrupted");
        self.pump(ctx);
    }
}

/// Every task in enqueue order; an error when the queue is gone (never an empty answer).
pub async fn snapshot(queue: &Addr<QueueActor>) -> Result<Vec<Task>, MailboxError> {
    queue.send(Snapshot).await
}
