//! The content on apps that trip careless integrations (`tests/data/fixtures/`):
//! for each fixture a scripted good agent, following the skills, and a scripted
//! careless one make their edits through the real tools under the content's real
//! permissions (an agent's `write` globs and tools, the env-file rule), then the
//! content's own `checkFiles` run on the result. The good run must pass every
//! check and the careless run must fail the one that names its mistake: a check
//! that cannot tell the two apart is not a check.
//!
//! The checks run through the runtime's own `run_checks`, as after an agent's
//! `complete_task(done)`, against counts taken before the script plays, as
//! before an agent's first turn (`keep` assertions compare with them).

use std::path::Path;

use async_trait::async_trait;
use serde_json::{json, Value};
use wizard::agent::checks::{run_checks, StartCounts, TaskChecks};
use wizard::agent::TaskPort;
use wizard::content::{load_blocking, ContentSet, ContentSource};
use wizard::messages::{HandoffQuery, TaskHandoff, TaskId, TaskSpec, Usage};
use wizard::queue::{GuardError, QueryError};
use wizard::tools::env::SetEnvValues;
use wizard::tools::fs::{project_files, EditFile, WriteFile};
use wizard::tools::{BashLimits, Secrets, Tool, ToolContext};

fn content() -> ContentSet {
    match load_blocking(&ContentSource::Embedded) {
        Ok(set) => set,
        Err(e) => panic!("the built-in content must validate:\n{e}"),
    }
}

/// A fresh copy of fixture `name`.
fn fixture(name: &str) -> tempfile::TempDir {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fixtures")
        .join(name);
    let dir = tempfile::tempdir().unwrap();
    for file in project_files(&from) {
        let rel = file.strip_prefix(&from).unwrap();
        let dest = dir.path().join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&file, dest).unwrap();
    }
    dir
}

/// One scripted tool call by a task of type `agent`.
struct Step {
    agent: &'static str,
    tool: &'static str,
    input: Value,
}

fn step(agent: &'static str, tool: &'static str, input: Value) -> Step {
    Step { agent, tool, input }
}

/// The tool context a task of `agent`'s type gets: its content permissions.
fn ctx(set: &ContentSet, agent: &str, app: &Path, host: &str) -> ToolContext {
    let mut secrets = Secrets::default();
    secrets.insert("posthog_project_token", "phc_fixtureToken0123456789abcdef");
    secrets.insert("posthog_host", host);
    ToolContext {
        install_dir: app.canonicalize().unwrap(),
        permissions: set.agents[agent].permissions(),
        secrets,
        bash: BashLimits::default(),
        package_managers: Vec::new(),
        fences: set.frameworks.fences.clone(),
    }
}

/// Plays `steps` on `app`; every call must be allowed and succeed.
async fn play(set: &ContentSet, app: &Path, host: &str, steps: &[Step]) {
    for s in steps {
        let c = ctx(set, s.agent, app, host);
        let result = match s.tool {
            "Write" => WriteFile.call(&c, s.input.clone()).await,
            "Edit" => EditFile.call(&c, s.input.clone()).await,
            "set_env_values" => SetEnvValues.call(&c, s.input.clone()).await,
            other => panic!("no scripted tool {other}"),
        };
        if let Err(e) = result {
            panic!(
                "{} {} was refused or failed: {e}\ninput: {}",
                s.agent, s.tool, s.input
            );
        }
    }
}

/// The port the checks report their activity to; nothing else is asked of it.
struct ChecksOnly;

#[async_trait]
impl TaskPort for ChecksOnly {
    async fn enqueue(&self, _spec: TaskSpec) -> Result<TaskId, GuardError> {
        Err(GuardError::Closed)
    }
    async fn read_handoffs(&self, _query: HandoffQuery) -> Result<Vec<TaskHandoff>, QueryError> {
        Ok(Vec::new())
    }
    fn activity(&self, _phrase: String, _usage: Option<Usage>, _cost_usd: Option<f64>) {}
    fn relabel(&self, _label: String) {}
    fn task_id(&self) -> Option<&str> {
        Some("fixture")
    }
}

