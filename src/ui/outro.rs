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

    // A monorepo run: a verdict per app.
    for app in super::apps::app_summaries(view, false) {
        out.push(super::apps::verdict_line(&app));
    }

    // "Set up" never stands alone: say what reached the backend, what was only sent,
    // and what was not checked.
    for verification in view
        .rows()
        .iter()
        .filter_map(|r| r.task.handoff.as_ref()?.verification.as_ref())
    {
        for line in verification.summary(ctx.product) {
            out.push(format!("  {line}"));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{
        EventEvidence, EventOutcome, Handoff, Task, TaskStatus, Usage, Verification,
    };

    fn verify_task(verification: Verification) -> Task {
        Task {
            id: "verify".into(),
            app: ".".into(),
            task_type: "verify".into(),
            label: "Check that events reach PostHog".into(),
            status: TaskStatus::Completed,
            depends_on: vec![],
            inputs: serde_json::json!({}),
            model: "small".into(),
            attempts: 1,
            max_attempts: 2,
            enqueued_by: "orchestrator".into(),
            depth: 1,
            created_at: chrono::Utc::now(),
            started_at: None,
            finished_at: None,
            handoff: Some(Handoff {
                verification: Some(verification),
                ..Handoff::default()
            }),
            error: None,
            usage: Usage::default(),
            cost_usd: 0.0,
            provider_retries: 0,
        }
    }

    #[test]
    fn set_up_always_comes_with_what_was_verified_sent_and_not_checked() {
        let evidence = |event: &str, outcome, detail: &str| EventEvidence {
            event: event.into(),
            side: String::new(),
            outcome,
            detail: detail.into(),
        };
        let mut view = RunView::new();
        view.load_tasks(&[verify_task(Verification {
            method: "the query API at https://us.posthog.com".into(),
            events: vec![
                evidence("subscription_created", EventOutcome::Reached, ""),
                evidence(
                    "plan_changed",
                    EventOutcome::NotSeen,
                    "not received since the step began",
                ),
                evidence(
                    "subscribe_clicked",
                    EventOutcome::NotChecked,
                    "needs a browser",
                ),
                evidence(
                    "checkout_done",
                    EventOutcome::Sent,
                    "no key to read events back",
                ),
            ],
            requests: vec![],
        })]);
        let outcome = RunOutcome {
            verdict: Verdict::Success,
            message: "done".into(),
            total: 1,
            completed: 1,
            not_needed: 0,
            failed: 0,
            blocked: 0,
            never_ran: 0,
            problems: vec![],
            conflicts: vec![],
            usage: Usage::default(),
            cost_usd: 0.0,
        };
        let ctx = OutroContext {
            product: "PostHog",
            user_report: None,
            install_dir: Path::new("/tmp/app"),
            variant: Variant::Orchestrator,
        };
        let text = outro_text(&outcome, &view, None, &ctx);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "✓ PostHog is set up: 1/1 steps.");
        assert_eq!(
            lines[1],
            "  verified: 1 of 4 planned events reached PostHog"
        );
        assert_eq!(
            lines[2],
            "  only sent: checkout_done (no key to read events back)"
        );
        assert_eq!(
            lines[3],
            "  not seen: plan_changed (not received since the step began)"
        );
        assert_eq!(
            lines[4],
            "  not verified: subscribe_clicked (needs a browser)"
        );
    }
}
