//! Whole runs of the real `wizard` binary against the real model clients,
//! pointed at loopback fakes (`ANTHROPIC_BASE_URL`, `OPENAI_BASE_URL`) that
//! play `tests/data/runtime/cassettes/e2e.yaml`: the seed enqueues install and
//! init (independent) and report (after both), and every task edits the app
//! through the real tools. The fakes record every request body, so the tests
//! check what the runtime actually sent: the cacheable prefix, the tool list,
//! the ancestors' handoffs, and the usage that comes back into `queue.json`.

mod runtime_support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use wizard::messages::{QueueFile, TaskStatus, Usage};
use wizard::providers::pricing::ModelTable;
use wizard_fakes::{FakeAnthropic, FakeOpenAi, FakeServer, RecordedRequest};

use runtime_support::{
    assert_exit, caller, cassette_text, content_dir, fixture_app, json_lines, max_running,
    run_to_end, system_text, wizard, Caller, Played, PER_ANSWER, REAL_CONTENT,
};

/// How long install's first request waits for init's, so the two provably overlap.
const OVERLAP_WAIT: Duration = Duration::from_secs(20);

/// A fake that plays the e2e cassette; install's first answer is held until init
/// has called, which only happens if both run at once.
fn e2e_player() -> Arc<Played> {
    Arc::new(Played::new(&cassette_text("e2e.yaml", None)))
}

fn answer_holding_install(played: &Played, body: &Value) -> wizard_fakes::Answer {
    let answer = played.answer(body);
    if caller(body).is_some_and(|c| c.script() == "install")
        && runtime_support::assistant_turns(body) == 0
    {
        played.seen().wait_for("init", OVERLAP_WAIT);
    }
    answer
}

fn anthropic_fake() -> FakeServer {
    let played = e2e_player();
    FakeAnthropic::scripted_builder(move |body| answer_holding_install(&played, body))
        .expect_key("test-key")
        .start_background()
}

fn openai_fake() -> FakeServer {
    let played = e2e_player();
    FakeOpenAi::scripted_builder(move |body| answer_holding_install(&played, body))
        .expect_key("test-key")
        .start_background()
}

struct Run {
    _root: tempfile::TempDir,
    _content: tempfile::TempDir,
    app: std::path::PathBuf,
    out: std::process::Output,
}

fn integrate(provider: &str, env: &[(&str, String)]) -> Run {
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let mut command = wizard();
    command
        .arg("integrate")
        .arg(&app)
        .args([
            "--orchestrator",
            "--yes",
            "--provider",
            provider,
            "--content",
        ])
        .arg(content.path())
        .args(["--concurrency", "2", "--ui", "json"]);
    for (name, value) in env {
        command.env(name, value);
    }
    let out = run_to_end(command);
    Run {
        _root: root,
        _content: content,
        app,
        out,
    }
}

fn queue_file(app: &Path) -> QueueFile {
    let text = std::fs::read_to_string(app.join(".posthog-wizard/queue.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn model_bodies(fake: &FakeServer) -> Vec<Value> {
    fake.requests()
        .into_iter()
        .filter(|r: &RecordedRequest| r.method == "POST")
        .map(|r| r.body)
        .collect()
}

fn task_bodies<'a>(bodies: &'a [Value], task_type: &str) -> Vec<&'a Value> {
    bodies
        .iter()
        .filter(|b| matches!(caller(b), Some(Caller::Task { task_type: t, .. }) if t == task_type))
        .collect()
}

