//! The replay provider: script and turn selection, the latency model on a
//! paused clock, simulated prompt caching, and cassette errors.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;
use wizard::providers::pricing::ModelTable;
use wizard::providers::replay::{ReplayClient, ReplayError};
use wizard::providers::{
    ContentBlock, Message, ModelClient, ModelRequest, ProviderError, ProviderEvent, RequestMeta,
    Role, StopReason, SystemBlock,
};

const CASSETTE: &str = r#"
version: 1
latency:
  small: {ttftMs: 400, tokensPerSec: 100}
  large: {ttftMs: 2000, tokensPerSec: 10}
scripts:
  install:
    - turn:
        - text: "Reading the manifest"
        - tool: Read
          input: {file_path: package.json}
    - turn:
        - tool: complete_task
          input: {status: done, handoff: {goals: g, did: d}}
  seed:
    - turn:
        - text: "Done"
"#;

const MODELS: &str = r#"
version: 1
providers:
  replay:
    tiers: {small: replay-small, medium: replay-medium, large: replay-large}
"#;

fn request(task_type: &str, assistant_turns: usize) -> ModelRequest {
    let mut messages = vec![Message {
        role: Role::User,
        content: vec![ContentBlock::Text {
            text: "Begin.".into(),
        }],
    }];
    for n in 0..assistant_turns {
        messages.push(Message {
            role: Role::Assistant,
            content: vec![ContentBlock::Text {
                text: format!("turn {n}"),
            }],
        });
        messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::Text { text: "ok".into() }],
        });
    }
    ModelRequest {
        model: "replay-small".into(),
        system: vec![
            SystemBlock {
                text: "c".repeat(4000),
                cache: true,
            },
            SystemBlock {
                text: "t".repeat(400),
                cache: false,
            },
        ],
        messages,
        tools: vec![],
        max_tokens: 1000,
        meta: RequestMeta {
            task_id: task_type.into(),
            task_type: task_type.into(),
        },
        cache_conversation: false,
    }
}

fn instant() -> ReplayClient {
    ReplayClient::from_yaml(CASSETTE, 0.0).unwrap()
}

#[tokio::test]
async fn picks_the_script_by_task_type_and_the_turn_by_assistant_messages() {
    let client = instant();
    let first = client
        .complete(&request("install", 0), &|_| {})
        .await
        .unwrap();
    assert_eq!(
        first.content[0],
        ContentBlock::Text {
            text: "Reading the manifest".into()
        }
    );
    match &first.content[1] {
        ContentBlock::ToolUse { id, name, input } => {
            assert!(id.starts_with("toolu_replay_"), "{id}");
            assert_eq!(name, "Read");
            assert_eq!(input, &json!({"file_path": "package.json"}));
        }
        other => panic!("expected a tool call, got {other:?}"),
    }
    assert_eq!(first.stop_reason, StopReason::ToolUse);
    assert_eq!(first.model, "replay-small");

    let second = client
        .complete(&request("install", 1), &|_| {})
        .await
        .unwrap();
    assert!(
        matches!(&second.content[0], ContentBlock::ToolUse { name, .. } if name == "complete_task")
    );

    let seed = client.complete(&request("seed", 0), &|_| {}).await.unwrap();
    assert_eq!(
        seed.content,
        vec![ContentBlock::Text {
            text: "Done".into()
        }]
    );
    assert_eq!(seed.stop_reason, StopReason::EndTurn);

    // Stateless: the same conversation gets the same turn again (a retry).
    let again = client
        .complete(&request("install", 0), &|_| {})
        .await
        .unwrap();
    assert_eq!(again.content[0], first.content[0]);
}

#[tokio::test(start_paused = true)]
async fn speed_zero_answers_without_waiting() {
    let client = instant().with_models(ModelTable::parse(MODELS).unwrap());
    let before = tokio::time::Instant::now();
    let events = Mutex::new(Vec::new());
    client
        .complete(&request("install", 0), &|e| events.lock().unwrap().push(e))
        .await
        .unwrap();
    assert_eq!(tokio::time::Instant::now(), before);
    // The answer streams: its first line, then each tool call as it ends, before it returns.
    let events = events.into_inner().unwrap();
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(events[0], ProviderEvent::FirstToken);
    assert_eq!(
        events[1],
        ProviderEvent::FirstLine("Reading the manifest".into())
    );
    assert_eq!(
        events[2],
        ProviderEvent::ToolCallStarted {
            name: "Read".into(),
            lead: serde_json::json!({"file_path": "package.json"})
        }
    );
    assert!(
        matches!(&events[3], ProviderEvent::ToolCallReady { name, input, .. }
            if name == "Read" && input == &serde_json::json!({"file_path": "package.json"})),
        "{events:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn latency_follows_the_tier_of_the_model() {
    let client = ReplayClient::from_yaml(CASSETTE, 1.0)
        .unwrap()
        .with_models(ModelTable::parse(MODELS).unwrap());
    // The seed turn says "Done": 4 characters, 1 output token.
    let mut small = request("seed", 0);
    small.model = "replay-small".into();
    let start = tokio::time::Instant::now();
    let response = client.complete(&small, &|_| {}).await.unwrap();
    assert_eq!(response.usage.output_tokens, 1);
    // Virtual time: ttft 400 ms + 1 token at 100/s.
    assert_eq!(start.elapsed(), Duration::from_millis(410));

    let mut large = request("seed", 0);
    large.model = "replay-large".into();
    let start = tokio::time::Instant::now();
    client.complete(&large, &|_| {}).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(2100));

    let half_speed = ReplayClient::from_yaml(CASSETTE, 0.5)
        .unwrap()
        .with_models(ModelTable::parse(MODELS).unwrap());
    let start = tokio::time::Instant::now();
    half_speed.complete(&small, &|_| {}).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(205));
}

