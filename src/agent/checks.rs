//! A task's own success checks, run by the runtime after `complete_task(done)`.
//!
//! An agent saying "done" is a claim; the content's `checkFiles` assertions and
//! `check` commands test it. File assertions run first (they are instant),
//! then the commands, each under the Bash tool's fence (no shell, confined to
//! the app, its own process group) but without needing the agent's `bash`
//! prefixes: the runtime runs them, not the model. A failure is not the end of
//! the task: the agent loop hands the output back as the result of the
//! `complete_task` call and the agent keeps working within its budget.

use std::path::Path;
use std::time::Instant;

use globset::{GlobBuilder, GlobMatcher};
use regex::Regex;

use super::TaskPort;
use crate::content::{AgentPrompt, FileCheck};
use crate::messages::{CommandCheck, FileAssertion};
use crate::tools::bash::run_allowed;
use crate::tools::fs::project_files;
use crate::tools::permissions::{check_bash_command, check_bash_paths};
use crate::tools::{run_blocking, Permissions, ToolContext, ToolError};

/// Directories of build output a file assertion never counts: compiled copies of the
/// source would match the same patterns (`.gitignore` usually hides them too, not always).
const BUILD_OUTPUT_DIRS: &[&str] = &[
    ".next",
    ".nuxt",
    ".output",
    ".svelte-kit",
    ".turbo",
    ".vercel",
    "build",
    "dist",
    "out",
    "coverage",
];
/// Largest file a pattern is counted in; bigger ones are bundles, not source.
const MAX_SCANNED_BYTES: u64 = 2 * 1024 * 1024;
/// Lines of a failing command's output handed back to the agent.
const OUTPUT_TAIL_LINES: usize = 60;
/// Lines of the failure kept as the task's failure reason (queue, outro, report).
const REASON_LINES: usize = 12;
/// Files listed under a failing assertion.
const LISTED_FILES: usize = 10;

/// What a task type promises, from its agent prompt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskChecks {
    /// File assertions, checked first.
    pub files: Vec<FileCheck>,
    /// Commands, run in order; the first failure stops the rest.
    pub commands: Vec<String>,
    /// Globs one of which must match a file in the app for the commands to run.
    pub commands_when: Vec<String>,
}

impl TaskChecks {
    /// The checks an agent prompt declares.
    pub fn of(agent: &AgentPrompt) -> Self {
        Self {
            files: agent.check_files.clone(),
            commands: agent.check.clone(),
            commands_when: agent.check_when_files.clone(),
        }
    }

    /// True when there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.commands.is_empty()
    }
}

/// The counts of the `keep` file assertions when the attempt started, by index in
/// [`TaskChecks::files`] (`None` for the others, or a count that could not be taken).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartCounts(Vec<Option<u64>>);

impl StartCounts {
    /// Counts every `keep` assertion's matches in the app as it is now: call it
    /// before the agent's first turn.
    pub async fn take(checks: &TaskChecks, root: &Path) -> Self {
        let mut counts = Vec::with_capacity(checks.files.len());
        for check in &checks.files {
            if !check.keep {
                counts.push(None);
                continue;
            }
            let (root, check) = (root.to_path_buf(), check.clone());
            let counted = run_blocking(move || count_matches(&root, &check)).await;
            counts.push(match counted {
                Ok(found) => Some(found.iter().map(|(_, n)| n).sum()),
                Err(e) => {
                    // Validation compiles the glob and regex; this is a content bug.
                    tracing::warn!("a keep check could not count at the start: {e}");
                    None
                }
            });
        }
        Self(counts)
    }

    fn of(&self, index: usize) -> Option<u64> {
        self.0.get(index).copied().flatten()
    }
}

/// What one pass of the checks found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChecksOutcome {
    /// The commands run (or recorded as not run).
    pub commands: Vec<CommandCheck>,
    /// The file assertions and their counts.
    pub files: Vec<FileAssertion>,
    /// What failed, with the output: `None` when every check passed.
    pub failure: Option<String>,
}

