//! Monorepo runs with scripted models (`tests/data/cassettes/monorepo.yaml`):
//! the real binary on a copy of the npm-workspaces fixture, one branch of
//! tasks per app, side by side.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use wizard::messages::{QueueFile, TaskStatus};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// A copy of a fixture repository in a temporary directory.
fn copy_repo(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&data(&format!("repos/{name}")), tmp.path());
    tmp
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file under `root` (outside state folders) with its contents.
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_name() == ".posthog-wizard" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn integrate(dir: &Path, extra: &[&str]) -> Output {
    let home = dir.join(".posthog-wizard-test-home");
    Command::new(env!("CARGO_BIN_EXE_wizard"))
        .arg("integrate")
        .arg(dir)
        .args(["--provider", "replay", "--cassette"])
        .arg(data("cassettes/monorepo.yaml"))
        .args([
            "--ui",
            "json",
            "--yes",
            "--skip-commands",
            "--orchestrator",
            "--no-telemetry",
        ])
        .args(extra)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("POSTHOG_PROJECT_TOKEN")
        .env_remove("WIZARD_ORCHESTRATOR")
        .output()
        .expect("wizard runs")
}

fn queue(dir: &Path) -> QueueFile {
    let text = fs::read_to_string(dir.join(".posthog-wizard/queue.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn three_apps_run_as_parallel_branches_each_in_its_own_folder() {
    let repo = copy_repo("npm-workspaces");
    let before = files(repo.path());
    let out = integrate(repo.path(), &["--all-apps", "--concurrency", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let q = queue(repo.path());
    let ids: Vec<&str> = q.tasks.iter().map(|t| t.id.as_str()).collect();
    for app in ["admin", "dashboard", "marketing"] {
        assert!(ids.contains(&format!("install@{app}").as_str()), "{ids:?}");
        assert!(ids.contains(&format!("init@{app}").as_str()), "{ids:?}");
    }
    assert_eq!(ids.len(), 6);
    for t in &q.tasks {
        assert_eq!(t.status, TaskStatus::Completed, "{}", t.id);
        let tag = t.id.split('@').nth(1).unwrap();
        assert_eq!(t.app, format!("apps/{tag}"), "{}", t.id);
        // A branch's dependencies stay inside the branch.
        for dep in &t.depends_on {
            assert!(
                dep.ends_with(&format!("@{tag}")),
                "{} depends on {dep}",
                t.id
            );
        }
    }
    // The three branches overlap in time: every pair of install tasks ran at once.
    let installs: Vec<_> = q
        .tasks
        .iter()
        .filter(|t| t.task_type == "install")
        .collect();
    for a in &installs {
        for b in &installs {
            let (a_start, a_end) = (a.started_at.unwrap(), a.finished_at.unwrap());
            let (b_start, b_end) = (b.started_at.unwrap(), b.finished_at.unwrap());
            assert!(
                a_start < b_end && b_start < a_end,
                "{} and {} did not overlap",
                a.id,
                b.id
            );
        }
    }

    // Each app got its own file; nothing else changed anywhere (the scripted
    // attempt to write outside the app was refused).
    let after = files(repo.path());
    let added: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert_eq!(
        added,
        [
            "apps/admin/instrumentation-client.js",
            "apps/dashboard/instrumentation-client.js",
            "apps/marketing/instrumentation-client.js"
        ]
    );
    for (path, bytes) in &before {
        assert_eq!(after.get(path), Some(bytes), "{path} changed");
    }
    assert!(!repo.path().join("apps/outside-the-app.txt").exists());

    // Events carry the app; the outro and the report speak per app.
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let started: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "task_started")
        .collect();
    assert_eq!(started.len(), 6);
    for e in started {
        assert!(e["app"].as_str().unwrap().starts_with("apps/"), "{e}");
    }
    let err = stderr(&out);
    for app in ["apps/admin", "apps/dashboard", "apps/marketing"] {
        assert!(err.contains(&format!("✓ {app}: 2/2 steps")), "{err}");
    }
    let report = fs::read_to_string(repo.path().join(".posthog-wizard/run-report.md")).unwrap();
    for app in ["apps/admin", "apps/dashboard", "apps/marketing"] {
        assert!(
            report.contains(&format!("### {app} — ✓ done (2/2 steps)")),
            "{report}"
        );
    }
}

#[test]
fn app_runs_one_branch() {
    let repo = copy_repo("npm-workspaces");
    let out = integrate(
        repo.path(),
        &["--app", "apps/dashboard", "--concurrency", "3"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let q = queue(repo.path());
    let ids: Vec<&str> = q.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["install@dashboard", "init@dashboard"]);
    assert!(repo
        .path()
        .join("apps/dashboard/instrumentation-client.js")
        .exists());
    assert!(!repo
        .path()
        .join("apps/admin/instrumentation-client.js")
        .exists());
    assert!(!repo
        .path()
        .join("apps/marketing/instrumentation-client.js")
        .exists());
}

#[test]
fn several_apps_without_a_choice_exit_2_listing_them() {
    let repo = copy_repo("npm-workspaces");
    let out = integrate(repo.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("--app PATH"), "{err}");
    for app in ["apps/admin", "apps/dashboard", "apps/marketing"] {
        assert!(err.contains(&format!("--app {app}")), "{err}");
    }
    assert!(!repo.path().join(".posthog-wizard/queue.json").exists());
    let out = integrate(repo.path(), &["--app", "apps/nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no app at apps/nope"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_ambiguous_app_takes_the_documented_default_and_says_so() {
    let repo = copy_repo("python-with-next");
    // The fixture's root declares Django, which the content detects as an app of its
    // own; here the root is a Python project without a web framework, so web is the
    // only app.
    fs::write(
        repo.path().join("pyproject.toml"),
        "[project]\nname = \"shop\"\nversion = \"1.0.0\"\ndependencies = [\"requests>=2.32\"]\n",
    )
    .unwrap();
    fs::write(repo.path().join("requirements.txt"), "requests>=2.32\n").unwrap();
    let out = integrate(repo.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("the only app here is web (Next.js); integrating it"),
        "{err}"
    );
    assert!(
        err.contains(
            "web matches nextjs-app-router and nextjs-pages-router; taking nextjs-app-router"
        ),
        "{err}"
    );
    let q = queue(repo.path());
    assert!(q.tasks.iter().all(|t| t.app == "web"));
    assert!(repo.path().join("web/instrumentation-client.js").exists());
    assert!(!repo.path().join("instrumentation-client.js").exists());
}

#[test]
fn run_at_an_apps_root_integrates_that_app_and_names_the_ones_below() {
    let repo = tempfile::tempdir().unwrap();
    copy_tree(&data("repos/npm-workspaces/apps/dashboard"), repo.path());
    let nested = repo.path().join("tools/admin");
    fs::create_dir_all(&nested).unwrap();
    copy_tree(&data("repos/npm-workspaces/apps/admin"), &nested);
    let out = integrate(repo.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("integrating the app at the root; also found tools/admin"),
        "{}",
        stderr(&out)
    );
    let q = queue(repo.path());
    let ids: Vec<&str> = q.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["install", "init"]);
    assert!(q.tasks.iter().all(|t| t.app == "."));
    assert!(repo.path().join("instrumentation-client.js").exists());
    assert!(!nested.join("instrumentation-client.js").exists());
}

#[test]
fn a_budget_stopped_monorepo_run_resumes_its_branches() {
    let repo = copy_repo("npm-workspaces");
    let out = integrate(
        repo.path(),
        &["--all-apps", "--concurrency", "1", "--max-tokens", "9000"],
    );
    // 4: a budget stopped the run.
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("✗ apps/marketing"),
        "{}",
        stderr(&out)
    );
    let unfinished = queue(repo.path());
    assert!(unfinished
        .tasks
        .iter()
        .any(|t| t.status == TaskStatus::Pending));

    let home = repo.path().join(".posthog-wizard-test-home");
    let out = Command::new(env!("CARGO_BIN_EXE_wizard"))
        .arg("resume")
        .arg(repo.path())
        .args(["--provider", "replay", "--cassette"])
        .arg(data("cassettes/monorepo.yaml"))
        .args(["--ui", "json", "--yes", "--skip-commands", "--no-telemetry"])
        // The run recorded its budget; a resume goes on only with a larger one.
        .args(["--concurrency", "3", "--max-tokens", "10000000"])
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let q = queue(repo.path());
    assert_eq!(q.tasks.len(), 6);
    assert!(q.tasks.iter().all(|t| t.status == TaskStatus::Completed));
    for app in ["admin", "dashboard", "marketing"] {
        assert!(repo
            .path()
            .join(format!("apps/{app}/instrumentation-client.js"))
            .exists());
    }
}
