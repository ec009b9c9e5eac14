//! `--review`: run the whole integration in a scratch copy, show the diff, apply on confirmation.
//!
//! The scratch copy is a detached git worktree when the app is a clean git
//! repository (so `git diff` works there too), otherwise a plain copy; either
//! way without `.git/`, `node_modules/` and the run state, and with the app's
//! env files copied in (git ignores them, yet the run must see them). After
//! the run, [`Changes::between`] compares the two trees (honouring
//! `.gitignore`, so build output is not a change; env files always count),
//! the patch is written to `.posthog-wizard/changes.patch` with env files'
//! values left out, and the changes are applied only when the user confirms
//! (`--yes`), never in `--ci` (the patch is all that changes), and never over
//! a file that changed in the real tree since the copy was taken.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::actors::persist::files;
use crate::atomic_file::{self, Access};
use crate::ui::review_screen::{self, Decision, ReviewFile, ReviewScreen};

/// The patch's name in the real app's state dir.
pub const PATCH_FILE: &str = "changes.patch";

/// Folders that are never part of the review.
const SKIPPED: [&str; 3] = [".git", "node_modules", files::STATE_DIR];

/// A scratch copy of the app.
pub struct Scratch {
    /// The app inside the copy.
    pub app: PathBuf,
    // Keeps the folder; removed on drop.
    _root: tempfile::TempDir,
    worktree: Option<(PathBuf, PathBuf)>,
    snapshot: BTreeMap<String, String>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some((repo, tree)) = &self.worktree {
            let _ = Command::new("git")
                .arg("-C")
                .arg(repo)
                .args(["worktree", "remove", "--force"])
                .arg(tree)
                .output();
        }
    }
}

/// Makes the scratch copy of `app` (canonical).
pub fn prepare(app: &Path) -> Result<Scratch> {
    let root = tempfile::Builder::new()
        .prefix("wizard-review-")
        .tempdir()
        .context("cannot make a scratch folder for --review")?;
    let snapshot = hashes(app)?;
    let (scratch_app, worktree) = match clean_repo(app) {
        Some((repo, relative)) => {
            let tree = root.path().join("tree");
            let out = Command::new("git")
                .arg("-C")
                .arg(&repo)
                .args(["worktree", "add", "--detach"])
                .arg(&tree)
                .arg("HEAD")
                .output()
                .context("cannot run git worktree")?;
            if !out.status.success() {
                bail!(
                    "git worktree add failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            (tree.join(relative), Some((repo, tree)))
        }
        None => {
            let copy = root.path().join("app");
            copy_tree(app, &copy)?;
            (copy, None)
        }
    };
    for name in env_files(app) {
        std::fs::copy(app.join(&name), scratch_app.join(&name))
            .with_context(|| format!("cannot copy {name} into the review copy"))?;
    }
    Ok(Scratch {
        app: scratch_app,
        _root: root,
        worktree,
        snapshot,
    })
}

/// The repository root and the app's path inside it, when the app is in a clean git repo.
fn clean_repo(app: &Path) -> Option<(PathBuf, PathBuf)> {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(app)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?)
        .canonicalize()
        .ok()?;
    git(&["rev-parse", "HEAD"])?;
    if !git(&["status", "--porcelain"])?.is_empty() {
        return None;
    }
    let relative = app.strip_prefix(&top).ok()?.to_path_buf();
    Some((top, relative))
}

fn env_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| crate::tools::permissions::is_env_file_name(n))
        .collect()
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if SKIPPED.iter().any(|s| name == *s) {
            continue;
        }
        let kind = entry.file_type()?;
        let target = to.join(&name);
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Relative path → sha256 of every reviewed file under `dir`.
fn hashes(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for rel in reviewed_files(dir) {
        let bytes = std::fs::read(dir.join(&rel))?;
        out.insert(rel, format!("{:x}", Sha256::digest(&bytes)));
    }
    Ok(out)
}

/// Files under `dir` that count: what git would see (ignored files left out), plus env files.
fn reviewed_files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = ignore::WalkBuilder::new(dir)
        .hidden(false)
        .git_ignore(true)
        .git_exclude(false)
        .git_global(false)
        .require_git(false)
        .filter_entry(|e| !SKIPPED.iter().any(|s| e.file_name() == *s))
        .build()
        .flatten()
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|e| {
            e.path()
                .strip_prefix(dir)
                .ok()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
        })
        .collect();
    for env in env_files(dir) {
        if !out.contains(&env) {
            out.push(env);
        }
    }
    out.sort();
    out
}

