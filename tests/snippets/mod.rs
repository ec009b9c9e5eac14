//! Code snippets in the content's markdown: the reference examples' files (a
//! `## path` heading followed by a fenced block) and every fenced block of a skill.
//!
//! Each test binary uses only part of this module, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::collections::BTreeMap;

/// One fenced code block.
#[derive(Debug, Clone)]
pub struct Snippet {
    /// The fence's language tag (`ts`, `tsx`, `js`, `json`…), empty when none.
    pub lang: String,
    /// The nearest `##` heading above the block.
    pub heading: String,
    /// The block's text.
    pub code: String,
}

impl Snippet {
    /// The file the heading names (`app/api/projects/route.ts` in
    /// `## app/api/projects/route.ts (capture in a route handler)`), when it names one.
    pub fn file(&self) -> Option<&str> {
        let first = self
            .heading
            .split_whitespace()
            .find(|w| w.contains('.') && !w.ends_with(':'))?;
        let looks_like_path = first
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-[]".contains(c));
        looks_like_path.then_some(first)
    }

    /// True for JavaScript (not TypeScript) code, by fence tag or file name.
    pub fn is_javascript(&self) -> bool {
        let by_file = self.file().is_some_and(|f| {
            [".js", ".jsx", ".mjs", ".cjs"]
                .iter()
                .any(|e| f.ends_with(e))
        });
        by_file || self.lang == "js" || self.lang == "jsx"
    }
}

/// Every fenced block of a markdown text, with the heading it sits under.
pub fn snippets(markdown: &str) -> Vec<Snippet> {
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut open: Option<(String, String, usize)> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if let Some((lang, code, indent)) = open.as_mut() {
            if trimmed.starts_with("```") {
                out.push(Snippet {
                    lang: lang.clone(),
                    heading: heading.clone(),
                    code: std::mem::take(code),
                });
                open = None;
            } else {
                let cut = line.len() - line.trim_start().len();
                code.push_str(&line[cut.min(*indent)..]);
                code.push('\n');
            }
            continue;
        }
        if let Some(h) = line.strip_prefix("## ") {
            heading = h.trim().to_string();
        } else if let Some(tag) = trimmed.strip_prefix("```") {
            let indent = line.len() - trimmed.len();
            open = Some((tag.trim().to_string(), String::new(), indent));
        }
    }
    out
}

/// The reference examples of the built-in content: example id → its snippets.
pub fn examples() -> BTreeMap<String, Vec<Snippet>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content/examples");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&root).expect("content/examples exists") {
        let dir = entry.expect("a readable entry").path();
        let text = std::fs::read_to_string(dir.join("EXAMPLE.md"))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        out.insert(id, snippets(&text));
    }
    out
}

/// The packages a snippet imports by bare name (`posthog-js`, `@posthog/react`),
/// without subpaths (`next/server` → `next`), relative and `@/` imports left out.
pub fn imported_packages(code: &str) -> Vec<String> {
    let re = regex::Regex::new(
        r#"(?m)(?:^\s*import\s[^'"]*?from\s*|^\s*import\s*|import\(\s*|require\(\s*)['"]([^'"]+)['"]"#,
    )
    .expect("a literal regex");
    let mut out: Vec<String> = re
        .captures_iter(code)
        .map(|c| c[1].to_string())
        .filter(|spec| !spec.starts_with('.') && !spec.starts_with("@/"))
        .map(|spec| {
            let parts: Vec<&str> = spec.split('/').collect();
            if spec.starts_with('@') && parts.len() > 1 {
                format!("{}/{}", parts[0], parts[1])
            } else {
                parts[0].to_string()
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}