/// Runs every check against the app; reports each as task activity.
pub async fn run_checks(
    checks: &TaskChecks,
    start: &StartCounts,
    ctx: &ToolContext,
    port: &dyn TaskPort,
) -> ChecksOutcome {
    let mut outcome = ChecksOutcome::default();
    let mut failures = Vec::new();
    for (index, check) in checks.files.iter().enumerate() {
        port.activity(
            format!(
                "checking: {}",
                check.message.as_deref().unwrap_or(&check.files)
            ),
            None,
            None,
        );
        let at_start = check.keep.then(|| start.of(index).unwrap_or(0));
        let (assertion, failure) =
            assert_files(ctx.install_dir.clone(), check.clone(), at_start).await;
        outcome.files.push(assertion);
        failures.extend(failure);
    }
    if !failures.is_empty() {
        // A build takes minutes; the agent fixes the files first.
        outcome.failure = Some(failures.join("\n\n"));
        return outcome;
    }
    if let Some(reason) = commands_not_applicable(checks, &ctx.install_dir).await {
        tracing::info!(%reason, "checks not run");
        outcome.commands = checks
            .commands
            .iter()
            .map(|command| CommandCheck {
                command: command.clone(),
                exit_code: None,
                ms: 0,
                not_run: Some(reason.clone()),
            })
            .collect();
        return outcome;
    }
    for command in &checks.commands {
        port.activity(format!("checking: {command}"), None, None);
        let (record, failure) = run_command_check(ctx, &checks.commands, command).await;
        outcome.commands.push(record);
        if let Some(failure) = failure {
            outcome.failure = Some(failure);
            return outcome;
        }
    }
    outcome
}

