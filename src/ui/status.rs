//! The queue as a plain-text table, for `wizard status DIR`.
//!
//! It reads saved tasks (`queue.json`), not events, so times come from the
//! tasks' own wall-clock timestamps. Columns are padded by display width, so
//! labels with wide characters still line up.

use unicode_width::UnicodeWidthStr;

use super::units;
use crate::messages::{Task, TaskStatus};

const HEADINGS: [&str; 9] = [
    "ID", "STATUS", "LABEL", "MODEL", "TRIES", "TIME", "TOKENS", "COST", "REASON",
];

/// Columns whose values are numbers and line up on the right.
const RIGHT_ALIGNED: [bool; 9] = [false, false, false, false, true, true, true, true, false];

/// The status glyph used everywhere a task's state is shown in text.
pub fn glyph(status: &TaskStatus) -> &'static str {
    match status {
        TaskStatus::Pending => "·",
        TaskStatus::Running => "▶",
        TaskStatus::Completed => "✓",
        TaskStatus::Failed => "✗",
        TaskStatus::Skipped { .. } => "⊘",
    }
}

/// One line per task under a heading line, then a totals line.
pub fn status_table<T: std::borrow::Borrow<Task>>(tasks: &[T]) -> String {
    if tasks.is_empty() {
        return "No tasks yet.\n".to_string();
    }
    let rows: Vec<[String; 9]> = tasks.iter().map(|t| row(t.borrow())).collect();
    let mut widths = HEADINGS.map(UnicodeWidthStr::width);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }

    let mut out = String::new();
    push_line(&mut out, &HEADINGS.map(String::from), &widths);
    for row in &rows {
        push_line(&mut out, row, &widths);
    }

    let done = tasks
        .iter()
        .filter(|t| (*t).borrow().status.satisfies_dependents())
        .count();
    let tokens: u64 = tasks.iter().map(|t| t.borrow().usage.total()).sum();
    let cost: f64 = tasks.iter().map(|t| t.borrow().cost_usd).sum();
    out.push_str(&format!(
        "\n{done}/{} done · {} tokens · {}\n",
        tasks.len(),
        units::tokens(tokens),
        units::cost(cost)
    ));
    out
}

fn row(task: &Task) -> [String; 9] {
    let duration = match (task.started_at, task.finished_at) {
        (Some(start), Some(end)) => u64::try_from((end - start).num_milliseconds())
            .map(units::duration)
            .unwrap_or_default(),
        _ => String::new(),
    };
    let reason = match &task.status {
        TaskStatus::Skipped { reason, .. } => reason.clone(),
        // A failed task, or a pending one whose last attempt failed: say why.
        TaskStatus::Failed | TaskStatus::Pending => task
            .error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let tokens = task.usage.total();
    [
        task.id.clone(),
        format!("{} {}", glyph(&task.status), task.status.name()),
        task.label.clone(),
        task.model.clone(),
        format!("{}/{}", task.attempts, task.max_attempts),
        duration,
        if tokens > 0 {
            units::tokens(tokens)
        } else {
            String::new()
        },
        if task.cost_usd > 0.0 {
            units::cost(task.cost_usd)
        } else {
            String::new()
        },
        reason,
    ]
}

fn push_line(out: &mut String, cells: &[String; 9], widths: &[usize; 9]) {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        let pad = " ".repeat(widths[i].saturating_sub(cell.width()));
        if i > 0 {
            line.push_str("  ");
        }
        if RIGHT_ALIGNED[i] {
            line.push_str(&pad);
            line.push_str(cell);
        } else {
            line.push_str(cell);
            line.push_str(&pad);
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}
