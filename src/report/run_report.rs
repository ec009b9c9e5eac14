//! `run-report.md`: what each step did, what it cost, and how lively the run was.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::timeline::timeline_svg;
use crate::atomic_file::{self, Access};
use crate::messages::TaskStatus;
use crate::ui::status::glyph;
use crate::ui::units;
use crate::ui::view::{RunView, TaskRow};

/// The markdown report's file name.
const MARKDOWN_FILE: &str = "run-report.md";
/// The timeline picture's file name.
const TIMELINE_FILE: &str = "timeline.svg";

/// Where the reports were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPaths {
    /// `run-report.md`.
    pub markdown: PathBuf,
    /// `timeline.svg`.
    pub timeline: PathBuf,
}

/// A report file that could not be written.
#[derive(Debug, Error)]
#[error("could not write the run report {path}: {source}")]
pub struct ReportError {
    /// The file (or directory) being written.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Writes `run-report.md` and `timeline.svg` into `dir` (the run's state dir), atomically.
pub fn write_reports(dir: &Path, view: &RunView) -> Result<ReportPaths, ReportError> {
    write_reports_with_errors(dir, view, &[])
}

/// Like [`write_reports`], with the run's storage errors listed at the end of the report.
pub fn write_reports_with_errors(
    dir: &Path,
    view: &RunView,
    storage_errors: &[String],
) -> Result<ReportPaths, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError {
        path: dir.to_path_buf(),
        source,
    })?;
    let paths = ReportPaths {
        markdown: dir.join(MARKDOWN_FILE),
        timeline: dir.join(TIMELINE_FILE),
    };
    write_atomically(&paths.timeline, &timeline_svg(view))?;
    let mut markdown = run_report_markdown(view);
    if !storage_errors.is_empty() {
        markdown.push_str("\n## Files that could not be written\n\nThe run's record on disk may be incomplete:\n\n");
        for e in storage_errors {
            let _ = writeln!(markdown, "- {e}");
        }
    }
    write_atomically(&paths.markdown, &markdown)?;
    Ok(paths)
}

/// Writes the report file owner-only and atomically, naming the path on error.
fn write_atomically(path: &Path, contents: &str) -> Result<(), ReportError> {
    atomic_file::write(path, contents.as_bytes(), Access::OwnerOnly).map_err(|source| ReportError {
        path: path.to_path_buf(),
        source,
    })
}

/// The markdown report for a run.
pub fn run_report_markdown(view: &RunView) -> String {
    let mut md = String::new();
    let end_ms = view.run_finished_ms().unwrap_or(view.last_event_ms());
    header_section(&mut md, view, end_ms);
    md.push_str(&apps_section(view));
    steps_section(&mut md, view, end_ms);
    step_details_section(&mut md, view);
    verification_section(&mut md, view);
    totals_section(&mut md, view);
    responsiveness_section(&mut md, view);
    let _ = writeln!(md, "\n## Timeline\n\n![Timeline]({TIMELINE_FILE})");
    md
}

/// The title and the run's facts: app, framework, variant, run id, outcome, duration.
fn header_section(md: &mut String, view: &RunView, end_ms: u64) {
    md.push_str("# Run report\n\n");
    let mut about = Vec::new();
    if let Some(app) = view.app() {
        about.push(format!("App: {}", inline(app)));
    }
    if let Some(framework) = view.framework() {
        about.push(format!("framework: {}", inline(framework)));
    }
    about.push(format!("variant: {}", view.variant().name()));
    let _ = writeln!(md, "- {}", about.join(" · "));
    if let Some(run_id) = view.run_id() {
        let _ = writeln!(md, "- Run: `{run_id}`");
    }
    match view.outcome() {
        Some(outcome) => {
            let verdict = serde_json::to_value(outcome.verdict)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let _ = writeln!(
                md,
                "- Outcome: **{verdict}** — {}",
                inline(&outcome.message)
            );
        }
        None => md.push_str("- Outcome: the run had not finished when this report was written\n"),
    }
    let _ = writeln!(
        md,
        "- Duration: {}",
        units::duration(view.elapsed_ms(end_ms))
    );
}

/// `## Steps`: one table row per task; time and tokens add up every attempt.
fn steps_section(md: &mut String, view: &RunView, end_ms: u64) {
    md.push_str("\n## Steps\n\n");
    // Time and tokens add up every attempt, so retries show what they cost.
    md.push_str(
        "| Step | Type | Label | Model | Attempts | Retries | Time | Tokens | Cost | Outcome |\n",
    );
    md.push_str("|---|---|---|---|--:|--:|--:|--:|--:|---|\n");
    for row in view.rows() {
        let duration = if row.attempts.is_empty() && row.task.started_at.is_none() {
            "—".to_string()
        } else {
            row.busy_ms(end_ms)
                .map(units::duration)
                .unwrap_or_else(|| "—".to_string())
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(row.id()),
            cell(&row.task.task_type),
            cell(&row.task.label),
            cell(&row.task.model),
            row.task.attempts,
            row.task.provider_retries,
            duration,
            units::tokens(row.usage().total()),
            units::cost(row.cost_usd()),
            cell(&outcome_of(row)),
        );
    }
}

