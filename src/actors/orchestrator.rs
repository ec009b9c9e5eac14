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
use super::task_agent::{describe_limit, panic_message, QueuePort};
use crate::agent::{AgentBackend, SeedReport, TaskPort};
use crate::cancel::CancellationToken;
use crate::messages::{Flush, RunFinished, RunOutcome, SeedingDone};

/// The orchestrator.
pub struct Orchestrator {
    queue: Addr<QueueActor>,
    backend: Arc<dyn AgentBackend>,
    seed: bool,
    seed_token: CancellationToken,
    flush: Vec<Recipient<Flush>>,
    done: Option<oneshot::Sender<(RunOutcome, Vec<String>)>>,
}

impl Orchestrator {
    /// An orchestrator that seeds with `backend` (when `seed`, under `seed_token`)
    /// and reports the outcome, with any flush errors, on `done`.
    pub fn new(
        queue: Addr<QueueActor>,
        backend: Arc<dyn AgentBackend>,
        seed: bool,
        seed_token: CancellationToken,
        flush: Vec<Recipient<Flush>>,
        done: oneshot::Sender<(RunOutcome, Vec<String>)>,
    ) -> Self {
        Self {
            queue,
            backend,
            seed,
            seed_token,
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
        let seed_port = Arc::new(QueuePort::for_seed(self.queue.clone()));
        let port: Arc<dyn TaskPort> = seed_port.clone();
        let queue = self.queue.clone();
        let token = self.seed_token.clone();
        let limit = backend.seed_time_limit();
        let seeding = async move {
            let guarded = std::panic::AssertUnwindSafe(backend.seed(port));
            let scoped = crate::cancel::scope(token.clone(), guarded);
            // A seed cut short (stopped, or past its limit) still used what it reported.
            let cut = |error: String| {
                let (usage, cost_usd) = seed_port.usage_so_far();
                SeedReport {
                    error: Some(error),
                    usage,
                    cost_usd,
                }
            };
            let _cancel_on_end = token.clone().drop_guard();
            tokio::select! {
                outcome = tokio::time::timeout(limit, futures::FutureExt::catch_unwind(scoped)) => match outcome {
                    Ok(Ok(report)) => report,
                    Ok(Err(panic)) => cut(format!(
                        "the seeding agent crashed: {}",
                        panic_message(&panic)
                    )),
                    Err(_) => cut(format!(
                        "the seeding agent ran past its time limit of {}",
                        describe_limit(limit)
                    )),
                },
                () = token.cancelled() => cut("the seeding agent was stopped".into()),
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
            // Each subscriber reports every error of the run, one per line.
            let mut errors: Vec<String> = msg
                .storage_error
                .iter()
                .flat_map(|e| e.lines().map(str::to_string))
                .collect();
            for f in flush {
                match f.send(Flush).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => errors.extend(e.lines().map(str::to_string)),
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
