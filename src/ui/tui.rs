//! The full-screen TUI: one frame drawn from a [`RunView`].
//!
//! Top to bottom: a header (app, framework, variant, elapsed), the queue
//! panel (one row per task), "Now" (each running task and its latest
//! activity), "Next", and a totals line. The frame is a pure function of the
//! view, the clock and a spinner tick, so tests pin it with `TestBackend`.
//!
//! Small terminals degrade in a fixed order: the panel loses its border and
//! the Now/Next lines first, then the header; the totals line goes last,
//! because progress is what the user looks for. Text is cut, never wrapped.
//!
//! A permission ask waiting for the user's key is drawn as a panel over the
//! bottom of the screen, just above the totals line, so it cannot be missed.

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table};
use ratatui::Frame;
use unicode_width::UnicodeWidthChar;

use super::units;
use super::view::{Phase, RunView, TaskRow};
use crate::messages::TaskStatus;

/// Braille spinner frames, one per tick.
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// How many running tasks "Now" lists before summing up the rest.
const NOW_LINES: usize = 3;

/// The spinner frame for a tick.
pub fn spinner(tick: usize) -> &'static str {
    SPINNER[tick % SPINNER.len()]
}

/// Draws the whole screen for `view` at `now_ms` (process clock).
pub fn render(frame: &mut Frame, view: &RunView, now_ms: u64, spinner_tick: usize) {
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    let spin = spinner(spinner_tick);
    let now_lines = now_lines(view, spin);
    let full_height = 1 + 3 + now_lines.len() as u16 + 2;

    if area.height >= full_height {
        let [header, queue, now, next, totals] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(now_lines.len() as u16),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        render_header(frame, header, view, now_ms);
        render_queue(frame, queue, view, now_ms, spin, true);
        frame.render_widget(Paragraph::new(now_lines), now);
        frame.render_widget(Paragraph::new(next_line(view)), next);
        frame.render_widget(Paragraph::new(totals_line(view)), totals);
    } else if area.height >= 3 {
        let [header, queue, totals] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(area);
        render_header(frame, header, view, now_ms);
        render_queue(frame, queue, view, now_ms, spin, false);
        frame.render_widget(Paragraph::new(totals_line(view)), totals);
    } else {
        let [queue, totals] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
        render_queue(frame, queue, view, now_ms, spin, false);
        frame.render_widget(Paragraph::new(totals_line(view)), totals);
    }
    render_ask(frame, area, view);
}

/// The ask panel: which task, what exactly, why, and the keys that answer.
fn render_ask(frame: &mut Frame, area: Rect, view: &RunView) {
    let Some(ask) = view.ask() else {
        return;
    };
    let width = area.width.saturating_sub(2) as usize;
    let mut lines = vec![Line::from(vec![
        Span::from(format!("{} ({}) asks to ", ask.task_id, ask.task_type)),
        Span::from(ask.request.describe()).bold(),
    ])];
    if let Some(detail) = &ask.detail {
        lines.push(Line::from(format!("with: {detail}")));
    }
    if let Some(reason) = &ask.reason {
        lines.push(Line::from(format!("why: {reason}")));
    }
    lines.push(Line::from(format!("refused by: {}", ask.refusal)).dim());
    lines.push(Line::from(vec![
        Span::from("[o]").bold(),
        Span::from(" allow once  "),
        Span::from("[r]").bold(),
        Span::from(" allow for this run  "),
        Span::from("[d]").bold(),
        Span::from(" deny"),
    ]));
    let lines: Vec<Line> = lines.into_iter().map(|l| cut(l, width)).collect();
    // Keep the totals line visible under the panel when there is room for both.
    let spare = u16::from(area.height > lines.len() as u16 + 2);
    let height = (lines.len() as u16 + 2).min(area.height);
    let panel = Rect {
        x: area.x,
        y: area.y + area.height.saturating_sub(height + spare),
        width: area.width,
        height,
    };
    frame.render_widget(Clear, panel);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(" Permission ask ")
                .border_style(Style::default().fg(Color::Yellow)),
        ),
        panel,
    );
}

