//! The file tools against a real temp project: Read, Write, Edit, Glob, Grep.

use std::fs;
use std::path::Path;

use serde_json::json;
use wizard::tools::fs::{EditFile, FindFiles, ReadFile, SearchFiles, WriteFile};
use wizard::tools::{BashLimits, Permissions, Secrets, Tool, ToolContext, ToolError};

fn ctx(dir: &Path, write: &[&str]) -> ToolContext {
    ToolContext {
        install_dir: dir.canonicalize().unwrap(),
        permissions: Permissions {
            allowed_tools: ["Read", "Write", "Edit", "Glob", "Grep"]
                .map(String::from)
                .to_vec(),
            write: write.iter().map(|s| s.to_string()).collect(),
            ..Permissions::default()
        },
        secrets: Secrets::default(),
        bash: BashLimits::default(),
        package_managers: Vec::new(),
        fences: Default::default(),
    }
}

fn project() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[tokio::test]
async fn read_with_offset_and_limit_returns_those_lines_numbered_from_one() {
    let dir = project();
    let text: String = (1..=10).map(|i| format!("line {i}\n")).collect();
    fs::write(dir.path().join("a.txt"), text).unwrap();
    let out = ReadFile
        .call(
            &ctx(dir.path(), &[]),
            json!({"file_path": "a.txt", "offset": 3, "limit": 2}),
        )
        .await
        .unwrap();
    assert_eq!(
        out.content,
        "     3\tline 3\n     4\tline 4\n… 6 more lines; call Read with offset=5 to continue\n"
    );
}

#[tokio::test]
async fn read_defaults_to_two_thousand_lines_and_says_how_many_remain() {
    let dir = project();
    let text: String = (1..=2500).map(|i| format!("{i}\n")).collect();
    fs::write(dir.path().join("big.txt"), text).unwrap();
    let out = ReadFile
        .call(&ctx(dir.path(), &[]), json!({"file_path": "big.txt"}))
        .await
        .unwrap();
    assert!(out.content.starts_with("     1\t1\n"));
    assert!(out.content.contains("  2000\t2000\n"));
    assert!(!out.content.contains("\t2001\n"));
    assert!(out
        .content
        .ends_with("… 500 more lines; call Read with offset=2001 to continue\n"));
}

#[tokio::test]
async fn read_cuts_lines_longer_than_two_thousand_chars() {
    let dir = project();
    fs::write(dir.path().join("min.js"), "x".repeat(5000)).unwrap();
    let out = ReadFile
        .call(&ctx(dir.path(), &[]), json!({"file_path": "min.js"}))
        .await
        .unwrap();
    assert!(out
        .content
        .contains(&format!("\t{} … [line cut]", "x".repeat(2000))));
    assert!(!out.content.contains(&"x".repeat(2001)));
}

#[tokio::test]
async fn read_refuses_a_binary_file() {
    let dir = project();
    fs::write(
        dir.path().join("logo.png"),
        [0x89, b'P', b'N', b'G', 0, 0, 1],
    )
    .unwrap();
    let err = ReadFile
        .call(&ctx(dir.path(), &[]), json!({"file_path": "logo.png"}))
        .await
        .unwrap_err();
    assert!(matches!(&err, ToolError::Failed(m) if m.contains("logo.png is a binary file")));
}

#[tokio::test]
async fn read_of_a_missing_file_says_it_does_not_exist() {
    let dir = project();
    let err = ReadFile
        .call(&ctx(dir.path(), &[]), json!({"file_path": "nope.ts"}))
        .await
        .unwrap_err();
    assert_eq!(err, ToolError::Failed("nope.ts does not exist".into()));
}

#[tokio::test]
async fn read_with_an_unknown_field_is_invalid_input_naming_it() {
    let dir = project();
    let err = ReadFile
        .call(
            &ctx(dir.path(), &[]),
            json!({"file_path": "a", "path": "b"}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ToolError::InvalidInput(m) if m.contains("`path`")),
        "{err}"
    );
}

