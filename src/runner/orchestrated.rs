//! The orchestrator runner: starts the actors of one run and waits for its verdict.
//!
//! Must be called inside an actix `System`. The persister gets its own
//! arbiter (disk waits never stall the queue); everything else shares the
//! system's thread, and slow work inside agents goes to tokio's blocking pool.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::actors::audit::{AuditWriter, Listener};
use crate::actors::orchestrator::Orchestrator;
use crate::actors::persist::{AuditLog, PersistActor};
use crate::actors::queue::{Budget, QueueActor, Start};
use crate::actors::task_agent::TaskAgent;
use crate::actors::ui::{UiActor, UiMode};
use crate::agent::AgentBackend;
use crate::messages::{
    Flush, GetStats, Interrupt, PersistStats, QueueEvent, QueueFile, RunInfo, RunOutcome, RunTask,
    SetInterrupt, TakeView,
};
use crate::queue::{Catalogue, QueueLimits, QueueState};
use crate::ui::view::RunView;

/// Everything a run needs.
pub struct RunSetup {
    /// `<installDir>/.posthog-wizard`.
    pub state_dir: PathBuf,
    /// Limits (concurrency included).
    pub limits: QueueLimits,
    /// Task types the run may enqueue.
    pub catalogue: Catalogue,
    /// What runs tasks and the seed.
    pub backend: Arc<dyn AgentBackend>,
    /// How the run is shown.
    pub ui: UiMode,
    /// The run's identity.
    pub run: RunInfo,
    /// The saved queue, when resuming.
    pub resume: Option<QueueFile>,
    /// A token or cost limit.
    pub budget: Option<Budget>,
    /// Extra event subscribers (telemetry, tests).
    pub subscribers: Vec<Recipient<QueueEvent>>,
    /// Extra actors to flush at the end (telemetry).
    pub flush: Vec<Recipient<Flush>>,
    /// How long the persister gathers events before a `queue.json` write.
    pub coalesce: Duration,
    /// Make `queue.json` writes fail after this many good ones (storage-fault tests).
    pub fail_queue_writes_after: Option<u64>,
    /// The TUI's asker for permission asks, connected to the UI actor once it starts.
    pub asker: Option<Arc<crate::ui::asker::UiAsker>>,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The verdict and totals.
    pub outcome: RunOutcome,
    /// Files that could not be written.
    pub storage_errors: Vec<String>,
    /// The run as the user saw it (for the reports and the outro).
    pub view: RunView,
    /// What the persister wrote (`queue.json` writes and bytes, audit bytes): the benchmarks read it.
    pub persist: PersistStats,
}

/// Runs the orchestrator to its verdict. Ctrl-C and SIGTERM interrupt it gracefully.
pub async fn run(setup: RunSetup) -> RunResult {
    let RunSetup {
        state_dir,
        limits,
        catalogue,
        backend,
        ui,
        run,
        resume,
        budget,
        subscribers,
        flush: extra_flush,
        coalesce,
        fail_queue_writes_after,
        asker,
    } = setup;

    let mut ui_actor = UiActor::new(ui, run.framework.clone());
    if let Some(file) = &resume {
        ui_actor = ui_actor.with_tasks(&file.tasks);
    }
    let seed_again = resume.as_ref().is_none_or(|f| !f.seeded);
    let (state, start, persist) = match resume {
        None => (
            QueueState::new(limits.clone(), catalogue),
            Start::Fresh,
            PersistActor::fresh(state_dir.clone(), &run),
        ),
        Some(file) => {
            let last_seq = file.last_seq;
            let (mut state, requeued) =
                QueueState::restore(limits.clone(), catalogue, file.tasks.clone(), file.seeded);
            state.set_concurrency(limits.concurrency);
            (
                state,
                Start::Resumed { requeued, last_seq },
                PersistActor::new(state_dir.clone(), file),
            )
        }
    };
    let seed = seed_again;
    let mut persist = persist.with_coalesce(coalesce);
    if let Some(good) = fail_queue_writes_after {
        persist = persist.failing_writes_after(good);
    }
    let persist_arbiter = Arbiter::new();
    let persist = PersistActor::start_in_arbiter(&persist_arbiter.handle(), move |_| persist);
    let ui = ui_actor.start();
    // Before the queue starts, so no task can ask before the panel is there.
    if let Some(asker) = &asker {
        asker.connect(ui.clone().recipient());
    }

    let (done_tx, done_rx) = oneshot::channel();
    let audit_dir = state_dir.clone();
    let concurrency = limits.concurrency.max(1);
    let queue = QueueActor::create(|qctx| {
        let queue_addr = qctx.address();
        let agents: Vec<Recipient<RunTask>> = (0..concurrency)
            .map(|_| {
                TaskAgent::new(backend.clone(), queue_addr.clone())
                    .start()
                    .recipient()
            })
            .collect();
        let mut flush: Vec<Recipient<Flush>> =
            vec![persist.clone().recipient(), ui.clone().recipient()];
        flush.extend(extra_flush);
        let log = AuditLog::new(&audit_dir).for_run(&run.run_id);
        // Subscribers hear of each event from the log's writer, once it is written:
        // whatever the user saw, and whatever queue.json says, is in the log.
        // The persister, on its own arbiter, is waited for; the rest share the
        // queue's thread and are never waited for (see `actors::audit`).
        let mut listeners = vec![
            Listener::wait(persist.clone().recipient()),
            Listener::coalesce(ui.clone().recipient()),
        ];
        listeners.extend(subscribers.into_iter().map(Listener::coalesce));
        let audit = AuditWriter::start(log, listeners.clone());
        let actor = QueueActor::new(state, run, start, agents);
        let orchestrator = Orchestrator::new(
            queue_addr,
            backend.clone(),
            seed,
            actor.seed_token(),
            flush,
            done_tx,
        )
        .start();
        let mut actor = match audit {
            Ok(audit) => actor.with_audit(audit),
            Err(e) => {
                tracing::error!("no thread for the event log ({e}); running without it");
                listeners
                    .into_iter()
                    .map(|l| l.to)
                    .fold(actor, QueueActor::subscribe)
            }
        };
        actor = actor.notify_finish(orchestrator.recipient());
        if let Some(b) = budget {
            actor = actor.with_budget(b);
        }
        actor
    });

    ui.do_send(SetInterrupt(queue.clone().recipient()));
    let signals = actix::spawn(interrupt_on_signal(queue.clone()));
    let (outcome, storage_errors) = match done_rx.await {
        Ok(done) => done,
        Err(_) => (
            QueueState::new(QueueLimits::default(), Catalogue::default()).outcome(),
            vec!["the run stopped before it reached a verdict".into()],
        ),
    };
    let view = ui.send(TakeView).await.unwrap_or_default();
    let persist = persist.send(GetStats).await.unwrap_or_default();
    let result = RunResult {
        outcome,
        storage_errors,
        view,
        persist,
    };
    signals.abort();
    persist_arbiter.stop();
    result
}

async fn interrupt_on_signal(queue: Addr<QueueActor>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::warn!("interrupted: stopping dispatch and saving the queue");
    queue.do_send(Interrupt);
}
