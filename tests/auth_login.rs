//! Signing in with PostHog, end to end: the real `wizard login` / `logout` /
//! `integrate` against a loopback fake OAuth server + PostHog API
//! (`wizard_fakes::account`) and the fake Anthropic server mounted under
//! `/wizard` as PostHog's LLM gateway. The test plays the browser: it reads
//! the authorize URL the wizard prints (`--no-browser`), follows it to the
//! fake, and either follows the redirect to the wizard's loopback callback or
//! pastes the callback URL into the wizard's stdin.

mod runtime_support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use wizard_fakes::account::{FakeAccount, FakeProject};
use wizard_fakes::FakeAnthropic;

use runtime_support::{
    assert_exit, cassette_text, content_dir, fixture_app, run_to_end, wizard, Played,
};

const LOGIN_GUARD: Duration = Duration::from_secs(60);

fn projects() -> Vec<FakeProject> {
    vec![
        FakeProject {
            id: 1,
            name: "Web".into(),
            api_token: "phc_web_project_token".into(),
        },
        FakeProject {
            id: 2,
            name: "Mobile".into(),
            api_token: "phc_mobile_project_token".into(),
        },
    ]
}

fn account() -> FakeAccount {
    let account = FakeAccount::start_background("dev@example.com", projects());
    account.expect_client_id(wizard::auth::oauth::CLIENT_ID);
    account
}

/// `wizard` with the sign-in pointed at `account` and the config dir at `config`.
fn signed_in_wizard(account: &FakeAccount, config: &Path) -> Command {
    let mut command = wizard();
    command
        .env_remove("POSTHOG_PROJECT_TOKEN")
        .env("XDG_CONFIG_HOME", config)
        .env("WIZARD_OAUTH_BASE_URL", account.url())
        .env("POSTHOG_HOST", account.url());
    command
}

fn credentials_path(config: &Path) -> PathBuf {
    config.join("wizard").join("credentials.json")
}

/// How the test answers the wizard's sign-in.
enum Answer {
    /// Follow the redirect to the loopback callback, as a browser would.
    Browser,
    /// Paste the callback URL into stdin, with `state` replaced when given.
    Paste { state: Option<&'static str> },
}

struct Login {
    out: Output,
    authorize_url: String,
}

/// Runs `wizard login --no-browser` and answers it.
fn login(account: &FakeAccount, config: &Path, extra: &[&str], answer: Answer) -> Login {
    let mut child = signed_in_wizard(account, config)
        .arg("login")
        .arg("--no-browser")
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (url_tx, url_rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            if let Some(at) = line.find("http") {
                if line.contains("/oauth/authorize") {
                    let _ = url_tx.send(line[at..].trim().to_string());
                }
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let authorize_url = url_rx
        .recv_timeout(LOGIN_GUARD)
        .expect("the wizard printed an authorize URL");
    let location = play_browser(&authorize_url);
    match answer {
        Answer::Browser => {
            let rt = tokio::runtime::Runtime::new().unwrap();
            let status =
                rt.block_on(async { reqwest::get(&location).await.map(|r| r.status().as_u16()) });
            assert_eq!(
                status.ok(),
                Some(200),
                "the loopback callback took the code"
            );
        }
        Answer::Paste { state } => {
            let pasted = match state {
                Some(bad) => {
                    let at = location.find("state=").unwrap();
                    format!("{}state={bad}", &location[..at])
                }
                None => location.clone(),
            };
            let mut stdin = child.stdin.take().unwrap();
            writeln!(stdin, "{pasted}").unwrap();
            // Keep stdin open until the wizard is done, as a terminal would.
            std::mem::forget(stdin);
        }
    }
    let out = wait(child, err_reader);
    Login { out, authorize_url }
}

/// The fake OAuth server's redirect for the authorize URL (the user clicked "Authorize").
fn play_browser(authorize_url: &str) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client.get(authorize_url).send().await.unwrap();
        assert_eq!(
            response.status().as_u16(),
            302,
            "the fake accepted the authorize request"
        );
        response.headers()["location"].to_str().unwrap().to_string()
    })
}

