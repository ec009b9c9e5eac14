//! Orchestrator: seeds the queue, then waits for the verdict.
//!
//! Owns the seeding: it runs the backend's seeding agent (which enqueues
//! through a port as `orchestrator`) as a spawned future, so tasks start as
//! soon as they are enqueued and ready — seeding and execution overlap.
//! Takes `RunFinished` from the queue; flushes the subscribers that must
//! finish (files, terminal) and hands the outcome to whoever started the run.

use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::oneshot;

use super::queue::QueueActor;
use super::task_agent::{panic_message, QueuePort};
use crate::agent::{AgentBackend, SeedReport, TaskPort};
use crate::messages::{Flush, RunFinished, RunOutcome, SeedingDone};

/// The orchestrator.
pub struct Orchestrator {
    queue: Addr<QueueActor>,
    backend: Arc<dyn AgentBackend>,
    seed: bool,
    flush: Vec<Recipient<Flush>>,
    done: Option<oneshot::Sender<(RunOutcome, Vec<String>)>>,
}

impl Orchestrator {
    /// An orchestrator that seeds with `backend` (when `seed`) and reports the
    /// outcome, with any flush errors, on `done`.
    pub fn new(
        queue: Addr<QueueActor>,
        backend: Arc<dyn AgentBackend>,
        seed: bool,
        flush: Vec<Recipient<Flush>>,
        done: oneshot::Sender<(RunOutcome, Vec<String>)>,
    ) -> Self {
        Self {
            queue,
            backend,
            seed,
            flush,
            done: Some(done),
        }
    }
}

impl Actor for Orchestrator {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if !self.seed {
            self.queue.do_send(SeedingDone {
                error: None,
                usage: Default::default(),
                cost_usd: 0.0,
            });
            return;
        }
        let backend = self.backend.clone();
        let port: Arc<dyn TaskPort> = Arc::new(QueuePort::for_seed(self.queue.clone()));
        let queue = self.queue.clone();
        let seeding = async move {
            let guarded = std::panic::AssertUnwindSafe(backend.seed(port));
            match futures::FutureExt::catch_unwind(guarded).await {
                Ok(report) => report,
                Err(panic) => SeedReport {
                    error: Some(format!(
                        "the seeding agent crashed: {}",
                        panic_message(&panic)
                    )),
                    ..SeedReport::default()
                },
            }
        };
        ctx.spawn(seeding.into_actor(self).map(move |report, _act, _ctx| {
            if let Some(e) = &report.error {
                tracing::error!("seeding failed: {e}");
            }
            queue.do_send(SeedingDone {
                error: report.error,
                usage: report.usage,
                cost_usd: report.cost_usd,
            });
        }));
    }
}

impl Handler<RunFinished> for Orchestrator {
    type Result = ();

    fn handle(&mut self, msg: RunFinished, ctx: &mut Self::Context) {
        let flush = self.flush.clone();
        let done = self.done.take();
        let finish = async move {
            let mut errors = Vec::new();
            for f in flush {
                match f.send(Flush).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => errors.push(e),
                    Err(e) => errors.push(format!("a subscriber stopped before flushing: {e}")),
                }
            }
            if let Some(done) = done {
                let _ = done.send((msg.outcome, errors));
            }
        };
        ctx.spawn(finish.into_actor(self));
    }
}
