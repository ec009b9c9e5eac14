//! [`RunView`]: the run as the user sees it, folded from queue events.
//!
//! The queue owns task state; this is a subscriber's copy, rebuilt from the
//! fat [`QueueEvent`]s it is sent (each task event carries the whole task).
//! It adds what only the event stream knows: when each attempt started and
//! ended on the process clock (`t_ms`), the latest activity phrase of a
//! running task, its tokens so far, and the responsiveness figures (how soon
//! the first task started, how long the screen stayed still). Every renderer
//! in `ui` and `report` reads this one view, so the TUI, the plain lines and
//! the report never disagree.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::messages::{
    EventKind, QueueEvent, RunInfo, RunOutcome, Task, TaskId, TaskStatus, Usage, Variant,
};

/// Where the run is, as the caller knows it (seeding overlaps with running).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// The seeding agent is still planning; tasks may already be running.
    #[default]
    Seeding,
    /// Planning is over; the queue drains.
    Running,
    /// The run is over.
    Finished,
}

/// One attempt of a task on the process clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptSpan {
    /// When the attempt started (`t_ms`).
    pub start_ms: u64,
    /// When it ended (`t_ms`); `None` while it runs, or if the run stopped first.
    pub end_ms: Option<u64>,
}

/// One task as the user sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    /// The task as of its latest event (shared with the event that carried it).
    pub task: Arc<Task>,
    /// Every attempt seen in this process, oldest first.
    pub attempts: Vec<AttemptSpan>,
    /// When the task reached a terminal status (`t_ms`), if seen in this process.
    pub finished_ms: Option<u64>,
    /// What only a running or retrying task has, boxed: most rows of a large run are
    /// pending or finished, and four empty fields inline cost ~100 bytes a row.
    live: Option<Box<Live>>,
}

/// The parts of a row that change while its task runs or waits for a retry.
#[derive(Debug, Clone, Default, PartialEq)]
struct Live {
    activity: Option<String>,
    retry_reason: Option<String>,
    usage: Option<Usage>,
    cost: Option<f64>,
}

impl TaskRow {
    fn new(task: Arc<Task>) -> Self {
        Self {
            task,
            attempts: Vec::new(),
            finished_ms: None,
            live: None,
        }
    }

    /// The latest activity phrase of the current attempt.
    pub fn activity(&self) -> Option<&str> {
        self.live.as_ref()?.activity.as_deref()
    }

    /// Why the previous attempt did not succeed, while the task waits for a retry.
    pub fn retry_reason(&self) -> Option<&str> {
        self.live.as_ref()?.retry_reason.as_deref()
    }

    fn live_mut(&mut self) -> &mut Live {
        self.live.get_or_insert_with(Box::default)
    }

    /// The task id.
    pub fn id(&self) -> &str {
        &self.task.id
    }

    /// The task's status, with the reason when skipped.
    pub fn status(&self) -> &TaskStatus {
        &self.task.status
    }

    /// When the latest attempt started (`t_ms`), if seen in this process.
    pub fn started_ms(&self) -> Option<u64> {
        self.attempts.last().map(|a| a.start_ms)
    }

    /// Time spent on the latest attempt: until it ended, or until `now_ms` while it runs.
    ///
    /// Falls back to the task's wall-clock timestamps for a task that ran in
    /// an earlier process (a resumed run).
    pub fn elapsed_ms(&self, now_ms: u64) -> Option<u64> {
        match self.attempts.last() {
            Some(span) => {
                let end = span.end_ms.or(self.finished_ms).unwrap_or(now_ms);
                Some(end.saturating_sub(span.start_ms))
            }
            None => wall_clock_ms(&self.task),
        }
    }

    /// Time spent over every attempt seen in this process; an open attempt counts up to `now_ms`.
    ///
    /// Falls back to the task's wall-clock timestamps, like [`elapsed_ms`](Self::elapsed_ms).
    pub fn busy_ms(&self, now_ms: u64) -> Option<u64> {
        if self.attempts.is_empty() {
            return wall_clock_ms(&self.task);
        }
        let open_end = self.finished_ms.unwrap_or(now_ms);
        Some(
            self.attempts
                .iter()
                .map(|a| a.end_ms.unwrap_or(open_end).saturating_sub(a.start_ms))
                .sum(),
        )
    }

    /// Tokens over every attempt, including what the running attempt has used so far.
    pub fn usage(&self) -> Usage {
        let mut usage = self.task.usage;
        if let Some(live) = self.live.as_ref().and_then(|l| l.usage.as_ref()) {
            usage.add(live);
        }
        usage
    }

