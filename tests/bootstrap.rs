//! Bootstrap steps: health against a fake PostHog, a table of settings conflicts in temp dirs,
//! credentials from flags and env.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use async_trait::async_trait;
use wizard::runner::bootstrap::conflicts::{
    claude_settings_conflicts, dirty_tree_conflict, git_status_porcelain, project_token_conflicts,
    provider_conflicts,
};
use wizard::runner::bootstrap::health::{check_health_within, ModelHealth, PosthogHealth};
use wizard::runner::bootstrap::{
    check_health, resolve_credentials, settings_conflicts, AuthCheck, AuthProblem, ConflictInputs,
    ConflictKind, CredentialError, CredentialFlags, HealthDecision, Region, DEFAULT_MCP_URL,
    DEMO_PROJECT_TOKEN,
};
use wizard_fakes::posthog::FakePostHog;

const RUN_TOKEN: &str = "phc_run_token_0123456789";
const OTHER_TOKEN: &str = "phc_existing_token_abcdef";

// ---- health ----

enum Model {
    Accepts,
    Refuses,
    Down,
    Hangs,
}

#[async_trait]
impl AuthCheck for Model {
    async fn check_auth(&self) -> Result<(), AuthProblem> {
        match self {
            Model::Accepts => Ok(()),
            Model::Refuses => Err(AuthProblem::Rejected {
                detail: "401 authentication_error: invalid x-api-key".into(),
            }),
            Model::Down => Err(AuthProblem::Unreachable {
                detail: "connection refused".into(),
            }),
            Model::Hangs => std::future::pending().await,
        }
    }
}

#[tokio::test]
async fn healthy_model_and_host_proceed_without_warnings() {
    let fake = FakePostHog::start().await;

    let report = check_health(&Model::Accepts, &fake.url(), &reqwest::Client::new()).await;

    assert_eq!(report.model, ModelHealth::Ok);
    assert_eq!(report.posthog, PosthogHealth::Ok);
    assert_eq!(
        report.decision(false),
        HealthDecision::Proceed { warnings: vec![] }
    );
    assert_eq!(fake.root_hits(), 1);
}

#[tokio::test]
async fn a_refused_model_key_stops_the_run_even_with_yes() {
    let fake = FakePostHog::start().await;

    let report = check_health(&Model::Refuses, &fake.url(), &reqwest::Client::new()).await;

    match report.decision(true) {
        HealthDecision::Stop { message } => {
            assert!(message.contains("refused the API key"), "{message}")
        }
        other => panic!("expected Stop, got {other:?}"),
    }
}

#[tokio::test]
async fn a_posthog_outage_is_a_warning_that_yes_continues_past() {
    let fake = FakePostHog::start().await;
    fake.set_root_status(503);

    let report = check_health(&Model::Accepts, &fake.url(), &reqwest::Client::new()).await;

    assert!(
        matches!(report.posthog, PosthogHealth::Outage { ref detail } if detail.contains("503"))
    );
    assert!(
        matches!(report.decision(false), HealthDecision::Ask { ref warnings } if warnings.len() == 1)
    );
    assert!(
        matches!(report.decision(true), HealthDecision::Proceed { ref warnings } if warnings.len() == 1)
    );
}

#[tokio::test]
async fn an_unreachable_host_and_model_are_warnings_not_failures() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);

    let report = check_health(&Model::Down, &closed, &reqwest::Client::new()).await;

    assert!(matches!(report.model, ModelHealth::Unreachable { .. }));
    assert!(matches!(report.posthog, PosthogHealth::Outage { .. }));
    assert!(report.fatal().is_none());
    assert_eq!(report.warnings().len(), 2);
}

#[tokio::test]
async fn a_model_check_that_never_answers_is_cut_at_the_timeout() {
    let fake = FakePostHog::start().await;

    let report = check_health_within(
        &Model::Hangs,
        &fake.url(),
        &reqwest::Client::new(),
        Duration::from_millis(100),
    )
    .await;

    assert!(
        matches!(report.model, ModelHealth::Unreachable { ref detail } if detail.contains("no answer"))
    );
}

