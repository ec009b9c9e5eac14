//! The env tools: secrets reach the env file but never the tool's output, and the
//! env file is kept out of git.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::json;
use wizard::tools::env::{CheckEnvKeys, SetEnvValues};
use wizard::tools::{BashLimits, Permissions, Secrets, Tool, ToolContext, ToolError};

const TOKEN: &str = "phc_TestProjectToken0123456789";

fn ctx(dir: &Path) -> ToolContext {
    let mut secrets = Secrets::default();
    secrets.insert("posthog_project_token", TOKEN);
    secrets.insert("personal_api_key", "phx_AnotherSecretValue987");
    ToolContext {
        install_dir: dir.canonicalize().unwrap(),
        permissions: Permissions {
            allowed_tools: vec!["check_env_keys".into(), "set_env_values".into()],
            // Env tools ignore write globs by design; an empty list proves it.
            write: Vec::new(),
            ..Permissions::default()
        },
        secrets,
        bash: BashLimits::default(),
        package_managers: Vec::new(),
        fences: Default::default(),
    }
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .status()
        .expect("git is installed");
    assert!(status.success(), "git {args:?}");
}

#[tokio::test]
async fn set_env_values_with_a_secret_writes_it_to_the_file_but_never_returns_it() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path());
    let input = json!({
        "file_path": ".env.local",
        "values": {
            "NEXT_PUBLIC_POSTHOG_KEY": {"secret": "posthog_project_token"},
            "NEXT_PUBLIC_POSTHOG_HOST": "https://us.i.posthog.com"
        }
    });
    let out = SetEnvValues.call(&c, input.clone()).await.unwrap();
    assert_eq!(
        out.content,
        "Updated 2 key(s) in .env.local; added .env.local to .gitignore"
    );
    assert!(!format!("{out:?}").contains(TOKEN));
    assert_eq!(out.files_touched, [".env.local", ".gitignore"]);
    let env = fs::read_to_string(dir.path().join(".env.local")).unwrap();
    assert_eq!(
        env,
        format!(
            "NEXT_PUBLIC_POSTHOG_HOST=https://us.i.posthog.com\nNEXT_PUBLIC_POSTHOG_KEY={TOKEN}\n"
        )
    );
    assert_eq!(
        fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        ".env.local\n"
    );

    // A second call changes nothing in .gitignore: the line is there once.
    let again = SetEnvValues.call(&c, input).await.unwrap();
    assert_eq!(again.content, "Updated 2 key(s) in .env.local");
    assert_eq!(
        fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        ".env.local\n"
    );
}

#[tokio::test]
async fn set_env_values_merges_into_an_existing_file_keeping_other_lines() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join(".env"),
        "# database\nDATABASE_URL=postgres://x\nNEXT_PUBLIC_POSTHOG_KEY=old\n",
    )
    .unwrap();
    fs::write(dir.path().join(".gitignore"), "node_modules").unwrap();
    SetEnvValues
        .call(
            &ctx(dir.path()),
            json!({"file_path": ".env", "values": {
                "NEXT_PUBLIC_POSTHOG_KEY": {"secret": "posthog_project_token"},
                "NEW_KEY": "v"
            }}),
        )
        .await
        .unwrap();
    assert_eq!(
        fs::read_to_string(dir.path().join(".env")).unwrap(),
        format!(
            "# database\nDATABASE_URL=postgres://x\nNEXT_PUBLIC_POSTHOG_KEY={TOKEN}\nNEW_KEY=v\n"
        )
    );
    assert_eq!(
        fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        "node_modules\n.env\n"
    );
}

#[tokio::test]
async fn in_a_git_repo_that_already_ignores_the_file_gitignore_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    fs::write(dir.path().join(".gitignore"), ".env*\n").unwrap();
    let out = SetEnvValues
        .call(
            &ctx(dir.path()),
            json!({"file_path": ".env.local", "values": {"A": "1"}}),
        )
        .await
        .unwrap();
    assert_eq!(out.content, "Updated 1 key(s) in .env.local");
    assert_eq!(out.files_touched, [".env.local"]);
    assert_eq!(
        fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        ".env*\n"
    );
}

#[tokio::test]
async fn in_a_git_repo_that_does_not_ignore_the_file_gitignore_gains_it() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    SetEnvValues
        .call(
            &ctx(dir.path()),
            json!({"file_path": ".env.local", "values": {"A": "1"}}),
        )
        .await
        .unwrap();
    assert_eq!(
        fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        ".env.local\n"
    );
}

