//! Typed YAML parsing whose errors name the file and the field.
//!
//! serde's `deny_unknown_fields` stops a typo from passing silently, but its
//! message names only the first unknown key and no close match. So the keys
//! of the top-level mapping are checked against the type's field list first
//! (every unknown key reported, each with a "did you mean"), then the text is
//! deserialized for real, and serde's error is reshaped into file + field.

use std::sync::LazyLock;

use regex::Regex;
use serde::de::DeserializeOwned;

use super::error::{did_you_mean, ContentError};
use crate::queue::closest;

/// Parses `text` (YAML) from `file` into `T`.
///
/// `fields` are the top-level keys `T` accepts; `line_offset` is added to
/// line numbers in messages (1 for frontmatter, which starts on line 2).
pub fn parse<T: DeserializeOwned>(
    file: &str,
    text: &str,
    fields: &[&str],
    line_offset: usize,
) -> Result<T, Vec<ContentError>> {
    let value: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| vec![reshape(file, &e, line_offset)])?;
    let mapping = match &value {
        serde_yaml_ng::Value::Mapping(m) => m,
        serde_yaml_ng::Value::Null => {
            return Err(vec![ContentError::file(file, "the YAML is empty")]);
        }
        _ => {
            return Err(vec![ContentError::file(
                file,
                "the YAML must be a mapping of `field: value` lines",
            )]);
        }
    };
    let mut unknown = Vec::new();
    for key in mapping.keys() {
        let name = match key.as_str() {
            Some(name) => name,
            None => {
                unknown.push(ContentError::file(
                    file,
                    format!("field names must be strings, found {key:?}"),
                ));
                continue;
            }
        };
        if !fields.contains(&name) {
            let hint = did_you_mean(closest(name, fields.iter().copied()));
            unknown.push(ContentError::field(
                file,
                name,
                format!("unknown field{hint}; known fields: {}", fields.join(", ")),
            ));
        }
    }
    if !unknown.is_empty() {
        return Err(unknown);
    }
    serde_yaml_ng::from_str(text).map_err(|e| vec![reshape(file, &e, line_offset)])
}

/// Turns a serde_yaml_ng error into a [`ContentError`]: the field out of the
/// message's path or "missing field", line numbers shifted to the file's.
fn reshape(file: &str, error: &serde_yaml_ng::Error, line_offset: usize) -> ContentError {
    static LINE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"line (\d+)").expect("static regex"));
    static MISSING: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^missing field `([^`]+)`").expect("static regex"));
    static PATH: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^([A-Za-z_][A-Za-z0-9_\-]*(?:\[\d+\]|\.[A-Za-z_][A-Za-z0-9_\-]*)*): (.*)$")
            .expect("static regex")
    });

    let text = error.to_string();
    let text = LINE.replace_all(&text, |c: &regex::Captures<'_>| {
        let n: usize = c[1].parse().unwrap_or(0);
        format!("line {}", n + line_offset)
    });
    if let Some(c) = MISSING.captures(&text) {
        let rest = text[c.get(0).map_or(0, |m| m.end())..].trim();
        let rest = if rest.is_empty() {
            String::new()
        } else {
            format!(" ({rest})")
        };
        return ContentError::field(file, &c[1], format!("missing (required){rest}"));
    }
    if let Some(c) = PATH.captures(&text) {
        return ContentError::field(file, &c[1], c[2].to_string());
    }
    ContentError::file(file, format!("invalid YAML: {text}"))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        #[serde(default)]
        items: Vec<u32>,
    }

    const FIELDS: &[&str] = &["name", "items"];

    #[test]
    fn every_unknown_key_is_reported_with_a_suggestion() {
        let errors =
            parse::<Sample>("x.md", "name: a\nitmes: []\nzzz: 1\n", FIELDS, 1).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 2);
        assert!(
            text[0].starts_with("x.md: itmes: unknown field (did you mean \"items\"?)"),
            "{}",
            text[0]
        );
        assert!(
            text[1].starts_with("x.md: zzz: unknown field;"),
            "{}",
            text[1]
        );
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let errors = parse::<Sample>("x.md", "items: [1]\n", FIELDS, 1).unwrap_err();
        assert_eq!(errors[0].field.as_deref(), Some("name"));
        assert!(errors[0].message.starts_with("missing (required)"));
    }

    #[test]
    fn a_wrong_type_names_the_field_path() {
        let errors = parse::<Sample>("x.md", "name: a\nitems: [x]\n", FIELDS, 1).unwrap_err();
        assert_eq!(errors[0].field.as_deref(), Some("items[0]"));
    }

    #[test]
    fn syntax_errors_count_lines_from_the_file_start() {
        let errors = parse::<Sample>("x.md", "name: a\nitems: [1\n", FIELDS, 1).unwrap_err();
        assert!(
            errors[0].message.starts_with("invalid YAML"),
            "{}",
            errors[0]
        );
        assert!(
            errors[0].message.contains("line 4") || errors[0].message.contains("line 3"),
            "{}",
            errors[0]
        );
    }
}