/// `agent`'s `checkFiles`, without its commands (no build in these tests).
fn file_checks(set: &ContentSet, agent: &str) -> TaskChecks {
    let checks = TaskChecks {
        files: set.agents[agent].check_files.clone(),
        commands: Vec::new(),
        commands_when: Vec::new(),
    };
    assert!(!checks.files.is_empty(), "{agent} declares no checkFiles");
    checks
}

/// The counts `agent`'s `keep` checks start from on `app`, as before its first turn.
async fn start_counts(set: &ContentSet, agent: &str, app: &Path) -> StartCounts {
    StartCounts::take(&file_checks(set, agent), &app.canonicalize().unwrap()).await
}

/// Plays `steps` on `app` as one attempt of `agent` and returns the expectations of
/// its `checkFiles` that then fail, as the runtime checks them after the agent's
/// `complete_task(done)`.
async fn play_and_check(
    set: &ContentSet,
    agent: &str,
    app: &Path,
    host: &str,
    steps: &[Step],
) -> Vec<String> {
    let start = start_counts(set, agent, app).await;
    play(set, app, host, steps).await;
    failed_checks(set, agent, app, &start).await
}

/// The expectations of `agent`'s `checkFiles` that fail on `app` against `start`.
async fn failed_checks(
    set: &ContentSet,
    agent: &str,
    app: &Path,
    start: &StartCounts,
) -> Vec<String> {
    let checks = file_checks(set, agent);
    let outcome = run_checks(&checks, start, &ctx(set, agent, app, US), &ChecksOnly).await;
    let failed: Vec<String> = outcome
        .files
        .iter()
        .filter(|a| !a.passed)
        .map(|a| a.expect.clone())
        .collect();
    assert_eq!(failed.is_empty(), outcome.failure.is_none(), "{outcome:?}");
    match outcome.failure {
        // The failure the agent reads names each failing check's message.
        Some(failure) => vec![failure],
        None => Vec::new(),
    }
}

/// Plays the good and the careless script on fresh copies of `name` and checks
/// that the good one passes every `init` check and the careless one fails the
/// check whose message contains `caught_by`.
async fn good_passes_careless_is_caught(
    name: &str,
    host: &str,
    good: Vec<Step>,
    careless: Vec<Step>,
    caught_by: &str,
) {
    let set = content();
    let app = fixture(name);
    let failed = play_and_check(&set, "init", app.path(), host, &good).await;
    assert!(
        failed.is_empty(),
        "{name}: the good run fails checks: {failed:?}"
    );

    let app = fixture(name);
    let failed = play_and_check(&set, "init", app.path(), host, &careless).await;
    assert!(
        failed.iter().any(|m| m.contains(caught_by)),
        "{name}: the careless run is not caught by {caught_by:?}; failed: {failed:?}"
    );
}

/// The env values every good init sets.
fn env_step() -> Step {
    step(
        "init",
        "set_env_values",
        json!({"file_path": ".env.local", "values": {
            "NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN": {"secret": "posthog_project_token"},
            "NEXT_PUBLIC_POSTHOG_HOST": {"secret": "posthog_host"}}}),
    )
}

/// The skill's `instrumentation-client` for `api_host` and `ui_host`.
fn client_init(api_host: &str, ui_host: &str) -> String {
    format!(
        r#"const token = process.env.NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN;

if (token) {{
  posthog.init(token, {{
    api_host: {api_host},
    ui_host: "{ui_host}",
    defaults: "2026-08-30",
    capture_exceptions: true,
  }});
}} else if (process.env.NODE_ENV === "development") {{
  console.warn("PostHog is off: NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN is not set");
}}
"#
    )
}

fn write_client(path: &str, api_host: &str, ui_host: &str) -> Step {
    step(
        "init",
        "Write",
        json!({"file_path": path, "content": format!(
            "import posthog from \"posthog-js\";\n\n{}", client_init(api_host, ui_host))}),
    )
}

/// The `/ingest` rewrites for a PostHog host and its assets host.
fn rewrites(host: &str, assets: &str) -> String {
    format!(
        r#"async rewrites() {{
    return [
      {{ source: "/ingest/static/:path*", destination: "{assets}/static/:path*" }},
      {{ source: "/ingest/array/:path*", destination: "{assets}/array/:path*" }},
      {{ source: "/ingest/:path*", destination: "{host}/:path*" }},
    ];
  }},
  skipTrailingSlashRedirect: true,"#
    )
}

