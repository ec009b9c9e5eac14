//! `wizard content serve` + `wizard integrate --content URL`: a whole run whose agent
//! prompts, skills, rules and cassette all come from a content server.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use wizard::messages::{QueueFile, Verdict};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Kills the server when the test ends, pass or fail.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_run_with_content_from_a_content_server_integrates_the_sample_app() {
    let bin = env!("CARGO_BIN_EXE_wizard");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Port 0 is not offered by the CLI, so pick a free port the usual way.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Server(
        Command::new(bin)
            .args(["content", "serve", "--content"])
            .arg(manifest.join("content"))
            .args(["--port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    // The server prints its URL once it listens.
    let stdout = server.0.stdout.take().unwrap();
    let first = BufReader::new(stdout)
        .lines()
        .next()
        .and_then(Result::ok)
        .unwrap_or_default();
    assert!(
        first.contains(&format!("127.0.0.1:{port}")),
        "the server says where it listens: {first}"
    );
    let url = format!("http://127.0.0.1:{port}");

    let root = tempfile::tempdir().unwrap();
    let app = root.path().join("app");
    copy_dir(&manifest.join("examples/next-app"), &app);
    let out = Command::new(bin)
        .arg("integrate")
        .arg(&app)
        .args(["--content", &url])
        .args([
            "--provider",
            "replay",
            "--cassette",
            "next-app",
            "--replay-speed",
            "0",
        ])
        .args([
            "--orchestrator",
            "--yes",
            "--skip-commands",
            "--ui",
            "plain",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(app.join(".posthog-wizard/queue.json")).unwrap();
    let file: QueueFile = serde_json::from_str(&text).unwrap();
    assert_eq!(file.outcome.map(|o| o.verdict), Some(Verdict::Success));
    assert_eq!(file.tasks.len(), 10);
    assert!(app.join("instrumentation-client.ts").exists());
    drop(server);
}
