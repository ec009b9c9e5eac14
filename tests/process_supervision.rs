//! No command outlives the wizard: a `setsid` descendant is gone when its
//! command ends, and a SIGKILL of the wizard takes its command with it.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use wizard::tools::bash::RunCommand;
use wizard::tools::{BashLimits, Permissions, Secrets, Tool, ToolContext};

fn ctx(dir: &Path) -> ToolContext {
    ToolContext {
        install_dir: dir.canonicalize().unwrap(),
        permissions: Permissions {
            allowed_tools: vec!["Bash".into()],
            bash: vec!["sh".into()],
            ..Permissions::default()
        },
        secrets: Secrets::default(),
        bash: BashLimits::default(),
        package_managers: Vec::new(),
        fences: Default::default(),
    }
}

/// True when `pid` no longer runs (gone, or a zombie waiting for its reaper).
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

fn wait_dead(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if dead(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    dead(pid)
}

#[tokio::test]
async fn a_setsid_grandchild_is_gone_when_its_command_ends() {
    wizard::tools::process::become_subreaper();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("detach.sh"),
        "setsid sleep 4321 &\necho \"detached $!\"\nsleep 0.3\n",
    )
    .unwrap();
    let out = RunCommand
        .call(&ctx(dir.path()), json!({"command": "sh detach.sh"}))
        .await
        .unwrap()
        .content;
    let pid: u32 = out
        .lines()
        .find_map(|l| l.strip_prefix("detached "))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid in {out}"));
    let alive_after = !wait_dead(pid, Duration::from_secs(3));
    if alive_after {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(
        !alive_after,
        "the detached `sleep` (pid {pid}) outlived its command"
    );
    assert!(
        std::fs::metadata(format!("/proc/{pid}")).is_err(),
        "the wizard, its subreaper, reaps what it killed"
    );
}

/// Not a test of its own: the stand-in wizard for the SIGKILL test, which runs
/// this binary again with only this test and `WIZARD_TEST_PARENT` set.
#[tokio::test]
#[ignore = "run by a_sigkill_of_the_wizard_kills_its_command"]
async fn stand_in_wizard_with_a_running_command() {
    if std::env::var_os("WIZARD_TEST_PARENT").is_none() {
        return;
    }
    let mut command = tokio::process::Command::new("sleep");
    command.arg("4322");
    wizard::tools::process::supervise(&mut command, "stand-in#1");
    let child = command.spawn().unwrap();
    println!("CHILD_PID={}", child.id().unwrap());
    tokio::time::sleep(Duration::from_secs(60)).await;
}

#[test]
fn a_sigkill_of_the_wizard_kills_its_command() {
    let mut parent = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "stand_in_wizard_with_a_running_command",
            "--ignored",
            "--nocapture",
        ])
        .env("WIZARD_TEST_PARENT", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = parent.stdout.take().unwrap();
    let child: u32 = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("CHILD_PID=").and_then(|p| p.parse().ok()))
        .expect("the stand-in printed its command's pid");
    assert!(!dead(child), "the command runs while the wizard does");
    parent.kill().unwrap();
    let _ = parent.wait();
    let gone = wait_dead(child, Duration::from_secs(3));
    if !gone {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(gone, "the command outlived the SIGKILLed wizard");
}
