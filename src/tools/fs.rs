//! The file tools: `Read`, `Write`, `Edit`, `Glob`, `Grep`.
//!
//! Names and input shapes are the ones models already know from coding agents,
//! so prompts need no extra explanation. Every call resolves its path through
//! [`paths::resolve`] and passes the permission rules before touching a file;
//! the work itself runs on tokio's blocking pool so a large read or a walk over
//! a big repository never stalls an actor thread.
//!
//! Writes are atomic (a temp file in the same directory, then a rename), so a
//! run killed mid-write never leaves a half-written source file. Walks honour
//! `.gitignore` (even outside a git repo) and never enter `node_modules`, `.git`
//! or the run's own `.posthog-wizard/`.

use std::fs;
use std::io::{self, BufRead, BufReader, Read as _, Seek as _};
use std::path::Path;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::context::{Tool, ToolContext, ToolError, ToolOutput};
use super::executed_config::{check_executed_config, check_manifest_change};
use super::file_locks;
use super::input;
use super::paths::{self, ProjectPath};
use super::permissions::{
    check_not_env_file, check_not_git, check_not_hard_link, check_tool_allowed,
    check_write_allowed, glob_from_input, is_env_file_name, is_foreign_hard_link,
};
use super::run_blocking;
use crate::atomic_file::{self, Access};
use crate::providers::ToolSpec;

/// Lines `Read` returns when the call gives no `limit`.
pub const DEFAULT_READ_LIMIT: usize = 2_000;
/// Characters of one line `Read` shows before cutting it.
pub const MAX_LINE_CHARS: usize = 2_000;
/// Paths `Glob` lists before saying how many more there are.
pub const GLOB_CAP: usize = 500;
/// Matching lines `Grep` lists before stopping.
pub const GREP_CAP: usize = 200;
/// Characters of a matching line `Grep` shows.
const GREP_LINE_CHARS: usize = 300;
/// Characters of the diff `Edit` returns.
const DIFF_CHARS: usize = 6_000;
/// Bytes sniffed to tell a binary file from text.
const SNIFF_BYTES: usize = 8_192;
/// Directories no walk enters, gitignored or not.
pub const SKIPPED_DIRS: [&str; 3] = ["node_modules", ".git", ".posthog-wizard"];

/// `Read`: a text file inside the project, as numbered lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadFile;

/// `Write`: creates or replaces a file, atomically.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteFile;

/// `Edit`: replaces one exact string in a file and shows the diff.
#[derive(Debug, Clone, Copy, Default)]
pub struct EditFile;

/// `Glob`: lists files whose path matches a glob.
#[derive(Debug, Clone, Copy, Default)]
pub struct FindFiles;

/// `Grep`: searches file contents with a regular expression.
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchFiles;

/// Input of `Read`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadInput {
    /// Path of the file, relative to the project root (or absolute inside it).
    pub file_path: String,
    /// 1-based line number to start reading from. Default 1.
    #[serde(default)]
    pub offset: Option<usize>,
    /// How many lines to read. Default 2000.
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Input of `Write`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteInput {
    /// Path of the file, relative to the project root (or absolute inside it).
    pub file_path: String,
    /// The whole new content of the file.
    pub content: String,
}

/// Input of `Edit`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditInput {
    /// Path of the file, relative to the project root (or absolute inside it).
    pub file_path: String,
    /// The exact text to replace, including indentation. Must occur exactly once unless replace_all.
    pub old_string: String,
    /// The text to put in its place. Must differ from old_string.
    pub new_string: String,
    /// Replace every occurrence instead of exactly one. Default false.
    #[serde(default)]
    pub replace_all: Option<bool>,
}

/// Input of `Glob`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobInput {
    /// Glob matched against paths relative to `path` (`**/*.tsx`, `app/*.ts`). `*` stays within one directory.
    pub pattern: String,
    /// Directory to search in, relative to the project root. Default: the project root.
    #[serde(default)]
    pub path: Option<String>,
}

