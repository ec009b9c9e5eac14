//! The `--review` screen of the TUI: the changed files, the selected file's diff, apply or cancel.
//!
//! Shown after the run, when the TUI has already given the terminal back and
//! nothing has touched the real tree yet. The screen is a pure function of
//! [`ReviewScreen`] (pinned with `TestBackend`); [`ReviewScreen::press`] is
//! the whole key handling, so the loop in [`ask`] only draws, reads a key and
//! stops on a [`Decision`]. Diff text comes from the app's files and the
//! model, so every line goes through the sanitiser before it is drawn.

use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph};
use ratatui::Frame;

use super::sanitize::one_line;
use super::terminal::{TerminalError, TerminalUi};

/// One changed file, as the screen lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewFile {
    /// Path relative to the app.
    pub path: String,
    /// "added", "changed" or "deleted".
    pub what: &'static str,
    /// The file's unified diff.
    pub diff: String,
}

/// What the user decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Write the changes into the app.
    Apply,
    /// Leave the app as it is (the patch stays on disk).
    Cancel,
}

/// A key the review screen acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewKey {
    /// `↑` / `k`: the previous file.
    PreviousFile,
    /// `↓` / `j` / Tab: the next file.
    NextFile,
    /// `K` / Shift-`↑`: the diff one line up.
    LineUp,
    /// `J` / Shift-`↓`: the diff one line down.
    LineDown,
    /// PgUp / `b`: the diff one page up.
    PageUp,
    /// PgDn / Space: the diff one page down.
    PageDown,
    /// `a` / `y`: apply.
    Apply,
    /// `q` / `n` / Esc / Ctrl-C: cancel.
    Cancel,
}

/// The review screen's state: the files, which one is selected, how far its diff is scrolled.
#[derive(Debug, Clone)]
pub struct ReviewScreen {
    target: String,
    files: Vec<ReviewFile>,
    selected: usize,
    scroll: usize,
}

impl ReviewScreen {
    /// A screen for changes to the app at `target` (shown in the title), first file selected.
    pub fn new(target: impl Into<String>, files: Vec<ReviewFile>) -> Self {
        Self {
            target: target.into(),
            files,
            selected: 0,
            scroll: 0,
        }
    }

    /// The selected file's index.
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// The first diff line on screen.
    pub fn scroll(&self) -> usize {
        self.scroll
    }

    /// Acts on `key`; `page` is how many diff lines fit on screen. `Some` ends the screen.
    pub fn press(&mut self, key: ReviewKey, page: usize) -> Option<Decision> {
        let page = page.max(1);
        let last_line = self
            .files
            .get(self.selected)
            .map(|f| f.diff.lines().count().saturating_sub(1))
            .unwrap_or(0);
        match key {
            ReviewKey::Apply => return Some(Decision::Apply),
            ReviewKey::Cancel => return Some(Decision::Cancel),
            ReviewKey::PreviousFile => self.select(self.selected.saturating_sub(1)),
            ReviewKey::NextFile => {
                self.select((self.selected + 1).min(self.files.len().saturating_sub(1)))
            }
            ReviewKey::LineUp => self.scroll = self.scroll.saturating_sub(1),
            ReviewKey::LineDown => self.scroll = (self.scroll + 1).min(last_line),
            ReviewKey::PageUp => self.scroll = self.scroll.saturating_sub(page),
            ReviewKey::PageDown => self.scroll = (self.scroll + page).min(last_line),
        }
        None
    }

    fn select(&mut self, index: usize) {
        if index != self.selected {
            self.selected = index;
            self.scroll = 0;
        }
    }
}

/// How many diff lines fit on a screen `height` rows tall.
pub fn diff_height(height: u16) -> usize {
    // Title and key lines, and the diff panel's two borders.
    height.saturating_sub(4) as usize
}

/// Draws the review screen.
pub fn render(frame: &mut Frame, screen: &ReviewScreen) {
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    let [title, body, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let count = screen.files.len();
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::from("Review").bold(),
            Span::from(format!(
                " · the run would change {count} {} in {} · nothing is applied yet",
                if count == 1 { "file" } else { "files" },
                one_line(&screen.target)
            )),
        ])),
        title,
    );
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::from("[↑↓]").bold(),
            Span::from(" file  "),
            Span::from("[PgUp/PgDn J/K]").bold(),
            Span::from(" scroll  "),
            Span::from("[a]").bold(),
            Span::from(" apply  "),
            Span::from("[q]").bold(),
            Span::from(" cancel"),
        ])),
        keys,
    );
    let longest = screen
        .files
        .iter()
        .map(|f| f.path.chars().count() + 4)
        .max()
        .unwrap_or(0) as u16;
    let list_width = longest.clamp(12, (area.width / 3).max(12)).min(area.width);
    let [list, diff] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(0)]).areas(body);
    render_list(frame, list, screen);
    render_diff(frame, diff, screen);
}

fn render_list(frame: &mut Frame, area: Rect, screen: &ReviewScreen) {
    let items: Vec<ListItem> = screen
        .files
        .iter()
        .map(|f| {
            let mark = match f.what {
                "added" => Span::from("A ").green(),
                "deleted" => Span::from("D ").red(),
                _ => Span::from("M ").yellow(),
            };
            ListItem::new(Line::from(vec![mark, Span::from(one_line(&f.path))]))
        })
        .collect();
    let mut state = ListState::default().with_selected(Some(screen.selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(Block::bordered().title(" Files "))
            .highlight_style(Style::default().add_modifier(Modifier::REVERSED)),
        area,
        &mut state,
    );
}

fn render_diff(frame: &mut Frame, area: Rect, screen: &ReviewScreen) {
    let Some(file) = screen.files.get(screen.selected) else {
        return;
    };
    let lines: Vec<Line> = file
        .diff
        .lines()
        .skip(screen.scroll)
        .take(area.height as usize)
        .map(diff_line)
        .collect();
    let total = file.diff.lines().count();
    let title = format!(
        " {} · {}/{} ",
        one_line(&file.path),
        (screen.scroll + 1).min(total),
        total
    );
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(title)),
        area,
    );
}

