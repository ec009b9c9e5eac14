//! Splits a markdown file into its YAML frontmatter and its body.
//!
//! The format is the common one: the file starts with a line `---`, the
//! frontmatter runs to the next line that is exactly `---`, and the rest is
//! the body. It is small enough that a crate would add more than it saves.

/// A file split into frontmatter text and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    /// The YAML between the two `---` lines.
    pub frontmatter: &'a str,
    /// Everything after the closing `---` line.
    pub body: &'a str,
}

/// Why a file could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitError {
    /// The first line is not `---`.
    NoOpening,
    /// No closing `---` line after the opening one.
    NoClosing,
}

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SplitError::NoOpening => write!(
                f,
                "the file must start with a `---` line (YAML frontmatter)"
            ),
            SplitError::NoClosing => write!(f, "the frontmatter has no closing `---` line"),
        }
    }
}

/// Splits `text` at its `---` lines. A UTF-8 byte-order mark and CRLF line ends are accepted.
pub fn split(text: &str) -> Result<Split<'_>, SplitError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = match first_line(text) {
        Some(("---", rest)) => rest,
        _ => return Err(SplitError::NoOpening),
    };
    let mut offset = 0;
    let mut remaining = rest;
    while let Some((line, after)) = first_line(remaining) {
        if line == "---" {
            return Ok(Split {
                frontmatter: &rest[..offset],
                body: after,
            });
        }
        offset += remaining.len() - after.len();
        remaining = after;
    }
    Err(SplitError::NoClosing)
}

/// The first line of `text` without its line end, and what follows it.
fn first_line(text: &str) -> Option<(&str, &str)> {
    if text.is_empty() {
        return None;
    }
    let (line, rest) = match text.find('\n') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    };
    Some((line.strip_suffix('\r').unwrap_or(line), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontmatter_and_body_are_split_at_the_dash_lines() {
        let s = split("---\na: 1\nb: [x]\n---\n# Body\ntext\n").unwrap();
        assert_eq!(s.frontmatter, "a: 1\nb: [x]\n");
        assert_eq!(s.body, "# Body\ntext\n");
    }

    #[test]
    fn crlf_and_byte_order_mark_are_accepted() {
        let s = split("\u{feff}---\r\na: 1\r\n---\r\nbody").unwrap();
        assert_eq!(s.frontmatter, "a: 1\r\n");
        assert_eq!(s.body, "body");
    }

    #[test]
    fn a_dash_line_inside_a_value_does_not_close_unless_alone() {
        let s = split("---\na: \"---x\"\n---\n").unwrap();
        assert_eq!(s.frontmatter, "a: \"---x\"\n");
        assert_eq!(s.body, "");
    }

    #[test]
    fn missing_opening_line_is_refused() {
        assert_eq!(split("# title\n---\n"), Err(SplitError::NoOpening));
    }

    #[test]
    fn missing_closing_line_is_refused() {
        assert_eq!(split("---\na: 1\n"), Err(SplitError::NoClosing));
    }
}