/// What the run changed: path → the new content (`None`: deleted).
#[derive(Debug, Default)]
pub struct Changes {
    /// Changed, added and deleted files, relative to the app.
    pub files: BTreeMap<String, Option<Vec<u8>>>,
    /// The unified diff, env files' values left out.
    pub patch: String,
    /// Each file's part of the patch and what happened to it ("added", "changed", "deleted").
    pub per_file: BTreeMap<String, (&'static str, String)>,
}

impl Changes {
    /// Compares the real app with the scratch copy.
    pub fn between(real: &Path, scratch: &Path) -> Result<Changes> {
        let before = hashes(real)?;
        let after = hashes(scratch)?;
        let mut changes = Changes::default();
        let paths: std::collections::BTreeSet<&String> =
            before.keys().chain(after.keys()).collect();
        for path in paths {
            if before.get(path) == after.get(path) {
                continue;
            }
            let old = before
                .get(path)
                .map(|_| std::fs::read(real.join(path)))
                .transpose()?;
            let new = after
                .get(path)
                .map(|_| std::fs::read(scratch.join(path)))
                .transpose()?;
            let what = match (&old, &new) {
                (None, _) => "added",
                (_, None) => "deleted",
                _ => "changed",
            };
            let diff = file_patch(path, old.as_deref(), new.as_deref());
            changes.patch.push_str(&diff);
            changes.per_file.insert(path.clone(), (what, diff));
            changes.files.insert(path.clone(), new);
        }
        Ok(changes)
    }

    /// `path | +added -removed` lines, like `git diff --stat`.
    pub fn stat(&self) -> String {
        let mut out = String::new();
        for (path, new) in &self.files {
            let what = match new {
                None => "deleted",
                Some(_) => "changed",
            };
            out.push_str(&format!(" {path} ({what})\n"));
        }
        out.push_str(&format!(" {} files\n", self.files.len()));
        out
    }

    /// The changed files as the TUI's review screen lists them.
    pub fn review_files(&self) -> Vec<ReviewFile> {
        self.per_file
            .iter()
            .map(|(path, (what, diff))| ReviewFile {
                path: path.clone(),
                what,
                diff: diff.clone(),
            })
            .collect()
    }
}

fn file_patch(path: &str, old: Option<&[u8]>, new: Option<&[u8]>) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    if crate::tools::permissions::is_env_file_name(name) {
        // Env files hold secrets: the patch says that the file changed, never what it holds.
        return format!(
            "diff --wizard a/{path} b/{path}\n# {path}: env file changed (values not shown)\n"
        );
    }
    let old_text = String::from_utf8_lossy(old.unwrap_or_default());
    let new_text = String::from_utf8_lossy(new.unwrap_or_default());
    let a = if old.is_some() {
        format!("a/{path}")
    } else {
        "/dev/null".into()
    };
    let b = if new.is_some() {
        format!("b/{path}")
    } else {
        "/dev/null".into()
    };
    let diff = similar::TextDiff::from_lines(old_text.as_ref(), new_text.as_ref());
    format!(
        "diff --wizard a/{path} b/{path}\n{}",
        diff.unified_diff().context_radius(3).header(&a, &b)
    )
}

/// Writes the changes into the real app, after checking nothing there changed since the copy.
pub fn apply(real: &Path, scratch: &Scratch, changes: &Changes) -> Result<()> {
    let now = hashes(real)?;
    let moved: Vec<&String> = changes
        .files
        .keys()
        .filter(|p| now.get(*p) != scratch.snapshot.get(*p))
        .collect();
    if !moved.is_empty() {
        bail!(
            "not applied: {} changed in {} since the review copy was taken; the patch is in {}",
            moved
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            real.display(),
            real.join(files::STATE_DIR).join(PATCH_FILE).display()
        );
    }
    for (path, content) in &changes.files {
        let target = real.join(path);
        match content {
            Some(bytes) => {
                if let Some(dir) = target.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                atomic_file::write(&target, bytes, Access::KeepOrShared)
                    .with_context(|| format!("cannot write {}", target.display()))?;
            }
            None => std::fs::remove_file(&target)
                .with_context(|| format!("cannot remove {}", target.display()))?,
        }
    }
    Ok(())
}

