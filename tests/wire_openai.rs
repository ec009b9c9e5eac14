//! The OpenAI-compatible client against the loopback fake, over real HTTP.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;
use wizard::messages::Usage;
use wizard::providers::credential::ApiSecret;
use wizard::providers::openai::{OpenAiClient, OpenAiConfig};
use wizard::providers::retry::RetryPolicy;
use wizard::providers::{
    ContentBlock, Message, ModelClient, ModelRequest, ModelResponse, ProviderError, ProviderEvent,
    RequestMeta, Role, StopReason, SystemBlock, ToolSpec,
};
use wizard_fakes::{Answer, Chunking, FakeOpenAi, FakeServer, FakeUsage, Reply};

const KEY: &str = "sk-openai-test-secret";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/wire/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn client(server: &FakeServer) -> OpenAiClient {
    let mut config = OpenAiConfig::new(server.url("/v1"), Some(ApiSecret::new(KEY)));
    config.retry = RetryPolicy {
        max_retries: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        idle_timeout: Duration::from_millis(200),
    };
    OpenAiClient::new(config).unwrap()
}

fn request() -> ModelRequest {
    ModelRequest {
        model: "qwen2.5-coder".into(),
        system: vec![
            SystemBlock {
                text: "Contract.".into(),
                cache: true,
            },
            SystemBlock {
                text: "Task.".into(),
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
            name: "GetWeatherArgs".into(),
            description: "Weather for a city".into(),
            input_schema: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        }],
        max_tokens: 512,
        meta: RequestMeta {
            task_id: "init".into(),
            task_type: "init".into(),
        },
        cache_conversation: false,
    }
}

async fn complete(
    client: &OpenAiClient,
) -> (Result<ModelResponse, ProviderError>, Vec<ProviderEvent>) {
    let events = Mutex::new(Vec::new());
    let result = client
        .complete(&request(), &|e| events.lock().unwrap().push(e))
        .await;
    (result, events.into_inner().unwrap())
}

fn retry_count(events: &[ProviderEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, ProviderEvent::Retrying { .. }))
        .count()
}

fn edinburgh_call() -> ContentBlock {
    ContentBlock::ToolUse {
        id: "call_c91SqDXlYFuETYv8mUHzz6pp".into(),
        name: "GetWeatherArgs".into(),
        input: json!({"city": "Edinburgh", "country": "UK", "units": "c"}),
    }
}

#[tokio::test]
async fn recorded_tool_stream_joins_arguments_by_index_and_reads_the_usage_chunk() {
    let body = fixture("oai_tool_stream.sse");
    let server =
        FakeOpenAi::start(move |_, _| Reply::sse_chunked(body.clone(), Chunking::Every(11))).await;
    let (result, events) = complete(&client(&server)).await;
    let response = result.unwrap();
    assert_eq!(response.content, vec![edinburgh_call()]);
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 76,
            output_tokens: 24,
            ..Usage::default()
        }
    );
    assert_eq!(response.model, "gpt-4o-2024-08-06");
    // A lone call is known whole only at the end, so it is not run early; it shows as it
    // starts, once its first field is whole.
    assert_eq!(
        events,
        vec![
            ProviderEvent::FirstToken,
            ProviderEvent::ToolCallStarted {
                name: "GetWeatherArgs".into(),
                lead: json!({"city": "Edinburgh"}),
            }
        ]
    );
}