const US: &str = "https://us.i.posthog.com";
const US_ASSETS: &str = "https://us-assets.i.posthog.com";

#[tokio::test]
async fn sentry_instrumentation_client_is_merged_not_replaced() {
    let set = content();
    let app = fixture("sentry");
    let good = sentry_merge();
    let failed = play_and_check(&set, "init", app.path(), US, &good).await;
    assert!(failed.is_empty(), "the good run fails checks: {failed:?}");
    let merged = std::fs::read_to_string(app.path().join("instrumentation-client.ts")).unwrap();
    assert!(merged.contains("Sentry.init(") && merged.contains("onRouterTransitionStart"));
    assert!(merged.contains("posthog.init("));
    let config = std::fs::read_to_string(app.path().join("next.config.ts")).unwrap();
    assert!(
        config.contains("withSentryConfig(nextConfig"),
        "the wrapper is kept"
    );

    // Careless: PostHog's snippet written over Sentry's file. Every other check
    // passes on the result; only the comparison with the start sees Sentry gone.
    let careless = vec![
        write_client(
            "instrumentation-client.ts",
            "\"/ingest\"",
            "https://us.posthog.com",
        ),
        sentry_merge().remove(2),
        env_step(),
    ];
    let overwritten = fixture("sentry");
    let failed = play_and_check(&set, "init", overwritten.path(), US, &careless).await;
    assert_eq!(
        failed.concat().matches("file check failed:").count(),
        1,
        "only the comparison with the start catches it: {failed:?}"
    );
    good_passes_careless_is_caught("sentry", US, good, careless, "existing initialisations").await;
}

/// The good init on the Sentry fixture: PostHog merged into Sentry's file.
fn sentry_merge() -> Vec<Step> {
    vec![
        step(
            "init",
            "Edit",
            json!({"file_path": "instrumentation-client.ts",
            "old_string": "import * as Sentry from \"@sentry/nextjs\";",
            "new_string": "import * as Sentry from \"@sentry/nextjs\";\nimport posthog from \"posthog-js\";"}),
        ),
        step(
            "init",
            "Edit",
            json!({"file_path": "instrumentation-client.ts",
            "old_string": "export const onRouterTransitionStart = Sentry.captureRouterTransitionStart;\n",
            "new_string": format!("export const onRouterTransitionStart = Sentry.captureRouterTransitionStart;\n\n{}",
                client_init("\"/ingest\"", "https://us.posthog.com"))}),
        ),
        step(
            "init",
            "Edit",
            json!({"file_path": "next.config.ts",
            "old_string": "const nextConfig: NextConfig = {};",
            "new_string": format!("const nextConfig: NextConfig = {{\n  {}\n}};", rewrites(US, US_ASSETS))}),
        ),
        env_step(),
    ]
}

#[tokio::test]
async fn custom_proxy_and_ui_host_are_kept() {
    // The app already initialises PostHog through /ph with an EU ui_host.
    let good = vec![step(
        "init",
        "Edit",
        json!({"file_path": "instrumentation-client.ts",
            "old_string": "  ui_host: \"https://eu.posthog.com\",\n",
            "new_string": "  ui_host: \"https://eu.posthog.com\",\n  defaults: \"2026-08-30\",\n  capture_exceptions: true,\n"}),
    )];
    // Careless: the default snippet over the app's own setup, without its ui_host.
    let careless = vec![step(
        "init",
        "Write",
        json!({"file_path": "instrumentation-client.ts", "content":
            "import posthog from \"posthog-js\";\n\nposthog.init(process.env.NEXT_PUBLIC_POSTHOG_KEY ?? \"\", {\n  api_host: \"/ph\",\n  defaults: \"2026-08-30\",\n  capture_exceptions: true,\n});\n"}),
    )];
    good_passes_careless_is_caught(
        "custom-proxy",
        "https://eu.i.posthog.com",
        good,
        careless,
        "ui_host",
    )
    .await;
}

