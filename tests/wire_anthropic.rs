//! The Anthropic client against the loopback fake, over real HTTP: recorded
//! streams, awkward chunking, mid-stream errors, retries and what is sent.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use wizard::messages::Usage;
use wizard::providers::anthropic::{AnthropicClient, AnthropicConfig, AnthropicCredential};
use wizard::providers::credential::ApiSecret;
use wizard::providers::retry::RetryPolicy;
use wizard::providers::{
    ContentBlock, Message, ModelClient, ModelRequest, ModelResponse, ProviderError, ProviderEvent,
    RequestMeta, Role, StopReason, SystemBlock, ToolSpec,
};
use wizard_fakes::{
    pad_data_lines, Answer, Chunking, FakeAnthropic, FakeServer, FakeUsage, Faults, Reply,
};

const KEY: &str = "sk-ant-test-secret-key-0123456789";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/wire/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        idle_timeout: Duration::from_millis(200),
    }
}

fn client_for(base_url: String) -> AnthropicClient {
    let mut config =
        AnthropicConfig::new(base_url, AnthropicCredential::ApiKey(ApiSecret::new(KEY)));
    config.retry = fast_retries();
    AnthropicClient::new(config).unwrap()
}

fn client(server: &FakeServer) -> AnthropicClient {
    client_for(server.base_url())
}

fn request() -> ModelRequest {
    ModelRequest {
        model: "claude-haiku-4-5".into(),
        system: vec![
            SystemBlock {
                text: "You are one agent of a queue.".into(),
                cache: true,
            },
            SystemBlock {
                text: "Task: read the layout.".into(),
                cache: false,
            },
        ],
        messages: vec![Message {
            role: Role::User,
            content: vec![ContentBlock::Text {
                text: "Begin.".into(),
            }],
        }],
        tools: vec![ToolSpec {
            name: "get_weather".into(),
            description: "Weather for a city".into(),
            input_schema: json!({"type": "object", "properties": {"location": {"type": "string"}}}),
        }],
        max_tokens: 1024,
        meta: RequestMeta {
            task_id: "install".into(),
            task_type: "install".into(),
        },
        cache_conversation: false,
    }
}

/// Runs one request, returning the result and the progress events.
async fn complete(
    client: &AnthropicClient,
) -> (Result<ModelResponse, ProviderError>, Vec<ProviderEvent>) {
    let events = Mutex::new(Vec::new());
    let progress = |event: ProviderEvent| events.lock().unwrap().push(event);
    let result = client.complete(&request(), &progress).await;
    (result, events.into_inner().unwrap())
}

fn retries(events: &[ProviderEvent]) -> Vec<(u64, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            ProviderEvent::Retrying {
                wait_ms, reason, ..
            } => Some((*wait_ms, reason.clone())),
            _ => None,
        })
        .collect()
}

fn paris_tool_use() -> Vec<ContentBlock> {
    vec![
        ContentBlock::Text {
            text: "I'll check the current weather in Paris for you.".into(),
        },
        ContentBlock::ToolUse {
            id: "toolu_01NRLabsLyVHZPKxbKvkfSMn".into(),
            name: "get_weather".into(),
            input: json!({"location": "Paris"}),
        },
    ]
}

#[tokio::test]
async fn recorded_tool_use_stream_split_at_awkward_bytes_parses_text_and_tool_input() {
    let padded = pad_data_lines(&fixture("anth_tool_use.sse"), 9);
    let chunkings = [
        Chunking::Every(1),
        Chunking::Every(7),
        Chunking::Every(64),
        // Inside `event:`, inside the JSON, right after a `\n`, inside `\n\n`.
        Chunking::At(vec![3, 20, 200, 331, 332, 900, 901, 1500]),
    ];
    for chunking in chunkings {
        let body = padded.clone();
        let split = chunking.clone();
        let server =
            FakeAnthropic::start(move |_, _| Reply::sse_chunked(body.clone(), split.clone())).await;
        let (result, events) = complete(&client(&server)).await;
        let response = result.unwrap_or_else(|e| panic!("{chunking:?}: {e}"));
        assert_eq!(response.content, paris_tool_use(), "{chunking:?}");
        assert_eq!(response.stop_reason, StopReason::ToolUse);
        assert_eq!(
            response.usage,
            Usage {
                input_tokens: 377,
                output_tokens: 65,
                ..Usage::default()
            }
        );
        assert_eq!(response.model, "claude-sonnet-4-20250514");
        // The first line and the finished call are reported before the answer ends.
        let [text, call] = &paris_tool_use()[..] else {
            unreachable!()
        };
        let (ContentBlock::Text { text }, ContentBlock::ToolUse { id, name, input }) = (text, call)
        else {
            unreachable!()
        };
        assert_eq!(
            events,
            vec![
                ProviderEvent::FirstToken,
                ProviderEvent::FirstLine(text.clone()),
                ProviderEvent::ToolCallStarted {
                    name: name.clone(),
                    // One field: the lead is the whole input, known before the block stops.
                    lead: input.clone(),
                },
                ProviderEvent::ToolCallReady {
                    id: id.clone(),
                    name: name.clone(),
                    input: input.clone()
                }
            ],
            "{chunking:?}"
        );
    }
}

