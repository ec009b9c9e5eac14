//! `timeline.svg`: one row per task on a shared time axis, readable at a glance.
//!
//! Each task that ran gets exactly one `bar` (its latest attempt, start to
//! finish), filled by model tier. Earlier attempts are drawn too, as faint
//! `retry` rects with a red outline, so a retry is visible without doubling
//! the bar count. A failed task's bar has a red outline and a ✗; a task
//! skipped without running is a thin grey `skip` marker at the moment it was
//! skipped; a task that never started only has its label. Times are the
//! process clock (`t_ms`) relative to the run's start, so tasks that ran
//! in an earlier process of a resumed run have no bar here (the report's
//! table still lists them).
//!
//! Legend swatches carry the class `key` besides their style class, so a
//! reader (or a test) can tell them from the data. Labels come from models
//! and users, so every piece of text is escaped.

use std::fmt::Write as _;

use crate::messages::TaskStatus;
use crate::ui::units;
use crate::ui::view::{RunView, TaskRow};

const WIDTH: f64 = 960.0;
const LABEL_WIDTH: f64 = 260.0;
const PLOT_LEFT: f64 = LABEL_WIDTH + 10.0;
const PLOT_RIGHT: f64 = WIDTH - 30.0;
const TOP: f64 = 64.0;
const ROW_HEIGHT: f64 = 24.0;
const BAR_HEIGHT: f64 = 14.0;
const AXIS_HEIGHT: f64 = 40.0;
/// The longest label shown in full; longer ones are cut (the full text is in a tooltip).
const LABEL_CHARS: usize = 36;

/// The legend's model tiers, with their fill colours.
const TIERS: [(&str, &str); 4] = [
    ("small", "#74c476"),
    ("medium", "#6baed6"),
    ("large", "#9e7bd8"),
    ("other", "#bdbdbd"),
];

/// The SVG timeline of a run.
pub fn timeline_svg(view: &RunView) -> String {
    let start = view.run_start_ms().unwrap_or(0);
    let end = view.run_finished_ms().unwrap_or(view.last_event_ms());
    let span_ms = end.saturating_sub(start).max(1_000);
    let rows = view.rows();
    let height = TOP + ROW_HEIGHT * rows.len().max(1) as f64 + AXIS_HEIGHT;
    let x = |t_ms: u64| {
        let rel = t_ms.saturating_sub(start).min(span_ms) as f64;
        PLOT_LEFT + rel / span_ms as f64 * (PLOT_RIGHT - PLOT_LEFT)
    };

    let mut svg = String::new();
    let _ = writeln!(svg, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">"#
    );
    svg.push_str(concat!(
        "<style>",
        ".label{fill:#222}.id{fill:#777}.note{fill:#888;font-size:11px}",
        ".bar{stroke:#555;stroke-width:0.5}.failed{stroke:#d62728;stroke-width:2}",
        ".retry{fill-opacity:0.35;stroke:#d62728;stroke-width:1;stroke-dasharray:3 2}",
        ".open{stroke-dasharray:4 2}.skip{fill:#999}.mark{fill:#d62728;font-weight:bold}",
        ".grid{stroke:#e5e5e5}.axis{stroke:#888}.tick{fill:#555;font-size:11px}",
        "</style>\n"
    ));
    let _ = writeln!(
        svg,
        r#"<rect width="{WIDTH}" height="{height}" fill="white"/>"#
    );

    let mut title = String::from("Run timeline");
    if let Some(app) = view.app() {
        let _ = write!(title, " — {app}");
    }
    let _ = write!(title, " ({})", view.variant().name());
    let _ = writeln!(
        svg,
        r#"<text x="10" y="22" font-size="16" font-weight="bold" class="label">{}</text>"#,
        escape(&title)
    );
    legend(&mut svg);

    // Grid and axis first, so bars draw over them.
    let plot_bottom = TOP + ROW_HEIGHT * rows.len().max(1) as f64;
    let step = tick_step_ms(span_ms);
    let mut tick = 0;
    while tick <= span_ms {
        let tx = x(start + tick);
        let _ = writeln!(
            svg,
            r#"<line class="grid" x1="{tx:.1}" y1="{TOP}" x2="{tx:.1}" y2="{plot_bottom}"/>"#
        );
        let _ = writeln!(
            svg,
            r#"<text class="tick" x="{tx:.1}" y="{:.1}" text-anchor="middle">{}s</text>"#,
            plot_bottom + 16.0,
            tick / 1_000
        );
        tick += step;
    }
    let _ = writeln!(
        svg,
        r#"<line class="axis" x1="{PLOT_LEFT}" y1="{plot_bottom}" x2="{PLOT_RIGHT}" y2="{plot_bottom}"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">seconds since the run started</text>"#,
        (PLOT_LEFT + PLOT_RIGHT) / 2.0,
        plot_bottom + 32.0
    );

    for (i, row) in rows.iter().enumerate() {
        let top = TOP + ROW_HEIGHT * i as f64;
        task_row(&mut svg, row, top, end, &x);
    }
    svg.push_str("</svg>\n");
    svg
}