    /// Cost over every attempt, including the running attempt so far.
    pub fn cost_usd(&self) -> f64 {
        self.task.cost_usd + self.live.as_ref().and_then(|l| l.cost).unwrap_or(0.0)
    }

    /// The skip reason, when the task was skipped.
    pub fn skip_reason(&self) -> Option<&str> {
        match &self.task.status {
            TaskStatus::Skipped { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// Why the task failed, when it failed for good.
    pub fn failure_reason(&self) -> Option<&str> {
        match self.task.status {
            TaskStatus::Failed => Some(
                self.task
                    .error
                    .as_ref()
                    .map(|e| e.message.as_str())
                    .unwrap_or("failed"),
            ),
            _ => None,
        }
    }

    /// True when the task counts as done: completed, or skipped as not needed.
    pub fn is_done(&self) -> bool {
        self.task.status.satisfies_dependents()
    }

    fn end_attempt(&mut self, t_ms: u64) {
        if let Some(span) = self.attempts.last_mut() {
            if span.end_ms.is_none() {
                span.end_ms = Some(t_ms);
            }
        }
        // The task now carries the attempt's usage itself.
        if let Some(live) = self.live.as_mut() {
            live.usage = None;
            live.cost = None;
        }
    }
}

/// The duration between a task's wall-clock start and finish, when both are known.
fn wall_clock_ms(task: &Task) -> Option<u64> {
    let (start, end) = (task.started_at?, task.finished_at?);
    u64::try_from((end - start).num_milliseconds()).ok()
}

/// Tasks done and left, tokens and money, over the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Totals {
    /// Completed or skipped as not needed.
    pub done: usize,
    /// Every task in the run.
    pub total: usize,
    /// Failed for good.
    pub failed: usize,
    /// Skipped because a dependency failed.
    pub blocked: usize,
    /// Tokens over every task, running attempts included.
    pub usage: Usage,
    /// Cost over every task, running attempts included.
    pub cost_usd: f64,
}

impl Totals {
    /// Share of input tokens served from the prompt cache, when any input was sent.
    pub fn cache_hit_share(&self) -> Option<f64> {
        let input = self.usage.total_input();
        (input > 0).then(|| self.usage.cache_read_tokens as f64 / input as f64)
    }
}

/// The longest stretch with nothing new on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Silence {
    /// When it began (`t_ms`).
    pub from_ms: u64,
    /// When it ended (`t_ms`).
    pub to_ms: u64,
}

impl Silence {
    /// Its length.
    pub fn ms(&self) -> u64 {
        self.to_ms - self.from_ms
    }
}

/// How lively the run felt, measured from the events the user saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Responsiveness {
    /// From the run's start to the first task start.
    pub to_first_start_ms: Option<u64>,
    /// From the run's start to the first task completion.
    pub to_first_completion_ms: Option<u64>,
    /// The largest gap between consecutive visible events, run start and finish included.
    pub longest_silence: Option<Silence>,
}

/// The run as the user sees it. Built by [`RunView::apply`]ing every event in order.
#[derive(Debug, Clone, Default)]
pub struct RunView {
    app: Option<String>,
    framework: Option<String>,
    variant: Variant,
    run_id: Option<String>,
    phase: Phase,
    run_start_ms: Option<u64>,
    finished_ms: Option<u64>,
    last_event_ms: u64,
    rows: Vec<TaskRow>,
    index: HashMap<TaskId, usize>,
    outcome: Option<RunOutcome>,
    first_start_ms: Option<u64>,
    first_completion_ms: Option<u64>,
    /// The latest visible event (or the run start), for measuring silences.
    last_beat_ms: Option<u64>,
    longest_silence: Option<Silence>,
    /// The permission ask waiting for the user's key, if any.
    ask: Option<crate::tools::asks::Ask>,
    /// The seeding agent's latest phrase, while it plans.
    seed_activity: Option<String>,
}