/// Why the check commands do not apply to this app (none of `commands_when` matches a
/// file in it), or `None` when they run.
async fn commands_not_applicable(checks: &TaskChecks, root: &Path) -> Option<String> {
    if checks.commands.is_empty() || checks.commands_when.is_empty() {
        return None;
    }
    let (root, globs) = (root.to_path_buf(), checks.commands_when.clone());
    let found = run_blocking(move || {
        for glob in &globs {
            let exists = FileCheck {
                files: glob.clone(),
                pattern: None,
                min: None,
                max: None,
                message: None,
                keep: false,
            };
            if !count_matches(&root, &exists)?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    })
    .await;
    match found {
        Ok(true) => None,
        Ok(false) => Some(format!(
            "not for this app: it has none of {}",
            checks.commands_when.join(", ")
        )),
        // Validation compiles the globs; run the commands rather than skip them silently.
        Err(e) => {
            tracing::warn!("the check condition could not be evaluated: {e}");
            None
        }
    }
}

/// What the agent reads as the result of a `complete_task(done)` whose checks failed.
pub fn failure_for_agent(failure: &str) -> String {
    format!(
        "Not done yet: after your complete_task(done) the runtime ran this task's checks, \
         and they failed. Fix the cause, then call complete_task again.\n\n{failure}"
    )
}

/// What an agent without `complete_task` (the linear runner's) reads when it ended its
/// turn and the checks failed: the same output, as the next user message.
pub fn failure_after_stop(failure: &str) -> String {
    format!(
        "Not done yet: you ended your turn, so the runtime ran the checks of every step, \
         and they failed. Fix the cause, then end your turn again.\n\n{failure}"
    )
}

/// The failure as a task's failure reason: its first line (which check) and the last
/// lines of the output, short enough for the outro.
pub fn failure_reason(failure: &str) -> String {
    let lines: Vec<&str> = failure.lines().filter(|l| !l.trim().is_empty()).collect();
    match lines.split_first() {
        None => "the checks failed".into(),
        Some((first, rest)) if rest.len() <= REASON_LINES => std::iter::once(*first)
            .chain(rest.iter().copied())
            .collect::<Vec<_>>()
            .join("\n"),
        Some((first, rest)) => {
            let kept = &rest[rest.len() - REASON_LINES..];
            std::iter::once(*first)
                .chain(std::iter::once("…"))
                .chain(kept.iter().copied())
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

async fn run_command_check(
    ctx: &ToolContext,
    all: &[String],
    command: &str,
) -> (CommandCheck, Option<String>) {
    let record = |exit_code, ms, not_run| CommandCheck {
        command: command.to_string(),
        exit_code,
        ms,
        not_run,
    };
    // The task's own fence, widened by exactly its check commands: the runtime runs them.
    let permissions = Permissions {
        bash: all
            .iter()
            .map(|c| c.split('|').next().unwrap_or(c).to_string())
            .collect(),
        ..ctx.permissions.clone()
    };
    let allowed = match check_bash_command(&permissions, command)
        .and_then(|allowed| check_bash_paths(&ctx.install_dir, &allowed).map(|()| allowed))
    {
        Ok(allowed) => allowed,
        Err(e) => {
            let why = format!("check `{command}` was refused: {e}");
            return (record(None, 0, Some(why.clone())), Some(why));
        }
    };
    if let Some(reason) = &ctx.bash.skip_reason {
        tracing::info!(command, "check not run: {reason}");
        return (record(None, 0, Some(reason.clone())), None);
    }
    let started = Instant::now();
    let run = run_allowed(ctx, &allowed, command, ctx.bash.max_timeout).await;
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match run {
        Ok(run) => {
            tracing::info!(
                command,
                exit = run.exit_code.unwrap_or(-1),
                ms,
                "check finished"
            );
            let failure = (run.exit_code != Some(0))
                .then(|| format!("check `{command}` failed:\n{}", tail(&run.report)));
            (record(run.exit_code, ms, None), failure)
        }
        Err(e) => {
            let why = format!("check `{command}` could not run: {e}");
            (record(None, ms, None), Some(why))
        }
    }
}

/// Counts what `check` asks for, on the blocking pool (it walks the app);
/// `at_start` is a `keep` assertion's count when the attempt started.
async fn assert_files(
    root: std::path::PathBuf,
    check: FileCheck,
    at_start: Option<u64>,
) -> (FileAssertion, Option<String>) {
    let expect = match at_start {
        Some(n) => format!("{} ({n} at the start)", check.describe()),
        None => check.describe(),
    };
    let counted = run_blocking(move || count_matches(&root, &check).map(|c| (c, check))).await;
    match counted {
        Ok((found, check)) => {
            let total: u64 = found.iter().map(|(_, n)| n).sum();
            let (min, max) = check.bounds();
            let min = u64::from(min).max(at_start.unwrap_or(0));
            let passed = total >= min && max.is_none_or(|max| total <= u64::from(max));
            let failure = (!passed).then(|| {
                let what = check.message.as_deref().unwrap_or(&expect);
                let mut text =
                    format!("file check failed: {what}\nexpected {expect}; found {total}");
                for (path, n) in found.iter().take(LISTED_FILES) {
                    match check.pattern {
                        Some(_) => text.push_str(&format!("\n  {path}: {n}")),
                        None => text.push_str(&format!("\n  {path}")),
                    }
                }
                if found.len() > LISTED_FILES {
                    text.push_str(&format!("\n  … and {} more", found.len() - LISTED_FILES));
                }
                text
            });
            let assertion = FileAssertion {
                expect,
                found: total,
                passed,
            };
            (assertion, failure)
        }
        Err(e) => {
            let why = format!("file check could not run: {expect}: {e}");
            let assertion = FileAssertion {
                expect,
                found: 0,
                passed: false,
            };
            (assertion, Some(why))
        }
    }
}

/// The files the glob matches (relative, `/`-separated) with their counts: 1 each
/// without a pattern, the pattern's occurrences with one (files with none left out).
fn count_matches(root: &Path, check: &FileCheck) -> Result<Vec<(String, u64)>, ToolError> {
    let glob = compile_glob(&check.files)?;
    let pattern = check
        .pattern
        .as_deref()
        .map(Regex::new)
        .transpose()
        .map_err(|e| ToolError::InvalidInput(format!("pattern does not compile: {e}")))?;
    let mut found = Vec::new();
    for path in project_files(root) {
        let Ok(relative) = path.strip_prefix(root) else {
            continue;
        };
        let relative = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if relative
            .split('/')
            .any(|part| BUILD_OUTPUT_DIRS.contains(&part))
            || !glob.is_match(&relative)
        {
            continue;
        }
        let Some(regex) = &pattern else {
            found.push((relative, 1));
            continue;
        };
        let too_big = std::fs::metadata(&path).map_or(true, |m| m.len() > MAX_SCANNED_BYTES);
        if too_big {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let n = regex.find_iter(&String::from_utf8_lossy(&bytes)).count() as u64;
        if n > 0 {
            found.push((relative, n));
        }
    }
    Ok(found)
}

fn compile_glob(glob: &str) -> Result<GlobMatcher, ToolError> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| ToolError::InvalidInput(format!("glob {glob:?} does not compile: {e}")))
}

/// The last lines of a command's report (build errors come last).
fn tail(report: &str) -> String {
    let lines: Vec<&str> = report.lines().collect();
    let start = lines.len().saturating_sub(OUTPUT_TAIL_LINES);
    let mut text = String::new();
    if start > 0 {
        text.push_str(&format!("[{start} earlier lines cut]\n"));
    }
    text.push_str(&lines[start..].join("\n"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn check(files: &str, pattern: Option<&str>, min: Option<u32>, max: Option<u32>) -> FileCheck {
        FileCheck {
            files: files.into(),
            pattern: pattern.map(str::to_string),
            min,
            max,
            message: None,
            keep: false,
        }
    }

    #[test]
    fn patterns_are_counted_in_source_but_never_in_build_output_or_dependencies() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "instrumentation-client.ts", "posthog.init('x')\n");
        write(root, ".next/server/chunk.js", "posthog.init('x')\n");
        write(root, "node_modules/posthog-js/x.js", "posthog.init('x')\n");
        write(root, ".posthog-wizard/plan.ts", "posthog.init('x')\n");
        write(root, "src/app/page.tsx", "export default 1\n");
        let once = check(
            "**/*.{ts,tsx,js}",
            Some(r"posthog\.init\("),
            Some(1),
            Some(1),
        );
        let found = count_matches(root, &once).unwrap();
        assert_eq!(found, vec![("instrumentation-client.ts".to_string(), 1)]);

        write(
            root,
            "src/app/providers.tsx",
            "posthog.init(a); posthog.init(b)\n",
        );
        let found = count_matches(root, &once).unwrap();
        assert_eq!(found.iter().map(|(_, n)| n).sum::<u64>(), 3);
    }

    #[test]
    fn a_glob_without_a_pattern_counts_files_relative_to_the_root() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "src/instrumentation-client.ts", "");
        let exists = check(
            "{instrumentation-client,src/instrumentation-client}.{ts,js}",
            None,
            None,
            None,
        );
        assert_eq!(count_matches(dir.path(), &exists).unwrap().len(), 1);
        let nested = check("instrumentation-client.ts", None, None, None);
        assert!(count_matches(dir.path(), &nested).unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_keep_check_fails_when_the_matches_drop_below_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "instrumentation-client.ts", "Sentry.init({});\n");
        let keep = FileCheck {
            keep: true,
            ..check(
                "instrumentation-client.ts",
                Some(r"Sentry\.init\("),
                None,
                None,
            )
        };
        let checks = TaskChecks {
            files: vec![check("*.ts", None, None, None), keep.clone()],
            commands: Vec::new(),
            commands_when: Vec::new(),
        };
        let start = StartCounts::take(&checks, root).await;
        assert_eq!(start, StartCounts(vec![None, Some(1)]));

        // Merged: Sentry's init and PostHog's.
        write(
            root,
            "instrumentation-client.ts",
            "Sentry.init({});\nposthog.init(t, {});\n",
        );
        let (merged, failure) = assert_files(root.into(), keep.clone(), start.of(1)).await;
        assert!(merged.passed && failure.is_none(), "{failure:?}");
        assert_eq!(merged.found, 1);

        // Overwritten: only PostHog's, the same kind of file a fresh init writes.
        write(root, "instrumentation-client.ts", "posthog.init(t, {});\n");
        let (overwritten, failure) = assert_files(root.into(), keep.clone(), start.of(1)).await;
        assert!(!overwritten.passed);
        assert_eq!(
            overwritten.expect,
            r"no fewer match(es) of /Sentry\.init\(/ in instrumentation-client.ts than at the start (1 at the start)"
        );
        let failure = failure.unwrap();
        assert!(failure.contains("found 0"), "{failure}");
    }

    #[tokio::test]
    async fn a_keep_check_on_a_file_that_did_not_exist_passes_and_still_applies_its_max() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let keep = FileCheck {
            keep: true,
            ..check(
                "instrumentation-client.ts",
                Some(r"\.init\("),
                None,
                Some(1),
            )
        };
        let checks = TaskChecks {
            files: vec![keep.clone()],
            commands: Vec::new(),
            commands_when: Vec::new(),
        };
        let start = StartCounts::take(&checks, root).await;
        assert_eq!(start.of(0), Some(0));
        write(root, "instrumentation-client.ts", "posthog.init(t);\n");
        let (fresh, _) = assert_files(root.into(), keep.clone(), start.of(0)).await;
        assert!(fresh.passed, "a fresh file keeps the nothing there was");
        write(
            root,
            "instrumentation-client.ts",
            "a.init(t);\nb.init(t);\n",
        );
        let (twice, _) = assert_files(root.into(), keep, start.of(0)).await;
        assert!(!twice.passed, "max still applies");
    }

    #[tokio::test]
    async fn check_commands_run_only_in_an_app_with_one_of_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "main.py", "print('hi')\n");
        let checks = TaskChecks {
            files: Vec::new(),
            commands: vec!["npm run build --if-present".into()],
            commands_when: vec!["package.json".into()],
        };
        let reason = commands_not_applicable(&checks, root).await;
        assert_eq!(
            reason.as_deref(),
            Some("not for this app: it has none of package.json")
        );
        write(root, "package.json", "{}\n");
        assert_eq!(commands_not_applicable(&checks, root).await, None);
        let always = TaskChecks {
            commands_when: Vec::new(),
            ..checks
        };
        std::fs::remove_file(root.join("package.json")).unwrap();
        assert_eq!(commands_not_applicable(&always, root).await, None);
    }

    #[test]
    fn the_tail_keeps_the_last_lines_and_says_how_many_were_cut() {
        let report: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let t = tail(&report);
        assert!(t.starts_with("[40 earlier lines cut]\nline 40"));
        assert!(t.ends_with("line 99"));
    }
}
