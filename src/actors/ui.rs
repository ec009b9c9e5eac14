//! UiActor: shows the run. Renders `QueueEvent`s and nothing else.
//!
//! Owns only a [`RunView`] folded from events. In TUI mode it owns the
//! terminal (raw mode, alternate screen), redraws on a 100 ms tick, and
//! turns `q` / Ctrl-C into an `Interrupt` for the queue; nothing else
//! writes to the terminal while it is up. Plain mode prints one line per
//! transition; JSON mode prints one JSON object per event on stdout and
//! nothing else there. In TUI mode an `AskUser` opens the ask panel and the
//! next `o` / `r` / `d` answers it (tasks keep running meanwhile); without a
//! terminal the ask is dropped, which reads as "not asked". `Flush` restores the terminal; `TakeView` hands the
//! view to the runner for the reports and the outro.
//!
//! Plain and JSON lines go through a [`LineOut`]: a bounded channel to a
//! writer thread, so a reader that stops reading never stalls this thread
//! (the queue's and the agents'). `Flush` returns once every line is written.

use std::collections::VecDeque;
use std::time::Duration;

use actix::prelude::*;

use crate::clock;
use crate::messages::{AskUser, EventKind, Flush, Interrupt, QueueEvent, SetInterrupt, TakeView};
use crate::tools::asks::Answer;
use crate::ui::lines::{json_line, plain_line};
use crate::ui::output::LineOut;
use crate::ui::terminal::{TerminalUi, UiKey};
use crate::ui::view::RunView;

/// How the run is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiMode {
    /// The full-screen terminal UI.
    Tui,
    /// One line per transition.
    Plain,
    /// One JSON object per event.
    Json,
    /// Nothing (tests, benchmarks).
    Quiet,
}

/// The UI actor.
pub struct UiActor {
    mode: UiMode,
    view: RunView,
    terminal: Option<TerminalUi>,
    interrupt: Option<Recipient<Interrupt>>,
    quit_sent: bool,
    // Asks waiting for a key, the one on screen first.
    asks: VecDeque<AskUser>,
    /// Plain and JSON lines, written on their own thread.
    out: Option<LineOut>,
}

impl UiActor {
    /// A UI in this mode for an app with this detected framework.
    pub fn new(mode: UiMode, framework: Option<String>) -> Self {
        let mut view = RunView::new();
        view.set_framework(framework);
        Self {
            mode,
            view,
            terminal: None,
            interrupt: None,
            quit_sent: false,
            asks: VecDeque::new(),
            out: None,
        }
    }

    /// Starts from the tasks of a resumed run.
    pub fn with_tasks<T: Clone + Into<std::sync::Arc<crate::messages::Task>>>(
        mut self,
        tasks: &[T],
    ) -> Self {
        self.view.load_tasks(tasks);
        self
    }

    /// Hands a line to the writer; an activity line may be dropped when the reader is behind.
    fn print(&mut self, line: String, activity: bool) {
        match self.out.as_mut() {
            Some(out) => out.line(line, activity),
            None => println!("{line}"),
        }
    }

    /// Starts the line writer (plain and JSON modes) and keeps it catching up.
    fn start_lines(&mut self, ctx: &mut Context<Self>) {
        match LineOut::stdout() {
            Ok(out) => self.out = Some(out),
            Err(e) => tracing::warn!("no output thread ({e}); printing directly"),
        }
        ctx.run_interval(Duration::from_millis(20), |act, _| {
            if let Some(out) = act.out.as_mut().filter(|o| o.behind()) {
                out.catch_up();
            }
        });
    }

    fn tick(&mut self) {
        let Some(term) = self.terminal.as_mut() else {
            return;
        };
        match term.poll_key(Duration::ZERO) {
            Ok(Some(UiKey::Quit)) if !self.quit_sent => {
                self.quit_sent = true;
                if let Some(r) = &self.interrupt {
                    r.do_send(Interrupt);
                }
            }
            Ok(Some(UiKey::AllowOnce)) => self.answer(Answer::AllowOnce),
            Ok(Some(UiKey::AllowRun)) => self.answer(Answer::AllowRun),
            Ok(Some(UiKey::Deny)) => self.answer(Answer::Deny),
            Ok(_) => {}
            Err(e) => tracing::warn!("terminal input failed: {e}"),
        }
        // An ask whose asker stopped waiting (it timed out) leaves the screen.
        self.asks.retain(|a| !a.reply.is_closed());
        self.view.set_ask(self.asks.front().map(|a| a.ask.clone()));
        let Some(term) = self.terminal.as_mut() else {
            return;
        };
        if let Err(e) = term.draw(&self.view, clock::now_ms()) {
            tracing::warn!("terminal draw failed: {e}");
        }
    }