// ---- settings conflicts ----

fn write(dir: &Path, relative: &str, text: &str) {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name: &str| map.get(name).cloned()
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.email=t@example.com",
            "-c",
            "user.name=t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// One row per case: files in a temp dir → the conflict kinds found (by the env-file, Claude settings checks).
#[test]
fn file_conflicts_table() {
    struct Case {
        name: &'static str,
        files: &'static [(&'static str, &'static str)],
        expect: &'static [(ConflictKind, bool)],
    }
    let cases = [
        Case {
            name: "no files",
            files: &[],
            expect: &[],
        },
        Case {
            name: "a different token in .env.local",
            files: &[(
                ".env.local",
                "NEXT_PUBLIC_POSTHOG_KEY=phc_existing_token_abcdef\n",
            )],
            expect: &[(ConflictKind::DifferentProjectToken, true)],
        },
        Case {
            name: "the run's own token already there",
            files: &[(
                ".env",
                "NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN=phc_run_token_0123456789\n",
            )],
            expect: &[],
        },
        Case {
            name: "a quoted, exported token in .env.development",
            files: &[(
                ".env.development",
                "# analytics\nexport VITE_POSTHOG_PROJECT_TOKEN=\"phc_existing_token_abcdef\"\n",
            )],
            expect: &[(ConflictKind::DifferentProjectToken, true)],
        },
        Case {
            name: "a server-side key name",
            files: &[(
                ".env.production",
                "POSTHOG_API_KEY=phc_existing_token_abcdef\n",
            )],
            expect: &[(ConflictKind::DifferentProjectToken, true)],
        },
        Case {
            name: "a template file is not a conflict",
            files: &[(
                ".env.example",
                "NEXT_PUBLIC_POSTHOG_KEY=phc_your_key_here\n",
            )],
            expect: &[],
        },
        Case {
            name: "an empty value is not a conflict",
            files: &[(".env", "NEXT_PUBLIC_POSTHOG_KEY=\n")],
            expect: &[],
        },
        Case {
            name: "a personal API key is not a project token",
            files: &[(".env", "POSTHOG_PERSONAL_API_KEY=phx_abc\n")],
            expect: &[],
        },
        Case {
            name: "Claude settings redirect the base url",
            files: &[(
                ".claude/settings.json",
                r#"{"env": {"ANTHROPIC_BASE_URL": "http://proxy.local"}}"#,
            )],
            expect: &[(ConflictKind::ClaudeSettingsOverride, false)],
        },
        Case {
            name: "Claude local settings use an apiKeyHelper",
            files: &[(
                ".claude/settings.local.json",
                r#"{"apiKeyHelper": "~/bin/key.sh"}"#,
            )],
            expect: &[(ConflictKind::ClaudeSettingsOverride, false)],
        },
        Case {
            name: "Claude settings without Anthropic overrides",
            files: &[(
                ".claude/settings.json",
                r#"{"env": {"DEBUG": "1"}, "permissions": {}}"#,
            )],
            expect: &[],
        },
        Case {
            name: "malformed Claude settings are ignored",
            files: &[(".claude/settings.json", "{not json")],
            expect: &[],
        },
    ];
    for case in cases {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in case.files {
            write(dir.path(), path, text);
        }
        let mut found = project_token_conflicts(dir.path(), RUN_TOKEN);
        found.extend(claude_settings_conflicts(dir.path()));
        let kinds: Vec<(ConflictKind, bool)> = found.iter().map(|c| (c.kind, c.blocking)).collect();
        assert_eq!(kinds, case.expect, "case: {}", case.name);
        for conflict in &found {
            assert!(
                !conflict.line.contains(OTHER_TOKEN),
                "case {}: a value leaked",
                case.name
            );
            assert!(
                !conflict.line.contains(RUN_TOKEN),
                "case {}: a value leaked",
                case.name
            );
            assert!(
                !conflict.line.contains("phc_"),
                "case {}: part of a value leaked",
                case.name
            );
        }
    }
}

#[test]
fn a_token_conflict_names_the_file_and_key_only() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".env.local",
        &format!("NEXT_PUBLIC_POSTHOG_KEY={OTHER_TOKEN}\n"),
    );

    let found = project_token_conflicts(dir.path(), RUN_TOKEN);

    assert_eq!(found.len(), 1);
    assert!(found[0].line.contains(".env.local"), "{}", found[0].line);
    assert!(
        found[0].line.contains("NEXT_PUBLIC_POSTHOG_KEY"),
        "{}",
        found[0].line
    );
}