/// Input of `Grep`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrepInput {
    /// Regular expression (Rust regex syntax) searched line by line.
    pub pattern: String,
    /// File or directory to search, relative to the project root. Default: the project root.
    #[serde(default)]
    pub path: Option<String>,
    /// Only search files matching this glob (`*.tsx`; a glob with `/` matches the path from `path`).
    #[serde(default)]
    pub glob: Option<String>,
}

#[async_trait]
impl Tool for ReadFile {
    fn spec(&self) -> ToolSpec {
        input::spec_for::<ReadInput>(
            "Read",
            "Reads a text file in the project and returns its lines numbered from 1 \
             (like `cat -n`). Returns at most `limit` lines (default 2000) from `offset`; \
             lines longer than 2000 characters are cut. Binary files and env files are refused.",
        )
    }

    fn activity(&self, input: &Value) -> String {
        format!("Reading {}", field(input, "file_path"))
    }

    async fn call(&self, ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
        check_tool_allowed(&ctx.permissions, "Read")?;
        let args: ReadInput = input::parse("Read", input)?;
        let secrets = ctx.secrets.clone();
        let install_dir = ctx.install_dir.clone();
        // Resolving canonicalizes and reads metadata: file system calls, off the actor's thread.
        run_blocking(move || {
            let path = paths::resolve(&install_dir, &args.file_path)?;
            check_not_env_file("Read", &path)?;
            check_not_git("Read", &path)?;
            check_not_hard_link("Read", &path)?;
            let text = read_numbered(&path, args.offset, args.limit)?;
            Ok(ToolOutput::text(secrets.redact(&text)))
        })
        .await
    }
}

#[async_trait]
impl Tool for WriteFile {
    fn spec(&self) -> ToolSpec {
        input::spec_for::<WriteInput>(
            "Write",
            "Creates a file (and its parent directories) or replaces its whole content. \
             Only paths matching this task's writable globs are allowed. Prefer Edit for \
             small changes to an existing file.",
        )
    }

    fn activity(&self, input: &Value) -> String {
        format!("Writing {}", field(input, "file_path"))
    }

    async fn call(&self, ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
        check_tool_allowed(&ctx.permissions, "Write")?;
        let args: WriteInput = input::parse("Write", input)?;
        let path = paths::resolve(&ctx.install_dir, &args.file_path)?;
        check_not_env_file("Write", &path)?;
        check_write_allowed(&ctx.permissions, &ctx.fences, &path)?;
        check_executed_config(&ctx.permissions, &ctx.fences, &path)?;
        let held = file_locks::lock(&path.absolute).await;
        run_blocking(move || {
            // Held until the write is on disk, even when the waiting task is stopped.
            let _held = held;
            if path.absolute.is_dir() {
                return Err(ToolError::Failed(format!(
                    "{} is a directory, not a file",
                    path.display()
                )));
            }
            refuse_special(&path)?;
            let existed = path.absolute.exists();
            let before = fs::read_to_string(&path.absolute).ok();
            check_manifest_change(&path, before.as_deref(), &args.content)?;
            if crate::cancel::blocking_cancelled() {
                return Err(not_applied(&path));
            }
            if let Some(parent) = path.absolute.parent() {
                fs::create_dir_all(parent).map_err(|e| {
                    ToolError::Failed(format!(
                        "cannot create the directories for {}: {e}",
                        path.display()
                    ))
                })?;
            }
            atomic_file::write(
                &path.absolute,
                args.content.as_bytes(),
                Access::KeepOrShared,
            )
            .map_err(|e| ToolError::Failed(format!("cannot write {}: {e}", path.display())))?;
            let lines = args.content.lines().count();
            let verb = if existed { "Replaced" } else { "Created" };
            Ok(ToolOutput {
                content: format!("{verb} {} ({lines} lines)", path.display()),
                files_touched: vec![path.relative.clone()],
            })
        })
        .await
    }
}

#[async_trait]
impl Tool for EditFile {
    fn spec(&self) -> ToolSpec {
        input::spec_for::<EditInput>(
            "Edit",
            "Replaces an exact string in a file and returns the diff. `old_string` must \
             occur exactly once (include enough surrounding lines to make it unique) unless \
             `replace_all` is true. Read the file first so the text matches exactly.",
        )
    }