/// How the review ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// `--yes`: apply.
    Apply,
    /// `--ci`: write the patch only.
    PatchOnly,
    /// Ask on the terminal.
    Ask,
    /// Ask on the TUI's review screen (a file list and a scrollable diff).
    Screen,
}

/// Runs `run_in(dir)` on a scratch copy of `real`, then shows and (maybe) applies the diff.
pub fn review(
    real: &Path,
    confirm: Confirm,
    run_in: impl FnOnce(PathBuf) -> Result<i32>,
) -> Result<i32> {
    let real = real
        .canonicalize()
        .with_context(|| format!("cannot open the app directory {}", real.display()))?;
    let scratch = prepare(&real)?;
    eprintln!(
        "wizard: --review: the run works in a copy, {}",
        scratch.app.display()
    );
    let code = run_in(scratch.app.clone())?;
    let changes = Changes::between(&real, &scratch.app)?;
    let state = real.join(files::STATE_DIR);
    std::fs::create_dir_all(&state)?;
    let patch_path = state.join(PATCH_FILE);
    atomic_file::write(&patch_path, changes.patch.as_bytes(), Access::OwnerOnly)?;
    for report in ["run-report.md", "timeline.svg"] {
        let from = scratch.app.join(files::STATE_DIR).join(report);
        if from.exists() {
            let _ = std::fs::copy(&from, state.join(report));
        }
    }
    if changes.files.is_empty() {
        eprintln!("wizard: --review: the run changed nothing.");
        return Ok(code);
    }
    eprintln!(
        "wizard: --review: the run would change:\n{}The full diff is in {}",
        changes.stat(),
        patch_path.display()
    );
    let apply_it = match confirm {
        Confirm::Apply => true,
        Confirm::PatchOnly => false,
        Confirm::Ask => ask_apply(&real)?,
        Confirm::Screen => ask_on_screen(&real, &changes)?,
    };
    if !apply_it {
        eprintln!("wizard: --review: nothing was applied.");
        return Ok(code);
    }
    apply(&real, &scratch, &changes)?;
    copy_shared_state(&scratch.app, &real)?;
    eprintln!(
        "wizard: --review: applied {} files to {}.",
        changes.files.len(),
        real.display()
    );
    Ok(code)
}

/// Copies the files agents shared in the copy's state folder (the event plan: the
/// content's `fences.stateFiles`) into the real one, once the changes are applied: they
/// belong to the integration (a re-run and the verify step read the plan). They are the
/// plain files there that are not the runner's own ([`files::RUNNER_OWNED`]); content
/// validation refuses a shared file with a runner's name, and the protected-dir rule lets
/// no agent write anything else there. The copy's queue, audit log and handoffs stay
/// behind: they describe a run in a folder that is gone.
fn copy_shared_state(scratch_app: &Path, real: &Path) -> Result<()> {
    let from = scratch_app.join(files::STATE_DIR);
    let to = real.join(files::STATE_DIR);
    let Ok(entries) = std::fs::read_dir(&from) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let plain = entry.file_type().is_ok_and(|t| t.is_file());
        if !plain || files::RUNNER_OWNED.contains(&name) {
            continue;
        }
        let bytes = std::fs::read(entry.path())
            .with_context(|| format!("cannot read {}", entry.path().display()))?;
        atomic_file::write(&to.join(name), &bytes, Access::KeepOrShared)
            .with_context(|| format!("cannot write {}", to.join(name).display()))?;
    }
    Ok(())
}

/// The review screen when stdin and stdout are a terminal; else the plain question.
fn ask_on_screen(real: &Path, changes: &Changes) -> Result<bool> {
    use std::io::IsTerminal;
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return ask_apply(real);
    }
    let screen = ReviewScreen::new(real.display().to_string(), changes.review_files());
    match review_screen::ask(screen) {
        Ok(decision) => Ok(decision == Decision::Apply),
        Err(e) => {
            eprintln!("wizard: --review: the review screen failed ({e}); asking here instead.");
            ask_apply(real)
        }
    }
}

