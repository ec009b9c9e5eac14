//! [`QueueState`]: every task of a run and the rules that move them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{canonical_json, closest, GuardError, QueryError, QueueLimits};
use crate::messages::{
    app_tag, AttemptEnd, Enqueuer, EventKind, Handoff, HandoffQuery, Problem, ReportStatus,
    RunOutcome, Task, TaskError, TaskHandoff, TaskId, TaskSpec, TaskStatus, Usage, Verdict,
    SINGLE_APP,
};

/// What the queue knows about a task type: enough to fill in a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskTypeInfo {
    /// The default label.
    pub label: String,
    /// The default model tier or id.
    pub model: String,
}

/// The task types a run may enqueue (the seed type is not one of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    /// Type name → defaults.
    pub types: BTreeMap<String, TaskTypeInfo>,
    /// The models an enqueue may name, when the run knows them (else any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<ModelNames>,
}

/// The model names an enqueue may give: a tier, or a model the run has a price
/// for (an unpriced model would cost nothing against the budget).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelNames {
    /// Tier names (`small`, `medium`, `large`).
    pub tiers: Vec<String>,
    /// Model ids and aliases with a price.
    pub priced: BTreeSet<String>,
}

impl Catalogue {
    /// Limits the models an enqueue may name.
    pub fn with_models(mut self, models: ModelNames) -> Self {
        self.models = Some(models);
        self
    }

    /// A catalogue from `(type, label, model)` triples.
    pub fn from_triples<'a>(
        triples: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Self {
        let types = triples
            .into_iter()
            .map(|(t, label, model)| {
                (
                    t.to_string(),
                    TaskTypeInfo {
                        label: label.to_string(),
                        model: model.to_string(),
                    },
                )
            })
            .collect();
        Self {
            types,
            models: None,
        }
    }
}

/// Why dispatch stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Halt {
    /// The verdict the run ends with.
    pub verdict: Verdict,
    /// Why, for the user.
    pub message: String,
}

/// Every task of a run, with the indexes that keep transitions cheap.
///
/// Tasks are shared (`Arc`) with the events that carry them: a transition
/// copies the task only while a subscriber still holds its previous version.
#[derive(Debug, Clone)]
pub struct QueueState {
    limits: QueueLimits,
    catalogue: Catalogue,
    tasks: Vec<Arc<Task>>,
    index: HashMap<TaskId, usize>,
    /// Dependencies of each task not yet satisfied.
    unmet: Vec<usize>,
    /// Tasks that depend on each task.
    dependents: Vec<Vec<usize>>,
    /// Pending tasks whose dependencies are all satisfied, by enqueue order.
    ready: BTreeSet<usize>,
    running: usize,
    starts: u32,
    /// Digest of (type, canonical inputs) → task, for tasks that have not failed.
    dedup: HashMap<DedupKey, usize>,
    enqueues_by: HashMap<String, usize>,
    ids_per_type: HashMap<String, u32>,
    seeding_open: bool,
    seed_error: Option<String>,
    seed_usage: Usage,
    seed_cost_usd: f64,
    halt: Option<Halt>,
    closed: bool,
    /// Tokens and cost of the whole run so far (seed included), kept as it grows:
    /// the budget check reads it on every event.
    spent_usage: Usage,
    spent_usd: f64,
}

impl QueueState {
    /// An empty queue for a run with these limits and task types.
    pub fn new(limits: QueueLimits, catalogue: Catalogue) -> Self {
        Self {
            limits,
            catalogue,
            tasks: Vec::new(),
            index: HashMap::new(),
            unmet: Vec::new(),
            dependents: Vec::new(),
            ready: BTreeSet::new(),
            running: 0,
            starts: 0,
            dedup: HashMap::new(),
            enqueues_by: HashMap::new(),
            ids_per_type: HashMap::new(),
            seeding_open: true,
            seed_error: None,
            seed_usage: Usage::default(),
            seed_cost_usd: 0.0,
            halt: None,
            closed: false,
            spent_usage: Usage::default(),
            spent_usd: 0.0,
        }
    }

