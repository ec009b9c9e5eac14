//! Where things live in a content directory, and which paths are acceptable.
//!
//! ```text
//! agents/<type>.md                agent prompts (one per task type)
//! skills/<name>.md                skills
//! frameworks.yaml                 framework and package-manager rules
//! models.yaml                     model tiers and prices (carried as text)
//! examples/<id>/EXAMPLE.md        reference integrations
//! cassettes/<name>.yaml           scripted model turns (carried as text)
//! anything else                   data, carried as bytes
//! ```
//!
//! One classification serves the loader, the server's menus and the export,
//! so a directory, its served copy and its export hold the same files.

/// The framework and package-manager rules.
pub const FRAMEWORKS_FILE: &str = "frameworks.yaml";
/// The model tiers and prices (owned by the providers; carried as text).
pub const MODELS_FILE: &str = "models.yaml";

/// What a file in the content is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind<'a> {
    /// `agents/<type>.md`.
    Agent(&'a str),
    /// `skills/<name>.md`.
    Skill(&'a str),
    /// Any other file.
    Data,
}

/// Classifies a relative path (with `/` separators).
pub fn kind_of(path: &str) -> FileKind<'_> {
    if let Some(id) = single_markdown(path, "agents/") {
        return FileKind::Agent(id);
    }
    if let Some(id) = single_markdown(path, "skills/") {
        return FileKind::Skill(id);
    }
    FileKind::Data
}

/// `<dir><id>.md` with no further folder, and not a README (documentation only).
fn single_markdown<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
    let id = path.strip_prefix(dir)?.strip_suffix(".md")?;
    if id.is_empty() || id.contains('/') || id.eq_ignore_ascii_case("README") {
        return None;
    }
    Some(id)
}

/// The path of a framework's reference example.
pub fn example_path(example: &str) -> String {
    format!("examples/{example}/EXAMPLE.md")
}

/// The path of a cassette.
pub fn cassette_path(name: &str) -> String {
    format!("cassettes/{name}.yaml")
}

/// True for a relative path that stays inside the content root and is not
/// hidden: no leading `/`, no `\`, no empty, `.` or `..` segment, no segment
/// starting with `.`.
pub fn is_content_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && path
            .split('/')
            .all(|seg| !seg.is_empty() && !seg.starts_with('.'))
}

/// True for an id usable as a file name in a menu (`install`, `error-tracking`).
pub fn is_menu_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_and_skill_files_are_recognised_by_folder() {
        assert_eq!(kind_of("agents/install.md"), FileKind::Agent("install"));
        assert_eq!(
            kind_of("skills/env-values.md"),
            FileKind::Skill("env-values")
        );
        assert_eq!(kind_of("agents/README.md"), FileKind::Data);
        assert_eq!(kind_of("agents/old/install.md"), FileKind::Data);
        assert_eq!(kind_of("frameworks.yaml"), FileKind::Data);
        assert_eq!(kind_of("examples/x/EXAMPLE.md"), FileKind::Data);
    }

    #[test]
    fn paths_that_leave_the_root_or_hide_are_refused() {
        assert!(is_content_path("examples/a/EXAMPLE.md"));
        assert!(!is_content_path("../secret"));
        assert!(!is_content_path("/etc/passwd"));
        assert!(!is_content_path("a//b"));
        assert!(!is_content_path("a\\b"));
        assert!(!is_content_path(".git/config"));
        assert!(!is_content_path("skills/./x.md"));
    }
}
