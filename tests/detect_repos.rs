//! `wizard detect` on small fixture repositories (`tests/data/repos/`): the
//! real binary's JSON document and exit code, and the scan's walk rules.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use wizard::content::{load_blocking, product::ProductInfo, ContentSource};

fn repo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/repos")
        .join(name)
}

/// Runs `wizard detect DIR --json`: (exit code, document, stderr).
fn detect_json(dir: &Path) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wizard"))
        .args(["detect", "--json"])
        .arg(dir)
        .output()
        .expect("wizard runs");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (
        out.status.code().unwrap_or(-1),
        doc,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn app<'a>(doc: &'a Value, path: &str) -> &'a Value {
    doc["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == path)
        .unwrap_or_else(|| panic!("no app {path} in {doc:#}"))
}

fn paths(doc: &Value, list: &str) -> Vec<String> {
    doc[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_npm_workspaces_monorepo_lists_its_three_apps_with_their_frameworks() {
    let (code, doc, stderr) = detect_json(&repo("npm-workspaces"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["monorepo"], true);
    assert!(doc["root"].as_str().unwrap().ends_with("npm-workspaces"));
    assert_eq!(
        paths(&doc, "apps"),
        ["apps/admin", "apps/dashboard", "apps/marketing"]
    );
    let dashboard = app(&doc, "apps/dashboard");
    assert_eq!(dashboard["framework"]["id"], "nextjs-app-router");
    assert_eq!(dashboard["framework"]["version"], "15.3.2");
    assert_eq!(
        dashboard["framework"]["versionSource"],
        "package.json (declared)"
    );
    assert_eq!(dashboard["language"], "ts");
    assert!(
        dashboard["reason"]
            .as_str()
            .unwrap()
            .contains("src/app/layout.tsx"),
        "{dashboard:#}"
    );
    let marketing = app(&doc, "apps/marketing");
    assert_eq!(marketing["framework"]["id"], "nextjs-pages-router");
    assert_eq!(marketing["language"], "js");
    let admin = app(&doc, "apps/admin");
    assert_eq!(admin["framework"]["id"], "react-vite");
    for a in doc["apps"].as_array().unwrap() {
        assert_eq!(a["packageManager"]["name"], "npm", "{a:#}");
        assert!(
            a["packageManager"]["source"]
                .as_str()
                .unwrap()
                .contains("package-lock.json found at the workspace root"),
            "{a:#}"
        );
        assert_eq!(a["workspaceRoot"], ".");
        assert_eq!(a["posthog"]["packages"], serde_json::json!([]));
    }
    // The root and the shared UI package are projects, not apps, and say why.
    assert_eq!(paths(&doc, "others"), [".", "packages/ui"]);
    assert!(doc["others"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("workspace root"));
}

#[test]
fn a_pnpm_turbo_monorepo_takes_its_package_manager_from_the_root() {
    let (code, doc, _) = detect_json(&repo("pnpm-turbo"));
    assert_eq!(code, 0);
    assert_eq!(doc["monorepo"], true);
    assert_eq!(
        doc["workspaces"][0]["declaredBy"],
        serde_json::json!(["pnpm-workspace.yaml packages", "turbo.json"])
    );
    assert_eq!(paths(&doc, "apps"), ["apps/api", "apps/web"]);
    assert_eq!(
        app(&doc, "apps/web")["framework"]["id"],
        "nextjs-app-router"
    );
    assert_eq!(app(&doc, "apps/api")["framework"]["id"], "node-express");
    for a in doc["apps"].as_array().unwrap() {
        assert_eq!(a["packageManager"]["name"], "pnpm", "{a:#}");
    }
}

#[test]
fn a_python_backend_beside_a_vite_frontend() {
    let (code, doc, _) = detect_json(&repo("python-vite"));
    assert_eq!(code, 0);
    let frontend = app(&doc, "frontend");
    assert_eq!(frontend["framework"]["id"], "react-vite");
    assert_eq!(frontend["packageManager"]["name"], "yarn");
    assert_eq!(frontend["language"], "js");
    // The content's FastAPI rule (ecosystem python) makes the backend an app.
    let backend = app(&doc, "backend");
    assert_eq!(backend["framework"]["id"], "python-fastapi");
    assert_eq!(backend["language"], "python");
    assert_eq!(backend["packageManager"]["name"], "uv");
    assert!(
        backend["reason"].as_str().unwrap().contains("fastapi"),
        "{backend:#}"
    );
}

#[test]
fn a_next_app_inside_a_python_repo_with_both_routers_names_the_alternative() {
    let (code, doc, _) = detect_json(&repo("python-with-next"));
    assert_eq!(code, 0);
    assert_eq!(paths(&doc, "apps"), [".", "web"]);
    let web = app(&doc, "web");
    assert_eq!(
        web["framework"]["id"], "nextjs-app-router",
        "rule order decides"
    );
    assert_eq!(web["alternatives"][0]["id"], "nextjs-pages-router");
    // The Django project at the root is an app of its own (the content's Django rule).
    let django = app(&doc, ".");
    assert_eq!(django["framework"]["id"], "python-django");
    assert_eq!(django["packageManager"]["name"], "pip");
}

#[test]
fn an_app_the_demo_integrated_shows_its_inventory() {
    // The demo's output: the sample app with the good integration's files over it.
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_tree(&root.join("examples/next-app"), tmp.path());
    copy_tree(&root.join("tests/data/next-app-integration"), tmp.path());
    let (code, doc, _) = detect_json(tmp.path());
    assert_eq!(code, 0);
    assert_eq!(doc["monorepo"], false);
    let a = app(&doc, ".");
    assert_eq!(a["framework"]["id"], "nextjs-app-router");
    assert_eq!(a["language"], "ts");
    let ph = &a["posthog"];
    let packages: Vec<&str> = ph["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(packages, ["posthog-js", "posthog-node"]);
    assert_eq!(
        ph["initSites"],
        serde_json::json!(["instrumentation-client.ts:6", "lib/posthog-server.ts:9"])
    );
    assert_eq!(ph["settings"]["api_host"][0]["value"], "/ingest");
    assert_eq!(ph["settings"]["proxy_path"][0]["value"], "/ingest");
    assert!(ph["captureCalls"].as_u64().unwrap() >= 2, "{ph:#}");
    assert_eq!(
        ph["earlierRun"],
        serde_json::json!(["posthog-setup-report.md", ".posthog-wizard/event-plan.json"])
    );
}

#[test]
fn deliberate_settings_and_a_guarded_identify_are_found() {
    let (_, doc, _) = detect_json(&repo("posthog-custom"));
    let ph = &app(&doc, ".")["posthog"];
    assert_eq!(
        ph["settings"]["ui_host"][0]["value"],
        "https://eu.posthog.com"
    );
    assert_eq!(ph["settings"]["api_host"][0]["value"], "/relay-7f3a");
    assert_eq!(ph["settings"]["proxy_path"][0]["value"], "/relay-7f3a");
    assert_eq!(
        ph["settings"]["person_profiles"][0]["value"],
        "identified_only"
    );
    assert_eq!(ph["identifyCalls"], 1);
    assert_eq!(ph["captureCalls"], 1);
}

#[test]
fn a_repo_with_no_app_exits_2_with_the_reason() {
    let (code, doc, stderr) = detect_json(&repo("no-app"));
    assert_eq!(code, 2);
    assert_eq!(doc["apps"], serde_json::json!([]));
    assert!(stderr.contains("no app found"), "{stderr}");
    assert!(stderr.contains("package.json"), "{stderr}");
}

#[test]
fn the_plain_output_is_a_table_of_apps() {
    let out = Command::new(env!("CARGO_BIN_EXE_wizard"))
        .arg("detect")
        .arg(repo("npm-workspaces"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    let header = text.lines().find(|l| l.starts_with("PATH")).expect(&text);
    assert!(
        header.contains("FRAMEWORK") && header.contains("POSTHOG"),
        "{text}"
    );
    assert!(
        text.contains("apps/dashboard  Next.js 15.3.2 (app router)"),
        "{text}"
    );
}

#[test]
fn the_walk_skips_ignored_hidden_and_dependency_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = tmp.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    };
    let next = r#"{"dependencies":{"next":"15.0.0"}}"#;
    write("site/package.json", next);
    write("site/app/layout.tsx", "export default 1");
    for hidden in [
        "node_modules/pkg/package.json",
        ".cache/old/package.json",
        "generated/package.json",
        "dist/package.json",
    ] {
        write(hidden, next);
    }
    write(".gitignore", "generated/\n");
    let set = load_blocking(&ContentSource::Embedded).unwrap();
    let product = ProductInfo::parse(set.text("product.yaml").unwrap()).unwrap();
    let scan = wizard::detect::scan(tmp.path(), &set.frameworks, &product.inventory);
    let found: Vec<&str> = scan
        .apps
        .iter()
        .chain(&scan.others)
        .map(|a| a.path.as_str())
        .collect();
    assert_eq!(found, ["site"]);
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() == "node_modules" || entry.file_name() == ".next" {
                continue;
            }
            fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}