#[tokio::test]
async fn max_tokens_inside_a_tool_call_keeps_the_text_and_drops_the_cut_call() {
    let body = fixture("anth_max_tokens_partial.sse");
    let server =
        FakeAnthropic::start(move |_, _| Reply::sse_chunked(body.clone(), Chunking::Every(13)))
            .await;
    let (result, _) = complete(&client(&server)).await;
    let response = result.unwrap();
    assert_eq!(response.stop_reason, StopReason::MaxTokens);
    assert_eq!(
        response.content,
        vec![ContentBlock::Text {
            text: "I'll create a comprehensive tax guide for someone with multiple W2s and save it in a file called taxes.txt. Let me do that for you now.".into()
        }]
    );
    assert_eq!(response.usage.output_tokens, 124);
    assert_eq!(response.usage.input_tokens, 450);
}

#[tokio::test]
async fn thinking_is_kept_with_its_signature_and_refusal_is_reported() {
    let body = fixture("anth_thinking_refusal.sse");
    // Every 5 bytes splits the em dashes of the thinking text.
    let server =
        FakeAnthropic::start(move |_, _| Reply::sse_chunked(body.clone(), Chunking::Every(5)))
            .await;
    let (result, _) = complete(&client(&server)).await;
    let response = result.unwrap();
    assert_eq!(response.stop_reason, StopReason::Refusal);
    assert_eq!(response.content.len(), 2);
    match &response.content[0] {
        ContentBlock::Thinking {
            thinking,
            signature,
        } => {
            assert!(
                thinking.starts_with("Simple educational question"),
                "{thinking}"
            );
            assert!(thinking.contains("knowledge — definitions"), "{thinking}");
            assert!(thinking.ends_with("roll with it politely."), "{thinking}");
            assert_eq!(
                signature,
                "c3ludGhldGljLXNpZ25hdHVyZS1maXh0dXJlLWEtbm90LWEtcmVhbC1zaWduYXR1cmU="
            );
        }
        other => panic!("expected thinking, got {other:?}"),
    }
    assert_eq!(
        response.content[1],
        ContentBlock::Text { text: "Hi".into() }
    );
    assert_eq!(response.usage.output_tokens, 106);
}

/// The composed stream of wire reference §3.3: a tool call cut by an overloaded error.
fn stream_with_error(kind: &str) -> String {
    let tool = fixture("anth_tool_use.sse");
    let events: Vec<&str> = tool.split("\n\n").collect();
    format!(
        "{}\n\n{}\n\n{}\n\nevent: error\ndata: {{\"type\": \"error\", \"error\": {{\"type\": \"{kind}\", \"message\": \"Mid-stream {kind}\"}}}}\n\n",
        events[0], events[6], events[8]
    )
}