fn render_header(frame: &mut Frame, area: Rect, view: &RunView, now_ms: u64) {
    let mut spans = vec![Span::from("wizard").bold()];
    for part in [view.app(), view.framework(), Some(view.variant().name())]
        .into_iter()
        .flatten()
    {
        spans.push(Span::from(" · ").dark_gray());
        spans.push(Span::from(part.to_string()));
    }
    let clock = match view.run_start_ms() {
        Some(_) => units::clock(view.elapsed_ms(now_ms)),
        None => String::new(),
    };
    let clock_width = clock.chars().count() as u16;
    // The clock only shows when it fits beside at least a few characters of the title.
    if clock_width > 0 && area.width > clock_width + 8 {
        let [left, right] =
            Layout::horizontal([Constraint::Min(0), Constraint::Length(clock_width + 1)])
                .areas(area);
        frame.render_widget(Paragraph::new(Line::from(spans)), left);
        frame.render_widget(
            Paragraph::new(clock)
                .alignment(Alignment::Right)
                .dark_gray(),
            right,
        );
    } else {
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
    }
}

fn render_queue(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    now_ms: u64,
    spin: &str,
    bordered: bool,
) {
    if area.height == 0 {
        return;
    }
    // A monorepo run's rows are grouped by app (stable: enqueue order within an app).
    let mut rows: Vec<&TaskRow> = view.rows().iter().collect();
    if rows
        .iter()
        .any(|r| crate::messages::app_tag(&r.task.app).is_some())
    {
        rows.sort_by(|a, b| a.task.app.cmp(&b.task.app));
    }
    let rows = rows.as_slice();
    let inner_height = if bordered {
        area.height.saturating_sub(2)
    } else {
        area.height
    } as usize;
    let (start, shown) = window(rows, inner_height);

    let mut title = vec![Span::from(" Steps ").bold()];
    match view.phase() {
        Phase::Seeding => title.push(Span::from(format!("· planning {spin} ")).cyan()),
        Phase::Finished => title.push(Span::from("· finished ").dark_gray()),
        Phase::Running => {}
    }
    let hidden_below = rows.len() - start - shown;
    if start > 0 || hidden_below > 0 {
        title.push(Span::from(format!("· {start} above · {hidden_below} below ")).dark_gray());
    }
    let block = bordered.then(|| {
        Block::bordered()
            .title(Line::from(title))
            .border_style(Style::new().dark_gray())
    });

    if rows.is_empty() {
        let text = Line::from(vec![
            Span::from(format!("{spin} ")).cyan(),
            Span::from("Looking at your app and planning the steps…"),
        ]);
        let mut empty = Paragraph::new(text);
        if let Some(block) = block {
            empty = empty.block(block);
        }
        frame.render_widget(empty, area);
        return;
    }

    let model_width = rows
        .iter()
        .map(|r| r.task.model.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(5, 16) as u16;
    let inner_width = if bordered {
        area.width.saturating_sub(2)
    } else {
        area.width
    };
    let columns = Columns::fitting(inner_width, model_width);
    let label_width = columns.label_width(inner_width, model_width);
    let table_rows = rows[start..start + shown]
        .iter()
        .map(|row| queue_row(row, now_ms, spin, columns, label_width));
    let mut table = Table::new(table_rows, columns.widths(model_width)).column_spacing(1);
    if let Some(block) = block {
        table = table.block(block);
    }
    frame.render_widget(table, area);
}

/// Which rows fit: keeps the first unfinished task in sight, with a little
/// finished history above it. Returns (first index, count).
fn window(rows: &[&TaskRow], height: usize) -> (usize, usize) {
    if rows.len() <= height {
        return (0, rows.len());
    }
    let focus = rows
        .iter()
        .position(|r| !r.task.status.is_terminal())
        .unwrap_or(rows.len() - 1);
    let start = focus.saturating_sub(2).min(rows.len() - height);
    (start, height)
}

/// Which queue columns fit: the label matters most, then elapsed time, then the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Columns {
    /// Glyph, label, model, elapsed, tokens, cost.
    All,
    /// Glyph, label, elapsed.
    Elapsed,
    /// Glyph and label.
    Label,
}

impl Columns {
    /// The label keeps at least this many cells before a column is dropped.
    const MIN_LABEL: u16 = 16;

    fn fitting(width: u16, model_width: u16) -> Self {
        // Each column after the glyph costs its width plus one cell of spacing.
        let all = 2 + Self::MIN_LABEL + (model_width + 1) + 8 + 7 + 7;
        let elapsed = 2 + Self::MIN_LABEL + 8;
        if width >= all {
            Columns::All
        } else if width >= elapsed {
            Columns::Elapsed
        } else {
            Columns::Label
        }
    }

    /// The cells left for the label in a row `width` wide: what the other
    /// columns and the spacing between columns do not take.
    fn label_width(self, width: u16, model_width: u16) -> usize {
        let others = match self {
            Columns::All => 1 + model_width + 7 + 6 + 6 + 5,
            Columns::Elapsed => 1 + 7 + 2,
            Columns::Label => 1 + 1,
        };
        usize::from(width.saturating_sub(others))
    }

