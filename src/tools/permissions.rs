//! The rules that fence every tool call, enforced in Rust before any effect.
//!
//! A task's [`Permissions`] come from its agent prompt's frontmatter. Each check
//! here is a pure function over that data and the call's input, so the rules
//! are tested without running a tool. Every refusal is a [`ToolError::Denied`]
//! whose text names the rule that refused, so the model can read why and the
//! user can audit it.
//!
//! Rules, in the order a call meets them:
//! * **tool rule**: the tool's name must be in `allowed_tools` and not in
//!   `disallowed_tools` (the deny list wins);
//! * **path rule** ([`super::paths`]): the path resolves inside the install dir;
//! * **env-file rule**: files whose name starts with `.env` are reached only by
//!   `check_env_keys` / `set_env_values`, never by `Read`/`Write`/`Edit`/`Grep`;
//! * **protected-dir rule**: nothing is written inside `.git/` or `.posthog-wizard/`,
//!   except the content's shared state files (`fences.stateFiles`, exact paths);
//! * **write rule**: `Write`/`Edit` may only change paths matching a `write` glob;
//! * **bash rule**: a command runs only if it is one plain command (no chaining,
//!   substitution or redirection) whose words start with an allowed prefix;
//!   a package manager's install/add words must be registry package names
//!   ([`super::package_args`]).

use std::path::Path;

use globset::{Glob, GlobSetBuilder};

use super::context::{Fences, Permissions, ToolError};
use super::paths::{resolve, ProjectPath};

/// Directories no file tool may write into: the repository's own data and the run's state.
pub const PROTECTED_DIRS: [&str; 2] = [".git", ".posthog-wizard"];

/// True when a tool-list entry names `tool_name`: exactly, or as a pattern ending in `*`
/// (`mcp__posthog__*` covers every tool of that MCP server).
pub fn tool_pattern_matches(pattern: &str, tool_name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => tool_name.starts_with(prefix),
        None => pattern == tool_name,
    }
}

/// Refuses a tool the task may not call. The agent loop calls this before every tool call.
pub fn check_tool_allowed(perms: &Permissions, tool_name: &str) -> Result<(), ToolError> {
    if perms
        .disallowed_tools
        .iter()
        .any(|t| tool_pattern_matches(t, tool_name))
    {
        return Err(ToolError::Denied(format!(
            "tool rule: {tool_name} is in this task's disallowedTools"
        )));
    }
    if !perms
        .allowed_tools
        .iter()
        .any(|t| tool_pattern_matches(t, tool_name))
    {
        let allowed = if perms.allowed_tools.is_empty() {
            "none".to_string()
        } else {
            perms.allowed_tools.join(", ")
        };
        return Err(ToolError::Denied(format!(
            "tool rule: {tool_name} is not in this task's allowedTools (allowed: {allowed})"
        )));
    }
    Ok(())
}

/// True for env files: the file name starts with `.env` (`.env`, `.env.local`, `.env.production`).
pub fn is_env_file_name(name: &str) -> bool {
    name.starts_with(".env")
}

/// Extensions that make a `.env…` name a source file (`.env.ts`), not an env file a loader reads.
const SOURCE_EXTENSIONS: [&str; 14] = [
    "ts", "tsx", "js", "jsx", "mjs", "cjs", "mts", "cts", "json", "py", "rb", "vue", "svelte",
    "astro",
];

/// True for a name an env loader reads: `.env`, `.env.local`, `.env.production.local`;
/// false for source files that merely start with `.env` (`.env.ts`, `.env.d.ts`).
pub fn is_loaded_env_file_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(".env") else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(rest) = rest.strip_prefix('.') else {
        return false;
    };
    rest.split('.').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !SOURCE_EXTENSIONS.contains(&part.to_ascii_lowercase().as_str())
    })
}

/// Refuses `Read`/`Write`/`Edit`/`Grep` on an env file, pointing at the env tools.
pub fn check_not_env_file(tool_name: &str, path: &ProjectPath) -> Result<(), ToolError> {
    if is_env_file_name(path.file_name()) {
        return Err(ToolError::Denied(format!(
            "env-file rule: {tool_name} may not touch {}; env files hold secrets. \
             Use check_env_keys to see which keys exist and set_env_values to set them",
            path.display()
        )));
    }
    Ok(())
}