#[tokio::test]
async fn the_cached_prefix_is_written_once_then_read() {
    let client = instant();
    let first = client
        .complete(&request("install", 0), &|_| {})
        .await
        .unwrap();
    // 4000 cached characters ≈ 1000 tokens; the rest is uncached input.
    assert_eq!(first.usage.cache_write_tokens, 1000);
    assert_eq!(first.usage.cache_read_tokens, 0);
    assert!(first.usage.input_tokens >= 100, "{:?}", first.usage);

    let second = client
        .complete(&request("install", 1), &|_| {})
        .await
        .unwrap();
    assert_eq!(second.usage.cache_write_tokens, 0);
    assert_eq!(second.usage.cache_read_tokens, 1000);
    assert!(
        second.usage.input_tokens > first.usage.input_tokens,
        "the conversation grew"
    );
    assert!(second.usage.output_tokens > 0);

    // A different cached prefix is a new cache write.
    let mut other = request("install", 0);
    other.system[0].text = "d".repeat(4000);
    let third = client.complete(&other, &|_| {}).await.unwrap();
    assert_eq!(third.usage.cache_write_tokens, 1000);

    // Without a cacheable block nothing is cached.
    let mut uncached = request("install", 0);
    uncached.system[0].cache = false;
    let fourth = client.complete(&uncached, &|_| {}).await.unwrap();
    assert_eq!(
        (
            fourth.usage.cache_write_tokens,
            fourth.usage.cache_read_tokens
        ),
        (0, 0)
    );
    assert_eq!(fourth.usage.input_tokens, first.usage.input_tokens + 1000);
}

#[tokio::test]
async fn an_unknown_task_type_is_a_script_error_naming_it() {
    let error = instant()
        .complete(&request("dashboard", 0), &|_| {})
        .await
        .unwrap_err();
    match error {
        ProviderError::Script(message) => {
            assert!(message.contains("`dashboard`"), "{message}");
            assert!(message.contains("install, seed"), "{message}");
        }
        other => panic!("expected a script error, got {other:?}"),
    }
}

#[tokio::test]
async fn running_out_of_turns_is_a_script_error() {
    let error = instant()
        .complete(&request("install", 2), &|_| {})
        .await
        .unwrap_err();
    match error {
        ProviderError::Script(message) => {
            assert!(
                message.contains("has 2 turns") && message.contains("turn 3"),
                "{message}"
            )
        }
        other => panic!("expected a script error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_scripted_stop_reason_overrides_the_default() {
    let yaml = "version: 1\nscripts:\n  build:\n    - turn:\n        - text: \"Partial\"\n      stop: max_tokens\n";
    let client = ReplayClient::from_yaml(yaml, 0.0).unwrap();
    let response = client
        .complete(&request("build", 0), &|_| {})
        .await
        .unwrap();
    assert_eq!(response.stop_reason, StopReason::MaxTokens);
}

#[test]
fn cassette_errors_name_the_field() {
    let unknown_field = CASSETTE.replace("- tool: Read", "- tol: Read");
    let error = ReplayClient::from_yaml(&unknown_field, 0.0)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("tol") && error.contains("scripts.install[0].turn[1]"),
        "{error}"
    );
    assert!(error.starts_with("cassette <inline>"), "{error}");

    let both = CASSETTE.replace("- text: \"Done\"", "- text: \"Done\"\n          tool: Read");
    match ReplayClient::from_yaml(&both, 0.0).unwrap_err() {
        ReplayError::Invalid { field, .. } => assert_eq!(field, "scripts.seed[0].turn[0]"),
        other => panic!("expected an invalid step, got {other:?}"),
    }

    let bad_latency = CASSETTE.replace("tokensPerSec: 10}", "tokensPerSec: 0}");
    match ReplayClient::from_yaml(&bad_latency, 0.0).unwrap_err() {
        ReplayError::Invalid { field, .. } => assert_eq!(field, "latency.large.tokensPerSec"),
        other => panic!("expected invalid latency, got {other:?}"),
    }

    let bad_stop =
        "version: 1\nscripts:\n  build:\n    - turn: [{text: x}]\n      stop: sideways\n";
    let error = ReplayClient::from_yaml(bad_stop, 0.0)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("scripts.build[0].stop") && error.contains("sideways"),
        "{error}"
    );

    let error = ReplayClient::from_yaml("version: 2\nscripts: {}\n", 0.0)
        .unwrap_err()
        .to_string();
    assert!(error.contains("version"), "{error}");
    assert!(ReplayClient::from_yaml(CASSETTE, -1.0)
        .unwrap_err()
        .to_string()
        .contains("speed"));
}

#[test]
fn a_missing_cassette_file_is_named() {
    let error =
        ReplayClient::from_path(std::path::Path::new("/nonexistent/demo.yaml"), 0.0).unwrap_err();
    assert!(
        error.to_string().contains("/nonexistent/demo.yaml"),
        "{error}"
    );
}

#[test]
fn the_documented_example_cassette_is_valid() {
    let readme = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/content/cassettes/README.md"
    ))
    .unwrap();
    let start = readme.find("```yaml\n").unwrap() + "```yaml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let client = ReplayClient::from_yaml(&readme[start..end], 0.0).unwrap();
    assert_eq!(
        client.task_types().collect::<Vec<_>>(),
        vec!["install", "seed"]
    );
}