#[tokio::test]
async fn an_error_object_inside_the_stream_fails_the_request() {
    let first_chunk = fixture("oai_tool_stream.sse")
        .split("\n\n")
        .next()
        .unwrap()
        .to_string();
    let body = format!(
        "{first_chunk}\n\ndata: {{\"error\":{{\"code\":400,\"message\":\"the request exceeds the available context size\",\"type\":\"exceed_context_size_error\"}}}}\n\ndata: [DONE]\n\n"
    );
    let server = FakeOpenAi::start(move |_, _| Reply::sse(body.clone())).await;
    let (result, events) = complete(&client(&server)).await;
    match result {
        Err(ProviderError::Permanent {
            status: 400,
            message,
        }) => {
            assert!(
                message.contains("exceeds the available context size"),
                "{message}"
            )
        }
        other => panic!("expected a permanent error, got {other:?}"),
    }
    assert_eq!(retry_count(&events), 0);
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn a_server_error_inside_the_stream_is_retried() {
    let good = fixture("oai_tool_stream.sse");
    let server = FakeOpenAi::start(move |_, index| {
        if index == 0 {
            Reply::sse("data: {\"error\":{\"message\":\"boom\",\"type\":\"InternalServerError\",\"param\":null,\"code\":500}}\n\ndata: [DONE]\n\n")
        } else {
            Reply::sse(good.clone())
        }
    })
    .await;
    let (result, events) = complete(&client(&server)).await;
    assert_eq!(result.unwrap().content, vec![edinburgh_call()]);
    assert_eq!(retry_count(&events), 1);
}

#[tokio::test]
async fn a_429_is_retried_after_the_requested_wait_then_succeeds() {
    let good = fixture("oai_tool_stream.sse");
    let server = FakeOpenAi::start(move |_, index| {
        if index == 0 {
            Reply::http(
                429,
                &[("retry-after-ms", "25"), ("content-type", "application/json")],
                r#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
            )
        } else {
            Reply::sse(good.clone())
        }
    })
    .await;
    let (result, events) = complete(&client(&server)).await;
    assert_eq!(result.unwrap().content, vec![edinburgh_call()]);
    let waits: Vec<(u64, String)> = events
        .iter()
        .filter_map(|e| match e {
            ProviderEvent::Retrying {
                wait_ms, reason, ..
            } => Some((*wait_ms, reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(waits.len(), 1);
    assert_eq!(waits[0].0, 25);
    assert!(
        waits[0].1.contains("429") && waits[0].1.contains("Rate limit reached"),
        "{}",
        waits[0].1
    );
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn a_stream_without_a_finish_reason_is_retried() {
    let good = fixture("oai_tool_stream.sse");
    let server = FakeOpenAi::start(move |_, index| {
        if index == 0 {
            Reply::sse("")
        } else {
            Reply::sse(good.clone())
        }
    })
    .await;
    let (result, events) = complete(&client(&server)).await;
    assert_eq!(result.unwrap().content, vec![edinburgh_call()]);
    assert_eq!(retry_count(&events), 1);
}

#[tokio::test]
async fn the_request_uses_function_tools_stream_usage_and_the_bearer_key() {
    let server = FakeOpenAi::scripted(|_| Answer::text("ok")).await;
    let (result, _) = complete(&client(&server)).await;
    assert_eq!(
        result.unwrap().content,
        vec![ContentBlock::Text { text: "ok".into() }]
    );
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(sent.body["stream"], json!(true));
    assert_eq!(sent.body["stream_options"], json!({"include_usage": true}));
    assert_eq!(
        sent.body["tools"],
        json!([{"type": "function", "function": {
            "name": "GetWeatherArgs",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}
        }}])
    );
    assert_eq!(
        sent.body["messages"],
        json!([{"role": "system", "content": "Contract.\n\nTask."}, {"role": "user", "content": "Begin."}])
    );
}

#[tokio::test]
async fn scripted_parallel_calls_and_cached_tokens_round_trip() {
    let server = FakeOpenAi::scripted(|_| {
        Answer::text("Two reads.")
            .with_tool_id("call_a", "Read", json!({"file_path": "a.ts"}))
            .with_tool_id("call_b", "Read", json!({"file_path": "b.ts"}))
            .with_usage(FakeUsage {
                input: 30,
                output: 9,
                cache_read: 70,
                cache_write: 0,
            })
    })
    .await;
    let (result, _) = complete(&client(&server)).await;
    let response = result.unwrap();
    assert_eq!(
        response.content,
        vec![
            ContentBlock::Text {
                text: "Two reads.".into()
            },
            ContentBlock::ToolUse {
                id: "call_a".into(),
                name: "Read".into(),
                input: json!({"file_path": "a.ts"})
            },
            ContentBlock::ToolUse {
                id: "call_b".into(),
                name: "Read".into(),
                input: json!({"file_path": "b.ts"})
            },
        ]
    );
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 30,
            output_tokens: 9,
            cache_read_tokens: 70,
            cache_write_tokens: 0
        }
    );
}

#[tokio::test]
async fn check_auth_lists_models_with_the_key() {
    let server = FakeOpenAi::builder(|_, _| Reply::Reset)
        .expect_key(KEY)
        .start()
        .await;
    client(&server).check_auth().await.unwrap();
    assert_eq!(server.requests()[0].path, "/v1/models");
    assert!(!format!("{:?}", client(&server)).contains(KEY));

    let config = OpenAiConfig::new(server.url("/v1"), Some(ApiSecret::new("wrong")));
    let result = OpenAiClient::new(config).unwrap().check_auth().await;
    assert!(
        matches!(result, Err(ProviderError::Auth { status: 401, .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_ollama_style_stream_with_whole_calls_and_no_usage_is_understood() {
    let body = concat!(
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"llama3\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"reasoning\":\"thinking\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"llama3\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"call_x\",\"index\":0,\"type\":\"function\",\"function\":{\"name\":\"Read\",\"arguments\":\"{\\\"file_path\\\":\\\"a.ts\\\"}\"}}]},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"llama3\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: [DONE]\n\n",
    );
    let server = FakeOpenAi::start(move |_, _| Reply::sse(body)).await;
    let (result, _) = complete(&client(&server)).await;
    let response = result.unwrap();
    assert_eq!(
        response.content,
        vec![ContentBlock::ToolUse {
            id: "call_x".into(),
            name: "Read".into(),
            input: json!({"file_path": "a.ts"})
        }]
    );
    assert_eq!(response.usage, Usage::default());
    assert_eq!(response.model, "llama3");
}
