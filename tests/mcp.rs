//! The PostHog MCP client against a loopback fake MCP server (rmcp, streamable HTTP).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use wizard::tools::mcp::{McpCatalogue, McpHandle, McpStatus};
use wizard::tools::{BashLimits, Permissions, Secrets, Tool, ToolContext, ToolError};
use wizard_fakes::mcp::{FakeMcp, McpOptions};

const KEY: &str = "phx_personal_key_for_tests";
/// Long enough for a loopback handshake on a loaded machine; only a bound on waiting.
const READY: Duration = Duration::from_secs(20);

fn ctx(allowed: &[&str]) -> ToolContext {
    ToolContext {
        install_dir: std::env::temp_dir(),
        permissions: Permissions {
            allowed_tools: allowed.iter().map(|s| s.to_string()).collect(),
            ..Permissions::default()
        },
        secrets: Secrets::default(),
        bash: BashLimits::default(),
        package_managers: Vec::new(),
        fences: Default::default(),
    }
}

fn find(tools: &[Arc<dyn Tool>], name: &str) -> Arc<dyn Tool> {
    tools
        .iter()
        .find(|t| t.spec().name == name)
        .cloned()
        .unwrap_or_else(|| panic!("no tool {name}"))
}

#[tokio::test]
async fn tools_are_listed_and_exposed_as_mcp_posthog_names() {
    let fake = FakeMcp::start(KEY).await;

    let tools = McpCatalogue::connect_in_background(fake.url(), KEY)
        .tools(READY)
        .await;

    let mut names: Vec<String> = tools.iter().map(|t| t.spec().name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "mcp__posthog__dashboard-create",
            "mcp__posthog__insight-create-from-query"
        ]
    );
    let spec = find(&tools, "mcp__posthog__insight-create-from-query").spec();
    assert_eq!(spec.input_schema["type"], "object");
    assert_eq!(spec.input_schema["required"], json!(["name", "query"]));
    assert!(spec.description.contains("insight"));
}

#[tokio::test]
async fn a_call_reaches_the_server_with_the_bearer_and_returns_its_text() {
    let fake = FakeMcp::start(KEY).await;
    let tools = McpCatalogue::connect_in_background(fake.url(), KEY)
        .tools(READY)
        .await;
    let create = find(&tools, "mcp__posthog__dashboard-create");

    let output = create
        .call(
            &ctx(&["mcp__posthog__*"]),
            json!({"name": "Analytics basics (wizard)"}),
        )
        .await
        .expect("the call succeeds");

    assert!(
        output.content.contains("/dashboard/1"),
        "{}",
        output.content
    );
    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].tool, "dashboard-create");
    assert_eq!(calls[0].arguments["name"], "Analytics basics (wizard)");
    assert!(!fake.bearers().is_empty());
    assert!(fake.bearers().iter().all(|b| b == KEY));
    assert_eq!(fake.unauthorised(), 0);
}

#[tokio::test]
async fn a_tool_error_result_is_a_failed_call() {
    let fake = FakeMcp::start(KEY).await;
    let tools = McpCatalogue::connect_in_background(fake.url(), KEY)
        .tools(READY)
        .await;
    let insight = find(&tools, "mcp__posthog__insight-create-from-query");

    let result = insight
        .call(&ctx(&["mcp__posthog__*"]), json!({"name": "Signups"}))
        .await;

    match result {
        Err(ToolError::Failed(text)) => {
            assert!(text.contains("missing or invalid arguments"), "{text}")
        }
        other => panic!("expected a failed call, got {other:?}"),
    }
}

#[tokio::test]
async fn a_call_the_task_may_not_make_is_refused_before_reaching_the_server() {
    let fake = FakeMcp::start(KEY).await;
    let tools = McpCatalogue::connect_in_background(fake.url(), KEY)
        .tools(READY)
        .await;
    let create = find(&tools, "mcp__posthog__dashboard-create");

    let result = create
        .call(&ctx(&["Read", "Write"]), json!({"name": "x"}))
        .await;

    assert!(matches!(result, Err(ToolError::Denied(_))), "{result:?}");
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_wrong_key_means_no_tools_and_a_failed_status() {
    let fake = FakeMcp::start(KEY).await;
    let handle = McpCatalogue::connect_in_background(fake.url(), "phx_wrong_key");

    let tools = handle.tools(READY).await;

    assert!(tools.is_empty());
    match handle.status() {
        McpStatus::Failed(why) => assert!(!why.contains("phx_wrong_key"), "the key leaked: {why}"),
        other => panic!("expected Failed, got {other:?}"),
    }
    assert!(fake.unauthorised() >= 1);
}

#[tokio::test]
async fn a_slow_server_delays_nothing_and_its_tools_arrive_once_it_answers() {
    let fake = FakeMcp::start_with(McpOptions::new(KEY).gated()).await;

    let handle = McpCatalogue::connect_in_background(fake.url(), KEY);

    // connect_in_background returned while the server had answered nothing: the gate is shut.
    assert_eq!(fake.requests_answered(), 0);
    assert!(matches!(handle.status(), McpStatus::Connecting));
    assert!(handle.tools(Duration::from_millis(50)).await.is_empty());
    assert_eq!(fake.requests_answered(), 0);

    fake.release();

    assert_eq!(handle.tools(READY).await.len(), 2);
    assert!(fake.requests_answered() > 0);
}

#[tokio::test]
async fn without_a_key_there_are_no_tools_and_the_reason_is_kept() {
    let handle = McpHandle::unavailable("no personal API key (POSTHOG_PERSONAL_API_KEY)");

    assert!(handle.tools(Duration::from_millis(10)).await.is_empty());
    assert!(
        matches!(handle.status(), McpStatus::Unavailable(why) if why.contains("personal API key"))
    );
}

#[tokio::test]
async fn an_unreachable_server_means_no_tools() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}/mcp", listener.local_addr().unwrap());
    drop(listener);

    let handle = McpCatalogue::connect_in_background(closed, KEY);

    assert!(handle.tools(READY).await.is_empty());
    assert!(matches!(handle.status(), McpStatus::Failed(_)));
}