#[tokio::test]
async fn write_creates_parent_dirs_then_read_returns_the_content() {
    let dir = project();
    let c = ctx(dir.path(), &["src/**"]);
    let out = WriteFile
        .call(
            &c,
            json!({"file_path": "src/lib/new.ts", "content": "export const a = 1;\nexport const b = 2;\n"}),
        )
        .await
        .unwrap();
    assert_eq!(out.content, "Created src/lib/new.ts (2 lines)");
    assert_eq!(out.files_touched, ["src/lib/new.ts"]);
    let read = ReadFile
        .call(&c, json!({"file_path": "src/lib/new.ts"}))
        .await
        .unwrap();
    assert_eq!(
        read.content,
        "     1\texport const a = 1;\n     2\texport const b = 2;\n"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn write_leaves_no_temp_file_and_gives_new_files_normal_permissions() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = project();
    let c = ctx(dir.path(), &["*"]);
    WriteFile
        .call(&c, json!({"file_path": "a.txt", "content": "one"}))
        .await
        .unwrap();
    let out = WriteFile
        .call(&c, json!({"file_path": "a.txt", "content": "two"}))
        .await
        .unwrap();
    assert_eq!(out.content, "Replaced a.txt (1 lines)");
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["a.txt"]);
    assert_eq!(fs::read_to_string(dir.path().join("a.txt")).unwrap(), "two");
    let mode = fs::metadata(dir.path().join("a.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
}

async fn edit(dir: &Path, input: serde_json::Value) -> Result<String, ToolError> {
    EditFile
        .call(&ctx(dir, &["**"]), input)
        .await
        .map(|o| o.content)
}

#[tokio::test]
async fn edit_with_a_unique_old_string_replaces_it_and_returns_a_diff() {
    let dir = project();
    fs::write(dir.path().join("page.tsx"), "a\nb\nc\n").unwrap();
    let out = edit(
        dir.path(),
        json!({"file_path": "page.tsx", "old_string": "b\n", "new_string": "B\nB2\n"}),
    )
    .await
    .unwrap();
    assert_eq!(
        fs::read_to_string(dir.path().join("page.tsx")).unwrap(),
        "a\nB\nB2\nc\n"
    );
    assert!(
        out.starts_with("Edited page.tsx (1 replacement)\n"),
        "{out}"
    );
    assert!(out.contains("--- a/page.tsx\n+++ b/page.tsx\n"), "{out}");
    assert!(out.contains("-b\n+B\n+B2\n"), "{out}");
}

#[tokio::test]
async fn edit_with_an_old_string_that_is_not_there_says_it_was_not_found() {
    let dir = project();
    fs::write(dir.path().join("a.ts"), "const x = 1;\n").unwrap();
    let err = edit(
        dir.path(),
        json!({"file_path": "a.ts", "old_string": "const y", "new_string": "const z"}),
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, ToolError::Failed(m) if m.contains("old_string was not found in a.ts")));
    assert_eq!(
        fs::read_to_string(dir.path().join("a.ts")).unwrap(),
        "const x = 1;\n"
    );
}

#[tokio::test]
async fn edit_with_an_ambiguous_old_string_is_refused_saying_how_many_times() {
    let dir = project();
    fs::write(dir.path().join("a.ts"), "x();\nx();\nx();\n").unwrap();
    let err = edit(
        dir.path(),
        json!({"file_path": "a.ts", "old_string": "x();", "new_string": "y();"}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, ToolError::Failed(m) if m.contains("occurs 3 times") && m.contains("replace_all")),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("a.ts")).unwrap(),
        "x();\nx();\nx();\n"
    );
}

#[tokio::test]
async fn edit_with_replace_all_changes_every_occurrence() {
    let dir = project();
    fs::write(dir.path().join("a.ts"), "x();\nx();\n").unwrap();
    let out = edit(
        dir.path(),
        json!({"file_path": "a.ts", "old_string": "x()", "new_string": "y()", "replace_all": true}),
    )
    .await
    .unwrap();
    assert!(out.starts_with("Edited a.ts (2 replacements)"));
    assert_eq!(
        fs::read_to_string(dir.path().join("a.ts")).unwrap(),
        "y();\ny();\n"
    );
}

#[tokio::test]
async fn edit_with_identical_strings_is_refused() {
    let dir = project();
    fs::write(dir.path().join("a.ts"), "x").unwrap();
    let err = edit(
        dir.path(),
        json!({"file_path": "a.ts", "old_string": "x", "new_string": "x"}),
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, ToolError::InvalidInput(m) if m.contains("the same")));
}

#[tokio::test]
async fn edit_matches_a_crlf_file_when_the_model_writes_lf() {
    let dir = project();
    fs::write(dir.path().join("w.ts"), "a\r\nb\r\nc\r\n").unwrap();
    edit(
        dir.path(),
        json!({"file_path": "w.ts", "old_string": "a\nb", "new_string": "a\nB"}),
    )
    .await
    .unwrap();
    assert_eq!(
        fs::read_to_string(dir.path().join("w.ts")).unwrap(),
        "a\r\nB\r\nc\r\n"
    );
}

fn tree(dir: &Path, files: &[&str]) {
    for file in files {
        let path = dir.join(file);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, format!("// {file}\nconst needle = 1;\n")).unwrap();
    }
}

#[tokio::test]
async fn glob_honours_gitignore_and_skips_node_modules() {
    let dir = project();
    tree(
        dir.path(),
        &[
            "app/page.tsx",
            "app/layout.tsx",
            "app/api/route.ts",
            "dist/bundle.tsx",
            "node_modules/pkg/index.tsx",
            ".posthog-wizard/x.tsx",
        ],
    );
    fs::write(dir.path().join(".gitignore"), "dist/\n").unwrap();
    let out = FindFiles
        .call(&ctx(dir.path(), &[]), json!({"pattern": "**/*.tsx"}))
        .await
        .unwrap();
    assert_eq!(out.content, "app/layout.tsx\napp/page.tsx");
}

