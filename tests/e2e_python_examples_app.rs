//! The Python reference examples (`content/examples/python-*`) use only `posthog`
//! names that exist in the SDK version the content pins: one venv under Cargo's
//! target tmp dir gets exactly the lowest version `install-python` allows (what a
//! new app could resolve to), and `tests/data/python-examples/check_posthog_names.py`
//! compiles each example's Python files and resolves every `posthog` import,
//! attribute, dotted string (Django's `MIDDLEWARE`) and call's keyword arguments
//! against it.
//!
//! This needs the Python package index. It asks first; when the index cannot be
//! reached it prints a loud SKIPPED banner and passes, unless
//! `WIZARD_E2E_REQUIRE_NPM=1`. It shares the pip cache with the Python sample-app
//! tests and runs in the `npm-build` nextest group (its name matches `e2e_*_app`).

mod npm_support;
mod snippets;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use npm_support::{pip_index_reachable_for, quiet, run_ok};
use regex::Regex;
use snippets::examples;

/// How long creating the venv and installing `posthog` may take on a busy machine.
const INSTALL_LIMIT: Duration = Duration::from_secs(300);
/// How long the name check may take.
const CHECK_LIMIT: Duration = Duration::from_secs(120);

/// The lowest `posthog` version `install-python` lets an app declare (`>=7.91.1,<8`).
fn pinned_version() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let skill = std::fs::read_to_string(root.join("content/skills/install-python.md"))
        .expect("content/skills/install-python.md exists");
    let re = Regex::new(r"posthog>=([0-9]+\.[0-9]+\.[0-9]+),<").expect("a literal regex");
    re.captures(&skill)
        .map(|c| c[1].to_string())
        .expect("install-python pins posthog as `posthog>=X.Y.Z,<N`")
}

/// A venv with exactly `posthog==version`, reused when it already has it.
fn venv_with(version: &str) -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-examples-venv");
    let python = venv.join("bin/python");
    let installed = quiet(&python)
        .args([
            "-c",
            "import posthog.version; print(posthog.version.VERSION)",
        ])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string());
    if installed.as_deref() == Some(version) {
        return venv;
    }
    let _ = std::fs::remove_dir_all(&venv);
    let mut make = quiet("python3");
    make.arg("-m").arg("venv").arg(&venv);
    run_ok("python3 -m venv", make, INSTALL_LIMIT);
    let mut pip = quiet(venv.join("bin/pip"));
    pip.args(["install", "--quiet", &format!("posthog=={version}")]);
    run_ok("pip install posthog", pip, INSTALL_LIMIT);
    venv
}

/// Writes each Python example's Python blocks to `<dir>/<id>/<n>.py`; returns the files.
fn python_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut ids = Vec::new();
    for (id, snips) in examples() {
        if !id.starts_with("python-") {
            continue;
        }
        // The example declares the version the test installs, as install-python does.
        let pin = format!("posthog>={}", pinned_version());
        assert!(
            snips.iter().any(|s| s.code.contains(&pin)),
            "{id}: its manifest does not declare {pin}"
        );
        let blocks: Vec<_> = snips
            .iter()
            .filter(|s| s.lang == "python" || s.lang == "py")
            .collect();
        assert!(!blocks.is_empty(), "{id}: no Python code in the example");
        let out = dir.join(&id);
        std::fs::create_dir_all(&out).unwrap();
        for (n, s) in blocks.iter().enumerate() {
            let path = out.join(format!("{n}.py"));
            std::fs::write(&path, &s.code).unwrap();
            files.push(path);
        }
        ids.push(id);
    }
    for must in ["python-django", "python-fastapi", "python-flask"] {
        assert!(
            ids.iter().any(|i| i == must),
            "{must} is not checked: {ids:?}"
        );
    }
    files
}

#[test]
fn every_python_example_uses_only_names_the_pinned_posthog_has() {
    let test = "every_python_example_uses_only_names_the_pinned_posthog_has";
    if !pip_index_reachable_for(test, "posthog") {
        return;
    }
    let started = Instant::now();
    let version = pinned_version();
    let venv = venv_with(&version);
    let dir = tempfile::tempdir().unwrap();
    let files = python_files(dir.path());
    let checker = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/python-examples/check_posthog_names.py");
    let mut check = quiet(venv.join("bin/python"));
    check.arg(&checker).args(&files);
    let out = run_ok("check_posthog_names.py", check, CHECK_LIMIT);
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "posthog {version}: {} ({:.1}s)",
        report.trim(),
        started.elapsed().as_secs_f64()
    );
    // A checker that found nothing to check would pass vacuously.
    let checked = Regex::new(r"checked (\d+) posthog names")
        .unwrap()
        .captures(&report)
        .and_then(|c| c[1].parse::<usize>().ok())
        .unwrap_or(0);
    assert!(checked >= 10, "only {checked} posthog names were checked");
}
