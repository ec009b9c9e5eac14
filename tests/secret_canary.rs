//! The secret canary: a known project token given with `--project-token` must
//! reach the env file written by `set_env_values`, and nothing else.
//!
//! The run goes through the real binary and the real Anthropic client against
//! FakeAnthropic, which records every request (headers and body). The agent
//! (`tests/data/runtime/cassettes/canary.yaml`) sets the token by name, then
//! tries to see it again: Read, `cat` and Grep on the env file, and a secret
//! name that does not exist. Logging is turned up to `trace`, so a secret in
//! any log line would show. Afterwards the token may appear in `.env.local`
//! only: not in a model request, `queue.json`, `audit.jsonl`, a handoff,
//! `wizard.log`, the reports, any other file of the app, stdout or stderr.
//! The host, set the same way, is public and must not be redacted. The
//! provider's API key is a secret too: it travels in its request header and
//! nowhere else, not even in the environment of a command the agent runs.

mod runtime_support;

use serde_json::Value;
use wizard_fakes::FakeAnthropic;

use runtime_support::{
    anthropic_exchanges, assert_exit, cassette_text, content_dir, files_under, fixture_app,
    run_to_end, wizard, Played,
};

/// The default ingestion host: public, though `set_env_values` resolves it by name too.
const HOST: &str = "https://us.i.posthog.com";

#[test]
fn the_project_token_reaches_the_env_file_and_nowhere_else() {
    let canary = format!("phc_CANARY_{}", uuid::Uuid::new_v4().simple());
    let api_key = format!("sk-ant-CANARY-{}", uuid::Uuid::new_v4().simple());
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let played = Played::new(&cassette_text("canary.yaml", None));
    let fake = FakeAnthropic::scripted_builder(move |body| played.answer(body))
        .expect_key(api_key.clone())
        .start_background();

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
        .args(["--ui", "json", "--project-token", &canary])
        .env("ANTHROPIC_BASE_URL", fake.base_url())
        .env("ANTHROPIC_API_KEY", &api_key)
        .env("CANARY_PLAIN_SETTING", "visible")
        .env("LANG", "C.UTF-8")
        // Padded copies of the key, under a secret-looking name and an allowed one.
        .env("CANARY_SERVICE_TOKEN", format!("{api_key} "))
        .env("NODE_CANARY_SETTING", format!("{api_key}\n"))
        .env("WIZARD_LOG", "trace");
    let out = run_to_end(command);
    assert_exit(&out, 0);

    // It is where it belongs.
    let env = std::fs::read_to_string(app.join(".env.local")).unwrap();
    assert_eq!(
        env,
        format!("NEXT_PUBLIC_SDK_HOST={HOST}\nNEXT_PUBLIC_SDK_TOKEN={canary}\n")
    );

    // The agent's attempts to see it again were refused or came back without it.
    let bodies: Vec<Value> = fake.requests().into_iter().map(|r| r.body).collect();
    let all = anthropic_exchanges(&bodies, "init");
    let refused: Vec<&str> = all
        .iter()
        .filter(|e| e.is_error)
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(refused, ["Read", "Bash", "set_env_values"], "{all:#?}");
    let checked = all.iter().rfind(|e| e.name == "check_env_keys").unwrap();
    assert!(
        checked
            .result
            .as_deref()
            .unwrap()
            .contains("NEXT_PUBLIC_SDK_TOKEN"),
        "{checked:?}"
    );
    // The host is public: what the agent reads shows it as it is, not redacted.
    let example = all
        .iter()
        .find(|e| e.input["file_path"] == ".posthog-wizard/reference/nextjs-app-router/EXAMPLE.md")
        .and_then(|e| e.result.as_deref())
        .unwrap();
    assert!(example.contains(HOST), "{example}");
    assert!(!example.contains("[redacted]"), "{example}");

    // Commands get an allow-list of the wizard's environment: the basics pass, a variable
    // off the list does not, and neither does a secret-looking name or a padded key.
    let env_dump = all
        .iter()
        .find(|e| e.input["command"] == "printenv")
        .and_then(|e| e.result.as_deref())
        .unwrap();
    assert!(env_dump.contains("PATH="), "{env_dump}");
    assert!(env_dump.contains("LANG=C.UTF-8"), "{env_dump}");
    for gone in [
        "CANARY_PLAIN_SETTING=",
        "ANTHROPIC_API_KEY=",
        "CANARY_SERVICE_TOKEN=",
        "NODE_CANARY_SETTING=",
    ] {
        assert!(
            !env_dump.contains(gone),
            "{gone} reached the command: {env_dump}"
        );
    }

    // No request carried either secret in an encoded form, nor a long piece of one.
    for body in &bodies {
        let text = body.to_string();
        for secret in [&canary, &api_key] {
            for form in encoded_forms(secret) {
                assert!(!text.contains(&form), "a request carried {form:?}");
            }
        }
    }

    // Nowhere else: no request (headers included), no stdout or stderr line...
    for request in fake.requests() {
        assert!(
            !format!("{request:?}").contains(&canary),
            "a request carried it"
        );
        // The provider key travels in its header, and only there.
        assert_eq!(request.header("x-api-key"), Some(api_key.as_str()));
        assert!(
            !request.body.to_string().contains(&api_key),
            "a body carried the key"
        );
    }
    for secret in [&canary, &api_key] {
        assert!(!String::from_utf8_lossy(&out.stdout).contains(secret.as_str()));
        assert!(!String::from_utf8_lossy(&out.stderr).contains(secret.as_str()));
    }
    // ...and no file but the env file: queue.json, audit.jsonl, handoffs, wizard.log, reports.
    let state = app.join(".posthog-wizard");
    let files = files_under(&app);
    for name in [
        "queue.json",
        "audit.jsonl",
        "wizard.log",
        "handoffs/init.json",
    ] {
        assert!(
            files.iter().any(|(p, _)| p == &state.join(name)),
            "{name} was written"
        );
    }
    let log = std::fs::read_to_string(state.join("wizard.log")).unwrap();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the log is verbose"
    );
    for (path, text) in &files {
        if path == &app.join(".env.local") {
            continue;
        }
        assert!(
            !text.contains(&canary),
            "{} holds the token",
            path.display()
        );
        assert!(
            !text.contains(&api_key),
            "{} holds the API key",
            path.display()
        );
    }
}

/// The forms a command could print a secret in: base64 (standard and URL-safe, at each
/// byte alignment), hex in both cases, percent-encoded, and its two halves.
fn encoded_forms(secret: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    let mut forms = Vec::new();
    for shift in 0..3 {
        let mut bytes = vec![b'='; shift];
        bytes.extend_from_slice(secret.as_bytes());
        for encoded in [STANDARD.encode(&bytes), URL_SAFE_NO_PAD.encode(&bytes)] {
            // The middle of the encoding does not depend on the neighbours.
            let start = (8 * shift).div_ceil(6);
            let end = (8 * bytes.len()) / 6;
            forms.push(encoded[start..end].to_string());
        }
    }
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    forms.push(hex.to_uppercase());
    forms.push(hex);
    forms.push(
        percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
    );
    let half = secret.len() / 2;
    forms.push(secret[..half].to_string());
    forms.push(secret[half..].to_string());
    forms
}