    fn activity(&self, input: &Value) -> String {
        format!("Editing {}", field(input, "file_path"))
    }

    async fn call(&self, ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
        check_tool_allowed(&ctx.permissions, "Edit")?;
        let args: EditInput = input::parse("Edit", input)?;
        if args.old_string.is_empty() {
            return Err(ToolError::InvalidInput(
                "Edit: field `old_string` is empty; use Write to create a file".into(),
            ));
        }
        if args.old_string == args.new_string {
            return Err(ToolError::InvalidInput(
                "Edit: old_string and new_string are the same, so there is nothing to change"
                    .into(),
            ));
        }
        let path = paths::resolve(&ctx.install_dir, &args.file_path)?;
        check_not_env_file("Edit", &path)?;
        check_write_allowed(&ctx.permissions, &ctx.fences, &path)?;
        check_executed_config(&ctx.permissions, &ctx.fences, &path)?;
        check_not_hard_link("Edit", &path)?;
        let held = file_locks::lock(&path.absolute).await;
        run_blocking(move || {
            // Read, replace and write back as one step: a parallel edit cannot slip in between.
            let _held = held;
            edit(&path, &args)
        })
        .await
    }
}

#[async_trait]
impl Tool for FindFiles {
    fn spec(&self) -> ToolSpec {
        input::spec_for::<GlobInput>(
            "Glob",
            "Lists files whose path matches a glob (`**/*.tsx`, `app/**/page.*`), relative \
             to the project root, sorted. Honours .gitignore and skips node_modules and .git.",
        )
    }

    fn activity(&self, input: &Value) -> String {
        format!("Finding files matching {}", field(input, "pattern"))
    }

    async fn call(&self, ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
        check_tool_allowed(&ctx.permissions, "Glob")?;
        let args: GlobInput = input::parse("Glob", input)?;
        let pattern = args.pattern.trim_start_matches("./").to_string();
        if pattern.starts_with('/') {
            return Err(ToolError::InvalidInput(format!(
                "Glob: field `pattern`: {pattern:?} is absolute; give it relative to `path`"
            )));
        }
        let matcher = globset::GlobBuilder::new(&pattern)
            .literal_separator(true)
            .build()
            .map(|g| g.compile_matcher())
            .map_err(|e| {
                ToolError::InvalidInput(format!(
                    "Glob: field `pattern`: {pattern:?} is not a valid glob: {e}"
                ))
            })?;
        let install_dir = ctx.install_dir.clone();
        run_blocking(move || {
            let root = paths::resolve(&install_dir, args.path.as_deref().unwrap_or("."))?;
            check_not_git("Glob", &root)?;
            require_dir(&root)?;
            let mut found: Vec<String> = project_files(&root.absolute)
                .filter(|file| {
                    file.strip_prefix(&root.absolute)
                        .is_ok_and(|rel| matcher.is_match(rel))
                })
                .filter_map(|file| relative_to_root(&root, &file))
                .collect();
            found.sort();
            if found.is_empty() {
                return Ok(ToolOutput::text(format!(
                    "No files match {pattern} in {}",
                    root.display()
                )));
            }
            let more = found.len().saturating_sub(GLOB_CAP);
            found.truncate(GLOB_CAP);
            let mut text = found.join("\n");
            if more > 0 {
                text.push_str(&format!(
                    "\n… and {more} more files not shown; narrow the pattern or the path"
                ));
            }
            Ok(ToolOutput::text(text))
        })
        .await
    }
}

#[async_trait]
impl Tool for SearchFiles {
    fn spec(&self) -> ToolSpec {
        input::spec_for::<GrepInput>(
            "Grep",
            "Searches file contents for a regular expression and returns `path:line: text` \
             for each matching line (at most 200). Honours .gitignore, skips node_modules, \
             .git, binary files and env files.",
        )
    }

    fn activity(&self, input: &Value) -> String {
        format!("Searching for {}", field(input, "pattern"))
    }