impl RunView {
    /// An empty view: no run started, no tasks, seeding.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one event into the view. Events must come in `seq` order.
    pub fn apply(&mut self, ev: &QueueEvent) {
        // Model, file and command text is kept only as printable, one-line text.
        let ev = super::sanitize::clean_event(ev);
        let ev = ev.as_ref();
        let t = ev.t_ms;
        self.last_event_ms = self.last_event_ms.max(t);
        match &ev.kind {
            EventKind::RunStarted { run } => self.start_run(run, t),
            EventKind::RunResumed { run, requeued } => {
                self.start_run(run, t);
                for id in requeued {
                    if let Some(row) = self.row_mut(id) {
                        Arc::make_mut(&mut row.task).status = TaskStatus::Pending;
                        if let Some(live) = row.live.as_mut() {
                            live.activity = None;
                        }
                    }
                }
            }
            EventKind::SeedingFinished { .. } => {
                if self.phase == Phase::Seeding {
                    self.phase = Phase::Running;
                }
            }
            EventKind::SeedActivity { phrase, .. } => {
                self.beat(t);
                self.seed_activity = Some(phrase.clone());
            }
            EventKind::TaskEnqueued { task } => {
                self.upsert(task);
            }
            EventKind::TaskStarted { task } => {
                self.beat(t);
                self.first_start_ms.get_or_insert(t);
                let row = self.upsert(task);
                row.attempts.push(AttemptSpan {
                    start_ms: t,
                    end_ms: None,
                });
                row.live = None;
            }
            EventKind::TaskActivity {
                task_id,
                phrase,
                usage,
                cost_usd,
            } => {
                self.beat(t);
                if let Some(row) = self.row_mut(task_id) {
                    let live = row.live_mut();
                    live.activity = Some(phrase.clone());
                    if usage.is_some() {
                        live.usage = *usage;
                    }
                    if cost_usd.is_some() {
                        live.cost = *cost_usd;
                    }
                }
            }
            EventKind::TaskCompleted { task } => {
                self.beat(t);
                self.first_completion_ms.get_or_insert(t);
                self.finish_task(task, t);
            }
            EventKind::TaskFailed { task } | EventKind::TaskSkipped { task } => {
                self.beat(t);
                self.finish_task(task, t);
            }
            EventKind::TaskRequeued { task, reason } => {
                let row = self.upsert(task);
                row.end_attempt(t);
                row.live = Some(Box::new(Live {
                    retry_reason: Some(reason.clone()),
                    ..Live::default()
                }));
            }
            EventKind::TaskRelabeled { task_id, label } => {
                if let Some(row) = self.row_mut(task_id) {
                    Arc::make_mut(&mut row.task).label = label.clone();
                }
            }
            EventKind::RunFinished { outcome } => {
                self.beat(t);
                self.finished_ms = Some(t);
                self.phase = Phase::Finished;
                self.outcome = Some(outcome.clone());
                // Attempts still open when the run ends were cut short: close them at the end.
                for row in &mut self.rows {
                    if let Some(span) = row.attempts.last_mut() {
                        if span.end_ms.is_none() {
                            span.end_ms = Some(t);
                        }
                    }
                }
            }
        }
    }

    /// Loads tasks known before any event (a resumed run's `queue.json`), in enqueue order.
    pub fn load_tasks<T: Clone + Into<Arc<Task>>>(&mut self, tasks: &[T]) {
        for task in tasks {
            self.upsert(&task.clone().into());
        }
    }

    /// Opens the ask panel for `ask`, or closes it with `None`.
    pub fn set_ask(&mut self, ask: Option<crate::tools::asks::Ask>) {
        self.ask = ask;
    }

    /// The permission ask on screen, if any.
    pub fn ask(&self) -> Option<&crate::tools::asks::Ask> {
        self.ask.as_ref()
    }

    /// Sets the detected framework (the caller detects it; events may not carry it).
    pub fn set_framework(&mut self, framework: Option<String>) {
        self.framework = framework;
    }

    /// Sets the phase (the caller knows when seeding ends).
    pub fn set_phase(&mut self, phase: Phase) {
        self.phase = phase;
    }

    /// The app's name: the install dir's last component.
    pub fn app(&self) -> Option<&str> {
        self.app.as_deref()
    }

    /// The detected framework, when known.
    pub fn framework(&self) -> Option<&str> {
        self.framework.as_deref()
    }

    /// Which runner.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The run's id, once started.
    pub fn run_id(&self) -> Option<&str> {
        self.run_id.as_deref()
    }

    /// The seeding agent's latest phrase, if it reported one.
    pub fn seed_activity(&self) -> Option<&str> {
        self.seed_activity.as_deref()
    }

    /// Where the run is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// When the run started (`t_ms`), once it has.
    pub fn run_start_ms(&self) -> Option<u64> {
        self.run_start_ms
    }

    /// When the run finished (`t_ms`), once it has.
    pub fn run_finished_ms(&self) -> Option<u64> {
        self.finished_ms
    }

    /// The `t_ms` of the latest event applied.
    pub fn last_event_ms(&self) -> u64 {
        self.last_event_ms
    }