    /// Rebuilds a queue from saved tasks (a resume). Running tasks go back to
    /// pending; their attempt stays counted. When `seeded` is false the seed
    /// runs again and the run waits for it. Returns the ids requeued.
    pub fn restore<T: Into<Arc<Task>>>(
        limits: QueueLimits,
        catalogue: Catalogue,
        saved: Vec<T>,
        seeded: bool,
    ) -> (Self, Vec<TaskId>) {
        let mut state = Self::new(limits, catalogue);
        let mut requeued = Vec::new();
        // Resume checked and ordered the file; a caller that did not still gets
        // dependencies first, so none is wired before it exists.
        let mut saved: Vec<Arc<Task>> = saved.into_iter().map(Into::into).collect();
        let _ = super::dependency_order(&mut saved);
        for mut shared in saved {
            if shared.status == TaskStatus::Running {
                let task = Arc::make_mut(&mut shared);
                task.status = TaskStatus::Pending;
                task.started_at = None;
                requeued.push(task.id.clone());
            }
            state.starts = state.starts.saturating_add(shared.attempts);
            state.spent_usage.add(&shared.usage);
            state.spent_usd += shared.cost_usd;
            state.insert(shared);
        }
        state.seeding_open = !seeded;
        (state, requeued)
    }

    /// Adds a task that passed (or skips) the guards, wiring readiness.
    fn insert(&mut self, task: Arc<Task>) -> usize {
        let pos = self.tasks.len();
        let (prefix, n) = split_id(&task.id, &task.task_type);
        if prefix {
            let counter = self.ids_per_type.entry(task.task_type.clone()).or_insert(0);
            *counter = (*counter).max(n);
        }
        *self
            .enqueues_by
            .entry(task.enqueued_by.clone())
            .or_insert(0) += 1;
        if task.status != TaskStatus::Failed {
            self.dedup
                .insert(dedup_key(&task.task_type, &task.app, &task.inputs), pos);
        }
        let mut unmet = 0;
        for dep in &task.depends_on {
            match self.index.get(dep) {
                Some(&d) => {
                    self.dependents[d].push(pos);
                    if !self.tasks[d].status.satisfies_dependents() {
                        unmet += 1;
                    }
                }
                // Only a damaged saved queue names a dependency that does not exist
                // (enqueue refuses it): the task waits rather than running early.
                None => unmet += 1,
            }
        }
        self.index.insert(task.id.clone(), pos);
        self.unmet.push(unmet);
        self.dependents.push(Vec::new());
        if task.status == TaskStatus::Pending && unmet == 0 {
            self.ready.insert(pos);
        }
        self.tasks.push(task);
        pos
    }

    /// The limits in force.
    pub fn limits(&self) -> &QueueLimits {
        &self.limits
    }

    /// Changes how many tasks may run at once (a resume may ask for more).
    pub fn set_concurrency(&mut self, concurrency: usize) {
        self.limits.concurrency = concurrency.max(1);
    }

    /// Every task, in enqueue order.
    pub fn tasks(&self) -> &[Arc<Task>] {
        &self.tasks
    }

    /// One task by id.
    pub fn task(&self, id: &str) -> Option<&Arc<Task>> {
        self.index.get(id).map(|&i| &self.tasks[i])
    }

    /// The task at `pos`, to change: copied first only if an event still holds it.
    fn task_mut(&mut self, pos: usize) -> &mut Task {
        Arc::make_mut(&mut self.tasks[pos])
    }

    /// Tasks running now.
    pub fn running(&self) -> usize {
        self.running
    }

    /// Ids of pending tasks whose dependencies are satisfied, in dispatch order.
    pub fn ready_tasks(&self) -> Vec<TaskId> {
        self.ready
            .iter()
            .map(|&i| self.tasks[i].id.clone())
            .collect()
    }