fn wait(mut child: Child, err_reader: std::thread::JoinHandle<String>) -> Output {
    let deadline = Instant::now() + LOGIN_GUARD;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("wizard login did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = Vec::new();
    std::io::Read::read_to_end(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    Output {
        status,
        stdout,
        stderr: err_reader.join().unwrap().into_bytes(),
    }
}

fn stored(config: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(credentials_path(config)).unwrap()).unwrap()
}

#[test]
fn login_through_the_browser_stores_a_private_sign_in_and_logout_removes_it() {
    let account = account();
    let config = tempfile::tempdir().unwrap();
    let run = login(&account, config.path(), &[], Answer::Browser);
    assert_exit(&run.out, 0);

    // The authorize request: PKCE S256, a random state, the original's scopes, a loopback port.
    let query = &account.authorize_requests()[0].query;
    assert_eq!(query["code_challenge_method"], "S256");
    assert!(query["state"].len() >= 16);
    assert!(query["scope"].contains("llm_gateway:read"));
    let port: u16 = query["redirect_uri"]
        .trim_start_matches("http://localhost:")
        .trim_end_matches("/callback")
        .parse()
        .unwrap();
    assert!(wizard::auth::oauth::CALLBACK_PORTS.contains(&port));
    assert!(run.authorize_url.contains("code_challenge="));
    // The fake checked the verifier against the challenge before issuing a token.
    let exchange = &account.token_requests()[0];
    assert_eq!(exchange["grant_type"], "authorization_code");
    assert!(exchange["code_verifier"].as_str().unwrap().len() >= 43);

    let path = credentials_path(config.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the user may read the sign-in");
    }
    let file = stored(config.path());
    let token = account.issued_access_tokens()[0].clone();
    assert_eq!(file["access_token"], token.as_str());
    assert_eq!(file["project"]["api_token"], "phc_web_project_token");
    assert_eq!(file["email"], "dev@example.com");
    // Never printed in clear.
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&run.out.stdout),
        String::from_utf8_lossy(&run.out.stderr)
    );
    assert!(!printed.contains(&token), "{printed}");
    assert!(printed.contains("dev@example.com"), "{printed}");

    let out = run_to_end({
        let mut c = signed_in_wizard(&account, config.path());
        c.arg("logout");
        c
    });
    assert_exit(&out, 0);
    assert!(!path.exists(), "logout removed the sign-in");
}

#[test]
fn the_pasted_callback_url_signs_in_and_a_project_can_be_chosen() {
    let account = account();
    let config = tempfile::tempdir().unwrap();
    let run = login(
        &account,
        config.path(),
        &["--project-id", "2"],
        Answer::Paste { state: None },
    );
    assert_exit(&run.out, 0);
    assert_eq!(
        stored(config.path())["project"]["api_token"],
        "phc_mobile_project_token"
    );
}

#[test]
fn a_state_mismatch_is_refused_and_nothing_is_stored() {
    let account = account();
    let config = tempfile::tempdir().unwrap();
    let run = login(
        &account,
        config.path(),
        &[],
        Answer::Paste {
            state: Some("forged"),
        },
    );
    assert_exit(&run.out, 3);
    let stderr = String::from_utf8_lossy(&run.out.stderr);
    assert!(stderr.contains("state mismatch"), "{stderr}");
    assert!(account.token_requests().is_empty(), "no code was exchanged");
    assert!(!credentials_path(config.path()).exists());
}

