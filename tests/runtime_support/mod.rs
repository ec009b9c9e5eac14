//! Shared by the runtime's end-to-end tests: the fixture content and app, a
//! cassette played by the loopback fakes, the `wizard` binary run with a clean
//! environment, and a fingerprint of a directory tree.
//!
//! The fakes play the same cassettes as the replay provider, so one script can
//! drive a run through either. They tell requests apart the way the issue
//! asks a fake server to: the seed by its system prompt, a task by the
//! `Task id: … · type: …` line of its first user message; the turn is the
//! number of assistant messages the conversation already holds.
//!
//! Each test binary uses only part of this module, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use wizard_fakes::{Answer, FakeUsage};

/// Where the runtime's fixtures live.
pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/runtime");
/// The real content, for the files the fixture content borrows.
pub const REAL_CONTENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/content");
/// How long a whole run may take before a test calls it hung (runs take about a second).
pub const RUN_GUARD: Duration = Duration::from_secs(90);
/// The first line of the seeding agent's system prompt, as the fakes recognise it.
pub const SEED_SYSTEM_MARK: &str = "You plan the work.";

/// Copies a directory tree (files and folders only).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A valid content directory: the fixture agents and skills plus the real
/// `models.yaml`, `frameworks.yaml`, `product.yaml` and `examples/`.
pub fn content_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(DATA).join("content"), dir.path());
    for file in ["models.yaml", "frameworks.yaml", "product.yaml"] {
        fs::copy(Path::new(REAL_CONTENT).join(file), dir.path().join(file)).unwrap();
    }
    copy_dir(
        &Path::new(REAL_CONTENT).join("examples"),
        &dir.path().join("examples"),
    );
    dir
}

/// Copies the fixture app to `root/app` and returns its path.
pub fn fixture_app(root: &Path) -> PathBuf {
    let app = root.join("app");
    copy_dir(&Path::new(DATA).join("app"), &app);
    app
}

/// A cassette's text, with `{{OUTSIDE}}` replaced.
pub fn cassette_text(name: &str, outside: Option<&Path>) -> String {
    let text = fs::read_to_string(Path::new(DATA).join("cassettes").join(name)).unwrap();
    match outside {
        Some(dir) => text.replace("{{OUTSIDE}}", &dir.display().to_string()),
        None => text,
    }
}

// ---- who is calling ------------------------------------------------------

/// Who sent a model request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The seeding agent.
    Seed,
    /// A task agent.
    Task {
        /// The task's id.
        id: String,
        /// The task's type.
        task_type: String,
    },
}

impl Caller {
    /// The cassette script this caller plays (`seed` or the task type).
    pub fn script(&self) -> &str {
        match self {
            Caller::Seed => "seed",
            Caller::Task { task_type, .. } => task_type,
        }
    }
}

/// The text of a wire message's content: a string (OpenAI) or text blocks (Anthropic).
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The system prompt of a request body in either wire format.
pub fn system_text(body: &Value) -> String {
    match body.get("system") {
        Some(system) => content_text(system),
        None => body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["role"] == "system")
            .map(|m| content_text(&m["content"]))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The text of the first user message.
pub fn first_user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["role"] == "user")
        .map(|m| content_text(&m["content"]))
        .unwrap_or_default()
}

/// How many answers the model already gave in this conversation.
pub fn assistant_turns(body: &Value) -> usize {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "assistant")
        .count()
}

/// Recognises the caller of a request body in either wire format.
pub fn caller(body: &Value) -> Option<Caller> {
    if system_text(body).contains(SEED_SYSTEM_MARK) {
        return Some(Caller::Seed);
    }
    let text = first_user_text(body);
    let line = text.lines().find_map(|l| l.strip_prefix("Task id: "))?;
    let (id, task_type) = line.split_once(" · type: ")?;
    Some(Caller::Task {
        id: id.trim().to_string(),
        task_type: task_type.trim().to_string(),
    })
}

// ---- a cassette played by a fake -----------------------------------------

#[derive(Debug, Deserialize)]
struct CassetteFile {
    scripts: BTreeMap<String, Vec<TurnFile>>,
}