    /// Runs the guards, in order, and adds the task. Returns its id and the events.
    pub fn enqueue(
        &mut self,
        by: &Enqueuer,
        mut spec: TaskSpec,
    ) -> Result<(TaskId, Vec<EventKind>), GuardError> {
        let (depth, info) = self.check_guards(by, &spec)?;
        let inputs = match std::mem::take(&mut spec.inputs) {
            serde_json::Value::Null => serde_json::Value::Object(Default::default()),
            inputs => inputs,
        };
        let app = spec.app.take().unwrap_or_else(|| SINGLE_APP.to_string());
        let key = dedup_key(&spec.task_type, &app, &inputs);
        if let Some(&existing) = self.dedup.get(&key) {
            return Err(GuardError::Duplicate {
                task_type: spec.task_type,
                existing: self.tasks[existing].id.clone(),
            });
        }
        let id = match app_tag(&app) {
            Some(tag) => self.next_id(&format!("{}@{tag}", spec.task_type)),
            None => self.next_id(&spec.task_type),
        };
        let task = self.new_task(id.clone(), by, depth, info, spec, inputs, app);
        let blocked = matches!(task.status, TaskStatus::Skipped { .. });
        let pos = self.insert(Arc::new(task));
        let mut events = vec![EventKind::TaskEnqueued {
            task: self.tasks[pos].clone(),
        }];
        if blocked {
            events.push(EventKind::TaskSkipped {
                task: self.tasks[pos].clone(),
            });
        }
        Ok((id, events))
    }

    /// The guards before the duplicate check, in the order: run full, too
    /// many enqueues by this task, too deep, unknown type or model, unknown
    /// dependency. Returns the new task's depth and its type.
    fn check_guards(
        &self,
        by: &Enqueuer,
        spec: &TaskSpec,
    ) -> Result<(u32, TaskTypeInfo), GuardError> {
        if self.closed || self.halt.is_some() {
            return Err(GuardError::Closed);
        }
        if self.tasks.len() >= self.limits.max_tasks {
            return Err(GuardError::RunFull {
                limit: self.limits.max_tasks,
            });
        }
        if let Enqueuer::Task(_) = by {
            let count = self.enqueues_by.get(by.name()).copied().unwrap_or(0);
            if count >= self.limits.max_enqueues_per_task {
                return Err(GuardError::TooManyEnqueues {
                    by: by.name().to_string(),
                    limit: self.limits.max_enqueues_per_task,
                });
            }
        }
        let depth = match by {
            Enqueuer::Orchestrator => 1,
            Enqueuer::Task(id) => self.task(id).map(|t| t.depth).unwrap_or(0) + 1,
        };
        if depth > self.limits.max_depth {
            return Err(GuardError::TooDeep {
                depth,
                limit: self.limits.max_depth,
            });
        }
        let Some(info) = self.catalogue.types.get(&spec.task_type).cloned() else {
            let known: Vec<String> = self.catalogue.types.keys().cloned().collect();
            return Err(GuardError::UnknownType {
                suggestion: closest(&spec.task_type, known.iter().map(String::as_str)),
                task_type: spec.task_type.clone(),
                known,
            });
        };
        if let (Some(model), Some(names)) = (&spec.model, &self.catalogue.models) {
            if !names.tiers.contains(model) && !names.priced.contains(model) {
                return Err(GuardError::UnknownModel {
                    model: model.clone(),
                    tiers: names.tiers.clone(),
                });
            }
        }
        if let Some(dep) = spec
            .depends_on
            .iter()
            .find(|d| !self.index.contains_key(*d))
        {
            let known: Vec<String> = self
                .tasks
                .iter()
                .rev()
                .take(40)
                .rev()
                .map(|t| t.id.clone())
                .collect();
            return Err(GuardError::UnknownDependency {
                suggestion: closest(dep, self.tasks.iter().map(|t| t.id.as_str())),
                id: dep.clone(),
                known,
            });
        }
        Ok((depth, info))
    }