#[tokio::test]
async fn a_static_export_gets_no_rewrites() {
    let good = vec![
        write_client(
            "instrumentation-client.ts",
            "process.env.NEXT_PUBLIC_POSTHOG_HOST",
            "https://us.posthog.com",
        ),
        env_step(),
    ];
    let careless = vec![
        write_client(
            "instrumentation-client.ts",
            "\"/ingest\"",
            "https://us.posthog.com",
        ),
        step(
            "init",
            "Edit",
            json!({"file_path": "next.config.mjs",
            "old_string": "  images: { unoptimized: true },",
            "new_string": format!("  images: {{ unoptimized: true }},\n  {}", rewrites(US, US_ASSETS))}),
        ),
    ];
    good_passes_careless_is_caught("static-export", US, good, careless, "static export").await;
}

#[tokio::test]
async fn base_path_is_in_api_host_and_the_app_is_initialised_once() {
    let good = vec![
        write_client(
            "instrumentation-client.ts",
            "\"/docs/ingest\"",
            "https://us.posthog.com",
        ),
        step(
            "init",
            "Edit",
            json!({"file_path": "next.config.ts",
            "old_string": "  basePath: \"/docs\",",
            "new_string": format!("  basePath: \"/docs\",\n  {}", rewrites(US, US_ASSETS))}),
        ),
        env_step(),
    ];
    // Careless: a provider as well as instrumentation-client.ts.
    let careless = vec![
        write_client(
            "instrumentation-client.ts",
            "\"/ingest\"",
            "https://us.posthog.com",
        ),
        step(
            "init",
            "Write",
            json!({"file_path": "app/providers.tsx", "content": format!(
            "'use client'\nimport posthog from \"posthog-js\";\nimport {{ useEffect }} from \"react\";\n\nexport function Providers({{ children }}: {{ children: React.ReactNode }}) {{\n  useEffect(() => {{\n    posthog.init(process.env.NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN ?? \"\", {{ api_host: \"/ingest\", ui_host: \"https://us.posthog.com\" }});\n  }}, []);\n  return children;\n}}\n")}),
        ),
    ];
    good_passes_careless_is_caught("base-path", US, good, careless, "at most one posthog.init")
        .await;
}

#[tokio::test]
async fn a_javascript_app_gets_javascript() {
    let good = vec![
        write_client(
            "instrumentation-client.js",
            "\"/ingest\"",
            "https://us.posthog.com",
        ),
        step(
            "init",
            "Edit",
            json!({"file_path": "next.config.mjs",
            "old_string": "const nextConfig = {};",
            "new_string": format!("const nextConfig = {{\n  {}\n}};", rewrites(US, US_ASSETS))}),
        ),
        env_step(),
    ];
    let careless = vec![step(
        "init",
        "Write",
        json!({"file_path": "instrumentation-client.js", "content":
            "import posthog from \"posthog-js\";\n\nposthog.init(process.env.NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN!, {\n  api_host: \"/ingest\",\n  ui_host: \"https://us.posthog.com\",\n  defaults: \"2026-08-30\",\n});\n"}),
    )];
    good_passes_careless_is_caught("js-only", US, good, careless, "JavaScript files").await;
}

#[tokio::test]
async fn a_self_hosted_host_is_proxied_to_itself_with_its_own_ui_host() {
    const SELF: &str = "https://posthog.example.com";
    let good = vec![
        write_client("instrumentation-client.ts", "\"/ingest\"", SELF),
        step(
            "init",
            "Edit",
            json!({"file_path": "next.config.ts",
            "old_string": "const nextConfig: NextConfig = {};",
            "new_string": format!("const nextConfig: NextConfig = {{\n  {}\n}};", rewrites(SELF, SELF))}),
        ),
        env_step(),
    ];
    // Careless: treats the host as the US Cloud and, with no Cloud UI to name, drops ui_host.
    let careless = vec![
        step(
            "init",
            "Write",
            json!({"file_path": "instrumentation-client.ts", "content":
            "import posthog from \"posthog-js\";\n\nposthog.init(process.env.NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN ?? \"\", {\n  api_host: \"/ingest\",\n  defaults: \"2026-08-30\",\n});\n"}),
        ),
        step(
            "init",
            "Edit",
            json!({"file_path": "next.config.ts",
            "old_string": "const nextConfig: NextConfig = {};",
            "new_string": format!("const nextConfig: NextConfig = {{\n  {}\n}};", rewrites(US, US_ASSETS))}),
        ),
    ];
    good_passes_careless_is_caught("self-hosted", SELF, good, careless, "ui_host").await;
    // The good run proxies to the host itself, never to the Cloud.
    let set = content();
    let app = fixture("self-hosted");
    play(&set, app.path(), SELF, &[step("init", "Edit", json!({"file_path": "next.config.ts",
        "old_string": "const nextConfig: NextConfig = {};",
        "new_string": format!("const nextConfig: NextConfig = {{\n  {}\n}};", rewrites(SELF, SELF))}))]).await;
    let config = std::fs::read_to_string(app.path().join("next.config.ts")).unwrap();
    assert!(!config.contains("posthog.com"), "{config}");
}