/// Folders where package managers hard-link files on purpose (pnpm's store, wheels).
pub const DEPENDENCY_DIRS: [&str; 5] = [
    "node_modules",
    ".venv",
    "venv",
    "site-packages",
    ".pnpm-store",
];

/// Refuses reading or searching inside `.git/`: its config may hold a credential in a
/// remote URL, and nothing an integration needs lives there.
pub fn check_not_git(tool_name: &str, path: &ProjectPath) -> Result<(), ToolError> {
    if path.relative.split('/').any(|part| part == ".git") {
        return Err(ToolError::Denied(format!(
            "protected-dir rule: {tool_name} may not look inside .git/ ({}); it holds the \
             repository's credentials and history, not the app",
            path.display()
        )));
    }
    Ok(())
}

/// True for a regular file that has other names too (a hard link), outside the
/// dependency folders. A hard link inside the app may be the same file as one
/// outside it, and the path rule cannot see that; so such a file is not read.
pub fn is_foreign_hard_link(path: &Path, relative: &str) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if relative
            .split('/')
            .any(|part| DEPENDENCY_DIRS.contains(&part))
        {
            return false;
        }
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.nlink() > 1)
    }
    #[cfg(not(unix))]
    {
        let _ = (path, relative);
        false
    }
}

/// Refuses a file with more than one link (see [`is_foreign_hard_link`]).
pub fn check_not_hard_link(tool_name: &str, path: &ProjectPath) -> Result<(), ToolError> {
    if is_foreign_hard_link(&path.absolute, &path.relative) {
        return Err(ToolError::Denied(format!(
            "hard-link rule: {tool_name} may not read {}: it is a hard link (the same file \
             may live outside the project); only dependency folders may hold hard links",
            path.display()
        )));
    }
    Ok(())
}

/// Refuses any write inside `.git/` or `.posthog-wizard/`, at any depth, except to one
/// of `shared` (the content's state files, matched exactly: the run's own files there,
/// `queue.json`, the audit log, the handoffs, stay out of every agent's reach).
pub fn check_not_protected(path: &ProjectPath, shared: &[String]) -> Result<(), ToolError> {
    if shared.contains(&path.relative) {
        return Ok(());
    }
    if let Some(dir) = path
        .relative
        .split('/')
        .find(|part| PROTECTED_DIRS.contains(part))
    {
        return Err(ToolError::Denied(format!(
            "protected-dir rule: {} is inside {dir}/, which tools never write",
            path.display()
        )));
    }
    Ok(())
}

/// Refuses a `Write`/`Edit` outside the task's `write` globs (and inside protected dirs,
/// the fences' shared state files aside).
///
/// Globs match the path relative to the install dir; `*` does not cross `/`, `**` does.
/// An empty `write` list means the task may not write at all.
pub fn check_write_allowed(
    perms: &Permissions,
    fences: &Fences,
    path: &ProjectPath,
) -> Result<(), ToolError> {
    check_not_protected(path, &fences.state_files)?;
    if perms.write.is_empty() {
        return Err(ToolError::Denied(format!(
            "write rule: this task may not write files (its write list is empty), so {} stays unchanged",
            path.display()
        )));
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in &perms.write {
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| {
                ToolError::Failed(format!(
                    "the task's write glob {pattern:?} is not a valid glob: {e}"
                ))
            })?;
        builder.add(glob);
    }
    let set = builder
        .build()
        .map_err(|e| ToolError::Failed(format!("the task's write globs do not build: {e}")))?;
    if set.is_match(&path.relative) {
        return Ok(());
    }
    Err(ToolError::Denied(format!(
        "write rule: {} does not match this task's write globs ({})",
        path.display(),
        perms.write.join(", ")
    )))
}

/// Builds one glob from model input, naming the input field when it is malformed.
pub fn glob_from_input(field: &str, pattern: &str) -> Result<globset::GlobMatcher, ToolError> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| {
            ToolError::InvalidInput(format!("{field}: {pattern:?} is not a valid glob: {e}"))
        })
}