    /// The task an enqueue that passed the guards adds: pending, or skipped at
    /// once when a dependency already failed.
    #[allow(clippy::too_many_arguments)]
    fn new_task(
        &self,
        id: TaskId,
        by: &Enqueuer,
        depth: u32,
        info: TaskTypeInfo,
        spec: TaskSpec,
        inputs: serde_json::Value,
        app: String,
    ) -> Task {
        let depends_on = first_of_each(spec.depends_on);
        let blocked_by = self.failed_dependency(&depends_on);
        let status = match &blocked_by {
            Some(dep) => TaskStatus::Skipped {
                reason: format!("dependency {dep} failed"),
                blocked_by: Some(dep.clone()),
            },
            None => TaskStatus::Pending,
        };
        let now = Utc::now();
        Task {
            id,
            label: spec
                .label
                .filter(|l| !l.trim().is_empty())
                .unwrap_or(info.label),
            task_type: spec.task_type,
            status,
            depends_on,
            inputs,
            model: spec.model.unwrap_or(info.model),
            attempts: 0,
            max_attempts: self.limits.max_attempts,
            enqueued_by: by.name().to_string(),
            depth,
            created_at: now,
            started_at: None,
            finished_at: blocked_by.as_ref().map(|_| now),
            handoff: None,
            error: None,
            usage: Usage::default(),
            cost_usd: 0.0,
            provider_retries: 0,
            app,
        }
    }

    /// The failed task behind the first of `depends_on` that failed or was
    /// blocked by a failure: a blocked dependency passes on its root, so the
    /// reason names what actually failed.
    fn failed_dependency(&self, depends_on: &[TaskId]) -> Option<TaskId> {
        depends_on.iter().find_map(|d| {
            let dep = self.task(d)?;
            match &dep.status {
                TaskStatus::Failed => Some(dep.id.clone()),
                TaskStatus::Skipped {
                    blocked_by: Some(root),
                    ..
                } => Some(root.clone()),
                _ => None,
            }
        })
    }

    fn next_id(&mut self, base: &str) -> TaskId {
        let task_type = base;
        let counter = self.ids_per_type.entry(task_type.to_string()).or_insert(0);
        loop {
            *counter += 1;
            let id = if *counter == 1 {
                task_type.to_string()
            } else {
                format!("{task_type}-{counter}")
            };
            if !self.index.contains_key(&id) {
                return id;
            }
        }
    }

    /// True while another task may start now.
    pub fn can_dispatch(&self) -> bool {
        !self.closed
            && self.halt.is_none()
            && self.running < self.limits.concurrency
            && self.starts < self.limits.max_starts
            && !self.ready.is_empty()
    }

    /// Starts the earliest ready task, if the cap allows. Returns it (running) and its ancestors' handoffs.
    pub fn start_next(&mut self) -> Option<(Arc<Task>, Vec<TaskHandoff>, Vec<EventKind>)> {
        if !self.can_dispatch() {
            return None;
        }
        let pos = self.ready.pop_first()?;
        self.running += 1;
        self.starts = self.starts.saturating_add(1);
        let task = self.task_mut(pos);
        task.status = TaskStatus::Running;
        task.attempts += 1;
        task.started_at = Some(Utc::now());
        task.error = None;
        let task = self.tasks[pos].clone();
        let ancestors = self.ancestor_handoffs(pos);
        let events = vec![EventKind::TaskStarted { task: task.clone() }];
        Some((task, ancestors, events))
    }