fn ask_apply(real: &Path) -> Result<bool> {
    use std::io::{IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprint!("Apply these changes to {}? [y/N] ", real.display());
    let _ = std::io::stderr().flush();
    let line = crate::ui::stdin_lines::next_line_blocking().unwrap_or_default();
    let answer = line.trim().to_ascii_lowercase();
    Ok(answer == "y" || answer == "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_the_user_changed_meanwhile_is_never_overwritten() {
        let real = tempfile::tempdir().unwrap();
        std::fs::write(real.path().join("a.txt"), "one\n").unwrap();
        let real = real.path().canonicalize().unwrap();
        let scratch = prepare(&real).unwrap();
        std::fs::write(scratch.app.join("a.txt"), "two\n").unwrap();
        let changes = Changes::between(&real, &scratch.app).unwrap();
        assert!(changes.patch.contains("+two"), "{}", changes.patch);
        // The user edits the real file while the run worked on the copy.
        std::fs::write(real.join("a.txt"), "mine\n").unwrap();
        let err = apply(&real, &scratch, &changes).unwrap_err().to_string();
        assert!(err.contains("a.txt changed"), "{err}");
        assert_eq!(
            std::fs::read_to_string(real.join("a.txt")).unwrap(),
            "mine\n"
        );
    }

    #[test]
    fn applying_makes_the_app_equal_the_copy() {
        let real = tempfile::tempdir().unwrap();
        std::fs::write(real.path().join("a.txt"), "one\n").unwrap();
        std::fs::write(real.path().join("gone.txt"), "x\n").unwrap();
        let real = real.path().canonicalize().unwrap();
        let scratch = prepare(&real).unwrap();
        std::fs::write(scratch.app.join("a.txt"), "two\n").unwrap();
        std::fs::create_dir_all(scratch.app.join("lib")).unwrap();
        std::fs::write(scratch.app.join("lib/new.ts"), "n\n").unwrap();
        std::fs::remove_file(scratch.app.join("gone.txt")).unwrap();
        let changes = Changes::between(&real, &scratch.app).unwrap();
        apply(&real, &scratch, &changes).unwrap();
        assert_eq!(hashes(&real).unwrap(), hashes(&scratch.app).unwrap());
    }

    /// A run in the copy: changes `a.txt`, writes the event plan an agent shares and
    /// the runner's own queue and audit log.
    fn run_writing_a_plan(dir: PathBuf) -> Result<i32> {
        std::fs::write(dir.join("a.txt"), "two\n")?;
        let state = dir.join(files::STATE_DIR);
        std::fs::create_dir_all(state.join(files::HANDOFFS))?;
        std::fs::write(state.join("event-plan.json"), r#"[{"event":"signed_up"}]"#)?;
        std::fs::write(state.join(files::QUEUE), "{}")?;
        std::fs::write(state.join(files::AUDIT), "")?;
        Ok(0)
    }

    fn app_with_a_file() -> (tempfile::TempDir, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("a.txt"), "one\n").unwrap();
        let real = root.path().canonicalize().unwrap();
        (root, real)
    }

    #[test]
    fn applied_changes_bring_the_event_plan_back_but_not_the_runs_own_files() {
        let (_root, real) = app_with_a_file();
        assert_eq!(
            review(&real, Confirm::Apply, run_writing_a_plan).unwrap(),
            0
        );
        assert_eq!(
            std::fs::read_to_string(real.join("a.txt")).unwrap(),
            "two\n"
        );
        let state = real.join(files::STATE_DIR);
        assert_eq!(
            std::fs::read_to_string(state.join("event-plan.json")).unwrap(),
            r#"[{"event":"signed_up"}]"#
        );
        assert!(!state.join(files::QUEUE).exists());
        assert!(!state.join(files::AUDIT).exists());
        assert!(!state.join(files::HANDOFFS).exists());
    }

    #[test]
    fn unapplied_changes_leave_no_event_plan_in_the_app() {
        let (_root, real) = app_with_a_file();
        review(&real, Confirm::PatchOnly, run_writing_a_plan).unwrap();
        assert_eq!(
            std::fs::read_to_string(real.join("a.txt")).unwrap(),
            "one\n"
        );
        let state = real.join(files::STATE_DIR);
        assert!(state.join(PATCH_FILE).exists());
        assert!(!state.join("event-plan.json").exists());
    }
}