#[test]
fn a_claude_override_names_the_file_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".claude/settings.json",
        r#"{"env": {"ANTHROPIC_BASE_URL": "http://proxy", "ANTHROPIC_AUTH_TOKEN": "sk-secret-value"}}"#,
    );

    let found = claude_settings_conflicts(dir.path());

    assert_eq!(found.len(), 1);
    assert!(found[0].line.contains(".claude/settings.json"));
    assert!(
        found[0].line.contains("ANTHROPIC_BASE_URL")
            && found[0].line.contains("ANTHROPIC_AUTH_TOKEN")
    );
    assert!(!found[0].line.contains("sk-secret-value"));
}

/// A case name, the env, the `--provider` flag, whether a conflict is expected.
type ProviderCase = (
    &'static str,
    &'static [(&'static str, &'static str)],
    Option<&'static str>,
    bool,
);

#[test]
fn provider_conflicts_table() {
    let cases: [ProviderCase; 6] = [
        ("nothing configured", &[], None, false),
        (
            "anthropic only",
            &[("ANTHROPIC_API_KEY", "sk-ant")],
            None,
            false,
        ),
        (
            "openai only",
            &[("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")],
            None,
            false,
        ),
        (
            "both, no --provider",
            &[
                ("ANTHROPIC_API_KEY", "sk-ant"),
                ("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1"),
            ],
            None,
            true,
        ),
        (
            "both, with --provider",
            &[
                ("ANTHROPIC_API_KEY", "sk-ant"),
                ("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1"),
            ],
            Some("openai"),
            false,
        ),
        (
            "blank values do not count",
            &[("ANTHROPIC_API_KEY", " "), ("OPENAI_API_KEY", "sk-oai")],
            None,
            false,
        ),
    ];
    for (name, env, flag, expect_conflict) in cases {
        let found = provider_conflicts(&env_of(env), flag);
        assert_eq!(found.len(), usize::from(expect_conflict), "case: {name}");
        if let Some(conflict) = found.first() {
            assert_eq!(conflict.kind, ConflictKind::TwoProviders);
            assert!(conflict.blocking);
            assert!(conflict.line.contains("--provider"));
            assert!(!conflict.line.contains("sk-ant"), "a value leaked");
        }
    }
}

#[test]
fn git_tree_states() {
    let clean = tempfile::tempdir().unwrap();
    git(clean.path(), &["init", "-q"]);
    assert_eq!(git_status_porcelain(clean.path()).as_deref(), Some(""));
    assert!(dirty_tree_conflict(&git_status_porcelain(clean.path()).unwrap()).is_none());

    let untracked = tempfile::tempdir().unwrap();
    git(untracked.path(), &["init", "-q"]);
    write(untracked.path(), "notes.txt", "draft");
    let conflict = dirty_tree_conflict(&git_status_porcelain(untracked.path()).unwrap())
        .expect("untracked file");
    assert_eq!(conflict.kind, ConflictKind::DirtyGitTree);
    assert!(conflict.blocking);
    assert!(conflict.line.contains("1 file"), "{}", conflict.line);

    let modified = tempfile::tempdir().unwrap();
    git(modified.path(), &["init", "-q"]);
    write(modified.path(), "app.ts", "one");
    write(modified.path(), "page.ts", "one");
    git(modified.path(), &["add", "."]);
    git(modified.path(), &["commit", "-qm", "first"]);
    assert!(dirty_tree_conflict(&git_status_porcelain(modified.path()).unwrap()).is_none());
    write(modified.path(), "app.ts", "two");
    write(modified.path(), "page.ts", "two");
    let conflict = dirty_tree_conflict(&git_status_porcelain(modified.path()).unwrap())
        .expect("modified files");
    assert!(conflict.line.contains("2 files"), "{}", conflict.line);
}