    fn widths(self, model_width: u16) -> Vec<Constraint> {
        let mut widths = vec![Constraint::Length(1), Constraint::Fill(1)];
        match self {
            Columns::All => widths.extend([
                Constraint::Length(model_width),
                Constraint::Length(7),
                Constraint::Length(6),
                Constraint::Length(6),
            ]),
            Columns::Elapsed => widths.push(Constraint::Length(7)),
            Columns::Label => {}
        }
        widths
    }
}

fn queue_row<'a>(
    row: &'a TaskRow,
    now_ms: u64,
    spin: &'a str,
    columns: Columns,
    label_width: usize,
) -> Row<'a> {
    let dim = Style::new().dark_gray();
    let (glyph, mut label): (Span, Line) = match row.status() {
        TaskStatus::Pending => match row.retry_reason() {
            Some(reason) => (
                Span::from("↻").yellow(),
                Line::from(vec![
                    Span::from(row.task.label.as_str()),
                    Span::styled(format!("  retrying: {reason}"), dim),
                ]),
            ),
            None => (Span::styled("·", dim), Line::from(row.task.label.as_str())),
        },
        TaskStatus::Running => (
            Span::from(spin).cyan(),
            Line::from(Span::from(row.task.label.as_str()).bold()),
        ),
        TaskStatus::Completed => (Span::from("✓").green(), Line::from(row.task.label.as_str())),
        TaskStatus::Failed => {
            let red = Style::new().fg(Color::Red);
            (
                Span::styled("✗", red.add_modifier(Modifier::BOLD)),
                Line::from(vec![
                    Span::styled(row.task.label.as_str(), red.add_modifier(Modifier::BOLD)),
                    Span::styled(
                        format!("  {}", row.failure_reason().unwrap_or("failed")),
                        red,
                    ),
                ]),
            )
        }
        TaskStatus::Skipped { reason, .. } => (
            Span::styled("⊘", dim),
            Line::from(vec![
                Span::styled(row.task.label.as_str(), dim),
                Span::styled(format!("  {reason}"), dim.add_modifier(Modifier::ITALIC)),
            ]),
        ),
    };
    if let Some(tag) = crate::messages::app_tag(&row.task.app) {
        label
            .spans
            .insert(0, Span::styled(format!("{tag} · "), dim));
    }
    let started = !row.attempts.is_empty() || row.task.started_at.is_some();
    let elapsed = if started {
        row.elapsed_ms(now_ms)
            .map(units::duration)
            .unwrap_or_default()
    } else {
        String::new()
    };
    let usage = row.usage();
    let tokens = if usage.total() > 0 {
        units::tokens(usage.total())
    } else {
        String::new()
    };
    let cost = row.cost_usd();
    let cost = if cost > 0.0 {
        units::cost(cost)
    } else {
        String::new()
    };
    let right = |text: String| Cell::from(Line::from(text).alignment(Alignment::Right));
    let mut cells = vec![Cell::from(glyph), Cell::from(cut(label, label_width))];
    match columns {
        Columns::All => cells.extend([
            Cell::from(Span::styled(row.task.model.as_str(), dim)),
            right(elapsed),
            right(tokens),
            right(cost),
        ]),
        Columns::Elapsed => cells.push(right(elapsed)),
        Columns::Label => {}
    }
    Row::new(cells)
}