/// One diff line, colored by what it is.
fn diff_line(raw: &str) -> Line<'static> {
    let text = one_line(raw).into_owned();
    let style = if raw.starts_with("+++") || raw.starts_with("---") || raw.starts_with("diff ") {
        Style::default().add_modifier(Modifier::BOLD)
    } else if raw.starts_with('+') {
        Style::default().fg(Color::Green)
    } else if raw.starts_with('-') {
        Style::default().fg(Color::Red)
    } else if raw.starts_with("@@") {
        Style::default().fg(Color::Cyan)
    } else if raw.starts_with('#') {
        Style::default().add_modifier(Modifier::DIM)
    } else {
        Style::default()
    };
    Line::styled(text, style)
}

/// The [`ReviewKey`] a terminal event means, if any.
pub fn key_for(ev: &Event) -> Option<ReviewKey> {
    let Event::Key(key) = ev else {
        return None;
    };
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let shift = key.modifiers.contains(KeyModifiers::SHIFT);
    Some(match key.code {
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => ReviewKey::Cancel,
        KeyCode::Up if shift => ReviewKey::LineUp,
        KeyCode::Down if shift => ReviewKey::LineDown,
        KeyCode::Up | KeyCode::Char('k') | KeyCode::BackTab => ReviewKey::PreviousFile,
        KeyCode::Down | KeyCode::Char('j') | KeyCode::Tab => ReviewKey::NextFile,
        KeyCode::Char('K') => ReviewKey::LineUp,
        KeyCode::Char('J') => ReviewKey::LineDown,
        KeyCode::PageUp | KeyCode::Char('b') => ReviewKey::PageUp,
        KeyCode::PageDown | KeyCode::Char(' ') => ReviewKey::PageDown,
        KeyCode::Char('a') | KeyCode::Char('A') | KeyCode::Char('y') | KeyCode::Char('Y') => {
            ReviewKey::Apply
        }
        KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Char('n') | KeyCode::Char('N') => {
            ReviewKey::Cancel
        }
        KeyCode::Esc => ReviewKey::Cancel,
        _ => return None,
    })
}

/// Shows the screen on the terminal until the user applies or cancels.
pub fn ask(mut screen: ReviewScreen) -> Result<Decision, TerminalError> {
    let mut terminal = TerminalUi::start()?;
    loop {
        terminal.draw_with(|frame| render(frame, &screen))?;
        let Some(event) = terminal.poll_event(Duration::from_millis(250))? else {
            continue;
        };
        let Some(key) = key_for(&event) else {
            continue;
        };
        let page = diff_height(terminal.height()?);
        if let Some(decision) = screen.press(key, page) {
            terminal.stop()?;
            return Ok(decision);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEvent;

    fn file(path: &str, lines: usize) -> ReviewFile {
        ReviewFile {
            path: path.into(),
            what: "changed",
            diff: (0..lines).map(|i| format!("+line {i}\n")).collect(),
        }
    }

    #[test]
    fn moving_between_files_resets_the_scroll_and_stops_at_the_ends() {
        let mut s = ReviewScreen::new("/app", vec![file("a", 50), file("b", 3)]);
        assert_eq!(s.press(ReviewKey::PageDown, 10), None);
        assert_eq!(s.scroll(), 10);
        s.press(ReviewKey::NextFile, 10);
        assert_eq!((s.selected(), s.scroll()), (1, 0));
        s.press(ReviewKey::NextFile, 10);
        assert_eq!(s.selected(), 1, "stays on the last file");
        s.press(ReviewKey::PageDown, 10);
        assert_eq!(s.scroll(), 2, "never past the diff's last line");
        s.press(ReviewKey::PreviousFile, 10);
        s.press(ReviewKey::PreviousFile, 10);
        assert_eq!((s.selected(), s.scroll()), (0, 0));
        s.press(ReviewKey::LineUp, 10);
        assert_eq!(s.scroll(), 0);
        s.press(ReviewKey::LineDown, 10);
        assert_eq!(s.scroll(), 1);
    }

    #[test]
    fn apply_and_cancel_end_the_screen() {
        let mut s = ReviewScreen::new("/app", vec![file("a", 1)]);
        assert_eq!(s.press(ReviewKey::Apply, 5), Some(Decision::Apply));
        assert_eq!(s.press(ReviewKey::Cancel, 5), Some(Decision::Cancel));
    }

    #[test]
    fn keys_map_to_what_the_footer_says() {
        let press = |code, modifiers| key_for(&Event::Key(KeyEvent::new(code, modifiers)));
        let none = KeyModifiers::NONE;
        assert_eq!(press(KeyCode::Down, none), Some(ReviewKey::NextFile));
        assert_eq!(
            press(KeyCode::Char('k'), none),
            Some(ReviewKey::PreviousFile)
        );
        assert_eq!(
            press(KeyCode::Down, KeyModifiers::SHIFT),
            Some(ReviewKey::LineDown)
        );
        assert_eq!(press(KeyCode::PageDown, none), Some(ReviewKey::PageDown));
        assert_eq!(press(KeyCode::Char('a'), none), Some(ReviewKey::Apply));
        assert_eq!(press(KeyCode::Esc, none), Some(ReviewKey::Cancel));
        assert_eq!(
            press(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Some(ReviewKey::Cancel)
        );
        assert_eq!(press(KeyCode::Char('x'), none), None);
    }
}
