//! The files a run leaves for people: `run-report.md` and `timeline.svg`.
//!
//! Both are rendered from the same [`RunView`](crate::ui::view::RunView)
//! the TUI draws, so the report shows what the user saw: per-task time,
//! model, tokens and cost, the handoffs' summaries, and how lively the run
//! felt. Both are written atomically, so a run killed mid-write leaves the
//! previous version or the new one, never half a file.

mod run_report;
mod timeline;

pub use run_report::{
    run_report_markdown, write_reports, write_reports_with_errors, ReportError, ReportPaths,
};
pub use timeline::timeline_svg;