/// `line` cut to `width` cells, ending in `…` when it was cut: a cell cut
/// silently runs into the next column ("…signup or medium" read as one phrase).
fn cut(line: Line<'_>, width: usize) -> Line<'_> {
    if line.width() <= width {
        return line;
    }
    let Line {
        spans,
        style,
        alignment,
    } = line;
    let mut room = width.saturating_sub(1);
    let mut kept: Vec<Span> = Vec::new();
    let mut last_style = Style::new();
    for span in spans {
        if room == 0 {
            break;
        }
        last_style = span.style;
        let mut text = String::new();
        for c in span.content.chars() {
            let w = c.width().unwrap_or(0);
            if w > room {
                room = 0;
                break;
            }
            room -= w;
            text.push(c);
        }
        kept.push(Span::styled(text, span.style));
    }
    // "signup…" rather than "signup …".
    if let Some(last) = kept.last_mut() {
        let trimmed = last.content.trim_end().len();
        last.content.to_mut().truncate(trimmed);
    }
    if width > 0 {
        kept.push(Span::styled("…", last_style));
    }
    Line {
        spans: kept,
        style,
        alignment,
    }
}

fn now_lines<'a>(view: &'a RunView, spin: &'a str) -> Vec<Line<'a>> {
    let heading = || Span::from("Now   ").bold();
    let running: Vec<&TaskRow> = view.running().collect();
    // The seed is a row of its own from launch, so the first thing on screen moves.
    let planning = (view.phase() == Phase::Seeding).then(|| {
        let phrase = view.seed_activity().unwrap_or("looking at your app…");
        vec![
            Span::from(spin).cyan(),
            Span::from(" "),
            Span::from("Planning").bold(),
            Span::from("  "),
            Span::from(phrase),
        ]
    });
    if running.is_empty() {
        if let Some(spans) = planning {
            return vec![Line::from([vec![heading()], spans].concat())];
        }
        let idle = match view.phase() {
            Phase::Seeding => "planning the steps…",
            Phase::Running => "waiting for the next step",
            Phase::Finished => "nothing; the run is over",
        };
        return vec![Line::from(vec![heading(), Span::from(idle).dark_gray()])];
    }
    let mut lines: Vec<Line> = running
        .iter()
        .take(NOW_LINES)
        .enumerate()
        .map(|(i, row)| {
            let lead = if i == 0 && planning.is_none() {
                heading()
            } else {
                Span::from("      ")
            };
            let phrase = row.activity().unwrap_or("starting…");
            Line::from(vec![
                lead,
                Span::from(spin).cyan(),
                Span::from(" "),
                Span::from(row.task.label.as_str()).bold(),
                Span::from("  "),
                Span::from(phrase),
            ])
        })
        .collect();
    if let Some(spans) = planning {
        lines.insert(0, Line::from([vec![heading()], spans].concat()));
    }
    if running.len() > NOW_LINES {
        lines.push(Line::from(vec![
            Span::from("      "),
            Span::from(format!("+{} more running", running.len() - NOW_LINES)).dark_gray(),
        ]));
    }
    lines
}

fn next_line(view: &RunView) -> Line<'_> {
    let next = view.next();
    let mut spans = vec![Span::from("Next  ").bold()];
    if next.is_empty() {
        let idle = if view.phase() == Phase::Seeding {
            "waiting for the plan"
        } else {
            "nothing left to start"
        };
        spans.push(Span::from(idle).dark_gray());
    } else {
        for (i, row) in next.iter().enumerate() {
            if i > 0 {
                spans.push(Span::from(" · ").dark_gray());
            }
            spans.push(Span::from(row.task.label.as_str()));
        }
    }
    Line::from(spans)
}

fn totals_line(view: &RunView) -> Line<'static> {
    let totals = view.totals();
    let sep = || Span::from(" · ").dark_gray();
    let mut spans = vec![Span::from(format!("{}/{} done", totals.done, totals.total)).bold()];
    if totals.failed > 0 {
        spans.push(sep());
        spans.push(Span::from(format!("{} failed", totals.failed)).red().bold());
    }
    spans.push(sep());
    spans.push(Span::from(format!(
        "{} tokens",
        units::tokens(totals.usage.total())
    )));
    spans.push(sep());
    spans.push(Span::from(units::cost(totals.cost_usd)));
    if let Some(share) = totals.cache_hit_share() {
        spans.push(sep());
        spans.push(Span::from(format!("cache {}", units::percent(share))));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn a_label_that_fits_is_left_alone() {
        let line = Line::from(vec![Span::from("Identify"), Span::from("  skipped")]);
        assert_eq!(text(&cut(line, 17)), "Identify  skipped");
    }

    #[test]
    fn a_cut_label_ends_in_an_ellipsis_within_its_width() {
        let line = Line::from(vec![
            Span::from("Identify users"),
            Span::from("  no login, signup or session code"),
        ]);
        let cut = cut(line, 30);
        assert_eq!(text(&cut), "Identify users  no login, sig…");
        assert_eq!(cut.width(), 30);
    }

    #[test]
    fn the_ellipsis_does_not_follow_a_space() {
        let line = Line::from("no login, signup or session code");
        assert_eq!(text(&cut(line, 21)), "no login, signup or…");
    }

    #[test]
    fn wide_characters_are_not_split() {
        let line = Line::from("計画を立てる");
        let cut = cut(line, 6);
        assert_eq!(text(&cut), "計画…");
        assert!(cut.width() <= 6);
    }
}