    async fn call(&self, ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
        check_tool_allowed(&ctx.permissions, "Grep")?;
        let args: GrepInput = input::parse("Grep", input)?;
        let regex = regex::Regex::new(&args.pattern).map_err(|e| {
            ToolError::InvalidInput(format!("Grep: field `pattern` is not a valid regex: {e}"))
        })?;
        let name_filter = match &args.glob {
            Some(g) => Some((g.contains('/'), glob_from_input("Grep: field `glob`", g)?)),
            None => None,
        };
        let secrets = ctx.secrets.clone();
        let install_dir = ctx.install_dir.clone();
        run_blocking(move || {
            let root = paths::resolve(&install_dir, args.path.as_deref().unwrap_or("."))?;
            check_not_env_file("Grep", &root)?;
            check_not_git("Grep", &root)?;
            check_not_hard_link("Grep", &root)?;
            let files: Vec<std::path::PathBuf> = if root.absolute.is_file() {
                vec![root.absolute.clone()]
            } else {
                require_dir(&root)?;
                project_files(&root.absolute)
                    .filter(|file| {
                        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
                        if is_env_file_name(name) {
                            return false;
                        }
                        let relative = relative_to_root(&root, file).unwrap_or_default();
                        if is_foreign_hard_link(file, &relative) {
                            return false;
                        }
                        match &name_filter {
                            None => true,
                            Some((true, glob)) => file
                                .strip_prefix(&root.absolute)
                                .is_ok_and(|rel| glob.is_match(rel)),
                            Some((false, glob)) => glob.is_match(name),
                        }
                    })
                    .collect()
            };
            let mut hits = Vec::new();
            let mut capped = false;
            for file in &files {
                let shown = relative_to_root(&root, file).unwrap_or_default();
                if grep_file(file, &shown, &regex, &mut hits) {
                    capped = true;
                    break;
                }
            }
            if hits.is_empty() {
                return Ok(ToolOutput::text(format!(
                    "No matches for {} in {}",
                    args.pattern,
                    root.display()
                )));
            }
            let mut text = hits.join("\n");
            if capped {
                text.push_str(&format!(
                    "\n… stopped after {GREP_CAP} matching lines; narrow the pattern, path or glob"
                ));
            }
            Ok(ToolOutput::text(secrets.redact(&text)))
        })
        .await
    }
}

/// Every regular file under `root` that a walk should see: `.gitignore` honoured (also
/// outside a git repo), hidden files included, [`SKIPPED_DIRS`] never entered, symlinks
/// not followed. Unreadable entries are skipped.
pub fn project_files(root: &Path) -> impl Iterator<Item = std::path::PathBuf> {
    ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|entry| {
            let name = entry.file_name().to_string_lossy();
            !SKIPPED_DIRS.contains(&name.as_ref())
        })
        .build()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_some_and(|t| t.is_file()))
        .map(ignore::DirEntry::into_path)
}

fn require_dir(path: &ProjectPath) -> Result<(), ToolError> {
    if path.absolute.is_dir() {
        Ok(())
    } else if path.absolute.exists() {
        Err(ToolError::Failed(format!(
            "{} is not a directory",
            path.display()
        )))
    } else {
        Err(ToolError::Failed(format!(
            "{} does not exist",
            path.display()
        )))
    }
}

/// `file` (found under `root`) relative to the install dir, `/`-separated.
fn relative_to_root(root: &ProjectPath, file: &Path) -> Option<String> {
    let below = file.strip_prefix(&root.absolute).ok()?;
    let below = below
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    Some(match (root.relative.is_empty(), below.is_empty()) {
        (true, _) => below,
        (false, true) => root.relative.clone(),
        (false, false) => format!("{}/{below}", root.relative),
    })
}

/// The string value of `input[name]`, for activity phrases.
fn field<'a>(input: &'a Value, name: &str) -> &'a str {
    input.get(name).and_then(Value::as_str).unwrap_or("a file")
}

/// True when the first bytes look binary: a NUL, or bytes that are not UTF-8.
fn looks_binary(head: &[u8]) -> bool {
    if head.contains(&0) {
        return true;
    }
    match std::str::from_utf8(head) {
        Ok(_) => false,
        // An error with no length is a multi-byte char cut by the sniff window.
        Err(e) => e.error_len().is_some(),
    }
}