#[tokio::test]
async fn glob_within_a_path_returns_paths_relative_to_the_project() {
    let dir = project();
    tree(
        dir.path(),
        &["app/page.tsx", "app/api/route.ts", "lib/x.ts"],
    );
    let out = FindFiles
        .call(
            &ctx(dir.path(), &[]),
            json!({"pattern": "*.tsx", "path": "app"}),
        )
        .await
        .unwrap();
    assert_eq!(out.content, "app/page.tsx");
}

#[tokio::test]
async fn glob_caps_its_list_and_says_how_many_more() {
    let dir = project();
    fs::create_dir(dir.path().join("gen")).unwrap();
    for i in 0..510 {
        fs::write(dir.path().join(format!("gen/f{i:03}.ts")), "").unwrap();
    }
    let out = FindFiles
        .call(&ctx(dir.path(), &[]), json!({"pattern": "gen/*.ts"}))
        .await
        .unwrap();
    assert_eq!(out.content.lines().count(), 501);
    assert!(out
        .content
        .ends_with("… and 10 more files not shown; narrow the pattern or the path"));
}

#[tokio::test]
async fn grep_reports_path_and_line_and_skips_env_files() {
    let dir = project();
    tree(dir.path(), &["app/page.tsx", "lib/util.ts"]);
    fs::write(dir.path().join(".env.local"), "needle=secret\n").unwrap();
    let out = SearchFiles
        .call(&ctx(dir.path(), &[]), json!({"pattern": "needle"}))
        .await
        .unwrap();
    assert_eq!(
        out.content,
        "app/page.tsx:2: const needle = 1;\nlib/util.ts:2: const needle = 1;"
    );
}

#[tokio::test]
async fn grep_with_a_glob_searches_only_matching_files() {
    let dir = project();
    tree(dir.path(), &["app/page.tsx", "lib/util.ts"]);
    let out = SearchFiles
        .call(
            &ctx(dir.path(), &[]),
            json!({"pattern": "need.e", "glob": "*.ts"}),
        )
        .await
        .unwrap();
    assert_eq!(out.content, "lib/util.ts:2: const needle = 1;");
}

#[tokio::test]
async fn grep_with_a_bad_regex_names_the_pattern_field() {
    let dir = project();
    let err = SearchFiles
        .call(&ctx(dir.path(), &[]), json!({"pattern": "("}))
        .await
        .unwrap_err();
    assert!(matches!(&err, ToolError::InvalidInput(m) if m.contains("`pattern`")));
}

#[tokio::test]
async fn an_edit_waits_while_another_writer_holds_the_file() {
    let dir = project();
    fs::write(dir.path().join("a.ts"), "one\n").unwrap();
    let ctx = ctx(dir.path(), &["*.ts"]);
    let path = ctx.install_dir.join("a.ts");
    let held = wizard::tools::file_locks::lock(&path).await;
    let edit = tokio::spawn(async move {
        EditFile
            .call(
                &ctx,
                json!({"file_path": "a.ts", "old_string": "one", "new_string": "two"}),
            )
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!edit.is_finished(), "the edit waits for the lock");
    assert_eq!(fs::read_to_string(&path).unwrap(), "one\n");
    drop(held);
    edit.await.unwrap().unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "two\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_parallel_tasks_editing_one_file_never_lose_an_edit() {
    const EDITS: usize = 40;
    let dir = project();
    // One line per edit, padded so each read and write takes a little while.
    let text: String = ["a", "b"]
        .iter()
        .flat_map(|task| {
            (0..EDITS).map(move |i| format!("{task}{i:02} todo {}\n", "x".repeat(2_000)))
        })
        .collect();
    fs::write(dir.path().join("layout.tsx"), text).unwrap();
    let task = |name: &'static str| {
        let ctx = ctx(dir.path(), &["*.tsx"]);
        tokio::spawn(async move {
            for i in 0..EDITS {
                EditFile
                    .call(
                        &ctx,
                        json!({
                            "file_path": "layout.tsx",
                            "old_string": format!("{name}{i:02} todo"),
                            "new_string": format!("{name}{i:02} done"),
                        }),
                    )
                    .await
                    .unwrap();
                WriteFile
                    .call(
                        &ctx,
                        json!({"file_path": format!("{name}.tsx"), "content": format!("{i}")}),
                    )
                    .await
                    .unwrap();
            }
        })
    };
    let (a, b) = tokio::join!(task("a"), task("b"));
    a.unwrap();
    b.unwrap();
    let after = fs::read_to_string(dir.path().join("layout.tsx")).unwrap();
    assert_eq!(
        after.matches(" done ").count(),
        2 * EDITS,
        "every edit kept"
    );
    assert_eq!(after.matches(" todo ").count(), 0);
}