/// A post-filter on a command's output, standing in for a trailing `| head` / `| tail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFilter {
    /// Keep the first N lines.
    Head(usize),
    /// Keep the last N lines.
    Tail(usize),
}

/// A command the bash rule accepted: the exact words to exec, and the output filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedCommand {
    /// Program and arguments, already split; executed directly, never through a shell.
    pub argv: Vec<String>,
    /// What a trailing `| head -n N` / `| tail -n N` asked for.
    pub filter: Option<OutputFilter>,
}

/// Checks a `Bash` command against the task's allow-list and the no-shell rules,
/// and returns what to execute. Nothing runs unless this returns `Ok`.
pub fn check_bash_command(perms: &Permissions, command: &str) -> Result<AllowedCommand, ToolError> {
    let deny = |why: String| {
        ToolError::Denied(format!(
            "bash rule: {why}. Commands run without a shell; allowed prefixes: {}",
            allowed_prefixes(perms)
        ))
    };
    if command.contains('\n') || command.contains('\r') {
        return Err(deny("a command must be one line".into()));
    }
    for (needle, name) in [
        ("`", "backtick substitution"),
        ("$(", "$( ) substitution"),
        ("${", "${ } expansion"),
        (";", "chaining with ;"),
        ("&&", "chaining with &&"),
        ("||", "chaining with ||"),
    ] {
        if command.contains(needle) {
            return Err(deny(format!("{name} is not allowed")));
        }
    }
    if has_variable_reference(command) {
        return Err(deny(
            "$VARIABLE references are not allowed (there is no shell to expand them)".into(),
        ));
    }

    // `2>&1` is the one redirection allowed: output is captured merged anyway.
    let without_merge = command.replace("2>&1", " ");
    if without_merge.contains('>') || without_merge.contains('<') {
        return Err(deny("redirections (> or <) are not allowed".into()));
    }
    if without_merge.contains('&') {
        return Err(deny("background jobs (&) are not allowed".into()));
    }

    let mut segments = without_merge.split('|');
    let main = segments.next().unwrap_or_default();
    let filter = match (segments.next(), segments.next()) {
        (None, _) => None,
        (Some(pipe), None) => Some(parse_output_filter(pipe).ok_or_else(|| {
            deny(format!(
                "the only pipe allowed is a single trailing `| head -n N` or `| tail -n N`, not `|{pipe}`"
            ))
        })?),
        (Some(_), Some(_)) => {
            return Err(deny(
                "only one trailing `| head -n N` or `| tail -n N` pipe is allowed".into(),
            ))
        }
    };

    let argv = shell_words::split(main).map_err(|e| {
        ToolError::InvalidInput(format!("command: cannot split {command:?} into words: {e}"))
    })?;
    let Some(first) = argv.first() else {
        return Err(ToolError::InvalidInput(
            "command: the command is empty".into(),
        ));
    };
    if is_env_assignment(first) {
        return Err(deny(format!(
            "environment-variable prefixes ({first}) are not allowed"
        )));
    }
    if let Some(word) = argv.iter().find(|word| names_env_file(word)) {
        return Err(deny(format!(
            "env-file rule: commands may not name env files ({word}); \
             use check_env_keys / set_env_values"
        )));
    }
    let allowed = perms.bash.iter().any(|entry| {
        shell_words::split(entry)
            .map(|words| !words.is_empty() && argv.starts_with(&words))
            .unwrap_or(false)
    });
    if !allowed {
        return Err(deny(format!(
            "`{}` matches no allowed prefix",
            argv.join(" ")
        )));
    }
    super::package_args::check_package_args(&argv)?;
    Ok(AllowedCommand { argv, filter })
}