/// `## What each step did`: each task's handoff, error or skip reason.
fn step_details_section(md: &mut String, view: &RunView) {
    md.push_str("\n## What each step did\n");
    for row in view.rows() {
        let _ = writeln!(
            md,
            "\n### {} — {}\n",
            inline(row.id()),
            inline(&row.task.label)
        );
        let mut said = false;
        if let Some(handoff) = &row.task.handoff {
            if !handoff.did.trim().is_empty() {
                let _ = writeln!(md, "- Did: {}", inline(&handoff.did));
                said = true;
            }
            if let Some(checks) = checks_line(handoff) {
                let _ = writeln!(md, "- Checks: {checks}");
                said = true;
            }
            if let Some(conflict) = &handoff.conflict {
                let _ = writeln!(md, "- ⚠ Conflict to review: {}", inline(conflict));
                said = true;
            }
        }
        if let Some(error) = &row.task.error {
            let _ = writeln!(
                md,
                "- Error ({}): {}",
                inline(&error.kind),
                inline(&error.message)
            );
            said = true;
        }
        if let Some(reason) = row.skip_reason() {
            let _ = writeln!(md, "- Skipped: {}", inline(reason));
            said = true;
        }
        if !said {
            md.push_str("- Nothing reported.\n");
        }
    }
}

/// `## Totals`: steps, tokens, cache hits, cost.
fn totals_section(md: &mut String, view: &RunView) {
    let totals = view.totals();
    md.push_str("\n## Totals\n\n");
    let _ = writeln!(
        md,
        "- Steps: {}/{} done, {} failed, {} blocked",
        totals.done, totals.total, totals.failed, totals.blocked
    );
    let u = totals.usage;
    let _ = writeln!(
        md,
        "- Tokens: {} (input {}, output {}, cache read {}, cache write {})",
        units::tokens(u.total()),
        units::tokens(u.input_tokens),
        units::tokens(u.output_tokens),
        units::tokens(u.cache_read_tokens),
        units::tokens(u.cache_write_tokens)
    );
    if let Some(share) = totals.cache_hit_share() {
        let _ = writeln!(
            md,
            "- Cache hits: {} of input tokens",
            units::percent(share)
        );
    }
    let _ = writeln!(md, "- Cost: {}", units::cost(totals.cost_usd));
}

/// `## Responsiveness`: time to first start and completion, the longest silence.
fn responsiveness_section(md: &mut String, view: &RunView) {
    let r = view.responsiveness();
    let figure = |ms: Option<u64>| ms.map(units::duration).unwrap_or_else(|| "—".to_string());
    md.push_str("\n## Responsiveness\n\n");
    let _ = writeln!(
        md,
        "- Time to first task start: {}",
        figure(r.to_first_start_ms)
    );
    let _ = writeln!(
        md,
        "- Time to first completion: {}",
        figure(r.to_first_completion_ms)
    );
    match r.longest_silence {
        Some(s) => {
            let start = view.run_start_ms().unwrap_or(0);
            let _ = writeln!(
                md,
                "- Longest silence: {} (from {} to {} after the start)",
                units::duration(s.ms()),
                units::duration(s.from_ms.saturating_sub(start)),
                units::duration(s.to_ms.saturating_sub(start))
            );
        }
        None => md.push_str("- Longest silence: —\n"),
    }
}

/// `## Verification`: what reached the backend, per planned event, and the requests made.
fn verification_section(md: &mut String, view: &RunView) {
    let found: Vec<(&str, &crate::messages::Verification)> = view
        .rows()
        .iter()
        .filter_map(|r| Some((r.id(), r.task.handoff.as_ref()?.verification.as_ref()?)))
        .collect();
    md.push_str("\n## Verification\n\n");
    if found.is_empty() {
        md.push_str("- No step verified that events arrive.\n");
        return;
    }
    for (id, v) in found {
        let _ = writeln!(
            md,
            "- Step {}: events read back through {}",
            inline(id),
            inline(&v.method)
        );
        let _ = writeln!(
            md,
            "- Verified: {} of {} planned events arrived",
            v.reached(),
            v.events.len()
        );
        if !v.events.is_empty() {
            md.push_str("\n| Event | Side | Outcome | Why |\n|---|---|---|---|\n");
            for e in &v.events {
                let outcome = match e.outcome {
                    crate::messages::EventOutcome::Reached => "✓ reached",
                    crate::messages::EventOutcome::NotAccepted => "✗ not accepted",
                    crate::messages::EventOutcome::Sent => "→ only sent",
                    crate::messages::EventOutcome::NotSeen => "✗ not seen",
                    crate::messages::EventOutcome::NotChecked => "○ not verified",
                };
                let _ = writeln!(
                    md,
                    "| {} | {} | {outcome} | {} |",
                    cell(&e.event),
                    cell(&e.side),
                    cell(&e.detail)
                );
            }
        }
        if !v.requests.is_empty() {
            md.push_str("\nRequests to the running app:\n\n");
            for r in &v.requests {
                let status = r
                    .status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "no answer".into());
                let _ = writeln!(md, "- `{} {}` → {status}", r.method, inline(&r.path));
            }
        }
    }
}