/// A run of the e2e cassette through the gateway (`WIZARD_LLM_GATEWAY_URL` = the fake under `/wizard`).
fn integrate_through_gateway(
    account: &FakeAccount,
    config: &Path,
    gateway: &wizard_fakes::FakeServer,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Output, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let mut command = signed_in_wizard(account, config);
    command
        .arg("integrate")
        .arg(&app)
        .args([
            "--orchestrator",
            "--yes",
            "--no-telemetry",
            "--ui",
            "json",
            "--content",
        ])
        .arg(content.path())
        .args(extra)
        .env("WIZARD_LLM_GATEWAY_URL", gateway.url("/wizard"));
    for (k, v) in env {
        command.env(k, v);
    }
    let out = run_to_end(command);
    drop(content);
    (out, root)
}

fn gateway_fake() -> wizard_fakes::FakeServer {
    let played = std::sync::Arc::new(Played::new(&cassette_text("e2e.yaml", None)));
    FakeAnthropic::scripted_builder(move |body| played.answer(body)).start_background()
}

#[test]
fn integrate_uses_the_stored_sign_in_with_no_keys_set() {
    let account = account();
    let config = tempfile::tempdir().unwrap();
    assert_exit(&login(&account, config.path(), &[], Answer::Browser).out, 0);

    let gateway = gateway_fake();
    let (out, _root) = integrate_through_gateway(&account, config.path(), &gateway, &[], &[]);
    assert_exit(&out, 0);
    let token = account.issued_access_tokens().last().unwrap().clone();
    let requests = gateway.requests();
    let messages: Vec<_> = requests.iter().filter(|r| r.method == "POST").collect();
    assert!(
        !messages.is_empty(),
        "the models were reached through the gateway"
    );
    for r in &messages {
        assert_eq!(r.path, "/wizard/v1/messages");
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {token}").as_str())
        );
        assert_eq!(r.header("x-posthog-property-variant"), Some("orchestrator"));
        assert_eq!(r.header("x-posthog-use-bedrock-fallback"), Some("true"));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains(&token) && !stderr.contains(&token),
        "the bearer is never printed"
    );
}

#[test]
fn the_gateway_is_told_the_runs_tags_and_the_wizard_flag_as_the_original_does() {
    let account = account();
    let config = tempfile::tempdir().unwrap();
    assert_exit(&login(&account, config.path(), &[], Answer::Browser).out, 0);
    // The wizard's own PostHog project serves the `wizard-orchestrator` flag: on.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let flags = runtime.block_on(wizard_fakes::posthog::FakePostHog::start());
    flags.set_flag(wizard::runner::flag::FLAG_KEY, true);

    let gateway = gateway_fake();
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let mut command = signed_in_wizard(&account, config.path());
    command
        .arg("integrate")
        .arg(&app)
        .args(["--ci", "--yes", "--ui", "json", "--content"])
        .arg(content.path())
        .env("WIZARD_LLM_GATEWAY_URL", gateway.url("/wizard"))
        .env("WIZARD_TELEMETRY_HOST", flags.url())
        .env("WIZARD_TELEMETRY_TOKEN", "phc_wizard_telemetry_test");
    let out = run_to_end(command);
    assert_exit(&out, 0);
    assert!(!flags.flag_requests().is_empty(), "the flag was evaluated");
    let queue: Value = serde_json::from_str(
        &std::fs::read_to_string(app.join(".posthog-wizard/queue.json")).unwrap(),
    )
    .unwrap();
    let run_id = queue["runId"].as_str().expect("queue.json has the run id");
    let messages: Vec<_> = gateway
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert!(!messages.is_empty());
    for r in &messages {
        for (name, value) in [
            ("x-posthog-use-bedrock-fallback", "true"),
            ("x-posthog-property-variant", "orchestrator"),
            ("x-posthog-property-program_id", "posthog-integration"),
            ("x-posthog-property-run_id", run_id),
            ("x-posthog-property-build", "ci"),
            ("x-posthog-property-call_type", "agent"),
            ("x-posthog-flag-wizard-orchestrator", "true"),
        ] {
            assert_eq!(r.header(name), Some(value), "{name} on {}", r.path);
        }
        let integration = r.header("x-posthog-property-integration").unwrap_or("");
        assert!(!integration.is_empty(), "the framework is named");
    }
}