    /// Handoffs of every transitive ancestor of the task at `pos`, roots first, each once.
    fn ancestor_handoffs(&self, pos: usize) -> Vec<TaskHandoff> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<usize> = self.tasks[pos]
            .depends_on
            .iter()
            .filter_map(|d| self.index.get(d).copied())
            .collect();
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                stack.extend(
                    self.tasks[i]
                        .depends_on
                        .iter()
                        .filter_map(|d| self.index.get(d).copied()),
                );
            }
        }
        // Dependencies exist before their dependents, so enqueue order is a topological order.
        seen.into_iter()
            .filter_map(|i| {
                let t = &self.tasks[i];
                t.handoff.as_ref().map(|h| TaskHandoff {
                    task_id: t.id.clone(),
                    task_type: t.task_type.clone(),
                    handoff: h.clone(),
                })
            })
            .collect()
    }

    /// Applies the end of an attempt. A report for a task that is not running
    /// that attempt (stale, or after an interrupt) is ignored.
    pub fn finish_attempt(
        &mut self,
        task_id: &str,
        attempt: u32,
        end: AttemptEnd,
        usage: Usage,
        cost_usd: f64,
    ) -> Vec<EventKind> {
        let Some(&pos) = self.index.get(task_id) else {
            return Vec::new();
        };
        if self.tasks[pos].status != TaskStatus::Running || self.tasks[pos].attempts != attempt {
            return Vec::new();
        }
        self.running = self.running.saturating_sub(1);
        {
            let task = self.task_mut(pos);
            task.usage.add(&usage);
            task.cost_usd += cost_usd;
        }
        self.spent_usage.add(&usage);
        self.spent_usd += cost_usd;
        let (error, fatal) = match end {
            AttemptEnd::Reported {
                status: ReportStatus::Done,
                handoff,
            } => return self.complete(pos, TaskStatus::Completed, handoff),
            AttemptEnd::Reported {
                status: ReportStatus::Skipped,
                handoff,
            } => {
                let reason = first_line(&handoff.did, "not needed");
                let status = TaskStatus::Skipped {
                    reason,
                    blocked_by: None,
                };
                return self.complete(pos, status, handoff);
            }
            AttemptEnd::Reported {
                status: ReportStatus::Failed,
                handoff,
            } => {
                let message = first_line(&handoff.for_next_agent, "the agent reported failure");
                self.task_mut(pos).handoff = Some(handoff);
                let kind = "self-reported".into();
                (TaskError { kind, message }, false)
            }
            AttemptEnd::NoReport { detail } => (
                TaskError {
                    kind: "no-report".into(),
                    message: format!("the agent stopped without calling complete_task: {detail}"),
                },
                false,
            ),
            AttemptEnd::Error {
                error_kind,
                message,
                fatal,
            } => (
                TaskError {
                    kind: error_kind,
                    message,
                },
                fatal,
            ),
        };
        self.fail_attempt(pos, error, fatal)
    }

    /// A report that ends the task well (`Completed`, or `Skipped` as not needed):
    /// its dependents may become ready.
    fn complete(&mut self, pos: usize, status: TaskStatus, handoff: Handoff) -> Vec<EventKind> {
        let task = self.task_mut(pos);
        task.status = status;
        task.finished_at = Some(Utc::now());
        task.handoff = Some(handoff);
        let task = self.tasks[pos].clone();
        let event = match task.status {
            TaskStatus::Completed => EventKind::TaskCompleted { task },
            _ => EventKind::TaskSkipped { task },
        };
        self.satisfy_dependents(pos);
        vec![event]
    }

    /// An attempt that did not succeed: the task is retried while attempts are
    /// left and the error is not fatal (a fatal one also halts the run);
    /// otherwise it fails and blocks its dependents.
    fn fail_attempt(&mut self, pos: usize, error: TaskError, fatal: bool) -> Vec<EventKind> {
        if fatal && self.halt.is_none() {
            self.halt = Some(Halt {
                verdict: Verdict::Failed,
                message: error.message.clone(),
            });
        }
        let task = self.task_mut(pos);
        task.error = Some(error.clone());
        if !fatal && task.attempts < task.max_attempts {
            task.status = TaskStatus::Pending;
            task.started_at = None;
            if self.unmet[pos] == 0 {
                self.ready.insert(pos);
            }
            return vec![EventKind::TaskRequeued {
                task: self.tasks[pos].clone(),
                reason: error.message,
            }];
        }
        task.status = TaskStatus::Failed;
        task.finished_at = Some(Utc::now());
        let key = dedup_key(&task.task_type, &task.app, &task.inputs);
        if self.dedup.get(&key) == Some(&pos) {
            self.dedup.remove(&key);
        }
        let mut events = vec![EventKind::TaskFailed {
            task: self.tasks[pos].clone(),
        }];
        events.extend(self.block_dependents(pos));
        events
    }

    fn satisfy_dependents(&mut self, pos: usize) {
        for k in 0..self.dependents[pos].len() {
            let d = self.dependents[pos][k];
            self.unmet[d] = self.unmet[d].saturating_sub(1);
            if self.unmet[d] == 0 && self.tasks[d].status == TaskStatus::Pending {
                self.ready.insert(d);
            }
        }
    }

    /// Skips every pending transitive dependent of a failed task.
    fn block_dependents(&mut self, failed: usize) -> Vec<EventKind> {
        let failed_id = self.tasks[failed].id.clone();
        let mut events = Vec::new();
        let mut stack = self.dependents[failed].clone();
        let now = Utc::now();
        while let Some(d) = stack.pop() {
            if self.tasks[d].status != TaskStatus::Pending {
                continue;
            }
            self.ready.remove(&d);
            let task = self.task_mut(d);
            task.status = TaskStatus::Skipped {
                reason: format!("dependency {failed_id} failed"),
                blocked_by: Some(failed_id.clone()),
            };
            task.finished_at = Some(now);
            events.push(EventKind::TaskSkipped {
                task: self.tasks[d].clone(),
            });
            stack.extend(self.dependents[d].iter().copied());
        }
        events
    }

    /// Records that seeding is over. A failed seed (or one that enqueued nothing) fails the run.
    pub fn seeding_done(&mut self, error: Option<String>, usage: Usage, cost_usd: f64) {
        self.seeding_open = false;
        self.add_seed_usage(usage, cost_usd);
        if error.is_none() && self.tasks.is_empty() {
            self.seed_error = Some("the seeding agent enqueued no tasks".to_string());
        } else {
            self.seed_error = error;
        }
    }

    /// Stops dispatch; the run ends with this verdict once running tasks finish.
    pub fn halt(&mut self, halt: Halt) {
        if self.halt.is_none() {
            self.halt = Some(halt);
        }
    }

    /// Records what a seed that was stopped used. Seeding counts as over for
    /// this run, but not as done: nothing marks the run seeded, so a resume seeds again.
    pub fn seed_stopped(&mut self, usage: Usage, cost_usd: f64) {
        self.seeding_open = false;
        self.add_seed_usage(usage, cost_usd);
    }

    fn add_seed_usage(&mut self, usage: Usage, cost_usd: f64) {
        self.seed_usage.add(&usage);
        self.seed_cost_usd += cost_usd;
        self.spent_usage.add(&usage);
        self.spent_usd += cost_usd;
    }

    /// Tokens and cost of the run so far, the seed included.
    pub fn spent(&self) -> (u64, f64) {
        (self.spent_usage.total(), self.spent_usd)
    }

    /// True while seeding has not ended.
    pub fn seeding_open(&self) -> bool {
        self.seeding_open
    }

    /// True once dispatch stopped for good (a halt or an interrupt).
    pub fn is_stopped(&self) -> bool {
        self.closed || self.halt.is_some()
    }

    /// Stops dispatch for good; running tasks keep running until they report
    /// (or [`requeue_running`](Self::requeue_running) gives up on them).
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Stops the run now: running tasks go back to pending (their attempt stays counted).
    pub fn interrupt(&mut self) -> Vec<EventKind> {
        self.closed = true;
        self.requeue_running("interrupted")
    }

    /// Puts every running task back to pending without its attempt's report
    /// (the report never came). Their attempt stays counted.
    pub fn requeue_running(&mut self, reason: &str) -> Vec<EventKind> {
        let mut events = Vec::new();
        for pos in 0..self.tasks.len() {
            if self.tasks[pos].status == TaskStatus::Running {
                events.extend(self.requeue_at(pos, reason));
            }
        }
        events
    }

    /// The end of an attempt the queue stopped (an interrupt, a budget stop): the
    /// task goes back to pending whatever the attempt said, and keeps its usage.
    pub fn requeue_stopped(
        &mut self,
        task_id: &str,
        attempt: u32,
        usage: Usage,
        cost_usd: f64,
        reason: &str,
    ) -> Vec<EventKind> {
        let Some(&pos) = self.index.get(task_id) else {
            return Vec::new();
        };
        if self.tasks[pos].status != TaskStatus::Running || self.tasks[pos].attempts != attempt {
            return Vec::new();
        }
        let task = self.task_mut(pos);
        task.usage.add(&usage);
        task.cost_usd += cost_usd;
        self.spent_usage.add(&usage);
        self.spent_usd += cost_usd;
        self.requeue_at(pos, reason)
    }

    fn requeue_at(&mut self, pos: usize, reason: &str) -> Vec<EventKind> {
        let task = self.task_mut(pos);
        task.status = TaskStatus::Pending;
        task.started_at = None;
        self.running = self.running.saturating_sub(1);
        if self.unmet[pos] == 0 {
            self.ready.insert(pos);
        }
        vec![EventKind::TaskRequeued {
            task: self.tasks[pos].clone(),
            reason: reason.to_string(),
        }]
    }

    /// True when the run is over: seeding ended, nothing runs, nothing more can start.
    pub fn is_over(&self) -> bool {
        if self.running > 0 {
            return false;
        }
        if self.closed {
            return true;
        }
        if self.seeding_open {
            return false;
        }
        self.halt.is_some() || self.ready.is_empty() || self.starts >= self.limits.max_starts
    }

    /// The verdict and totals. Meaningful once [`is_over`](Self::is_over).
    pub fn outcome(&self) -> RunOutcome {
        let mut outcome = RunOutcome {
            verdict: Verdict::Success,
            message: String::new(),
            total: self.tasks.len(),
            completed: 0,
            not_needed: 0,
            failed: 0,
            blocked: 0,
            never_ran: 0,
            problems: Vec::new(),
            conflicts: Vec::new(),
            usage: self.seed_usage,
            cost_usd: self.seed_cost_usd,
        };
        let never_ran_reason = if self.closed {
            "the run was interrupted before it ran".to_string()
        } else if let Some(h) = &self.halt {
            format!("not started: {}", h.message)
        } else if self.starts >= self.limits.max_starts {
            format!(
                "not started: the run reached its limit of {} task starts",
                self.limits.max_starts
            )
        } else {
            "never became ready".to_string()
        };
        for t in &self.tasks {
            outcome.usage.add(&t.usage);
            outcome.cost_usd += t.cost_usd;
            if let Some(conflict) = t.handoff.as_ref().and_then(|h| h.conflict.clone()) {
                outcome.conflicts.push((t.id.clone(), conflict));
            }
            let problem = |reason: String| Problem {
                task_id: t.id.clone(),
                task_type: t.task_type.clone(),
                label: t.label.clone(),
                reason,
            };
            match &t.status {
                TaskStatus::Completed => outcome.completed += 1,
                TaskStatus::Skipped {
                    blocked_by: None, ..
                } => outcome.not_needed += 1,
                TaskStatus::Skipped { reason, .. } => {
                    outcome.blocked += 1;
                    outcome.problems.push(problem(reason.clone()));
                }
                TaskStatus::Failed => {
                    outcome.failed += 1;
                    let reason = t
                        .error
                        .as_ref()
                        .map(|e| e.message.clone())
                        .unwrap_or_else(|| "failed".into());
                    outcome.problems.push(problem(reason));
                }
                TaskStatus::Pending | TaskStatus::Running => {
                    outcome.never_ran += 1;
                    // A task stopped mid-attempt did start: say so, not "never ran".
                    let reason = if self.closed && t.attempts > 0 {
                        "stopped while it was running; a resume runs it again".to_string()
                    } else {
                        never_ran_reason.clone()
                    };
                    outcome.problems.push(problem(reason));
                }
            }
        }
        let ok = outcome.completed + outcome.not_needed;
        if self.closed {
            outcome.verdict = Verdict::Interrupted;
            outcome.message = format!(
                "Interrupted after {ok}/{} steps; run `wizard resume` to continue.",
                outcome.total
            );
        } else if let Some(err) = &self.seed_error {
            outcome.verdict = Verdict::Failed;
            outcome.message = format!("Planning failed: {err}.");
        } else if let Some(h) = self.halt.as_ref().filter(|_| !outcome.problems.is_empty()) {
            outcome.verdict = h.verdict;
            outcome.message = h.message.clone();
        } else if outcome.problems.is_empty() {
            outcome.verdict = Verdict::Success;
            outcome.message = format!("All {ok}/{} steps done.", outcome.total);
        } else {
            outcome.verdict = Verdict::Failed;
            let bad = outcome.failed + outcome.blocked + outcome.never_ran;
            let first = &outcome.problems[0];
            outcome.message = format!(
                "{bad} of {} steps did not finish: {} — {}",
                outcome.total, first.task_id, first.reason
            );
        }
        outcome
    }

    /// Handoffs that answer a query, in enqueue order.
    pub fn read_handoffs(&self, query: &HandoffQuery) -> Result<Vec<TaskHandoff>, QueryError> {
        let to_handoff = |t: &Arc<Task>| {
            t.handoff.as_ref().map(|h| TaskHandoff {
                task_id: t.id.clone(),
                task_type: t.task_type.clone(),
                handoff: h.clone(),
            })
        };
        match query {
            HandoffQuery::Task(id) => {
                let t = self
                    .task(id)
                    .ok_or_else(|| QueryError::UnknownTask(id.clone()))?;
                Ok(to_handoff(t).into_iter().collect())
            }
            HandoffQuery::Type(ty) => Ok(self
                .tasks
                .iter()
                .filter(|t| &t.task_type == ty)
                .filter_map(to_handoff)
                .collect()),
            HandoffQuery::DependenciesOf(id) => {
                let t = self
                    .task(id)
                    .ok_or_else(|| QueryError::UnknownTask(id.clone()))?;
                Ok(t.depends_on
                    .iter()
                    .filter_map(|d| self.task(d))
                    .filter_map(to_handoff)
                    .collect())
            }
        }
    }

    /// Counts provider retries an attempt of a running task made (before its end is applied).
    pub fn record_retries(&mut self, task_id: &str, retries: u32) {
        if let Some(&pos) = self.index.get(task_id) {
            let task = self.task_mut(pos);
            task.provider_retries = task.provider_retries.saturating_add(retries);
        }
    }

    /// Changes a task's label (the agent refines it).
    pub fn relabel(&mut self, task_id: &str, label: &str) -> Option<EventKind> {
        let &pos = self.index.get(task_id)?;
        let label = label.trim();
        if label.is_empty() {
            return None;
        }
        self.task_mut(pos).label = label.to_string();
        Some(EventKind::TaskRelabeled {
            task_id: task_id.to_string(),
            label: label.to_string(),
        })
    }
}