#[test]
fn all_checks_together_report_each_conflict_once() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    write(
        dir.path(),
        ".env.local",
        &format!("NEXT_PUBLIC_POSTHOG_KEY={OTHER_TOKEN}\n"),
    );
    write(
        dir.path(),
        ".claude/settings.json",
        r#"{"apiKeyHelper": "key.sh"}"#,
    );
    let env = env_of(&[
        ("ANTHROPIC_API_KEY", "sk-ant"),
        ("OPENAI_API_KEY", "sk-oai"),
    ]);

    let found = settings_conflicts(&ConflictInputs {
        install_dir: dir.path(),
        env: &env,
        provider_flag: None,
        run_token: Some(RUN_TOKEN),
    });

    let kinds: Vec<ConflictKind> = found.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ConflictKind::TwoProviders,
            ConflictKind::DifferentProjectToken,
            ConflictKind::ClaudeSettingsOverride,
            ConflictKind::DirtyGitTree,
        ]
    );
}

// ---- credentials ----

#[test]
fn region_picks_the_cloud_host_and_the_hosted_mcp_url() {
    let flags = CredentialFlags {
        region: Some(Region::Eu),
        ..Default::default()
    };

    let creds = resolve_credentials(&flags, &env_of(&[])).unwrap();

    assert_eq!(creds.host(), "https://eu.i.posthog.com");
    assert_eq!(creds.region(), Some(Region::Eu));
    assert_eq!(creds.mcp_url(), Some(DEFAULT_MCP_URL));
}

#[test]
fn with_nothing_given_the_host_is_us_cloud() {
    let creds = resolve_credentials(&CredentialFlags::default(), &env_of(&[])).unwrap();

    assert_eq!(creds.host(), "https://us.i.posthog.com");
    assert!(!creds.has_project_token());
}

#[test]
fn flags_win_over_their_variables() {
    let flags = CredentialFlags {
        project_token: Some("phc_from_flag".into()),
        host: Some("https://posthog.internal.example/".into()),
        mcp_url: Some("http://127.0.0.1:8787/mcp".into()),
        ..Default::default()
    };
    let env = env_of(&[
        ("POSTHOG_PROJECT_TOKEN", "phc_from_env"),
        ("POSTHOG_HOST", "https://eu.i.posthog.com"),
        ("MCP_URL", "https://mcp.example/mcp"),
    ]);

    let creds = resolve_credentials(&flags, &env).unwrap();

    assert_eq!(creds.project_token(), Some("phc_from_flag"));
    assert_eq!(creds.host(), "https://posthog.internal.example");
    assert_eq!(creds.region(), None);
    assert_eq!(creds.mcp_url(), Some("http://127.0.0.1:8787/mcp"));
}

#[test]
fn variables_are_used_when_no_flag_is_given() {
    let env = env_of(&[
        ("POSTHOG_PROJECT_TOKEN", "phc_from_env"),
        ("POSTHOG_HOST", "eu.posthog.com"),
        ("POSTHOG_PERSONAL_API_KEY", "phx_personal"),
    ]);

    let creds = resolve_credentials(&CredentialFlags::default(), &env).unwrap();

    assert_eq!(creds.project_token(), Some("phc_from_env"));
    // An app host maps to its ingestion host, as PostHog's SDKs do.
    assert_eq!(creds.host(), "https://eu.i.posthog.com");
    assert_eq!(
        creds.mcp_endpoint(),
        Some((DEFAULT_MCP_URL, "phx_personal"))
    );
}