/// What both providers' runs must show.
fn assert_the_run(run: &Run, bodies: &[Value]) {
    assert_exit(&run.out, 0);
    let lines = json_lines(&run.out);

    // The seed enqueued the graph, and every task completed.
    let enqueued: Vec<(&str, &str)> = lines
        .iter()
        .filter(|l| l["event"] == "task_enqueued")
        .map(|l| {
            (
                l["task"].as_str().unwrap(),
                l["enqueuedBy"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        enqueued,
        [
            ("install", "orchestrator"),
            ("init", "orchestrator"),
            ("report", "orchestrator")
        ]
    );
    let finished = lines.last().unwrap();
    assert_eq!(finished["event"], "run_finished");
    assert_eq!(finished["verdict"], "success", "{finished}");

    // The seed's own activity is on the wire before any task starts (first visible progress).
    let position = |event: &str| lines.iter().position(|l| l["event"] == event);
    let seed_activity = position("seed_activity").expect("a seed_activity event");
    let first_start = position("task_started").expect("a task_started event");
    assert!(seed_activity < first_start, "seed activity comes first");
    assert!(!lines[seed_activity]["phrase"].as_str().unwrap().is_empty());

    // install and init ran at the same time (install's answer waited for init's request).
    assert_eq!(max_running(&lines), 2, "install and init overlap");

    // The tools really changed the app.
    let manifest = std::fs::read_to_string(run.app.join("package.json")).unwrap();
    let manifest: Value = serde_json::from_str(&manifest).expect("package.json is still JSON");
    assert_eq!(manifest["dependencies"]["sdk-fixture"], "^1.0.0");
    assert!(run.app.join("lib/analytics.ts").is_file());
    assert!(run.app.join("setup-report.md").is_file());
    assert!(run
        .app
        .join(".posthog-wizard/handoffs/report.json")
        .is_file());

    // The report task's first request carries both ancestors' handoffs, under the heading.
    let report = task_bodies(bodies, "report");
    let first = report
        .iter()
        .find(|b| runtime_support::assistant_turns(b) == 0)
        .expect("report's first request");
    let text = runtime_support::first_user_text(first);
    let lines_of: Vec<&str> = text.lines().collect();
    assert_eq!(lines_of[1], "Task id: report · type: report");
    let context = text
        .find("## Context from previous steps")
        .expect("the context heading");
    let after = &text[context..];
    assert!(after.contains("INSTALL-DID declared sdk-fixture ^1.0.0 in package.json"));
    assert!(after.contains("INSTALL-NEXT run the package manager before building"));
    assert!(after.contains("INIT-DID wrote lib/analytics.ts"));

    // Every task request names its own task on the second line of its first user message.
    for (task_type, n) in [("install", 3), ("init", 3), ("report", 2)] {
        let requests = task_bodies(bodies, task_type);
        assert_eq!(requests.len(), n, "{task_type} made one request per turn");
        for body in requests {
            let text = runtime_support::first_user_text(body);
            assert_eq!(
                text.lines().nth(1),
                Some(format!("Task id: {task_type} · type: {task_type}").as_str())
            );
        }
    }
}

/// The tasks' model requests (not the seed's).
fn all_task_bodies(bodies: &[Value]) -> Vec<&Value> {
    bodies
        .iter()
        .filter(|b| matches!(caller(b), Some(Caller::Task { .. })))
        .collect()
}

fn usage_times(n: u64, per: Usage) -> Usage {
    Usage {
        input_tokens: per.input_tokens * n,
        output_tokens: per.output_tokens * n,
        cache_read_tokens: per.cache_read_tokens * n,
        cache_write_tokens: per.cache_write_tokens * n,
    }
}

#[test]
fn a_run_against_fake_anthropic_is_driven_by_its_tool_calls() {
    let fake = anthropic_fake();
    let run = integrate(
        "anthropic",
        &[
            ("ANTHROPIC_BASE_URL", fake.base_url()),
            ("ANTHROPIC_API_KEY", "test-key".into()),
        ],
    );
    let bodies = model_bodies(&fake);
    assert_the_run(&run, &bodies);

    // The cacheable prefix is byte-identical across the tasks and ends with the breakpoint;
    // the tool list is identical too.
    let tasks = all_task_bodies(&bodies);
    assert_eq!(tasks.len(), 8);
    let system = &tasks[0]["system"];
    let blocks = system.as_array().expect("system blocks");
    assert_eq!(
        blocks.last().unwrap()["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert!(blocks[..blocks.len() - 1]
        .iter()
        .all(|b| b.get("cache_control").is_none()));
    for body in &tasks {
        assert_eq!(&body["system"], system, "the system prefix never changes");
        assert_eq!(
            body["tools"], tasks[0]["tools"],
            "the tool list never changes"
        );
    }
    let names: Vec<&str> = tasks[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"complete_task") && names.contains(&"enqueue_task"));
    // The conversation is cached too: the seed's and every task's requests end with a breakpoint.
    assert_conversation_breakpoint(&bodies);
    // The seed has its own system prompt, marked the same way.
    let seed = bodies
        .iter()
        .find(|b| caller(b) == Some(Caller::Seed))
        .unwrap();
    assert_ne!(seed["system"], *system);
    assert!(system_text(seed).starts_with(runtime_support::SEED_SYSTEM_MARK));

    // queue.json holds each task's usage (the fake's, once per request) and its price.
    let table = ModelTable::parse(
        &std::fs::read_to_string(Path::new(REAL_CONTENT).join("models.yaml")).unwrap(),
    )
    .unwrap();
    let per = Usage {
        input_tokens: PER_ANSWER.input,
        output_tokens: PER_ANSWER.output,
        cache_read_tokens: PER_ANSWER.cache_read,
        cache_write_tokens: PER_ANSWER.cache_write,
    };
    let file = queue_file(&run.app);
    for task in &file.tasks {
        assert_eq!(task.status, TaskStatus::Completed, "{}", task.id);
        let requests = task_bodies(&bodies, &task.task_type).len() as u64;
        assert_eq!(task.usage, usage_times(requests, per), "{}", task.id);
        let model = table.resolve("anthropic", &task.model).id;
        let expected = table.cost_usd(&model, &task.usage);
        assert!(expected > 0.0);
        assert!(
            (task.cost_usd - expected).abs() < 1e-9,
            "{}: {} vs {expected}",
            task.id,
            task.cost_usd
        );
    }
    // Every request was authenticated with the configured key.
    assert!(fake
        .requests()
        .iter()
        .all(|r| r.header("x-api-key") == Some("test-key")));
}

/// The seed's enqueuing answer streams its first `enqueue_task` block whole and then goes
/// silent for good: a task can only start if the runtime runs that call before the answer
/// ends. The run is stopped once the task has called the model.
#[test]
fn the_first_task_starts_while_the_seeds_answer_is_still_streaming() {
    let played = e2e_player();
    let fake = FakeAnthropic::builder(move |body, _| {
        let reply = played.answer(body).anthropic_reply();
        let enqueuing =
            caller(body) == Some(Caller::Seed) && runtime_support::assistant_turns(body) == 1;
        match reply {
            wizard_fakes::Reply::Sse(stream) if enqueuing => {
                let text = String::from_utf8(stream.bytes.to_vec()).unwrap();
                let stop = text
                    .find("event: content_block_stop")
                    .expect("the first block's end");
                let after_bytes = stop + text[stop..].find("\n\n").unwrap() + 2;
                assert!(text[..after_bytes].contains("\"name\":\"enqueue_task\""));
                wizard_fakes::Reply::Stall {
                    body: stream,
                    after_bytes,
                }
            }
            other => other,
        }
    })
    .expect_key("test-key")
    .start_background();
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let mut child = wizard()
        .arg("integrate")
        .arg(&app)
        .args([
            "--orchestrator",
            "--yes",
            "--provider",
            "anthropic",
            "--content",
        ])
        .arg(content.path())
        .args(["--concurrency", "2", "--ui", "json"])
        .env("ANTHROPIC_BASE_URL", fake.base_url())
        .env("ANTHROPIC_API_KEY", "test-key")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Read the events as they come; stop at the first task_started with install's request seen.
    let stdout = child.stdout.take().unwrap();
    let (sender, events) = std::sync::mpsc::channel::<Value>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(event) = serde_json::from_str(&line) {
                let _ = sender.send(event);
            }
        }
    });
    let install_called = |fake: &FakeServer| {
        model_bodies(fake).iter().any(
            |b| matches!(caller(b), Some(Caller::Task { task_type, .. }) if task_type == "install"),
        )
    };
    let deadline = std::time::Instant::now() + runtime_support::RUN_GUARD;
    let mut lines = Vec::new();
    while std::time::Instant::now() < deadline {
        lines.extend(events.try_iter());
        let started = lines.iter().any(|l| l["event"] == "task_started");
        if started && install_called(&fake) {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        install_called(&fake),
        "install never called the model: {lines:?}"
    );

    // The seed's enqueuing answer never ended and was never retried (its stream is still open).
    let bodies = model_bodies(&fake);
    let seed_requests = bodies
        .iter()
        .filter(|b| caller(b) == Some(Caller::Seed))
        .count();
    assert_eq!(
        seed_requests, 2,
        "the look around, then the answer that hangs"
    );
    let started: Vec<&str> = lines
        .iter()
        .filter(|l| l["event"] == "task_started")
        .map(|l| l["task"].as_str().unwrap())
        .collect();
    assert_eq!(started, ["install"]);
    assert!(lines.iter().all(|l| l["event"] != "seeding_finished"));
}

/// Every request puts a breakpoint on the last block of its last message (so each turn
/// reads the previous one from the cache), one only, within the API's four.
fn assert_conversation_breakpoint(bodies: &[Value]) {
    assert!(!bodies.is_empty());
    let marked = |blocks: &Value| {
        blocks
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| b.get("cache_control").is_some())
            .count()
    };
    for body in bodies {
        let messages = body["messages"].as_array().expect("messages");
        let last = messages.last().expect("a message")["content"]
            .as_array()
            .expect("content blocks");
        assert_eq!(
            last.last().expect("a block")["cache_control"],
            json!({"type": "ephemeral"}),
            "the conversation's breakpoint: {body}"
        );
        let in_messages: usize = messages.iter().map(|m| marked(&m["content"])).sum();
        assert_eq!(in_messages, 1, "one breakpoint in the conversation");
        assert!(marked(&body["system"]) + in_messages <= 4, "at most four");
    }
}

