//! What the terminal prints is text: the one sanitiser for every print site.
//!
//! Labels, activity phrases, reasons, handoff conflicts and paths come from a
//! model, a file or a command. Printed raw, an `ESC[2J` clears the screen, an
//! OSC 52 sequence writes the clipboard, OSC 0 sets the window title, and a
//! newline in a conflict forges a line of the outro. [`one_line`] turns every
//! control character (C0, DEL, C1) and the bidirectional overrides that reorder
//! text into a visible escape (`\x1b`, `\u{202e}`), and line breaks and tabs
//! into spaces, so one field stays on the line it was given. The TUI, the plain
//! lines, the outro and `run-report.md` all go through it ([`clean_event`]
//! cleans every string of an event before the view folds it in).

use std::borrow::Cow;

use serde_json::Value;

use crate::messages::QueueEvent;

/// True for a character that must not reach a terminal as it is.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` on one line with nothing a terminal would interpret: line breaks and tabs
/// become spaces, other control characters a visible escape.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if (c as u32) < 0x100 && is_unsafe(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The event with every string made [`one_line`]; borrowed when nothing needed it.
pub fn clean_event(ev: &QueueEvent) -> Cow<'_, QueueEvent> {
    let Ok(mut value) = serde_json::to_value(ev) else {
        return Cow::Borrowed(ev);
    };
    if !clean_value(&mut value) {
        return Cow::Borrowed(ev);
    }
    match serde_json::from_value(value) {
        Ok(clean) => Cow::Owned(clean),
        Err(e) => {
            tracing::warn!("an event could not be cleaned for display: {e}");
            Cow::Borrowed(ev)
        }
    }
}

/// Cleans every string in place; true when one changed.
fn clean_value(value: &mut Value) -> bool {
    match value {
        Value::String(s) => match one_line(s) {
            Cow::Borrowed(_) => false,
            Cow::Owned(clean) => {
                *s = clean;
                true
            }
        },
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| clean_value(v) | changed),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |changed, v| clean_value(v) | changed),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_visible_text_and_lines_stay_one() {
        assert_eq!(one_line("plain · text"), "plain · text");
        assert_eq!(one_line("a\u{1b}[2Jb"), "a\\x1b[2Jb");
        assert_eq!(
            one_line("\u{1b}]52;c;ZXZpbA==\u{7}"),
            "\\x1b]52;c;ZXZpbA==\\x07"
        );
        assert_eq!(one_line("x\n✓ forged\r\ty"), "x ✓ forged  y");
        assert_eq!(one_line("\u{9b}2J"), "\\x9b2J");
        assert_eq!(one_line("abc\u{202e}fed"), "abc\\u{202e}fed");
    }
}
