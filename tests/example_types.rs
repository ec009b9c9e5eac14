//! Every reference example's code type-checks against the real SDK packages it
//! names: a scratch app (under Cargo's target tmp dir) installs the packages the
//! examples' `package.json` excerpts declare, plus TypeScript and the type
//! packages a real app of that kind has; each example's files are written at
//! their paths, over the app code they assume (`tests/data/example-types/`), and
//! `tsc --noEmit` checks them, JavaScript files included (`checkJs`). The demo's
//! target integration (`examples/next-app` with `tests/data/next-app-integration`
//! over it) is checked the same way.
//!
//! This test needs the npm registry. It asks first (`npm ping`); when the
//! registry cannot be reached it prints a loud SKIPPED banner and passes, unless
//! `WIZARD_E2E_REQUIRE_NPM=1`, which makes that a failure. It shares one npm
//! cache under the target tmp dir with later runs, and runs in the `npm-build`
//! nextest group, one npm test at a time.

mod npm_support;
mod snippets;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use npm_support::{npm_cache, registry_reachable_for, wait_or_kill};
use serde_json::{json, Value};
use snippets::examples;

/// How long the install may take with a cold cache on a busy machine.
const INSTALL_LIMIT: Duration = Duration::from_secs(600);
/// How long one `tsc --noEmit` may take.
const TSC_LIMIT: Duration = Duration::from_secs(300);

/// What a real app of each kind has besides what the examples declare: the
/// compiler and the type packages `tsc` needs, at the sample app's versions.
const TOOLING: &[(&str, &str)] = &[
    ("typescript", "5.9.3"),
    ("@types/node", "20.19.43"),
    ("@types/react", "19.1.17"),
    ("@types/react-dom", "19.1.11"),
    ("react", "19.1.10"),
    ("react-dom", "19.1.10"),
    ("@types/express", "^5.0.0"),
];

fn tmp() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).to_path_buf()
}