fn legend(svg: &mut String) {
    let mut lx = 10.0;
    let ly = 36.0;
    for (tier, colour) in TIERS {
        let _ = writeln!(
            svg,
            r##"<rect x="{lx}" y="{ly}" width="12" height="12" fill="{colour}" class="key" stroke="#555" stroke-width="0.5"/><text class="label" x="{}" y="{}">{tier}</text>"##,
            lx + 16.0,
            ly + 10.0
        );
        lx += 80.0;
    }
    let _ = writeln!(
        svg,
        r#"<rect x="{lx}" y="{ly}" width="12" height="12" fill="white" class="key failed"/><text class="label" x="{}" y="{}">failed ✗</text>"#,
        lx + 16.0,
        ly + 10.0
    );
    lx += 90.0;
    let _ = writeln!(
        svg,
        r#"<rect x="{lx}" y="{ly}" width="12" height="12" fill="white" class="key retry"/><text class="label" x="{}" y="{}">earlier attempt</text>"#,
        lx + 16.0,
        ly + 10.0
    );
    lx += 120.0;
    let _ = writeln!(
        svg,
        r#"<rect x="{}" y="{ly}" width="2" height="12" class="key skip"/><text class="label" x="{}" y="{}">skipped</text>"#,
        lx + 5.0,
        lx + 16.0,
        ly + 10.0
    );
}