    /// Answers the ask on screen, if there is one.
    fn answer(&mut self, answer: Answer) {
        if let Some(ask) = self.asks.pop_front() {
            let _ = ask.reply.send(answer);
        }
    }

    fn stop_terminal(&mut self) {
        if let Some(mut term) = self.terminal.take() {
            let _ = term.draw(&self.view, clock::now_ms());
            if let Err(e) = term.stop() {
                tracing::warn!("could not restore the terminal: {e}");
            }
        }
    }
}

impl Actor for UiActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Past this backlog the audit writer drops activity events for the UI.
        ctx.set_mailbox_capacity(crate::actors::audit::COALESCE_MAILBOX);
        if matches!(self.mode, UiMode::Plain | UiMode::Json) {
            self.start_lines(ctx);
        }
        if self.mode != UiMode::Tui {
            return;
        }
        match TerminalUi::start() {
            Ok(term) => {
                self.terminal = Some(term);
                ctx.run_interval(Duration::from_millis(100), |act, _| act.tick());
            }
            Err(e) => {
                tracing::warn!("no terminal UI ({e}); showing plain lines");
                self.mode = UiMode::Plain;
                self.start_lines(ctx);
            }
        }
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.stop_terminal();
    }
}

impl Handler<QueueEvent> for UiActor {
    type Result = ();

    fn handle(&mut self, event: QueueEvent, _ctx: &mut Self::Context) {
        // The phase is the view's to fold: seeding ends with `SeedingFinished`, not with
        // the first task, since tasks start while the seed still plans the rest.
        self.view.apply(&event);
        let activity = matches!(
            event.kind,
            EventKind::TaskActivity { .. } | EventKind::SeedActivity { .. }
        );
        match self.mode {
            UiMode::Json => self.print(json_line(&event), activity),
            UiMode::Plain => {
                if let Some(line) = plain_line(&event, &self.view) {
                    self.print(line, activity);
                }
            }
            UiMode::Tui => {
                if let (Some(term), false) = (
                    self.terminal.as_mut(),
                    matches!(event.kind, EventKind::TaskActivity { .. }),
                ) {
                    let _ = term.draw(&self.view, event.t_ms);
                }
            }
            UiMode::Quiet => {}
        }
    }
}

impl Handler<AskUser> for UiActor {
    type Result = ();

    fn handle(&mut self, msg: AskUser, _ctx: &mut Self::Context) {
        // Without the TUI on screen no one can see the ask: dropping it answers "not asked".
        let Some(term) = self.terminal.as_mut() else {
            return;
        };
        self.asks.push_back(msg);
        self.view.set_ask(self.asks.front().map(|a| a.ask.clone()));
        let _ = term.draw(&self.view, clock::now_ms());
    }
}

impl Handler<SetInterrupt> for UiActor {
    type Result = ();

    fn handle(&mut self, msg: SetInterrupt, _ctx: &mut Self::Context) {
        self.interrupt = Some(msg.0);
    }
}

impl Handler<Flush> for UiActor {
    type Result = ResponseFuture<Result<(), String>>;

    fn handle(&mut self, _msg: Flush, _ctx: &mut Self::Context) -> Self::Result {
        self.stop_terminal();
        // Waiting for the reader is blocking work: on the blocking pool.
        let drain = self.out.as_mut().map(LineOut::drain);
        Box::pin(async move {
            if let Some(drain) = drain {
                let _ = tokio::task::spawn_blocking(drain).await;
            }
            Ok(())
        })
    }
}

impl Handler<TakeView> for UiActor {
    type Result = MessageResult<TakeView>;

    fn handle(&mut self, _msg: TakeView, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(std::mem::take(&mut self.view))
    }
}
