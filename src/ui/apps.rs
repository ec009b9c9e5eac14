//! Per-app verdicts of a run with app branches (a monorepo run): what the
//! outro and the run report say about each app.
//!
//! Folded from the same [`RunView`] as everything else in the UI. A run whose
//! tasks all belong to the single app (`.`) has no branches and no summaries.

use super::view::RunView;
use crate::messages::{app_tag, TaskStatus, SINGLE_APP};

/// The phrase a task's `did` starts with when its work was already there.
pub const ALREADY_IN_PLACE: &str = "already in place";

/// One app's part of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSummary {
    /// The app's path relative to the run's root.
    pub app: String,
    /// Its tasks.
    pub total: usize,
    /// Completed or skipped as not needed.
    pub done: usize,
    /// Ids of its tasks that failed, were blocked or never ran.
    pub problems: Vec<String>,
    /// Tasks that found their work already in place, with what they said.
    pub kept: Vec<(String, String)>,
    /// Files its tasks changed, each with the task that changed it.
    pub changed: Vec<(String, String)>,
}

impl AppSummary {
    /// True when every task of the app is done.
    pub fn succeeded(&self) -> bool {
        self.problems.is_empty() && self.done == self.total
    }
}

/// True when the run has app branches (some task belongs to an app other than `.`).
pub fn has_branches(view: &RunView) -> bool {
    view.rows().iter().any(|r| app_tag(&r.task.app).is_some())
}

/// One summary per app, in the order apps first appear; every app of the run
/// (also `.`) when `all`, else none for a run without branches.
pub fn app_summaries(view: &RunView, all: bool) -> Vec<AppSummary> {
    if !all && !has_branches(view) {
        return Vec::new();
    }
    let mut out: Vec<AppSummary> = Vec::new();
    for row in view.rows() {
        let task = &row.task;
        let pos = match out.iter().position(|s| s.app == task.app) {
            Some(p) => p,
            None => {
                out.push(AppSummary {
                    app: if task.app.is_empty() {
                        SINGLE_APP.into()
                    } else {
                        task.app.clone()
                    },
                    total: 0,
                    done: 0,
                    problems: Vec::new(),
                    kept: Vec::new(),
                    changed: Vec::new(),
                });
                out.len() - 1
            }
        };
        let s = &mut out[pos];
        s.total += 1;
        if task.status.satisfies_dependents() {
            s.done += 1;
        } else if task.status.is_terminal() || matches!(task.status, TaskStatus::Pending) {
            s.problems.push(task.id.clone());
        }
        if let Some(h) = &task.handoff {
            let did = h.did.trim();
            if did.to_ascii_lowercase().starts_with(ALREADY_IN_PLACE) {
                s.kept.push((task.id.clone(), did.to_string()));
            }
            for f in &h.files_touched {
                if !s.changed.iter().any(|(file, _)| file == f) {
                    s.changed.push((f.clone(), task.id.clone()));
                }
            }
        }
    }
    out
}

/// The outro's line for one app: `✓ apps/web: 5/5 steps`.
pub fn verdict_line(s: &AppSummary) -> String {
    if s.succeeded() {
        format!("  ✓ {}: {}/{} steps", s.app, s.done, s.total)
    } else {
        format!(
            "  ✗ {}: {}/{} steps ({} not done)",
            s.app,
            s.done,
            s.total,
            s.problems.join(", ")
        )
    }
}
