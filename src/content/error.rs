//! What goes wrong with content, said with the file and the field.
//!
//! Loading collects every problem it finds instead of stopping at the first,
//! so one `wizard content check` shows an author everything to fix. Each
//! error names the file (relative to the content root, or the URL it came
//! from) and, where there is one, the frontmatter field.

use std::fmt;

use thiserror::Error;

/// One problem with the content.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct ContentError {
    /// The file (`agents/capture.md`), directory or URL the problem is in.
    pub file: String,
    /// The frontmatter or data field, when the problem is in one (`skills`).
    pub field: Option<String>,
    /// What is wrong, with a suggestion when a name is close to a known one.
    pub message: String,
}

impl ContentError {
    /// A problem with a whole file.
    pub fn file(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            field: None,
            message: message.into(),
        }
    }

    /// A problem with one field of a file.
    pub fn field(
        file: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

impl fmt::Display for ContentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: {}: {}", self.file, field, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Every problem found while loading content (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct ContentErrors(pub Vec<ContentError>);

impl ContentErrors {
    /// A list holding one error.
    pub fn one(error: ContentError) -> Self {
        Self(vec![error])
    }

    /// The errors.
    pub fn iter(&self) -> impl Iterator<Item = &ContentError> {
        self.0.iter()
    }

    /// How many errors there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<ContentError> for ContentErrors {
    fn from(error: ContentError) -> Self {
        Self::one(error)
    }
}

impl fmt::Display for ContentErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "the content has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for (i, e) in self.0.iter().enumerate() {
            if i + 1 < n {
                writeln!(f, "  {e}")?;
            } else {
                write!(f, "  {e}")?;
            }
        }
        Ok(())
    }
}

/// ` (did you mean "x"?)` when there is a close name, else nothing.
pub(crate) fn did_you_mean(suggestion: Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean \"{s}\"?)"),
        None => String::new(),
    }
}