fn open_text(path: &ProjectPath) -> Result<fs::File, ToolError> {
    if path.absolute.is_dir() {
        return Err(ToolError::Failed(format!(
            "{} is a directory; use Glob to list files",
            path.display()
        )));
    }
    let mut file = open_regular(&path.absolute).map_err(|e| match e {
        OpenError::Io(e) if e.kind() == io::ErrorKind::NotFound => {
            ToolError::Failed(format!("{} does not exist", path.display()))
        }
        OpenError::Io(e) => ToolError::Failed(format!("cannot open {}: {e}", path.display())),
        OpenError::NotRegular => special_file(path),
    })?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut file)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| ToolError::Failed(format!("cannot read {}: {e}", path.display())))?;
    if looks_binary(&head) {
        return Err(ToolError::Failed(format!(
            "{} is a binary file; only text files can be read",
            path.display()
        )));
    }
    file.seek(io::SeekFrom::Start(0))
        .map_err(|e| ToolError::Failed(format!("cannot read {}: {e}", path.display())))?;
    Ok(file)
}

fn read_numbered(
    path: &ProjectPath,
    offset: Option<usize>,
    limit: Option<usize>,
) -> Result<String, ToolError> {
    let start = offset.unwrap_or(1).max(1);
    let limit = limit.unwrap_or(DEFAULT_READ_LIMIT);
    if limit == 0 {
        return Err(ToolError::InvalidInput(
            "Read: field `limit` must be at least 1".into(),
        ));
    }
    let mut reader = BufReader::new(open_text(path)?);
    let mut out = String::new();
    let mut line = Vec::new();
    let mut total = 0usize;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| ToolError::Failed(format!("cannot read {}: {e}", path.display())))?;
        if read == 0 {
            break;
        }
        total += 1;
        if total < start || total >= start + limit {
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        let shown: String = text.chars().take(MAX_LINE_CHARS).collect();
        out.push_str(&format!("{total:>6}\t{shown}"));
        if shown.len() < text.len() {
            out.push_str(" … [line cut]");
        }
        out.push('\n');
    }
    if total == 0 {
        return Ok(format!("{} is empty", path.display()));
    }
    if start > total {
        return Err(ToolError::InvalidInput(format!(
            "Read: field `offset`: {} has {total} lines, so line {start} is past the end",
            path.display()
        )));
    }
    let last = (start + limit - 1).min(total);
    if last < total {
        out.push_str(&format!(
            "… {} more lines; call Read with offset={} to continue\n",
            total - last,
            last + 1
        ));
    }
    Ok(out)
}

fn edit(path: &ProjectPath, args: &EditInput) -> Result<ToolOutput, ToolError> {
    let mut bytes = Vec::new();
    open_text(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| ToolError::Failed(format!("cannot read {}: {e}", path.display())))?;
    let before = String::from_utf8(bytes).map_err(|_| {
        ToolError::Failed(format!(
            "{} is not UTF-8 text, so it cannot be edited",
            path.display()
        ))
    })?;

    // A model writes `\n`; a Windows-authored file has `\r\n`. Match the file's endings.
    let crlf = |s: &str| s.replace("\r\n", "\n").replace('\n', "\r\n");
    let (old, new) = if !before.contains(&args.old_string) && before.contains("\r\n") {
        (crlf(&args.old_string), crlf(&args.new_string))
    } else {
        (args.old_string.clone(), args.new_string.clone())
    };

    let count = before.matches(&old).count();
    let replace_all = args.replace_all.unwrap_or(false);
    let after = match count {
        0 => {
            return Err(ToolError::Failed(format!(
                "old_string was not found in {}; Read the file and copy the text exactly, \
                 including whitespace and indentation",
                path.display()
            )))
        }
        1 => before.replacen(&old, &new, 1),
        _ if replace_all => before.replace(&old, &new),
        n => {
            return Err(ToolError::Failed(format!(
                "old_string occurs {n} times in {}; add surrounding lines to make it unique, \
                 or set replace_all to change every occurrence",
                path.display()
            )))
        }
    };
    check_manifest_change(path, Some(&before), &after)?;
    // The diff comes first and is bounded: a change applied after the task ended
    // (its time limit, an interrupt) would be a change nobody accounts for.
    let diff = bounded_diff(&before, &after, &path.relative);
    if crate::cancel::blocking_cancelled() {
        return Err(not_applied(path));
    }
    atomic_file::write(&path.absolute, after.as_bytes(), Access::KeepOrShared)
        .map_err(|e| ToolError::Failed(format!("cannot write {}: {e}", path.display())))?;
    Ok(ToolOutput {
        content: format!(
            "Edited {} ({count} replacement{})\n{diff}",
            path.display(),
            if count == 1 { "" } else { "s" }
        ),
        files_touched: vec![path.relative.clone()],
    })
}