/// `ids` without repeats, keeping the first of each: a set, since a fan-in
/// task may name thousands of dependencies.
fn first_of_each(ids: Vec<TaskId>) -> Vec<TaskId> {
    let mut seen: HashSet<TaskId> = HashSet::with_capacity(ids.len());
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

/// Splits `install-3` into (true, 3) and `install` into (true, 1) for type `install`.
fn split_id(id: &str, task_type: &str) -> (bool, u32) {
    if id == task_type {
        return (true, 1);
    }
    match id
        .strip_prefix(task_type)
        .and_then(|rest| rest.strip_prefix('-'))
    {
        Some(n) => n.parse().map(|n| (true, n)).unwrap_or((false, 0)),
        None => (false, 0),
    }
}

fn first_line(text: &str, fallback: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or(fallback);
    let mut line: String = line.chars().take(200).collect();
    if line.is_empty() {
        line = fallback.to_string();
    }
    line
}

/// The duplicate guard's key: a digest of the type part and the canonical inputs, 16
/// bytes a task instead of both strings (a 50k-task queue kept ~5 MB of them). Each part
/// is length-prefixed, so no two (type, inputs) pairs hash the same bytes; a chance
/// collision needs about 2^64 tasks.
type DedupKey = [u8; 16];

fn dedup_key(task_type: &str, app: &str, inputs: &serde_json::Value) -> DedupKey {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in [dedup_type(task_type, app), canonical_json(inputs)] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut key = [0; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// The type part of the duplicate key: tasks of one type in two apps' branches are not duplicates.
fn dedup_type(task_type: &str, app: &str) -> String {
    match app_tag(app) {
        Some(_) => format!("{task_type}@{app}"),
        None => task_type.to_string(),
    }
}