#[test]
fn a_self_hosted_instance_has_no_default_mcp_url() {
    let flags = CredentialFlags {
        host: Some("https://posthog.internal.example".into()),
        ..Default::default()
    };
    let env = env_of(&[("POSTHOG_PERSONAL_API_KEY", "phx_personal")]);

    let creds = resolve_credentials(&flags, &env).unwrap();

    assert_eq!(creds.mcp_url(), None);
    assert!(creds
        .mcp_unavailable_reason()
        .unwrap()
        .contains("--mcp-url"));
}

#[test]
fn region_and_a_disagreeing_host_are_refused() {
    let flags = CredentialFlags {
        region: Some(Region::Us),
        host: Some("https://eu.i.posthog.com".into()),
        ..Default::default()
    };

    let err = resolve_credentials(&flags, &env_of(&[])).unwrap_err();

    assert!(matches!(
        err,
        CredentialError::RegionAndHost {
            source_name: "--host",
            ..
        }
    ));
}

#[test]
fn a_host_that_is_not_http_is_refused_with_its_source() {
    let env = env_of(&[("POSTHOG_HOST", "ftp://files.example")]);

    let err = resolve_credentials(&CredentialFlags::default(), &env).unwrap_err();

    assert!(err.to_string().contains("POSTHOG_HOST"), "{err}");
}

#[test]
fn credentials_never_show_a_secret_in_debug() {
    let flags = CredentialFlags {
        project_token: Some("phc_secret_token_value".into()),
        ..Default::default()
    };
    let env = env_of(&[
        ("POSTHOG_PERSONAL_API_KEY", "phx_secret_personal"),
        ("ANTHROPIC_API_KEY", "sk-ant-secret"),
    ]);

    let creds = resolve_credentials(&flags, &env).unwrap();
    let shown = format!("{creds:?} {:?}", creds.secrets());

    for secret in [
        "phc_secret_token_value",
        "phx_secret_personal",
        "sk-ant-secret",
    ] {
        assert!(!shown.contains(secret), "{secret} shown in {shown}");
    }
    let mut values = creds.secret_values();
    values.sort();
    assert_eq!(
        values,
        [
            "phc_secret_token_value",
            "phx_secret_personal",
            "sk-ant-secret"
        ]
    );
}

#[test]
fn secrets_for_the_env_tools_hold_the_token_and_host() {
    let flags = CredentialFlags {
        project_token: Some("phc_tok".into()),
        region: Some(Region::Us),
        ..Default::default()
    };

    let secrets = resolve_credentials(&flags, &env_of(&[])).unwrap().secrets();

    assert_eq!(secrets.get("posthog_project_token"), Some("phc_tok"));
    assert_eq!(
        secrets.get("posthog_host"),
        Some("https://us.i.posthog.com")
    );
}

#[test]
fn the_demo_token_fills_in_only_when_none_was_given() {
    let none = resolve_credentials(&CredentialFlags::default(), &env_of(&[]))
        .unwrap()
        .or_demo_token();
    assert_eq!(none.project_token(), Some(DEMO_PROJECT_TOKEN));
    assert!(none.is_demo_token());
    assert!(
        none.secret_values().is_empty(),
        "the placeholder is not a secret"
    );

    let given = resolve_credentials(
        &CredentialFlags {
            project_token: Some("phc_real".into()),
            ..Default::default()
        },
        &env_of(&[]),
    )
    .unwrap()
    .or_demo_token();
    assert_eq!(given.project_token(), Some("phc_real"));
}