#[test]
fn a_sign_in_close_to_expiry_is_refreshed_before_the_run() {
    let account = account();
    account.set_expires_in(60);
    let config = tempfile::tempdir().unwrap();
    assert_exit(&login(&account, config.path(), &[], Answer::Browser).out, 0);
    let first = account.issued_access_tokens()[0].clone();

    let gateway = gateway_fake();
    let (out, _root) = integrate_through_gateway(&account, config.path(), &gateway, &[], &[]);
    assert_exit(&out, 0);
    let refresh = account.token_requests().last().unwrap().clone();
    assert_eq!(refresh["grant_type"], "refresh_token");
    let renewed = account.issued_access_tokens().last().unwrap().clone();
    assert_ne!(renewed, first);
    assert_eq!(stored(config.path())["access_token"], renewed.as_str());
    let post = gateway
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(
        post.header("authorization"),
        Some(format!("Bearer {renewed}").as_str())
    );
}

#[test]
fn a_refused_gateway_bearer_names_the_sign_in_and_exits_3() {
    let account = account();
    let config = tempfile::tempdir().unwrap();
    assert_exit(&login(&account, config.path(), &[], Answer::Browser).out, 0);
    let gateway = FakeAnthropic::scripted_builder(|_| wizard_fakes::Answer::text("never"))
        .expect_key("some-other-token")
        .start_background();
    let (out, _root) = integrate_through_gateway(&account, config.path(), &gateway, &[], &[]);
    assert_exit(&out, 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("your PostHog sign-in"), "{stderr}");
    assert!(stderr.contains("run `wizard login`"), "{stderr}");
    assert!(stderr.contains("LLM gateway"), "{stderr}");
}

#[test]
fn ci_uses_a_personal_api_key_and_project_id_without_a_browser() {
    let account = account();
    account.accept_personal_key("phx_ci_personal_key");
    let config = tempfile::tempdir().unwrap();
    let gateway = gateway_fake();
    let (out, root) = integrate_through_gateway(
        &account,
        config.path(),
        &gateway,
        &[
            "--ci",
            "--project-id",
            "2",
            "--api-key",
            "phx_ci_personal_key",
        ],
        &[],
    );
    assert_exit(&out, 0);
    assert!(
        account.authorize_requests().is_empty(),
        "no browser sign-in in CI"
    );
    let post = gateway
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(
        post.header("authorization"),
        Some("Bearer phx_ci_personal_key")
    );
    // The project's token came from the API and went into the app's env file.
    let app = root.path().join("app");
    let env_files: String = runtime_support::files_under(&app)
        .into_iter()
        .filter(|(p, _)| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".env"))
        })
        .map(|(_, text)| text)
        .collect();
    assert!(
        env_files.contains("phc_mobile_project_token"),
        "{env_files}"
    );
}