fn task_row(svg: &mut String, row: &TaskRow, top: f64, end_ms: u64, x: &impl Fn(u64) -> f64) {
    let mid = top + ROW_HEIGHT / 2.0;
    let label = cut(&row.task.label, LABEL_CHARS);
    let _ = writeln!(
        svg,
        r#"<text x="10" y="{:.1}"><title>{}</title><tspan class="id">{}</tspan> <tspan class="label">{}</tspan></text>"#,
        mid + 4.0,
        escape(&format!("{} — {}", row.task.id, row.task.label)),
        escape(&row.task.id),
        escape(&label)
    );
    let bar_top = mid - BAR_HEIGHT / 2.0;

    let Some((last, earlier)) = row.attempts.split_last() else {
        // Never started in this process: a skip marker, or a note.
        match (&row.task.status, row.finished_ms) {
            (TaskStatus::Skipped { reason, .. }, Some(at)) => {
                let mx = x(at);
                let _ = writeln!(
                    svg,
                    r#"<rect class="skip" x="{:.1}" y="{bar_top:.1}" width="2" height="{BAR_HEIGHT}"><title>{}</title></rect>"#,
                    mx - 1.0,
                    escape(&format!("skipped: {reason}"))
                );
                note_beside(
                    svg,
                    mx - 1.0,
                    mx + 1.0,
                    mid,
                    "note",
                    &format!("⊘ {}", cut(reason, 60)),
                );
            }
            _ => {
                let note = match &row.task.status {
                    TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Skipped { .. } => {
                        "ran in an earlier session"
                    }
                    _ => "did not run",
                };
                let _ = writeln!(
                    svg,
                    r#"<text class="note" x="{PLOT_LEFT}" y="{:.1}">{note}</text>"#,
                    mid + 4.0
                );
            }
        }
        return;
    };

    let fill = tier_colour(&row.task.model);
    for attempt in earlier {
        let (ax, aw) = extent(attempt.start_ms, attempt.end_ms.unwrap_or(end_ms), x);
        let _ = writeln!(
            svg,
            r#"<rect class="retry" x="{ax:.1}" y="{bar_top:.1}" width="{aw:.1}" height="{BAR_HEIGHT}" fill="{fill}"/>"#
        );
    }

    let open = last.end_ms.is_none();
    let bar_end = last.end_ms.unwrap_or(end_ms);
    let (bx, bw) = extent(last.start_ms, bar_end, x);
    let failed = row.task.status == TaskStatus::Failed;
    let mut class = String::from("bar");
    if failed {
        class.push_str(" failed");
    }
    if open {
        class.push_str(" open");
    }
    let mut tip = format!(
        "{} · {} · {}",
        row.task.id,
        row.task.model,
        units::duration(bar_end.saturating_sub(last.start_ms))
    );
    if row.task.attempts > 1 {
        let _ = write!(tip, " · attempt {}", row.task.attempts);
    }
    if let Some(reason) = row.failure_reason() {
        let _ = write!(tip, " · failed: {reason}");
    }
    let _ = writeln!(
        svg,
        r#"<rect class="{class}" x="{bx:.1}" y="{bar_top:.1}" width="{bw:.1}" height="{BAR_HEIGHT}" fill="{fill}"><title>{}</title></rect>"#,
        escape(&tip)
    );
    if failed {
        note_beside(svg, bx, bx + bw, mid, "mark", "✗");
    } else if let TaskStatus::Skipped { .. } = row.task.status {
        note_beside(svg, bx, bx + bw, mid, "note", "⊘ not needed");
    }
}

/// A short text right of the span `left..right`, or left of it when it would run off the picture.
fn note_beside(svg: &mut String, left: f64, right: f64, mid: f64, class: &str, text: &str) {
    // A rough width: 12px type averages under 7px a character.
    let width = text.chars().count() as f64 * 7.0;
    let (x, anchor) = if right + 5.0 + width <= WIDTH {
        (right + 5.0, "start")
    } else {
        (left - 5.0, "end")
    };
    let _ = writeln!(
        svg,
        r#"<text class="{class}" x="{x:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
        mid + 4.0,
        escape(text)
    );
}

/// Left edge and width of a span, at least a hairline wide so instant tasks still show.
fn extent(from_ms: u64, to_ms: u64, x: &impl Fn(u64) -> f64) -> (f64, f64) {
    let left = x(from_ms);
    let width = (x(to_ms.max(from_ms)) - left).max(2.0);
    (left, width)
}

/// The fill for a model tier; concrete model ids are "other".
fn tier_colour(model: &str) -> &'static str {
    TIERS
        .iter()
        .find(|(tier, _)| *tier == model)
        .map(|(_, colour)| *colour)
        .unwrap_or(TIERS[3].1)
}

/// A tick spacing that gives at most ten ticks: 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10… min.
fn tick_step_ms(span_ms: u64) -> u64 {
    const STEPS_S: [u64; 12] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1_200, 1_800];
    STEPS_S
        .iter()
        .map(|s| s * 1_000)
        .find(|step| span_ms / step <= 10)
        .unwrap_or(3_600_000 * span_ms.div_ceil(36_000_000).max(1))
}

/// At most `max` characters, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Text safe in XML content and attribute values; drops characters XML 1.0 forbids.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_never_crowd_the_axis() {
        assert_eq!(tick_step_ms(8_000), 1_000);
        assert_eq!(tick_step_ms(45_000), 5_000);
        assert_eq!(tick_step_ms(200_000), 30_000);
        assert!(tick_step_ms(50 * 3_600_000) >= 5 * 3_600_000);
    }

    #[test]
    fn escape_makes_markup_and_control_characters_safe() {
        assert_eq!(escape("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos;");
    }
}