/// The runtime's checks of a step, one phrase each: passed (✓), failed (✗) or not run (○).
fn checks_line(handoff: &crate::messages::Handoff) -> Option<String> {
    let mut parts: Vec<String> = handoff
        .file_checks
        .iter()
        .map(|f| {
            let glyph = if f.passed { "✓" } else { "✗" };
            format!("{glyph} {} (found {})", inline(&f.expect), f.found)
        })
        .collect();
    parts.extend(
        handoff
            .checks
            .iter()
            .map(|c| match (&c.not_run, c.exit_code) {
                (Some(why), _) => format!("○ `{}` not run ({})", inline(&c.command), inline(why)),
                (None, Some(code)) => format!(
                    "{} `{}` (exit {code}, {})",
                    if code == 0 { "✓" } else { "✗" },
                    inline(&c.command),
                    units::duration(c.ms)
                ),
                (None, None) => format!(
                    "✗ `{}` (killed after {})",
                    inline(&c.command),
                    units::duration(c.ms)
                ),
            }),
    );
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The outcome column: glyph, status, and the reason when there is one.
/// A section per app: its verdict, what was already in place (kept) and what changed.
/// Empty for a run without app branches whose tasks kept nothing.
fn apps_section(view: &RunView) -> String {
    let all = crate::ui::apps::app_summaries(view, true);
    let branched = crate::ui::apps::has_branches(view);
    if !branched && all.iter().all(|s| s.kept.is_empty()) {
        return String::new();
    }
    let mut md = String::from("\n## Apps\n");
    for s in &all {
        let verdict = if s.succeeded() {
            "✓ done"
        } else {
            "✗ not done"
        };
        let _ = writeln!(
            md,
            "\n### {} — {verdict} ({}/{} steps)\n",
            inline(&s.app),
            s.done,
            s.total
        );
        if !s.problems.is_empty() {
            let _ = writeln!(md, "- Not done: {}", inline(&s.problems.join(", ")));
        }
        if s.kept.is_empty() {
            md.push_str("- Kept (already in place): nothing\n");
        }
        for (task, did) in &s.kept {
            let _ = writeln!(md, "- Kept ({}): {}", inline(task), inline(did));
        }
        if s.changed.is_empty() {
            md.push_str("- Added or changed: no file\n");
        } else {
            let files: Vec<String> = s
                .changed
                .iter()
                .map(|(f, t)| format!("{} ({})", inline(f), inline(t)))
                .collect();
            let _ = writeln!(md, "- Added or changed: {}", files.join(", "));
        }
    }
    md
}

fn outcome_of(row: &TaskRow) -> String {
    let status = row.status();
    let mut text = format!("{} {}", glyph(status), status.name());
    match status {
        TaskStatus::Failed => {
            let _ = write!(text, ": {}", row.failure_reason().unwrap_or("failed"));
        }
        TaskStatus::Skipped { reason, .. } => {
            let _ = write!(text, ": {reason}");
        }
        _ => {}
    }
    text
}

/// Text on one line: model and tool output may contain newlines.
fn inline(text: &str) -> String {
    crate::ui::sanitize::one_line(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text safe inside a markdown table cell.
fn cell(text: &str) -> String {
    inline(text).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{CommandCheck, FileAssertion, Handoff};

    #[test]
    fn the_checks_line_tells_passed_failed_and_not_run_apart() {
        let handoff = Handoff {
            file_checks: vec![FileAssertion {
                expect: "exactly 1 match(es) of /posthog\\.init\\(/ in **/*.ts".into(),
                found: 2,
                passed: false,
            }],
            checks: vec![
                CommandCheck {
                    command: "npm run build".into(),
                    exit_code: Some(0),
                    ms: 12_000,
                    not_run: None,
                },
                CommandCheck {
                    command: "npm run lint".into(),
                    exit_code: None,
                    ms: 0,
                    not_run: Some("--skip-commands".into()),
                },
            ],
            ..Handoff::default()
        };
        let line = checks_line(&handoff).unwrap();
        assert!(line.starts_with("✗ exactly 1 match(es)"), "{line}");
        assert!(line.contains("(found 2)"));
        assert!(line.contains("✓ `npm run build` (exit 0, "), "{line}");
        assert!(line.contains("○ `npm run lint` not run (--skip-commands)"));
        assert_eq!(checks_line(&Handoff::default()), None);
    }
}
