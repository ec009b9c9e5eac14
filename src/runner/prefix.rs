//! What every agent of a run is shown up front, in the cached part of its
//! prompt: the app's manifest and a bounded file tree ([`sections`]); the
//! framework's reference integration ([`reference`]) and (orchestrator only) the
//! default graph's task types ([`task_types`]) go to the task agents and the
//! linear runner, not the seed. Agents otherwise spend their first turns reading
//! these, each on its own; shared here they cost one cache write per run and
//! make the shared prefix long enough to clear the models' minimum cacheable
//! length (4,096 tokens for the small tier). Which files are manifests and
//! which example belongs to the framework come from the content; nothing here
//! knows a product or a framework.

use std::fmt::Write as _;
use std::path::Path;

use crate::content::ContentSet;
use crate::detect::workspace::SKIPPED_DIRS;
use crate::tools::Secrets;

/// At most this many paths in the file tree.
const TREE_ENTRIES: usize = 120;
/// How deep the file tree goes.
const TREE_DEPTH: usize = 5;
/// A manifest longer than this is cut (a real one is a few kB).
const MANIFEST_CHARS: usize = 6_000;
/// A reference example longer than this is cut.
const EXAMPLE_CHARS: usize = 8_000;

/// The shared sections for the app in `app_dir`, as (title, text). Secret
/// values are redacted from every file's text.
pub fn sections(app_dir: &Path, content: &ContentSet, secrets: &Secrets) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some((name, text)) = manifest(app_dir, content) {
        out.push((
            format!("Manifest (`{name}`, as it is at launch)"),
            format!("```\n{}\n```", secrets.redact(&text).trim_end()),
        ));
    }
    let (tree, more) = file_tree(app_dir);
    if !tree.is_empty() {
        let mut text = tree.join("\n");
        if more > 0 {
            let _ = write!(text, "\n… and {more} more (use Glob)");
        }
        out.push((
            format!("Files (up to {TREE_DEPTH} levels, build output and dependencies left out)"),
            text,
        ));
    }
    out
}

/// The framework's reference integration, bounded.
pub fn reference(content: &ContentSet, framework_id: Option<&str>) -> Option<(String, String)> {
    let example = framework_id.and_then(|id| content.example(id))?;
    Some((
        "Reference integration for this framework".into(),
        bounded(example, EXAMPLE_CHARS),
    ))
}

/// The task types of the default graph, for the orchestrator's agents: each
/// learns what the others do, and leaves it to them. (The linear runner's one
/// agent has every step in its own prompt instead.)
pub fn task_types(content: &ContentSet) -> Option<(String, String)> {
    let graph = content.graph_order();
    if graph.is_empty() {
        return None;
    }
    let mut text = String::new();
    for agent in graph {
        let _ = write!(
            text,
            "- {} ({}): {}",
            agent.task_type,
            agent.label,
            agent.goal.trim()
        );
        if !agent.depends_on.is_empty() {
            let _ = write!(text, " After: {}.", agent.depends_on.join(", "));
        }
        text.push('\n');
    }
    Some((
        "The run's task types (each is done by its own agent)".into(),
        text,
    ))
}

/// The first manifest of a project kind the content knows that the app has.
fn manifest(app_dir: &Path, content: &ContentSet) -> Option<(String, String)> {
    content
        .frameworks
        .projects
        .iter()
        .flat_map(|kind| kind.manifests.iter())
        .find_map(|name| {
            let text = std::fs::read_to_string(app_dir.join(name)).ok()?;
            Some((name.clone(), bounded(&text, MANIFEST_CHARS)))
        })
}

/// The app's files, relative and sorted, with `.gitignore` respected and the
/// folders detection skips left out; and how many more there were.
fn file_tree(app_dir: &Path) -> (Vec<String>, usize) {
    let walker = ignore::WalkBuilder::new(app_dir)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(false)
        .max_depth(Some(TREE_DEPTH))
        .filter_entry(|e| {
            !(e.file_type().is_some_and(|t| t.is_dir())
                && SKIPPED_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        })
        .build();
    let mut files: Vec<String> = walker
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|e| {
            let rel = e.path().strip_prefix(app_dir).ok()?;
            Some(rel.to_string_lossy().replace('\\', "/"))
        })
        .collect();
    files.sort();
    let more = files.len().saturating_sub(TREE_ENTRIES);
    files.truncate(TREE_ENTRIES);
    (files, more)
}

/// `text` cut to `limit` characters on a line boundary, saying so.
fn bounded(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = text[..end].rfind('\n').unwrap_or(end);
    format!("{}\n… (cut; Read the file for the rest)", &text[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{load_blocking, ContentSource};

    #[test]
    fn the_sample_app_gets_its_manifest_tree_and_example_with_secrets_redacted() {
        let content = load_blocking(&ContentSource::Embedded).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path();
        std::fs::write(
            app.join("package.json"),
            r#"{"name": "acme", "token": "phc_secret_value"}"#,
        )
        .unwrap();
        std::fs::create_dir_all(app.join("app/components")).unwrap();
        std::fs::create_dir_all(app.join("node_modules/x")).unwrap();
        std::fs::write(app.join("app/page.tsx"), "x").unwrap();
        std::fs::write(app.join("app/components/Button.tsx"), "x").unwrap();
        std::fs::write(app.join("node_modules/x/index.js"), "x").unwrap();
        let mut secrets = Secrets::default();
        secrets.insert("project_token", "phc_secret_value");

        let got = sections(app, &content, &secrets);
        let titles: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(titles.len(), 2, "{titles:?}");
        assert!(titles[0].contains("package.json"));
        assert!(got[0].1.contains("\"name\": \"acme\""));
        assert!(!got[0].1.contains("phc_secret_value"), "{}", got[0].1);
        assert_eq!(
            got[1].1,
            "app/components/Button.tsx\napp/page.tsx\npackage.json"
        );
        let (_, types) = task_types(&content).unwrap();
        assert!(types.contains("- capture (Capture product events): "));
        assert!(types.contains(" After: plan-capture, identify."));
        assert_eq!(
            reference(&content, Some("nextjs-app-router")).unwrap().1,
            content.example("nextjs-app-router").unwrap().to_string()
        );
        assert_eq!(reference(&content, None), None, "no framework, no example");
    }

    #[test]
    fn a_long_tree_and_a_long_manifest_are_bounded_and_say_so() {
        let content = load_blocking(&ContentSource::Embedded).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path();
        let manifest: String = (0..2_000).map(|i| format!("\"k{i}\": 1,\n")).collect();
        std::fs::write(app.join("package.json"), manifest).unwrap();
        for i in 0..200 {
            std::fs::write(app.join(format!("f{i:03}.ts")), "x").unwrap();
        }
        let got = sections(app, &content, &Secrets::default());
        assert!(got[0].1.len() < MANIFEST_CHARS + 100);
        assert!(got[0].1.contains("… (cut; Read the file for the rest)"));
        assert_eq!(got[1].1.lines().count(), TREE_ENTRIES + 1);
        assert!(got[1].1.ends_with("… and 81 more (use Glob)"));
        assert_eq!(got.len(), 2);
    }
}
