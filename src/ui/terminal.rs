//! [`TerminalUi`]: owns the real terminal while the TUI is up.
//!
//! A plain struct the UI actor drives on its tick: `start`, `draw` on every
//! tick or event, `poll_key` for the user's keys, `stop` at the end. Leaving
//! the terminal in raw mode on the alternate screen would wreck the user's
//! shell, so restoring is done three ways: `stop`, `Drop`, and a panic hook
//! (installed once per process) that restores before the panic message
//! prints. A flag makes restoring idempotent, so the three never fight.

use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::time::Duration;

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute, terminal};
use ratatui::backend::CrosstermBackend;
use ratatui::{Frame, Terminal};
use thiserror::Error;

use super::tui;
use super::view::RunView;

/// True while this process has the terminal in raw mode on the alternate screen.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

/// What the user asked for with a key (or the terminal reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiKey {
    /// `q` or Ctrl-C: stop the run.
    Quit,
    /// The terminal changed size; draw again now rather than at the next tick.
    Resize,
    /// `o`: allow the ask on screen once.
    AllowOnce,
    /// `r`: allow the ask on screen for the rest of the run.
    AllowRun,
    /// `d`: deny the ask on screen.
    Deny,
}

/// A terminal operation that failed, with what was being done.
#[derive(Debug, Error)]
#[error("terminal: could not {action}: {source}")]
pub struct TerminalError {
    /// What was being done ("enter raw mode", "draw", …).
    pub action: &'static str,
    /// The underlying failure.
    #[source]
    pub source: io::Error,
}

fn failed(action: &'static str) -> impl FnOnce(io::Error) -> TerminalError {
    move |source| TerminalError { action, source }
}

/// The terminal, in raw mode on the alternate screen, until [`stop`](Self::stop) or drop.
pub struct TerminalUi {
    terminal: Option<Terminal<CrosstermBackend<Stdout>>>,
    spinner_tick: usize,
}

impl TerminalUi {
    /// Enters raw mode and the alternate screen on stdout.
    pub fn start() -> Result<Self, TerminalError> {
        PANIC_HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        terminal::enable_raw_mode().map_err(failed("enter raw mode"))?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut ui = Self {
            terminal: None,
            spinner_tick: 0,
        };
        // From here on, Drop restores the terminal if anything below fails.
        execute!(io::stdout(), EnterAlternateScreen, cursor::Hide)
            .map_err(failed("enter the alternate screen"))?;
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))
            .map_err(failed("set up the screen"))?;
        ui.terminal = Some(terminal);
        Ok(ui)
    }

    /// Draws one frame of `view` at `now_ms` (process clock); each call advances the spinner.
    pub fn draw(&mut self, view: &RunView, now_ms: u64) -> Result<(), TerminalError> {
        let Some(terminal) = self.terminal.as_mut() else {
            return Ok(());
        };
        let tick = self.spinner_tick;
        self.spinner_tick = self.spinner_tick.wrapping_add(1);
        terminal
            .draw(|frame| tui::render(frame, view, now_ms, tick))
            .map_err(failed("draw"))?;
        Ok(())
    }

    /// Draws one frame of another screen (the review) with `render`.
    pub fn draw_with(&mut self, render: impl FnOnce(&mut Frame)) -> Result<(), TerminalError> {
        if let Some(terminal) = self.terminal.as_mut() {
            terminal.draw(render).map_err(failed("draw"))?;
        }
        Ok(())
    }

    /// The screen's height in rows.
    pub fn height(&self) -> Result<u16, TerminalError> {
        Ok(terminal::size().map_err(failed("read the screen size"))?.1)
    }

    /// Waits up to `timeout` for a terminal event; a resize is applied before it is returned.
    pub fn poll_event(&mut self, timeout: Duration) -> Result<Option<Event>, TerminalError> {
        if !event::poll(timeout).map_err(failed("poll for input"))? {
            return Ok(None);
        }
        let ev = event::read().map_err(failed("read input"))?;
        if matches!(ev, Event::Resize(..)) {
            if let Some(terminal) = self.terminal.as_mut() {
                terminal.autoresize().map_err(failed("resize"))?;
            }
        }
        Ok(Some(ev))
    }

    /// Waits up to `timeout` for a key or a resize; `None` when nothing that matters came.
    pub fn poll_key(&mut self, timeout: Duration) -> Result<Option<UiKey>, TerminalError> {
        Ok(self.poll_event(timeout)?.as_ref().and_then(key_for))
    }

    /// Leaves the alternate screen and raw mode. Safe to call twice.
    pub fn stop(&mut self) -> Result<(), TerminalError> {
        self.terminal = None;
        if ACTIVE.swap(false, Ordering::SeqCst) {
            // Raw mode first: it has more side effects than the screen switch.
            terminal::disable_raw_mode().map_err(failed("leave raw mode"))?;
            execute!(io::stdout(), LeaveAlternateScreen, cursor::Show)
                .map_err(failed("leave the alternate screen"))?;
        }
        Ok(())
    }
}

impl Drop for TerminalUi {
    fn drop(&mut self) {
        // Nothing useful can be done with an error while dropping; the panic hook path is the same.
        let _ = self.stop();
    }
}

/// Restores the terminal if the TUI holds it; used by the panic hook.
fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = terminal::disable_raw_mode();
        let _ = execute!(io::stdout(), LeaveAlternateScreen, cursor::Show);
    }
}

/// The [`UiKey`] a terminal event means, if any.
pub fn key_for(ev: &Event) -> Option<UiKey> {
    match ev {
        Event::Key(key) if key.kind != KeyEventKind::Release => match key.code {
            KeyCode::Char('q') | KeyCode::Char('Q') => Some(UiKey::Quit),
            KeyCode::Char('o') | KeyCode::Char('O') => Some(UiKey::AllowOnce),
            KeyCode::Char('r') | KeyCode::Char('R') => Some(UiKey::AllowRun),
            KeyCode::Char('d') | KeyCode::Char('D') => Some(UiKey::Deny),
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                Some(UiKey::Quit)
            }
            _ => None,
        },
        Event::Resize(..) => Some(UiKey::Resize),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEvent;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> Event {
        Event::Key(KeyEvent::new(code, modifiers))
    }

    #[test]
    fn q_and_ctrl_c_quit() {
        assert_eq!(
            key_for(&press(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(UiKey::Quit)
        );
        assert_eq!(
            key_for(&press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(UiKey::Quit)
        );
    }

    #[test]
    fn a_plain_c_or_other_keys_do_nothing() {
        assert_eq!(
            key_for(&press(KeyCode::Char('c'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(key_for(&press(KeyCode::Enter, KeyModifiers::NONE)), None);
    }

    #[test]
    fn a_key_release_is_not_a_second_quit() {
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(key_for(&Event::Key(release)), None);
    }

    #[test]
    fn o_r_and_d_answer_an_ask() {
        for (c, key) in [
            ('o', UiKey::AllowOnce),
            ('r', UiKey::AllowRun),
            ('d', UiKey::Deny),
        ] {
            assert_eq!(
                key_for(&press(KeyCode::Char(c), KeyModifiers::NONE)),
                Some(key)
            );
        }
    }

    #[test]
    fn resize_asks_for_a_redraw() {
        assert_eq!(key_for(&Event::Resize(80, 24)), Some(UiKey::Resize));
    }
}