#[tokio::test]
async fn unknown_secret_is_refused_listing_known_names_but_no_values() {
    let dir = tempfile::tempdir().unwrap();
    let err = SetEnvValues
        .call(
            &ctx(dir.path()),
            json!({"file_path": ".env.local", "values": {"K": {"secret": "project_tokn"}}}),
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ToolError::InvalidInput(_)));
    assert!(text.contains("unknown secret \"project_tokn\""), "{text}");
    assert!(
        text.contains("personal_api_key, posthog_project_token"),
        "{text}"
    );
    assert!(!text.contains(TOKEN) && !text.contains("phx_"), "{text}");
    assert!(!dir.path().join(".env.local").exists());
}

#[tokio::test]
async fn check_env_keys_reports_present_and_missing_without_values() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join(".env.local"),
        format!("# comment\nexport PRESENT_KEY={TOKEN}\nEMPTY_KEY=\n  SPACED = x\n"),
    )
    .unwrap();
    let out = CheckEnvKeys
        .call(
            &ctx(dir.path()),
            json!({"file_path": ".env.local", "keys": ["PRESENT_KEY", "EMPTY_KEY", "SPACED", "ABSENT"]}),
        )
        .await
        .unwrap();
    assert_eq!(
        out.content,
        r#"{"PRESENT_KEY":"present","EMPTY_KEY":"missing","SPACED":"present","ABSENT":"missing"}"#
    );
}

#[tokio::test]
async fn check_env_keys_on_a_missing_file_reports_every_key_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = CheckEnvKeys
        .call(
            &ctx(dir.path()),
            json!({"file_path": ".env.production", "keys": ["A"]}),
        )
        .await
        .unwrap();
    assert_eq!(out.content, r#"{"A":"missing"}"#);
}

#[tokio::test]
async fn env_tools_refuse_files_that_are_not_env_files() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("next.config.js"), "module.exports = {}\n").unwrap();
    let err = SetEnvValues
        .call(
            &ctx(dir.path()),
            json!({"file_path": "next.config.js", "values": {"A": "1"}}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ToolError::Denied(m) if m.contains("env-file rule")),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("next.config.js")).unwrap(),
        "module.exports = {}\n"
    );
}

#[tokio::test]
async fn invalid_key_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = CheckEnvKeys
        .call(
            &ctx(dir.path()),
            json!({"file_path": ".env", "keys": ["OK", "NOT-OK"]}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ToolError::InvalidInput(m) if m.contains("\"NOT-OK\"")),
        "{err}"
    );
}

#[tokio::test]
async fn an_env_file_in_a_content_env_dir_is_created_with_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let input = json!({"file_path": "apps/web/.env.local", "values": {"A": "1"}});
    // Only the app root and the content's env folders are where env files are loaded.
    let err = SetEnvValues
        .call(&ctx(dir.path()), input.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ToolError::Denied(m) if m.contains("not where the framework loads env files")),
        "{err}"
    );
    let mut ctx = ctx(dir.path());
    ctx.fences.env_dirs = vec!["apps/web".into()];
    let out = SetEnvValues.call(&ctx, input).await.unwrap();
    assert_eq!(out.files_touched, ["apps/web/.env.local", ".gitignore"]);
    assert_eq!(
        fs::read_to_string(dir.path().join("apps/web/.env.local")).unwrap(),
        "A=1\n"
    );
}

#[tokio::test]
async fn an_env_template_takes_names_with_empty_values_and_is_never_git_ignored() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    let c = ctx(dir.path());
    let out = SetEnvValues
        .call(
            &c,
            json!({
                "file_path": ".env.example",
                "values": {"NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN": "", "NEXT_PUBLIC_POSTHOG_HOST": ""}
            }),
        )
        .await
        .unwrap();
    assert_eq!(out.content, "Updated 2 key(s) in .env.example");
    assert_eq!(out.files_touched, [".env.example"]);
    assert!(!dir.path().join(".gitignore").exists());
    let text = fs::read_to_string(dir.path().join(".env.example")).unwrap();
    assert!(
        text.contains("NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN="),
        "{text}"
    );
}

#[tokio::test]
async fn a_secret_is_refused_in_an_env_template_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path());
    let err = SetEnvValues
        .call(
            &c,
            json!({
                "file_path": ".env.example",
                "values": {"NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN": {"secret": "posthog_project_token"}}
            }),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::Denied(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("values.NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN"),
        "{err}"
    );
    assert!(!err.to_string().contains(TOKEN));
    assert!(!dir.path().join(".env.example").exists());
    assert!(!dir.path().join(".gitignore").exists());
}