#[derive(Debug, Deserialize)]
struct TurnFile {
    turn: Vec<StepFile>,
    #[serde(default)]
    stop: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StepFile {
    text: Option<String>,
    tool: Option<String>,
    input: Option<Value>,
}

/// A cassette the fakes play: the answer for a request is the caller's script at its turn.
pub struct Played {
    scripts: BTreeMap<String, Vec<TurnFile>>,
    usage: FakeUsage,
    seen: Seen,
}

/// The usage every scripted answer reports (all four counts, so every price term shows).
pub const PER_ANSWER: FakeUsage = FakeUsage {
    input: 1_000,
    output: 40,
    cache_read: 3_000,
    cache_write: 500,
};

impl Played {
    /// Plays the cassette text `yaml`.
    pub fn new(yaml: &str) -> Self {
        let file: CassetteFile = serde_yaml_ng::from_str(yaml).unwrap();
        Self {
            scripts: file.scripts,
            usage: PER_ANSWER,
            seen: Seen::default(),
        }
    }

    /// Which callers have sent at least one request.
    pub fn seen(&self) -> &Seen {
        &self.seen
    }

    /// The answer to one request body.
    pub fn answer(&self, body: &Value) -> Answer {
        let Some(who) = caller(body) else {
            return Answer::text("fake: cannot tell who is calling").with_usage(self.usage);
        };
        self.seen.mark(who.script());
        let turn = assistant_turns(body);
        let Some(scripted) = self.scripts.get(who.script()).and_then(|s| s.get(turn)) else {
            return Answer::text(format!("fake: no turn {turn} for {}", who.script()))
                .with_usage(self.usage);
        };
        let mut answer = Answer::new().with_usage(self.usage);
        for step in &scripted.turn {
            answer = match (&step.text, &step.tool) {
                (Some(text), _) => answer.with_text(text.clone()),
                (None, Some(tool)) => answer.with_tool(
                    tool.clone(),
                    step.input
                        .clone()
                        .unwrap_or_else(|| Value::Object(Default::default())),
                ),
                (None, None) => answer,
            };
        }
        if let Some(stop) = &scripted.stop {
            answer = answer.with_stop_reason(stop.clone());
        }
        answer
    }
}

/// The scripts (seed, task types) that have called, for ordering tests.
#[derive(Default)]
pub struct Seen {
    scripts: Mutex<HashSet<String>>,
    changed: Condvar,
}

impl Seen {
    fn mark(&self, script: &str) {
        self.scripts.lock().unwrap().insert(script.to_string());
        self.changed.notify_all();
    }

    /// Blocks (off the fake's async workers) until `script` has called, or `limit` passes.
    /// Returns whether it called.
    pub fn wait_for(&self, script: &str, limit: Duration) -> bool {
        tokio::task::block_in_place(|| {
            let deadline = Instant::now() + limit;
            let mut seen = self.scripts.lock().unwrap();
            while !seen.contains(script) {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                seen = self.changed.wait_timeout(seen, left).unwrap().0;
            }
            true
        })
    }
}

// ---- recorded conversations ----------------------------------------------

/// One tool call of a recorded conversation and the result the runtime sent back.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Which tool.
    pub name: String,
    /// With what.
    pub input: Value,
    /// The result's text (`None` when no result was sent back).
    pub result: Option<String>,
    /// Whether the result was marked as an error.
    pub is_error: bool,
}

/// Every tool call of the longest recorded Anthropic conversation of `script`,
/// in order, each with its result.
pub fn anthropic_exchanges(bodies: &[Value], script: &str) -> Vec<Exchange> {
    let longest = bodies
        .iter()
        .filter(|b| caller(b).is_some_and(|c| c.script() == script))
        .max_by_key(|b| b["messages"].as_array().map_or(0, Vec::len))
        .unwrap_or_else(|| panic!("no request from {script}"));
    let mut calls: Vec<(String, Exchange)> = Vec::new();
    let mut results: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for message in longest["messages"].as_array().unwrap() {
        for block in message["content"].as_array().into_iter().flatten() {
            match block["type"].as_str() {
                Some("tool_use") => calls.push((
                    block["id"].as_str().unwrap().to_string(),
                    Exchange {
                        name: block["name"].as_str().unwrap().to_string(),
                        input: block["input"].clone(),
                        result: None,
                        is_error: false,
                    },
                )),
                Some("tool_result") => {
                    results.insert(
                        block["tool_use_id"].as_str().unwrap().to_string(),
                        (
                            content_text(&block["content"]),
                            block["is_error"].as_bool().unwrap_or(false),
                        ),
                    );
                }
                _ => {}
            }
        }
    }
    calls
        .into_iter()
        .map(|(id, mut exchange)| {
            if let Some((text, is_error)) = results.remove(&id) {
                exchange.result = Some(text);
                exchange.is_error = is_error;
            }
            exchange
        })
        .collect()
}