fn npm(args: &[&str], dir: &Path) -> Command {
    let mut cmd = Command::new("npm");
    cmd.args(args)
        .current_dir(dir)
        .env("npm_config_cache", npm_cache())
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Packages the examples declare that the scratch app does not install: React
/// Native's native helpers, each of which pulls in `react-native` (hundreds of MB
/// with its toolchain) as a peer. The example code never imports the helpers;
/// the few names it imports from `react-native` and the navigation packages are
/// declared by stubs under `tests/data/example-types/{expo,react-native}/`, while
/// `posthog-react-native` itself is the real package.
const NOT_INSTALLED: &[&str] = &[
    "@react-native-async-storage/async-storage",
    "react-native-device-info",
    "react-native-localize",
    "react-native-config",
];

/// The union of the examples' declared dependencies; where two examples declare
/// one package differently, the range with the higher lowest version wins.
fn declared_dependencies() -> BTreeMap<String, String> {
    let mut deps: BTreeMap<String, String> = BTreeMap::new();
    let lowest = |range: &str| {
        semver::Version::parse(range.trim_start_matches(['^', '~'])).unwrap_or_else(|e| {
            panic!("an example declares {range:?}, which is not a caret range: {e}")
        })
    };
    for (id, snips) in checked_examples() {
        let manifest = snips
            .iter()
            .find(|s| s.lang == "json" && s.heading.starts_with("package.json"))
            .unwrap_or_else(|| panic!("{id}: no package.json excerpt"));
        let json: Value = serde_json::from_str(&manifest.code).unwrap();
        for (name, range) in json["dependencies"].as_object().unwrap() {
            if NOT_INSTALLED.contains(&name.as_str()) {
                continue;
            }
            let range = range.as_str().unwrap().to_string();
            let keep = match deps.get(name) {
                Some(old) => lowest(&range) > lowest(old),
                None => true,
            };
            if keep {
                deps.insert(name.clone(), range);
            }
        }
    }
    deps
}

/// The examples this test type-checks: those with the app code they assume under
/// `tests/data/example-types/<id>/`. The other frameworks' examples need their own
/// framework packages (Vue, SvelteKit, Remix…), which one scratch app cannot hold
/// side by side; they are listed as not checked here.
fn checked_examples() -> Vec<(String, Vec<snippets::Snippet>)> {
    let stubs = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/example-types");
    let (checked, skipped): (Vec<_>, Vec<_>) = examples()
        .into_iter()
        .partition(|(id, _)| stubs.join(id).is_dir());
    let ids: Vec<&str> = checked.iter().map(|(id, _)| id.as_str()).collect();
    for must in [
        "nextjs-app-router",
        "nextjs-pages-router",
        "node-express",
        "react-vite",
        "angular",
        "expo",
        "react-native",
        "tanstack-router",
        "tanstack-start",
    ] {
        assert!(ids.contains(&must), "{must} is not type-checked: {ids:?}");
    }
    let skipped: Vec<&str> = skipped.iter().map(|(id, _)| id.as_str()).collect();
    eprintln!("not type-checked here (no app code under tests/data/example-types): {skipped:?}");
    checked
}

/// Installs the scratch app once per set of dependencies; returns its directory.
fn scratch_app() -> PathBuf {
    let mut deps: BTreeMap<String, String> = declared_dependencies();
    for (name, version) in TOOLING {
        deps.entry((*name).to_string())
            .or_insert_with(|| (*version).to_string());
    }
    let manifest = json!({"name": "example-types", "private": true, "dependencies": deps});
    let dir = tmp().join("example-types");
    let text = serde_json::to_string_pretty(&manifest).unwrap();
    let installed = std::fs::read_to_string(dir.join("package.json")).ok();
    if installed.as_deref() == Some(text.as_str()) && dir.join("node_modules/.bin/tsc").exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("package.json"), &text).unwrap();
    let started = Instant::now();
    let child = npm(&["install", "--ignore-scripts", "--no-package-lock"], &dir)
        .spawn()
        .expect("npm starts");
    let out = wait_or_kill(child, INSTALL_LIMIT)
        .unwrap_or_else(|limit| panic!("npm install ran past {}s", limit.as_secs()));
    assert!(
        out.status.success(),
        "npm install failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "scratch app installed in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    dir
}

/// Copies `from` (a directory tree) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    for entry in ignore::WalkBuilder::new(from).hidden(false).build() {
        let entry = entry.unwrap();
        if entry.file_type().is_some_and(|t| t.is_file()) {
            let rel = entry.path().strip_prefix(from).unwrap();
            let dest = to.join(rel);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// Writes example `id`'s code files and the app code they assume into
/// `<app>/<id>/`, with a tsconfig; returns how many example files were written.
fn lay_out(app: &Path, id: &str, snips: &[snippets::Snippet]) -> usize {
    let dir = app.join(id);
    let _ = std::fs::remove_dir_all(&dir);
    let stubs = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/example-types")
        .join(id);
    if stubs.is_dir() {
        copy_tree(&stubs, &dir);
    }
    let mut written = 0;
    for s in snips {
        let code_lang = ["ts", "tsx", "js", "jsx"].contains(&s.lang.as_str());
        let Some(file) = s.file().filter(|_| code_lang) else {
            continue;
        };
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        assert!(!path.exists(), "{id}: {file} appears twice in the example");
        std::fs::write(&path, &s.code).unwrap();
        written += 1;
    }
    let tsconfig = json!({
        "compilerOptions": {
            "target": "ES2022",
            "lib": ["dom", "dom.iterable", "esnext"],
            "module": "esnext",
            "moduleResolution": "bundler",
            "jsx": "react-jsx",
            "strict": true,
            "noEmit": true,
            "allowJs": true,
            "checkJs": true,
            "skipLibCheck": true,
            "esModuleInterop": true,
            "isolatedModules": true,
            "types": ["node"],
            "paths": {"@/*": ["./*"]}
        },
        "include": ["**/*.ts", "**/*.tsx", "**/*.js", "**/*.jsx"]
    });
    std::fs::write(
        dir.join("tsconfig.json"),
        serde_json::to_string_pretty(&tsconfig).unwrap(),
    )
    .unwrap();
    written
}

#[test]
fn every_reference_example_type_checks_against_the_real_sdk_packages() {
    let test = "every_reference_example_type_checks_against_the_real_sdk_packages";
    if !registry_reachable_for(test) {
        return;
    }
    let app = scratch_app();
    let tsc = app.join("node_modules/typescript/bin/tsc");
    let mut failures = Vec::new();
    for (id, snips) in checked_examples() {
        let written = lay_out(&app, &id, &snips);
        assert!(
            written >= 2,
            "{id}: only {written} code files found in the example"
        );
        let out = tsc_in(&tsc, &app.join(&id));
        eprintln!("{id}: {written} files, tsc exit {}", out.status);
        if !out.status.success() {
            failures.push(format!(
                "{id}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    // The demo's target integration: the sample app with the files the cassette leaves.
    let demo = app.join("demo-target");
    let _ = std::fs::remove_dir_all(&demo);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_tree(&root.join("examples/next-app"), &demo);
    copy_tree(&root.join("tests/data/next-app-integration"), &demo);
    std::fs::copy(
        app.join("nextjs-app-router/tsconfig.json"),
        demo.join("tsconfig.json"),
    )
    .unwrap();
    let out = tsc_in(&tsc, &demo);
    eprintln!("demo target: tsc exit {}", out.status);
    if !out.status.success() {
        failures.push(format!(
            "demo target:\n{}",
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    assert!(
        failures.is_empty(),
        "examples that do not type-check:\n{}",
        failures.join("\n")
    );
}

/// Runs `tsc --noEmit` on the project in `dir`.
fn tsc_in(tsc: &Path, dir: &Path) -> Output {
    let child = Command::new("node")
        .arg(tsc)
        .args(["--noEmit", "-p"])
        .arg(dir.join("tsconfig.json"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    wait_or_kill(child, TSC_LIMIT)
        .unwrap_or_else(|limit| panic!("{}: tsc ran past {}s", dir.display(), limit.as_secs()))
}