#[tokio::test]
async fn a_content_security_policy_gains_posthog_hosts() {
    let good = vec![
        write_client(
            "instrumentation-client.ts",
            "\"/ingest\"",
            "https://us.posthog.com",
        ),
        step(
            "init",
            "Edit",
            json!({"file_path": "next.config.ts",
            "old_string": "  \"connect-src 'self'\",",
            "new_string": "  \"connect-src 'self' https://us.i.posthog.com https://us-assets.i.posthog.com\","}),
        ),
        step(
            "init",
            "Edit",
            json!({"file_path": "next.config.ts",
            "old_string": "  \"script-src 'self' 'unsafe-inline'\",",
            "new_string": "  \"script-src 'self' 'unsafe-inline' https://us-assets.i.posthog.com\",\n  \"worker-src 'self' blob:\","}),
        ),
        env_step(),
    ];
    let careless = vec![write_client(
        "instrumentation-client.ts",
        "\"/ingest\"",
        "https://us.posthog.com",
    )];
    good_passes_careless_is_caught("csp", US, good, careless, "Content-Security-Policy").await;
}

#[tokio::test]
async fn editing_agents_may_not_touch_config_lockfiles_or_env_files() {
    // The shared source glob keeps identify and capture in source files.
    let set = content();
    let app = fixture("js-only");
    for agent in ["identify", "capture", "error-tracking"] {
        let c = ctx(&set, agent, app.path(), US);
        for path in ["next.config.mjs", "package.json", ".env.local"] {
            let err = WriteFile
                .call(&c, json!({"file_path": path, "content": "x"}))
                .await
                .unwrap_err();
            assert!(
                err.to_string().contains("rule"),
                "{agent} wrote {path}: {err}"
            );
        }
        WriteFile
            .call(
                &c,
                json!({"file_path": "app/posthog-identify.jsx", "content": "export {}\n"}),
            )
            .await
            .unwrap_or_else(|e| panic!("{agent} may create a small source file: {e}"));
    }
}

#[tokio::test]
async fn the_demo_target_passes_the_init_checks() {
    let set = content();
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/next-app-integration");
    let start = start_counts(&set, "init", &target).await;
    let failed = failed_checks(&set, "init", &target, &start).await;
    assert!(
        failed.is_empty(),
        "the demo's target fails init checks: {failed:?}"
    );
}

#[tokio::test]
async fn a_catch_all_middleware_lets_the_proxy_path_through() {
    let rewrite = || {
        step(
            "init",
            "Edit",
            json!({"file_path": "next.config.ts",
            "old_string": "const nextConfig: NextConfig = {};",
            "new_string": format!("const nextConfig: NextConfig = {{\n  {}\n}};", rewrites(US, US_ASSETS))}),
        )
    };
    let good = vec![
        write_client(
            "instrumentation-client.ts",
            "\"/ingest\"",
            "https://us.posthog.com",
        ),
        rewrite(),
        step(
            "init",
            "Edit",
            json!({"file_path": "middleware.ts",
            "old_string": "(?!api|",
            "new_string": "(?!ingest|api|"}),
        ),
        env_step(),
    ];
    // Careless: the rewrites, but every /ingest request is redirected to /login first.
    let careless = vec![
        write_client(
            "instrumentation-client.ts",
            "\"/ingest\"",
            "https://us.posthog.com",
        ),
        rewrite(),
    ];
    good_passes_careless_is_caught("middleware", US, good, careless, "excludes the proxy path")
        .await;
}