#[test]
fn the_linear_runner_caches_its_conversation_too() {
    // One session: read package.json, then the summary.
    let fake =
        FakeAnthropic::scripted_builder(|body: &Value| {
            match runtime_support::assistant_turns(body) {
                0 | 1 => wizard_fakes::Answer::new()
                    .with_tool("Read", json!({"file_path": "package.json"}))
                    .with_usage(PER_ANSWER),
                _ => wizard_fakes::Answer::text("Nothing to change.").with_usage(PER_ANSWER),
            }
        })
        .expect_key("test-key")
        .start_background();
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    // This run is about the breakpoint: the fixture content's `checked` step would
    // hold the linear session to its check (the fake never edits the page).
    std::fs::remove_file(content.path().join("agents/checked.md")).unwrap();
    let mut command = wizard();
    command
        .arg("integrate")
        .arg(&app)
        .args(["--linear", "--yes", "--provider", "anthropic", "--content"])
        .arg(content.path())
        .args(["--ui", "json"])
        .env("ANTHROPIC_BASE_URL", fake.base_url())
        .env("ANTHROPIC_API_KEY", "test-key");
    let out = run_to_end(command);
    assert_exit(&out, 0);
    let bodies = model_bodies(&fake);
    assert_eq!(bodies.len(), 3, "two reads and the summary");
    assert_conversation_breakpoint(&bodies);
    // The breakpoint moves: the second request's marked block is the first's tool result.
    assert_eq!(
        bodies[1]["messages"].as_array().unwrap().len(),
        bodies[0]["messages"].as_array().unwrap().len() + 2
    );
}