/// Appends `path:line: text` for each match in `file` to `hits`; true once the cap is hit.
fn grep_file(file: &Path, shown: &str, regex: &regex::Regex, hits: &mut Vec<String>) -> bool {
    let Ok(handle) = open_regular(file) else {
        return false;
    };
    let mut reader = BufReader::new(handle);
    if reader.fill_buf().map(looks_binary).unwrap_or(true) {
        return false;
    }
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        number += 1;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if regex.is_match(text) {
            if hits.len() == GREP_CAP {
                return true;
            }
            let cut: String = text.chars().take(GREP_LINE_CHARS).collect();
            hits.push(format!("{shown}:{number}: {}", cut.trim_start()));
        }
    }
}

/// How long `Edit` may spend computing its diff before it settles for a coarser one.
const DIFF_DEADLINE: std::time::Duration = std::time::Duration::from_secs(1);

/// The unified diff of an edit, cut at [`DIFF_CHARS`]: computed under a deadline and
/// rendered hunk by hunk, so a `replace_all` over a huge file costs about a second, not minutes.
fn bounded_diff(before: &str, after: &str, relative: &str) -> String {
    let diff = similar::TextDiff::configure()
        .timeout(DIFF_DEADLINE)
        .diff_lines(before, after);
    let mut unified = diff.unified_diff();
    unified.context_radius(2);
    let mut text = format!("--- a/{relative}\n+++ b/{relative}\n");
    for hunk in unified.iter_hunks() {
        text.push_str(&hunk.to_string());
        if text.chars().count() > DIFF_CHARS {
            let mut cut: String = text.chars().take(DIFF_CHARS).collect();
            cut.push_str("\n… diff cut\n");
            return cut;
        }
    }
    text
}

/// Why a file could not be opened for reading.
#[derive(Debug)]
pub enum OpenError {
    /// The open itself failed.
    Io(io::Error),
    /// The path is a FIFO, a device or a socket.
    NotRegular,
}

/// Opens `path` for reading only if it is a regular file. The open never blocks
/// (`O_NONBLOCK`: opening a FIFO would otherwise wait for a writer forever) and the
/// type is checked on the opened handle, so a swap after a check cannot slip one in.
pub fn open_regular(path: &Path) -> Result<fs::File, OpenError> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(nix::libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(OpenError::Io)?;
    let meta = file.metadata().map_err(OpenError::Io)?;
    if !meta.is_file() {
        return Err(OpenError::NotRegular);
    }
    Ok(file)
}

fn special_file(path: &ProjectPath) -> ToolError {
    ToolError::Failed(format!(
        "{} is not a regular file (a pipe, device or socket); only regular files can be read or changed",
        path.display()
    ))
}

/// Refuses to replace anything but a regular file (or nothing).
fn refuse_special(path: &ProjectPath) -> Result<(), ToolError> {
    match fs::metadata(&path.absolute) {
        Ok(meta) if !meta.is_file() => Err(special_file(path)),
        _ => Ok(()),
    }
}

fn not_applied(path: &ProjectPath) -> ToolError {
    ToolError::Failed(format!(
        "the task was stopped before the change was applied; {} is unchanged",
        path.display()
    ))
}