// ---- the binary ----------------------------------------------------------

/// The project token [`wizard`] gives every run (a test may override it).
pub const FIXTURE_PROJECT_TOKEN: &str = "phc_fixture_project_token";

/// The `wizard` binary with none of the caller's provider, product or wizard settings.
pub fn wizard() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wizard"));
    for var in [
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "POSTHOG_PROJECT_TOKEN",
        "POSTHOG_HOST",
        "WIZARD_ORCHESTRATOR",
        "WIZARD_LOG",
        "WIZARD_FAIL_QUEUE_WRITES",
        "POSTHOG_PERSONAL_API_KEY",
        "WIZARD_OAUTH_BASE_URL",
        "WIZARD_LLM_GATEWAY_URL",
    ] {
        command.env_remove(var);
    }
    // A run with a model needs a project (a token or a sign-in); the fixture's token stands in,
    // and no sign-in the developer stored may leak in.
    command.env("POSTHOG_PROJECT_TOKEN", FIXTURE_PROJECT_TOKEN);
    command.env(
        "XDG_CONFIG_HOME",
        std::env::temp_dir().join("wizard-tests-no-config"),
    );
    command.stdin(Stdio::null());
    command
}

/// Runs a command to its end (killing it if it hangs) and returns what it printed.
pub fn run_to_end(mut command: Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the pipes while waiting, so a chatty run cannot block on a full pipe.
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || read_all(stdout));
    let err = std::thread::spawn(move || read_all(stderr));
    let deadline = Instant::now() + RUN_GUARD;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the run did not finish within {RUN_GUARD:?}; stderr: {}",
                String::from_utf8_lossy(&err.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn read_all(mut pipe: impl std::io::Read) -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = pipe.read_to_end(&mut bytes);
    bytes
}

/// Asserts a run exited with `code`, showing its stderr otherwise.
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr:\n{}\nstdout:\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The `--ui json` lines of a run.
pub fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The most tasks running at once, from the `--ui json` lines.
pub fn max_running(lines: &[Value]) -> usize {
    let mut running = BTreeSet::new();
    let mut most = 0;
    for line in lines {
        let task = line["task"].as_str().unwrap_or_default().to_string();
        match line["event"].as_str() {
            Some("task_started") => {
                running.insert(task);
                most = most.max(running.len());
            }
            Some("task_completed" | "task_failed" | "task_skipped" | "task_requeued") => {
                running.remove(&task);
            }
            _ => {}
        }
    }
    most
}

// ---- tree fingerprints ---------------------------------------------------

/// Every entry under `root`: files by content hash, symlinks by target, folders by name.
pub fn fingerprint(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let rel = path.strip_prefix(root).unwrap().to_path_buf();
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            out.insert(
                rel,
                format!("link:{}", fs::read_link(&path).unwrap().display()),
            );
        } else if kind.is_dir() {
            out.insert(rel, "dir".into());
            walk(root, &path, out);
        } else {
            let digest = Sha256::digest(fs::read(&path).unwrap());
            out.insert(rel, format!("file:{digest:x}"));
        }
    }
}

/// Paths added, removed or changed between two fingerprints.
pub fn changed(
    before: &BTreeMap<PathBuf, String>,
    after: &BTreeMap<PathBuf, String>,
) -> BTreeSet<PathBuf> {
    before
        .keys()
        .chain(after.keys())
        .filter(|p| before.get(*p) != after.get(*p))
        .cloned()
        .collect()
}

/// Every file under `dir`, with its text (lossy), for leak checks.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                let text = String::from_utf8_lossy(&fs::read(entry.path()).unwrap()).into_owned();
                out.push((entry.path(), text));
            }
        }
    }
    out
}