#[test]
fn the_same_run_against_fake_openai_is_driven_by_its_tool_calls() {
    let fake = openai_fake();
    let run = integrate(
        "openai",
        &[
            ("OPENAI_BASE_URL", fake.url("/v1")),
            ("OPENAI_API_KEY", "test-key".into()),
        ],
    );
    let bodies = model_bodies(&fake);
    assert_the_run(&run, &bodies);

    let tasks = all_task_bodies(&bodies);
    assert_eq!(tasks.len(), 8);
    let system = &tasks[0]["messages"][0];
    assert_eq!(system["role"], "system");
    for body in &tasks {
        assert_eq!(
            &body["messages"][0], system,
            "the system prompt never changes"
        );
        assert_eq!(
            body["tools"], tasks[0]["tools"],
            "the tool list never changes"
        );
    }

    // OpenAI reports cached tokens inside prompt_tokens; the client splits them out.
    let per = Usage {
        input_tokens: PER_ANSWER.input + PER_ANSWER.cache_write,
        output_tokens: PER_ANSWER.output,
        cache_read_tokens: PER_ANSWER.cache_read,
        cache_write_tokens: 0,
    };
    let table = ModelTable::parse(
        &std::fs::read_to_string(Path::new(REAL_CONTENT).join("models.yaml")).unwrap(),
    )
    .unwrap();
    for task in &queue_file(&run.app).tasks {
        let requests = task_bodies(&bodies, &task.task_type).len() as u64;
        assert_eq!(task.usage, usage_times(requests, per), "{}", task.id);
        // Local OpenAI-compatible models are unpriced in models.yaml: the cost follows the table.
        let model = table.resolve("openai", &task.model).id;
        assert_eq!(task.cost_usd, table.cost_usd(&model, &task.usage));
    }
}