#[test]
fn no_token_and_no_sign_in_exits_3_naming_the_options_before_any_model_call() {
    let account = account();
    let config = tempfile::tempdir().unwrap();
    let gateway = gateway_fake();
    let (out, _root) = integrate_through_gateway(
        &account,
        config.path(),
        &gateway,
        &["--ci", "--provider", "anthropic"],
        &[
            ("ANTHROPIC_API_KEY", "test-key"),
            ("ANTHROPIC_BASE_URL", &gateway.base_url()),
        ],
    );
    assert_exit(&out, 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for option in [
        "wizard login",
        "--project-token",
        "POSTHOG_PERSONAL_API_KEY",
        "--project-id",
    ] {
        assert!(stderr.contains(option), "names {option}: {stderr}");
    }
    assert_eq!(gateway.request_count(), 0, "no model was contacted");
}

#[test]
fn in_a_terminal_integrate_offers_sign_in_or_a_pasted_token() {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};
    use std::io::Read;
    use std::sync::{Arc, Mutex};

    let account = account();
    let config = tempfile::tempdir().unwrap();
    let gateway = gateway_fake();
    let root = tempfile::tempdir().unwrap();
    let app = fixture_app(root.path());
    let content = content_dir();
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 160,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_wizard"));
    cmd.arg("integrate");
    cmd.arg(&app);
    cmd.args([
        "--orchestrator",
        "--yes",
        "--no-telemetry",
        "--ui",
        "plain",
        "--content",
    ]);
    cmd.arg(content.path());
    cmd.env("ANTHROPIC_BASE_URL", gateway.base_url());
    cmd.env("ANTHROPIC_API_KEY", "test-key");
    cmd.env("XDG_CONFIG_HOME", config.path());
    cmd.env("WIZARD_OAUTH_BASE_URL", account.url());
    cmd.env("POSTHOG_HOST", account.url());
    for var in [
        "POSTHOG_PROJECT_TOKEN",
        "POSTHOG_PERSONAL_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "OPENAI_BASE_URL",
        "WIZARD_ORCHESTRATOR",
    ] {
        cmd.env_remove(var);
    }
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let screen = Arc::new(Mutex::new(String::new()));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let feed = screen.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = reader.read(&mut chunk) {
            if n == 0 {
                break;
            }
            feed.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    let mut keys = pair.master.take_writer().unwrap();
    let deadline = Instant::now() + LOGIN_GUARD;
    while !screen.lock().unwrap().contains("paste a project token") {
        assert!(
            Instant::now() < deadline,
            "no sign-in offer: {}",
            screen.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    keys.write_all(b"phc_pasted_project_token\r").unwrap();
    keys.flush().unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the run did not finish: {}",
            screen.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{}", screen.lock().unwrap());
    let env = std::fs::read_to_string(app.join(".env.local")).unwrap();
    assert!(env.contains("phc_pasted_project_token"), "{env}");
    assert!(
        !credentials_path(config.path()).exists(),
        "a pasted token stores nothing"
    );
}

#[test]
fn in_a_terminal_the_pasted_code_then_a_project_pick_both_reach_the_wizard() {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};
    use std::io::Read;
    use std::sync::{Arc, Mutex};

    let account = account();
    let config = tempfile::tempdir().unwrap();
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 200,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_wizard"));
    cmd.args(["login", "--no-browser"]);
    cmd.env("XDG_CONFIG_HOME", config.path());
    cmd.env("WIZARD_OAUTH_BASE_URL", account.url());
    cmd.env("POSTHOG_HOST", account.url());
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let screen = Arc::new(Mutex::new(String::new()));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let feed = screen.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = reader.read(&mut chunk) {
            if n == 0 {
                break;
            }
            feed.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    let mut keys = pair.master.take_writer().unwrap();
    let deadline = Instant::now() + LOGIN_GUARD;
    let wait_for = |needle: &str| loop {
        let text = screen.lock().unwrap().clone();
        if let Some(at) = text.find(needle) {
            return text[at..].to_string();
        }
        assert!(Instant::now() < deadline, "never saw {needle:?}: {text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let from_url = wait_for(&format!("{}/oauth/authorize", account.url()));
    // Wait for the whole line.
    let url = loop {
        let text = wait_for(&format!("{}/oauth/authorize", account.url()));
        if let Some(end) = text.find(['\r', '\n']) {
            break text[..end].trim().to_string();
        }
        assert!(Instant::now() < deadline, "{from_url}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let location = play_browser(&url);
    keys.write_all(format!("{location}\r").as_bytes()).unwrap();
    keys.flush().unwrap();
    wait_for("Which PostHog project");
    keys.write_all(b"2\r").unwrap();
    keys.flush().unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "login did not finish: {}",
            screen.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{}", screen.lock().unwrap());
    assert_eq!(
        stored(config.path())["project"]["api_token"],
        "phc_mobile_project_token"
    );
}