#[tokio::test]
async fn an_overloaded_error_mid_stream_is_retried_then_succeeds() {
    let broken = stream_with_error("overloaded_error");
    let good = fixture("anth_tool_use.sse");
    let server = FakeAnthropic::start(move |_, index| {
        if index == 0 {
            Reply::sse(broken.clone())
        } else {
            Reply::sse(good.clone())
        }
    })
    .await;
    let (result, events) = complete(&client(&server)).await;
    assert_eq!(result.unwrap().content, paris_tool_use());
    let retries = retries(&events);
    assert_eq!(retries.len(), 1);
    assert!(
        retries[0].1.contains("overloaded_error"),
        "{}",
        retries[0].1
    );
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn a_non_retryable_error_mid_stream_fails_at_once() {
    let broken = stream_with_error("invalid_request_error");
    let server = FakeAnthropic::start(move |_, _| Reply::sse(broken.clone())).await;
    let (result, events) = complete(&client(&server)).await;
    match result {
        Err(ProviderError::Permanent {
            status: 400,
            message,
        }) => {
            assert!(
                message.contains("Mid-stream invalid_request_error"),
                "{message}"
            )
        }
        other => panic!("expected a permanent error, got {other:?}"),
    }
    assert!(retries(&events).is_empty());
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn recorded_429s_are_retried_honouring_retry_after_and_the_stream_usage_is_kept() {
    let recording: Vec<Value> =
        serde_json::from_str(&fixture("anth_recorded_429_then_stream.json")).unwrap();
    let waits = [("retry-after-ms", "30"), ("retry-after", "0.05")];
    let replies: Vec<Reply> = recording
        .iter()
        .enumerate()
        .map(|(i, exchange)| {
            let response = &exchange["response"];
            let status = response["status_code"].as_u64().unwrap() as u16;
            if status != 200 {
                // Recorded headers minus the framing ones, which the fake sets itself.
                let mut headers: Vec<(String, String)> = response["headers"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter(|(name, _)| !["content-length", "connection"].contains(&name.as_str()))
                    .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_string()))
                    .collect();
                headers.push((waits[i].0.into(), waits[i].1.into()));
                Reply::Http {
                    status,
                    headers,
                    body: response["body"].to_string(),
                }
            } else {
                Reply::sse(response["body"].as_str().unwrap().to_string())
            }
        })
        .collect();
    let server = FakeAnthropic::start(move |_, index| replies[index.min(2)].clone()).await;
    let (result, events) = complete(&client(&server)).await;
    let response = result.unwrap();
    assert_eq!(
        response.content,
        vec![ContentBlock::Text {
            text: "[12345,67890]".into()
        }]
    );
    assert_eq!(response.stop_reason, StopReason::EndTurn);
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 135,
            output_tokens: 10,
            ..Usage::default()
        }
    );
    let retries = retries(&events);
    assert_eq!(
        retries.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![30, 50]
    );
    assert!(
        retries[0].1.contains("429") && retries[0].1.contains("rate_limit_error"),
        "{}",
        retries[0].1
    );
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn a_rejected_key_is_an_auth_error_and_not_retried() {
    let server = FakeAnthropic::builder(|_, _| Answer::text("never").anthropic_reply())
        .expect_key("sk-ant-the-right-one")
        .start()
        .await;
    let (result, events) = complete(&client(&server)).await;
    match result {
        Err(error @ ProviderError::Auth { status: 401, .. }) => {
            assert!(error.is_fatal());
            assert!(
                error.to_string().contains("authentication_error"),
                "{error}"
            );
            assert!(!error.to_string().contains(KEY));
        }
        other => panic!("expected an auth error, got {other:?}"),
    }
    assert!(retries(&events).is_empty());
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn a_bad_request_is_permanent_and_not_retried() {
    let server = FakeAnthropic::start(|_, _| {
        Reply::anthropic_error(
            400,
            "invalid_request_error",
            "messages.0.content: text content blocks must be non-empty",
        )
    })
    .await;
    let (result, _) = complete(&client(&server)).await;
    match result {
        Err(ProviderError::Permanent {
            status: 400,
            message,
        }) => {
            assert!(
                message.contains("text content blocks must be non-empty"),
                "{message}"
            )
        }
        other => panic!("expected a permanent error, got {other:?}"),
    }
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn x_should_retry_false_stops_retrying_a_server_error() {
    let server = FakeAnthropic::start(|_, _| {
        Reply::http(
            503,
            &[("x-should-retry", "false")],
            r#"{"type":"error","error":{"type":"api_error","message":"no"}}"#,
        )
    })
    .await;
    let (result, _) = complete(&client(&server)).await;
    assert!(
        matches!(result, Err(ProviderError::Permanent { status: 503, .. })),
        "{result:?}"
    );
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn a_stalled_stream_is_retried() {
    let body = fixture("anth_tool_use.sse");
    let server = FakeAnthropic::start(move |_, index| {
        if index == 0 {
            Reply::stall(body.clone(), 400)
        } else {
            Reply::sse(body.clone())
        }
    })
    .await;
    let (result, events) = complete(&client(&server)).await;
    assert_eq!(result.unwrap().content, paris_tool_use());
    let retries = retries(&events);
    assert_eq!(retries.len(), 1);
    assert!(retries[0].1.contains("stalled"), "{}", retries[0].1);
}

#[tokio::test]
async fn a_reset_connection_is_retried() {
    let body = fixture("anth_tool_use.sse");
    let server = FakeAnthropic::start(move |_, index| {
        if index == 0 {
            Reply::Reset
        } else {
            Reply::sse(body.clone())
        }
    })
    .await;
    let (result, events) = complete(&client(&server)).await;
    assert_eq!(result.unwrap().content, paris_tool_use());
    let retries = retries(&events);
    assert_eq!(retries.len(), 1);
    // No response head at all: a connection failure, not a broken stream.
    assert!(
        retries[0].1.starts_with("connection failed"),
        "{}",
        retries[0].1
    );
}

#[tokio::test]
async fn a_stream_cut_before_message_stop_is_retried() {
    let body = fixture("anth_tool_use.sse");
    let server = FakeAnthropic::start(move |_, index| {
        if index < 2 {
            Reply::cut(body.clone(), 700 + index * 600)
        } else {
            Reply::sse(body.clone())
        }
    })
    .await;
    let (result, events) = complete(&client(&server)).await;
    assert_eq!(result.unwrap().content, paris_tool_use());
    let retries = retries(&events);
    assert_eq!(retries.len(), 2);
    assert!(
        retries.iter().all(|r| r.1.starts_with("stream dropped")),
        "{retries:?}"
    );
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn retries_run_out_with_the_last_failure() {
    let server =
        FakeAnthropic::start(|_, _| Reply::anthropic_error(529, "overloaded_error", "Overloaded"))
            .await;
    let (result, events) = complete(&client(&server)).await;
    match result {
        Err(ProviderError::RetriesExhausted { attempts: 5, last }) => {
            assert!(last.contains("529"), "{last}")
        }
        other => panic!("expected exhausted retries, got {other:?}"),
    }
    assert_eq!(retries(&events).len(), 4);
    assert_eq!(server.request_count(), 5);
}

#[tokio::test]
async fn the_request_carries_cache_control_version_and_key() {
    let server = FakeAnthropic::scripted(|_| Answer::text("ok")).await;
    let (result, _) = complete(&client(&server)).await;
    result.unwrap();
    let sent = &server.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("authorization"), None);
    assert!(sent
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(
        sent.body["system"],
        json!([
            {"type": "text", "text": "You are one agent of a queue.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Task: read the layout."}
        ])
    );
    assert_eq!(sent.body["stream"], json!(true));
    assert_eq!(sent.body["max_tokens"], json!(1024));
    assert_eq!(sent.body["model"], json!("claude-haiku-4-5"));
    assert_eq!(
        sent.body["tools"][0]["input_schema"]["type"],
        json!("object")
    );
    assert_eq!(
        sent.body["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "Begin."}]}])
    );
}

#[tokio::test]
async fn an_auth_token_is_sent_as_a_bearer_under_a_path_prefix() {
    let server = FakeAnthropic::builder(|_, _| Answer::text("ok").anthropic_reply())
        .expect_key("gateway-token")
        .start()
        .await;
    let mut config = AnthropicConfig::new(
        server.url("/wizard/"),
        AnthropicCredential::AuthToken(ApiSecret::new("gateway-token")),
    );
    config.retry = fast_retries();
    config.extra_headers = vec![("x-posthog-property-variant".into(), "orchestrator".into())];
    let client = AnthropicClient::new(config).unwrap();
    let response = client.complete(&request(), &|_| {}).await.unwrap();
    assert_eq!(
        response.content,
        vec![ContentBlock::Text { text: "ok".into() }]
    );
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/wizard/v1/messages");
    assert_eq!(sent.header("authorization"), Some("Bearer gateway-token"));
    assert_eq!(sent.header("x-api-key"), None);
    assert_eq!(
        sent.header("x-posthog-property-variant"),
        Some("orchestrator")
    );
}

#[tokio::test]
async fn the_key_never_appears_in_debug_output_or_errors() {
    let server =
        FakeAnthropic::start(|_, _| Reply::anthropic_error(400, "invalid_request_error", "bad"))
            .await;
    let client = client(&server);
    assert!(!format!("{client:?}").contains(KEY), "{client:?}");
    assert!(!format!("{client:#?}").contains(KEY));
    let (result, _) = complete(&client).await;
    let error = result.unwrap_err();
    assert!(!error.to_string().contains(KEY));
    assert!(!format!("{error:?}").contains(KEY));

    // A refused connection: the error names the failure, not the key.
    let closed = client_for("http://127.0.0.1:9".into());
    let (result, events) = complete(&closed).await;
    let error = result.unwrap_err();
    assert!(
        matches!(error, ProviderError::RetriesExhausted { .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains(KEY));
    assert!(events.iter().all(|e| !format!("{e:?}").contains(KEY)));
}

#[tokio::test]
async fn check_auth_accepts_a_good_key_and_rejects_a_bad_one() {
    let server = FakeAnthropic::builder(|_, _| Reply::Reset)
        .expect_key(KEY)
        .start()
        .await;
    client(&server).check_auth().await.unwrap();
    let sent = &server.requests()[0];
    assert_eq!(sent.method, "GET");
    assert_eq!(sent.path, "/v1/models?limit=1");

    let mut config = AnthropicConfig::new(
        server.base_url(),
        AnthropicCredential::ApiKey(ApiSecret::new("wrong")),
    );
    config.retry = fast_retries();
    let result = AnthropicClient::new(config).unwrap().check_auth().await;
    assert!(
        matches!(result, Err(ProviderError::Auth { status: 401, .. })),
        "{result:?}"
    );
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn scripted_answers_round_trip_with_cache_usage() {
    let server = FakeAnthropic::scripted(|body| {
        let turn = body["messages"].as_array().unwrap().len();
        Answer::new()
            .with_thinking("Let me look.", "sig-1")
            .with_text(format!("Turn {turn}: reading the layout — ✓"))
            .with_tool_id("toolu_7", "Read", json!({"file_path": "app/layout.tsx"}))
            .with_usage(FakeUsage {
                input: 12,
                output: 40,
                cache_read: 900,
                cache_write: 100,
            })
    })
    .await;
    let (result, _) = complete(&client(&server)).await;
    let response = result.unwrap();
    assert_eq!(
        response.content,
        vec![
            ContentBlock::Thinking {
                thinking: "Let me look.".into(),
                signature: "sig-1".into()
            },
            ContentBlock::Text {
                text: "Turn 1: reading the layout — ✓".into()
            },
            ContentBlock::ToolUse {
                id: "toolu_7".into(),
                name: "Read".into(),
                input: json!({"file_path": "app/layout.tsx"})
            },
        ]
    );
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 12,
            output_tokens: 40,
            cache_read_tokens: 900,
            cache_write_tokens: 100
        }
    );
}

#[tokio::test]
async fn seeded_faults_are_survived_by_retries() {
    let faults = Faults {
        rate_429: 0.1,
        rate_529: 0.1,
        rate_500: 0.05,
        rate_reset: 0.05,
        rate_cut_stream: 0.05,
        rate_stall: 0.05,
        rate_malformed_delta: 0.1,
        seed: 42,
    };
    let server = FakeAnthropic::scripted_builder(|_| {
        Answer::tool("Read", json!({"file_path": "package.json"}))
    })
    .faults(faults)
    .start()
    .await;
    let mut config = AnthropicConfig::new(
        server.base_url(),
        AnthropicCredential::ApiKey(ApiSecret::new(KEY)),
    );
    config.retry = RetryPolicy {
        max_retries: 10,
        ..fast_retries()
    };
    let client = AnthropicClient::new(config).unwrap();
    let mut retried = 0;
    for _ in 0..12 {
        let events = Mutex::new(Vec::new());
        let response = client
            .complete(&request(), &|e| events.lock().unwrap().push(e))
            .await
            .unwrap();
        assert!(
            matches!(&response.content[0], ContentBlock::ToolUse { name, input, .. }
            if name == "Read" && input == &json!({"file_path": "package.json"}))
        );
        retried += retries(&events.into_inner().unwrap()).len();
    }
    // Every fault costs one extra request and is reported as one retry.
    assert!(retried > 0);
    assert_eq!(server.request_count(), 12 + retried);
}

#[tokio::test]
async fn the_fake_refuses_more_than_four_cache_breakpoints() {
    let server = FakeAnthropic::scripted(|_| Answer::text("ok")).await;
    let mut too_many = request();
    too_many.system = (0..5)
        .map(|n| SystemBlock {
            text: format!("block {n}"),
            cache: true,
        })
        .collect();
    let result = client(&server).complete(&too_many, &|_| {}).await;
    match result {
        Err(ProviderError::Permanent {
            status: 400,
            message,
        }) => {
            assert!(
                message.contains("maximum of 4 blocks with cache_control"),
                "{message}"
            )
        }
        other => panic!("expected a refused request, got {other:?}"),
    }
}

#[tokio::test]
async fn the_fake_counts_tokens() {
    let server = FakeAnthropic::scripted(|_| Answer::text("ok")).await;
    let counted: Value = reqwest::Client::new()
        .post(server.url("/v1/messages/count_tokens"))
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "Hello there"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(counted["input_tokens"].as_u64().unwrap() > 0, "{counted}");
}