    /// Time since the run started: up to its finish, or up to `now_ms` while it goes on.
    pub fn elapsed_ms(&self, now_ms: u64) -> u64 {
        let start = self.run_start_ms.unwrap_or(0);
        self.finished_ms.unwrap_or(now_ms).saturating_sub(start)
    }

    /// Every task, in enqueue order.
    pub fn rows(&self) -> &[TaskRow] {
        &self.rows
    }

    /// One task by id.
    pub fn row(&self, id: &str) -> Option<&TaskRow> {
        self.index.get(id).map(|&i| &self.rows[i])
    }

    /// Tasks running now, in enqueue order.
    pub fn running(&self) -> impl Iterator<Item = &TaskRow> {
        self.rows
            .iter()
            .filter(|r| r.task.status == TaskStatus::Running)
    }

    /// What runs next: the pending tasks whose dependencies are all
    /// satisfied, or, when none is, the first pending task.
    pub fn next(&self) -> Vec<&TaskRow> {
        let pending = || {
            self.rows
                .iter()
                .filter(|r| r.task.status == TaskStatus::Pending)
        };
        let ready: Vec<&TaskRow> = pending()
            .filter(|r| {
                r.task.depends_on.iter().all(|d| {
                    self.row(d)
                        .is_some_and(|dep| dep.task.status.satisfies_dependents())
                })
            })
            .collect();
        if ready.is_empty() {
            pending().take(1).collect()
        } else {
            ready
        }
    }

    /// Tasks done and left, tokens and money.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals {
            total: self.rows.len(),
            ..Totals::default()
        };
        for row in &self.rows {
            if row.is_done() {
                totals.done += 1;
            }
            match row.status() {
                TaskStatus::Failed => totals.failed += 1,
                TaskStatus::Skipped {
                    blocked_by: Some(_),
                    ..
                } => totals.blocked += 1,
                _ => {}
            }
            totals.usage.add(&row.usage());
            totals.cost_usd += row.cost_usd();
        }
        totals
    }

    /// The verdict, once the run finished.
    pub fn outcome(&self) -> Option<&RunOutcome> {
        self.outcome.as_ref()
    }

    /// How lively the run felt so far (final once the run finished).
    ///
    /// Figures are measured from the run's start event (the process start
    /// when none was seen). Visible events are task starts, completions,
    /// failures, skips and activity; the run's finish closes the last gap.
    pub fn responsiveness(&self) -> Responsiveness {
        let start = self.run_start_ms.unwrap_or(0);
        Responsiveness {
            to_first_start_ms: self.first_start_ms.map(|t| t.saturating_sub(start)),
            to_first_completion_ms: self.first_completion_ms.map(|t| t.saturating_sub(start)),
            longest_silence: self.longest_silence,
        }
    }

    fn start_run(&mut self, run: &RunInfo, t_ms: u64) {
        self.app = Path::new(&run.install_dir)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .or_else(|| Some(run.install_dir.clone()));
        if run.framework.is_some() {
            self.framework = run.framework.clone();
        }
        self.variant = run.variant;
        self.run_id = Some(run.run_id.clone());
        if self.run_start_ms.is_none() {
            self.run_start_ms = Some(t_ms);
            self.last_beat_ms = Some(t_ms);
        }
    }

    /// Records a visible event at `t_ms` and measures the silence before it.
    fn beat(&mut self, t_ms: u64) {
        let from = self
            .last_beat_ms
            .unwrap_or_else(|| self.run_start_ms.unwrap_or(0));
        let gap = Silence {
            from_ms: from,
            to_ms: t_ms.max(from),
        };
        if self.longest_silence.is_none_or(|s| gap.ms() > s.ms()) {
            self.longest_silence = Some(gap);
        }
        self.last_beat_ms = Some(t_ms.max(from));
    }

    fn finish_task(&mut self, task: &Arc<Task>, t_ms: u64) {
        let row = self.upsert(task);
        row.end_attempt(t_ms);
        row.finished_ms = Some(t_ms);
        row.live = None;
    }

    /// Replaces the row's task with this newer copy, or adds a row for it.
    fn upsert(&mut self, task: &Arc<Task>) -> &mut TaskRow {
        let i = match self.index.get(&task.id) {
            Some(&i) => {
                self.rows[i].task = task.clone();
                i
            }
            None => {
                self.rows.push(TaskRow::new(task.clone()));
                self.index.insert(task.id.clone(), self.rows.len() - 1);
                self.rows.len() - 1
            }
        };
        &mut self.rows[i]
    }

    fn row_mut(&mut self, id: &str) -> Option<&mut TaskRow> {
        self.index.get(id).map(|&i| &mut self.rows[i])
    }
}
