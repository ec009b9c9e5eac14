//! The one secret scrubber: every text that leaves the run's hands (tool
//! output for the model, error results, log lines, telemetry, reports) goes
//! through a [`Redactor`] built from the run's secret values.
//!
//! A secret is recognised in the shapes a hostile or careless command would
//! print it in: raw, trimmed of padding, base64 and base64url (at each of the
//! three byte alignments, so the secret is found inside the encoding of a
//! whole file), hex (lower and upper case) and percent-encoded. Fragments of
//! [`FRAGMENT_LEN`] characters or more of a raw secret are redacted too, so two
//! calls that each print half a token both come back scrubbed. A fragment must
//! hold a digit or mix upper and lower case: single-case words and URL pieces
//! that happen to occur in a secret (`https://`, `postgres`) are not redacted
//! on their own.
//!
//! Matching is multi-pattern (`aho-corasick`), one pass per kind, so the cost
//! does not grow with the number of secrets times the text.

pub mod env_files;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// What a redacted secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Shortest value treated as a secret; shorter ones would redact ordinary text.
pub const MIN_SECRET_LEN: usize = 8;

/// Shortest piece of a secret that is redacted on its own.
pub const FRAGMENT_LEN: usize = 8;

/// Recognises the run's secrets in text, in every form listed in the module docs.
#[derive(Clone, Default)]
pub struct Redactor {
    whole: Option<AhoCorasick>,
    fragments: Option<AhoCorasick>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor(<secrets>)")
    }
}

impl Redactor {
    /// A redactor for these secret values; values shorter than [`MIN_SECRET_LEN`]
    /// (after trimming) are ignored.
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut whole: Vec<String> = Vec::new();
        let mut fragments: Vec<String> = Vec::new();
        for secret in secrets {
            let secret = secret.as_ref();
            let trimmed = secret.trim();
            if trimmed.len() < MIN_SECRET_LEN {
                continue;
            }
            for value in [secret, trimmed] {
                for form in forms(value) {
                    if form.len() >= MIN_SECRET_LEN && !whole.contains(&form) {
                        whole.push(form);
                    }
                }
            }
            for fragment in windows(trimmed) {
                if !fragments.contains(&fragment) {
                    fragments.push(fragment);
                }
            }
        }
        Self {
            whole: build(&whole, MatchKind::LeftmostLongest),
            fragments: build(&fragments, MatchKind::Standard),
        }
    }

    /// True when there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.whole.is_none() && self.fragments.is_none()
    }

    /// True when `text` holds a secret in any recognised form, or a fragment of one.
    pub fn contains_secret(&self, text: &str) -> bool {
        self.whole.as_ref().is_some_and(|ac| ac.is_match(text))
            || self.fragments.as_ref().is_some_and(|ac| ac.is_match(text))
    }

    /// Replaces, recursively, every JSON string that holds a secret (in any form
    /// [`Redactor::contains_secret`] knows) with [`REDACTED`] as a whole: telemetry
    /// properties keep no part of a string that carried one.
    pub fn redact_json_strings(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(s) if self.contains_secret(s) => *s = REDACTED.to_string(),
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json_strings(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.redact_json_strings(v)),
            _ => {}
        }
    }

    /// `text` with every secret, encoded form and fragment replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = match &self.whole {
            Some(ac) if ac.is_match(text) => {
                ac.replace_all(text, &vec![REDACTED; ac.patterns_len()])
            }
            _ => text.to_string(),
        };
        if let Some(ac) = &self.fragments {
            // Overlapping 8-character windows merge into the longest stretch of secret.
            let mut spans: Vec<(usize, usize)> = Vec::new();
            for m in ac.find_overlapping_iter(out.as_str()) {
                match spans.last_mut() {
                    Some(last) if m.start() <= last.1 => last.1 = last.1.max(m.end()),
                    _ => spans.push((m.start(), m.end())),
                }
            }
            if !spans.is_empty() {
                let mut scrubbed = String::with_capacity(out.len());
                let mut at = 0;
                for (start, end) in spans {
                    scrubbed.push_str(&out[at..start]);
                    scrubbed.push_str(REDACTED);
                    at = end;
                }
                scrubbed.push_str(&out[at..]);
                out = scrubbed;
            }
        }
        out
    }
}

fn build(patterns: &[String], kind: MatchKind) -> Option<AhoCorasick> {
    if patterns.is_empty() {
        return None;
    }
    AhoCorasickBuilder::new()
        .match_kind(kind)
        .build(patterns)
        .map_err(|e| tracing::error!("the secret patterns do not build: {e}"))
        .ok()
}