/// Refuses a command whose arguments point outside the install dir (`../x`, `/etc/passwd`,
/// `~/.ssh`, or a symlink that leads out). The command is not run by a shell, but the
/// program itself would still open what it is given.
pub fn check_bash_paths(install_dir: &Path, command: &AllowedCommand) -> Result<(), ToolError> {
    for word in command.argv.iter().skip(1) {
        for part in word.split('=') {
            if part.starts_with('~') {
                return Err(ToolError::Denied(format!(
                    "bash rule: path rule: {word} points into a home directory, outside the install dir"
                )));
            }
            if part.trim().is_empty() {
                continue;
            }
            // Any word may be a path (`link/secret.txt` through a symlink), so every one is
            // resolved; words that are not paths (`build`, `--save`) resolve harmlessly inside.
            match resolve(install_dir, part) {
                Ok(path) if path.relative.split('/').any(|p| p == ".git") => {
                    return Err(ToolError::Denied(format!(
                        "bash rule: protected-dir rule: argument {word} is inside .git/, which \
                         holds the repository's credentials and history, not the app"
                    )))
                }
                Ok(path) if is_foreign_hard_link(&path.absolute, &path.relative) => {
                    return Err(ToolError::Denied(format!(
                        "bash rule: hard-link rule: argument {word} is a hard link (the same \
                         file may live outside the project)"
                    )))
                }
                Ok(_) => {}
                Err(ToolError::Denied(why)) => {
                    return Err(ToolError::Denied(format!(
                        "bash rule: argument {word}: {why}"
                    )))
                }
                Err(other) => return Err(other),
            }
        }
    }
    Ok(())
}

