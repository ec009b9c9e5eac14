//! What the browser tests share: finding a Chromium or Chrome (or skipping loudly), and
//! the processes the runtime started for an app, found by their supervision marker.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use wizard::verify::browser::{find, BROWSER_ENV};

/// Set to `1` to make a missing browser a failure instead of a loud skip (CI sets it
/// when it could install Chromium).
pub const REQUIRE_BROWSER: &str = "WIZARD_REQUIRE_BROWSER";

/// The browser for `test`, or `None` after a loud banner (a panic with
/// `WIZARD_REQUIRE_BROWSER=1`).
pub fn browser_for(test: &str) -> Option<PathBuf> {
    match find(std::env::var_os(BROWSER_ENV), std::env::var_os("PATH")) {
        Ok(found) => Some(found),
        Err(why) => {
            if std::env::var(REQUIRE_BROWSER).as_deref() == Ok("1") {
                panic!("{test}: {REQUIRE_BROWSER}=1 but {why}");
            }
            eprintln!(
                "\n==================== SKIPPED (browser) ====================\n\
                 {test}: {why}.\nInstall Chromium (`apt-get install chromium`) to run it.\n\
                 ===========================================================\n"
            );
            None
        }
    }
}

/// Live (not zombie) processes that the runtime marked as started for the app in
/// `install_dir` (`tools::process` marks each with its run's marker), with their
/// command lines. Reads `/proc/*/environ`, which needs the same user or root.
pub fn marked_processes(install_dir: &Path) -> Vec<(String, String)> {
    let marker = format!(
        "{}={}",
        wizard::tools::process::MARKER_VAR,
        wizard::tools::process::run_marker(install_dir)
    );
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let marked = environ
            .split(|b| *b == 0)
            .any(|var| var.starts_with(marker.as_bytes()));
        let state = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        if marked && !state.contains(") Z ") {
            let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push((
                entry.file_name().to_string_lossy().into_owned(),
                String::from_utf8_lossy(&cmd).replace('\0', " "),
            ));
        }
    }
    found
}