#[test]
fn invalid_content_exits_2_before_any_model_request() {
    let fake =
        FakeAnthropic::scripted_builder(|_| wizard_fakes::Answer::text("never")).start_background();
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let install = content.path().join("agents/install.md");
    let text = std::fs::read_to_string(&install)
        .unwrap()
        .replace("skills: [manifest-edit]", "skills: [manifest-edti]");
    std::fs::write(&install, text).unwrap();

    let mut command = wizard();
    command
        .arg("integrate")
        .arg(&app)
        .args([
            "--orchestrator",
            "--yes",
            "--provider",
            "anthropic",
            "--content",
        ])
        .arg(content.path())
        .args(["--ui", "json"])
        .env("ANTHROPIC_BASE_URL", fake.base_url())
        .env("ANTHROPIC_API_KEY", "test-key");
    let out = run_to_end(command);
    assert_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("agents/install.md") && stderr.contains("manifest-edti"),
        "{stderr}"
    );
    assert_eq!(fake.request_count(), 0, "no model was contacted");
    assert!(!app.join(".posthog-wizard/queue.json").exists());
}

#[test]
fn a_rejected_key_stops_at_bootstrap_with_the_reason() {
    let fake = anthropic_fake();
    let run = integrate(
        "anthropic",
        &[
            ("ANTHROPIC_BASE_URL", fake.base_url()),
            ("ANTHROPIC_API_KEY", "wrong-key".into()),
        ],
    );
    // The health check's authenticated probe finds the bad key before any task (even with
    // --yes): an authentication failure (exit 3) that names the refused credential.
    assert_exit(&run.out, 3);
    let stderr = String::from_utf8_lossy(&run.out.stderr);
    assert!(stderr.contains("invalid x-api-key"), "{stderr}");
    assert!(
        stderr.contains("The refused credential is ANTHROPIC_API_KEY"),
        "{stderr}"
    );
    assert!(json_lines(&run.out).is_empty(), "no run started");
    assert_eq!(fake.request_count(), 1, "one probe, not retried");
    // The key itself is a secret: not in the output, not in any file the run left.
    assert!(!String::from_utf8_lossy(&run.out.stderr).contains("wrong-key"));
    assert!(!String::from_utf8_lossy(&run.out.stdout).contains("wrong-key"));
    for (path, text) in runtime_support::files_under(&run.app) {
        assert!(
            !text.contains("wrong-key"),
            "{} holds the key",
            path.display()
        );
    }
}