/// The raw value and every encoding of it a command could print.
fn forms(value: &str) -> Vec<String> {
    let bytes = value.as_bytes();
    let mut out = vec![value.to_string()];
    out.push(hex(bytes, false));
    out.push(hex(bytes, true));
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
    ] {
        for shift in 0..3 {
            out.extend(aligned_base64(engine, bytes, shift));
        }
    }
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    // What `encodeURIComponent` leaves alone, and what a strict encoder does.
    const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'!')
        .remove(b'~')
        .remove(b'*')
        .remove(b'\'')
        .remove(b'(')
        .remove(b')');
    for set in [COMPONENT, NON_ALPHANUMERIC] {
        let encoded = utf8_percent_encode(value, set).to_string();
        if encoded != value {
            out.push(encoded.replace("%20", "+"));
            out.push(encoded);
        }
    }
    out
}

fn hex(bytes: &[u8], upper: bool) -> String {
    bytes
        .iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect()
}

/// The characters of the base64 encoding of `bytes` that do not depend on what
/// surrounds it, when it starts `shift` bytes into a 3-byte group.
fn aligned_base64(engine: &impl base64::Engine, bytes: &[u8], shift: usize) -> Option<String> {
    let mut padded = vec![0u8; shift];
    padded.extend_from_slice(bytes);
    let encoded = engine.encode(&padded);
    // Character i carries bits [6i, 6i + 6); the pad is bits [0, 8 * shift).
    let first = (8 * shift).div_ceil(6);
    let last = (8 * padded.len()) / 6;
    encoded.get(first..last).map(str::to_string)
}

/// Every [`FRAGMENT_LEN`]-character window of `secret` that holds a digit or mixes
/// upper and lower case: single-case words (`https://`, `postgres`) are not secret alone.
fn windows(secret: &str) -> Vec<String> {
    let chars: Vec<(usize, char)> = secret.char_indices().collect();
    if chars.len() < FRAGMENT_LEN {
        return Vec::new();
    }
    let mut out = Vec::new();
    for i in 0..=chars.len() - FRAGMENT_LEN {
        let start = chars[i].0;
        let end = chars
            .get(i + FRAGMENT_LEN)
            .map(|(at, _)| *at)
            .unwrap_or(secret.len());
        let window = &secret[start..end];
        let digit = window.chars().any(|c| c.is_ascii_digit());
        let mixed_case = window.chars().any(|c| c.is_ascii_lowercase())
            && window.chars().any(|c| c.is_ascii_uppercase());
        if digit || mixed_case {
            out.push(window.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine as _;

    const TOKEN: &str = "phc_Q7xK2mN9pL4rT8vW1yZ3";

    #[test]
    fn raw_padded_and_trimmed_values_are_redacted() {
        let r = Redactor::new([format!("{TOKEN} \n")]);
        assert_eq!(r.redact(&format!("a={TOKEN}!")), "a=[redacted]!");
        assert!(!r.redact(&format!("x {TOKEN} \n y")).contains("Q7xK"));
    }

    #[test]
    fn encoded_forms_are_redacted_at_any_offset() {
        let r = Redactor::new([TOKEN]);
        for prefix in ["", "K=", "KEY=", "LONGER_KEY="] {
            let file = format!("{prefix}{TOKEN}\nOTHER=1\n");
            for encoded in [
                STANDARD.encode(&file),
                URL_SAFE_NO_PAD.encode(&file),
                hex(file.as_bytes(), false),
                hex(file.as_bytes(), true),
            ] {
                let out = r.redact(&encoded);
                assert!(out.contains(REDACTED), "{prefix:?}: {encoded} -> {out}");
            }
        }
        let url = "https://x.test/?t=p%40ss%2Fw0rd%3AXyZ%2012";
        let r = Redactor::new(["p@ss/w0rd:XyZ 12"]);
        assert!(r.redact(url).contains(REDACTED), "{}", r.redact(url));
    }

    #[test]
    fn fragments_of_eight_characters_are_redacted_words_are_not() {
        let r = Redactor::new([TOKEN, "postgres://admin:Hunter2Pass@db"]);
        let (head, tail) = TOKEN.split_at(12);
        assert_eq!(r.redact(&format!("1: {head}")), "1: [redacted]");
        assert_eq!(r.redact(&format!("2: {tail}")), "2: [redacted]");
        assert!(r.contains_secret(tail));
        // Pieces that are ordinary words stay readable.
        assert_eq!(
            r.redact("connect to postgres://localhost"),
            "connect to postgres://localhost"
        );
        assert_eq!(r.redact("phc_"), "phc_");
    }

    #[test]
    fn short_values_are_not_secrets() {
        let r = Redactor::new(["abc", "  1234  "]);
        assert!(r.is_empty());
        assert_eq!(r.redact("abc 1234"), "abc 1234");
    }
}
