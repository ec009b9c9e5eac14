//! The outro: the honest ending printed after the TUI closes.
//!
//! It says what happened in one headline (set up, failed, stopped), lists
//! every step that did not finish with its reason, surfaces the conflicts
//! tasks asked the user to review, says where the reports are, and ends with
//! the one next thing to do. The product's name and the report the agents
//! write for the user come from content through [`OutroContext`], so this
//! module stays product-ignorant.

use std::path::Path;

use super::view::RunView;
use crate::messages::{RunOutcome, TaskStatus, Variant, Verdict};
use crate::report::ReportPaths;

/// What the outro needs besides the outcome.
#[derive(Debug, Clone, Copy)]
pub struct OutroContext<'a> {
    /// The product's name, from content ("… is set up").
    pub product: &'a str,
    /// The report the agents write for the user, relative to the install dir, from content.
    pub user_report: Option<&'a str>,
    /// The app's directory, for the resume command and for short report paths.
    pub install_dir: &'a Path,
    /// Which runner ran: the linear runner has no steps to count.
    pub variant: Variant,
}

/// The text to print once the TUI is gone (or after the last plain line).
///
/// `view` tells which problems failed, were blocked or never ran; `reports`
/// is `None` when the run report could not be written.
pub fn outro_text(
    outcome: &RunOutcome,
    view: &RunView,
    reports: Option<&ReportPaths>,
    ctx: &OutroContext,
) -> String {
    let mut out = Vec::new();
    let done = outcome.completed + outcome.not_needed;
    let steps = match ctx.variant {
        Variant::Orchestrator => format!(": {done}/{} steps", outcome.total),
        Variant::Linear => String::new(),
    };
    let resume = format!(
        "wizard resume {}",
        shell_words::quote(&ctx.install_dir.to_string_lossy())
    );

    match outcome.verdict {
        Verdict::Success => out.push(format!("✓ {} is set up{steps}.", ctx.product)),
        Verdict::Failed => out.push(failure_headline(outcome, view)),
        Verdict::Interrupted => out.push(format!(
            "■ Stopped{}. Finished steps stay done.",
            stopped_after(done, outcome.total, ctx.variant)
        )),
        Verdict::BudgetExhausted => out.push(format!(
            "■ Stopped: the token or cost budget ran out{}.",
            stopped_after(done, outcome.total, ctx.variant)
        )),
    }

    // Failed and blocked steps one by one; steps that never ran grouped by
    // reason, since an interrupt leaves many with the same one.
    let mut not_run: Vec<(&str, Vec<&str>)> = Vec::new();
    for problem in &outcome.problems {
        let glyph = match view.row(&problem.task_id).map(|r| r.status()) {
            Some(TaskStatus::Failed) => "✗",
            Some(TaskStatus::Skipped { .. }) => "⊘",
            _ => {
                match not_run
                    .iter_mut()
                    .find(|(reason, _)| *reason == problem.reason)
                {
                    Some((_, ids)) => ids.push(&problem.task_id),
                    None => not_run.push((&problem.reason, vec![&problem.task_id])),
                }
                continue;
            }
        };
        out.push(format!(
            "  {glyph} {} — {}",
            clean(&problem.task_id),
            clean(&problem.reason)
        ));
    }
    for (reason, ids) in not_run {
        out.push(format!(
            "  · not run ({}): {}",
            clean(reason),
            clean(&ids.join(", "))
        ));
    }
    if outcome.verdict == Verdict::Failed && ctx.variant == Variant::Orchestrator {
        out.push(format!("  {done}/{} steps done.", outcome.total));
    }

    for (task, line) in &outcome.conflicts {
        out.push(format!("⚠ Review: {} (from {})", clean(line), clean(task)));
    }

    out.push(String::new());
    match reports {
        Some(paths) => out.push(format!(
            "Run report: {} · timeline: {}",
            shorten(&paths.markdown, ctx.install_dir),
            shorten(&paths.timeline, ctx.install_dir)
        )),
        None => out.push("The run report could not be written; see the log.".to_string()),
    }

    let next = match outcome.verdict {
        Verdict::Success => match ctx.user_report {
            Some(report) => format!("Read {report}, then run your app and check events arrive."),
            None => "Run your app and check events arrive.".to_string(),
        },
        Verdict::Failed => format!("Fix what failed above, then run `{resume}` to retry the rest."),
        Verdict::Interrupted => format!("Run `{resume}` to continue where it stopped."),
        Verdict::BudgetExhausted => {
            format!("Raise the budget, then run `{resume}` to continue where it stopped.")
        }
    };
    out.push(format!("Next: {next}"));
    // Each entry is one line: whatever a field held, it cannot start another.
    out.iter()
        .map(|line| clean(line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One field of the outro, printable and on one line.
fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    super::sanitize::one_line(text)
}

fn failure_headline(outcome: &RunOutcome, view: &RunView) -> String {
    // Lead with a step that failed rather than one it blocked.
    let first = outcome
        .problems
        .iter()
        .find(|p| view.row(&p.task_id).map(|r| r.status()) == Some(&TaskStatus::Failed))
        .or(outcome.problems.first());
    let lead = match first {
        Some(p) => format!(": {} — {}", clean(&p.task_id), clean(&p.reason)),
        None => format!(": {}", outcome.message),
    };
    if outcome.failed > 0 {
        format!(
            "✗ {}{lead}",
            count(outcome.failed, "step failed", "steps failed")
        )
    } else if !outcome.problems.is_empty() {
        let n = outcome.problems.len();
        format!(
            "✗ {}{lead}",
            count(n, "step did not finish", "steps did not finish")
        )
    } else {
        format!("✗ {}", outcome.message)
    }
}

fn stopped_after(done: usize, total: usize, variant: Variant) -> String {
    match variant {
        Variant::Orchestrator => format!(" after {done}/{total} steps"),
        Variant::Linear => String::new(),
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A path relative to the install dir when it is inside it, as the user typed the dir.
fn shorten(path: &Path, install_dir: &Path) -> String {
    path.strip_prefix(install_dir)
        .unwrap_or(path)
        .display()
        .to_string()
}