fn allowed_prefixes(perms: &Permissions) -> String {
    if perms.bash.is_empty() {
        "none (this task may not run commands)".into()
    } else {
        perms
            .bash
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `$NAME`: a shell would expand it; without a shell it would silently stay literal.
fn has_variable_reference(command: &str) -> bool {
    command
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'$' && (w[1].is_ascii_alphabetic() || w[1] == b'_'))
}

/// Env file names a glob is tried against: a glob that matches one names env files.
const ENV_FILE_SAMPLES: [&str; 8] = [
    ".env",
    ".env.local",
    ".env.development",
    ".env.development.local",
    ".env.production",
    ".env.production.local",
    ".env.test",
    ".env.test.local",
];

/// `.env`, `./apps/web/.env.local`, `--env-file=.env`, `--include=*.local`, `.env*`:
/// a word that points at an env file, by name or by a glob that matches one.
fn names_env_file(word: &str) -> bool {
    word.split('=').any(|part| {
        let name = part.rsplit('/').next().unwrap_or(part);
        if is_env_file_name(name) {
            return true;
        }
        if !name.contains(['*', '?', '[', '{']) {
            return false;
        }
        // A glob that does not compile may still be read by the program as a pattern.
        match Glob::new(name) {
            Ok(glob) => {
                let matcher = glob.compile_matcher();
                ENV_FILE_SAMPLES
                    .iter()
                    .any(|sample| matcher.is_match(sample))
            }
            Err(_) => true,
        }
    })
}

fn is_env_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            let mut chars = name.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// Parses ` head -n 20`, `tail -n5`, `tail -20`; anything else is `None`.
fn parse_output_filter(pipe: &str) -> Option<OutputFilter> {
    let words: Vec<&str> = pipe.split_whitespace().collect();
    let (program, count) = match words.as_slice() {
        [program, "-n", n] => (*program, *n),
        [program, flag] => (
            *program,
            flag.strip_prefix("-n").unwrap_or(flag.strip_prefix('-')?),
        ),
        _ => return None,
    };
    let count: usize = count.parse().ok()?;
    match program {
        "head" => Some(OutputFilter::Head(count)),
        "tail" => Some(OutputFilter::Tail(count)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::context::Secrets;

    fn perms(bash: &[&str]) -> Permissions {
        Permissions {
            bash: bash.iter().map(|s| s.to_string()).collect(),
            ..Permissions::default()
        }
    }

    fn project(rel: &str) -> ProjectPath {
        ProjectPath {
            absolute: std::path::PathBuf::from("/p").join(rel),
            relative: rel.to_string(),
        }
    }

    #[test]
    fn disallowed_tool_wins_over_allowed() {
        let p = Permissions {
            allowed_tools: vec!["Write".into()],
            disallowed_tools: vec!["Write".into()],
            ..Permissions::default()
        };
        let err = check_tool_allowed(&p, "Write").unwrap_err();
        assert!(matches!(&err, ToolError::Denied(m) if m.contains("disallowedTools")));
    }

    #[test]
    fn tool_not_in_allow_list_is_refused_listing_the_allowed_ones() {
        let p = Permissions {
            allowed_tools: vec!["Read".into(), "Glob".into()],
            ..Permissions::default()
        };
        assert!(check_tool_allowed(&p, "Read").is_ok());
        let err = check_tool_allowed(&p, "Bash").unwrap_err();
        assert!(matches!(&err, ToolError::Denied(m) if m.contains("Read, Glob")));
    }

    #[test]
    fn write_globs_match_relative_paths_with_double_star() {
        let p = Permissions {
            write: vec!["app/**".into(), "package.json".into()],
            ..Permissions::default()
        };
        assert!(check_write_allowed(&p, &Fences::default(), &project("app/a/b/page.tsx")).is_ok());
        assert!(check_write_allowed(&p, &Fences::default(), &project("package.json")).is_ok());
        let err = check_write_allowed(&p, &Fences::default(), &project("lib/x.ts")).unwrap_err();
        assert!(matches!(&err, ToolError::Denied(m) if m.contains("app/**, package.json")));
    }

    #[test]
    fn protected_dirs_refuse_writes_even_when_globs_allow_everything() {
        let p = Permissions {
            write: vec!["**".into()],
            ..Permissions::default()
        };
        for rel in [".git/config", "sub/.git/HEAD", ".posthog-wizard/queue.json"] {
            let err = check_write_allowed(&p, &Fences::default(), &project(rel)).unwrap_err();
            assert!(
                matches!(&err, ToolError::Denied(m) if m.contains("protected-dir rule")),
                "{rel}"
            );
        }
    }

    #[test]
    fn a_shared_state_file_is_the_only_writable_path_in_the_state_folder() {
        let fences = Fences {
            state_files: vec![".posthog-wizard/event-plan.json".into()],
            ..Fences::default()
        };
        let everything = Permissions {
            write: vec!["**".into(), ".posthog-wizard/*".into()],
            ..Permissions::default()
        };
        assert!(check_write_allowed(
            &everything,
            &fences,
            &project(".posthog-wizard/event-plan.json")
        )
        .is_ok());
        for rel in [
            ".posthog-wizard/queue.json",
            ".posthog-wizard/audit.jsonl",
            ".posthog-wizard/handoffs/init.json",
            "sub/.posthog-wizard/event-plan.json",
            ".git/event-plan.json",
        ] {
            let err = check_write_allowed(&everything, &fences, &project(rel)).unwrap_err();
            assert!(
                matches!(&err, ToolError::Denied(m) if m.contains("protected-dir rule")),
                "{rel}: {err}"
            );
        }
        // The exception lifts the folder rule only: the task's own globs still decide.
        let other = Permissions {
            write: vec!["app/**".into()],
            ..Permissions::default()
        };
        let err = check_write_allowed(&other, &fences, &project(".posthog-wizard/event-plan.json"))
            .unwrap_err();
        assert!(
            matches!(&err, ToolError::Denied(m) if m.contains("write rule")),
            "{err}"
        );
    }

    #[test]
    fn empty_write_list_means_no_writes() {
        let err = check_write_allowed(
            &Permissions::default(),
            &Fences::default(),
            &project("a.txt"),
        )
        .unwrap_err();
        assert!(matches!(&err, ToolError::Denied(m) if m.contains("write list is empty")));
    }

    #[test]
    fn bash_accepts_commands_that_start_with_an_allowed_prefix() {
        let p = perms(&["npm install", "npm run build", "npx tsc --noEmit"]);
        let ok = check_bash_command(&p, "npm install posthog-js --save").unwrap();
        assert_eq!(ok.argv, ["npm", "install", "posthog-js", "--save"]);
        assert!(check_bash_command(&p, "npx tsc --noEmit --pretty false").is_ok());
        assert!(check_bash_command(&p, "npm run build 2>&1").is_ok());
        assert!(check_bash_command(&p, "npm run lint").is_err());
        assert!(check_bash_command(&p, "npx tsc").is_err());
    }

    #[test]
    fn bash_refuses_each_shell_construct_naming_it() {
        let p = perms(&["npm install", "echo", "ls"]);
        let cases = [
            ("npm install && touch x", "&&"),
            ("ls; rm x", ";"),
            ("echo $(whoami)", "$("),
            ("echo `whoami`", "backtick"),
            ("echo ${HOME}", "${"),
            ("echo $HOME", "$VARIABLE"),
            ("npm install > /tmp/x", "redirections"),
            ("npm install < /dev/null", "redirections"),
            ("npm install &", "background"),
            ("npm install || true", "||"),
            ("ls | sh", "pipe"),
            ("ls | head -n 2 | tail -n 1", "one trailing"),
            ("ls\nrm x", "one line"),
            ("FOO=1 npm install", "environment-variable"),
            ("rm -rf /", "no allowed prefix"),
            ("ls .env", "env-file rule"),
            ("ls apps/web/.env.local", "env-file rule"),
            ("npm install --env-file=.env", "env-file rule"),
            ("ls --include=*.local", "env-file rule"),
            ("ls --include=.env*", "env-file rule"),
            ("ls *.production", "env-file rule"),
        ];
        for (command, why) in cases {
            let err = check_bash_command(&p, command).unwrap_err();
            assert!(
                matches!(&err, ToolError::Denied(m) if m.contains("bash rule") && m.contains(why) && m.contains("`npm install`")),
                "{command}: {err}"
            );
        }
    }

    #[test]
    fn bash_trailing_head_and_tail_become_output_filters() {
        let p = perms(&["ls"]);
        for (command, filter) in [
            ("ls | tail -n 3", OutputFilter::Tail(3)),
            ("ls | head -n 10", OutputFilter::Head(10)),
            ("ls | tail -5", OutputFilter::Tail(5)),
            ("ls 2>&1 | head -n4", OutputFilter::Head(4)),
        ] {
            let ok = check_bash_command(&p, command).unwrap();
            assert_eq!(ok.filter, Some(filter), "{command}");
            assert_eq!(ok.argv, ["ls"]);
        }
    }

    #[test]
    fn bash_with_empty_allow_list_refuses_everything() {
        let err = check_bash_command(&Permissions::default(), "ls").unwrap_err();
        assert!(matches!(&err, ToolError::Denied(m) if m.contains("may not run commands")));
    }

    #[cfg(unix)]
    #[test]
    fn bash_arguments_that_leave_the_install_dir_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let p = perms(&["cat", "npm install"]);
        let check = |command: &str| {
            let allowed = check_bash_command(&p, command).unwrap();
            check_bash_paths(&root, &allowed)
        };
        std::os::unix::fs::symlink("/etc", root.join("etc-link")).unwrap();
        for command in [
            "cat etc-link/passwd",
            "cat ../x",
            "cat /etc/passwd",
            "cat ~/.ssh/id_rsa",
            "cat --file=/tmp",
        ] {
            let err = check(command).unwrap_err();
            assert!(
                matches!(&err, ToolError::Denied(m) if m.contains("bash rule") && m.contains("path rule")),
                "{command}: {err}"
            );
        }
        let inside = format!("cat {}/app/page.tsx", root.display());
        for command in [
            "cat app/../package.json",
            inside.as_str(),
            "npm install @scope/pkg",
            "cat https://x.y/z",
        ] {
            assert!(check(command).is_ok(), "{command}");
        }
    }

    #[test]
    fn redaction_replaces_secret_values() {
        let mut s = Secrets::default();
        s.insert("token", "phc_abcdefghijkl");
        assert_eq!(s.redact("key=phc_abcdefghijkl!"), "key=[redacted]!");
    }
}

#[cfg(test)]
mod pattern_tests {
    use super::*;

    #[test]
    fn a_trailing_star_allows_every_tool_of_a_server_and_nothing_else() {
        let perms = Permissions {
            allowed_tools: vec!["Read".into(), "mcp__posthog__*".into()],
            disallowed_tools: vec!["mcp__posthog__delete*".into()],
            ..Permissions::default()
        };
        assert!(check_tool_allowed(&perms, "mcp__posthog__dashboard-create").is_ok());
        assert!(check_tool_allowed(&perms, "Read").is_ok());
        assert!(check_tool_allowed(&perms, "mcp__other__x").is_err());
        assert!(check_tool_allowed(&perms, "mcp__posthog__delete-dashboard").is_err());
        assert!(
            check_tool_allowed(&perms, "Readme").is_err(),
            "no prefix match without a star"
        );
    }
}
