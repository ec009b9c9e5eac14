//! Framework detection on small fixture apps (`tests/data/apps/`).

use std::fs;
use std::path::{Path, PathBuf};

use wizard::content::{detect, load_blocking, ContentSource, FrameworkRules};

fn rules() -> FrameworkRules {
    load_blocking(&ContentSource::Embedded).unwrap().frameworks
}

fn app(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/apps")
        .join(name)
}

#[test]
fn a_next_app_with_an_app_directory_is_the_app_router() {
    let d = detect(&app("next-app-router"), &rules());
    let fw = d.framework.expect("detected");
    assert_eq!(fw.id, "nextjs-app-router");
    assert_eq!(fw.name, "Next.js");
    assert_eq!(fw.router.as_deref(), Some("app"));
    assert_eq!(fw.version.as_deref(), Some("^15.3.2"));
    assert_eq!(fw.example.as_deref(), Some("nextjs-app-router"));
    assert_eq!(d.package_manager.unwrap().name, "pnpm");
    assert!(d.reason.contains("app/"), "{}", d.reason);
    assert!(d.reason.contains("pnpm-lock.yaml"), "{}", d.reason);
}

#[test]
fn a_next_app_with_a_pages_directory_is_the_pages_router() {
    let d = detect(&app("next-pages-router"), &rules());
    let fw = d.framework.expect("detected");
    assert_eq!(fw.id, "nextjs-pages-router");
    assert_eq!(fw.router.as_deref(), Some("pages"));
    assert_eq!(fw.version.as_deref(), Some("14.2.3"));
    assert_eq!(d.package_manager.unwrap().name, "yarn");
}

#[test]
fn react_with_vite_in_dev_dependencies_is_react_vite() {
    let d = detect(&app("react-vite"), &rules());
    let fw = d.framework.expect("detected");
    assert_eq!(fw.id, "react-vite");
    assert_eq!(fw.router, None);
    assert_eq!(d.package_manager.unwrap().name, "bun");
}

#[test]
fn an_express_server_is_node_express() {
    let d = detect(&app("express-api"), &rules());
    assert_eq!(d.framework.expect("detected").id, "node-express");
    assert_eq!(d.package_manager.unwrap().name, "npm");
}

#[test]
fn an_app_without_package_json_says_what_was_looked_for() {
    // No manifest of any ecosystem (a Python app with one is a Python app now).
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("README.md"), "# notes").unwrap();
    let d = detect(dir.path(), &rules());
    assert_eq!(d.framework, None);
    assert!(
        d.reason.starts_with("no package.json with next, "),
        "{}",
        d.reason
    );
    for wanted in [
        "react-router+@react-router/dev",
        "@remix-run/react",
        "react+vite",
        "@nestjs/core",
        "express",
        "fastify",
        "hono",
        "koa",
    ] {
        assert!(d.reason.contains(wanted), "{wanted} missing: {}", d.reason);
    }
    assert!(d.reason.contains("has no package.json"), "{}", d.reason);
    assert_eq!(d.package_manager.unwrap().name, "npm", "the default");
}

#[test]
fn a_react_router_7_framework_app_is_not_react_vite() {
    // It declares react and vite too: the more specific rule must win.
    let d = detect(&app("react-router-framework"), &rules());
    let fw = d.framework.expect("detected");
    assert_eq!(fw.id, "react-router-framework");
    assert_eq!(fw.name, "React Router (framework mode)");
    assert_eq!(
        fw.version.as_deref(),
        Some("7.18.4"),
        "declared react-router"
    );
    assert_eq!(fw.example.as_deref(), Some("react-router-framework"));
    assert_eq!(d.package_manager.unwrap().name, "npm");
    assert!(
        d.reason.contains("@react-router/dev 7.18.4"),
        "{}",
        d.reason
    );
    assert!(d.reason.contains("package-lock.json"), "{}", d.reason);
}

#[test]
fn react_router_7_as_a_library_in_a_vite_app_is_library_mode() {
    let d = detect(&app("react-router-library"), &rules());
    let fw = d.framework.expect("detected");
    assert_eq!(fw.id, "react-router-library");
    assert_eq!(fw.version.as_deref(), Some("^7.6.0"));
    assert_eq!(fw.example.as_deref(), Some("react-router-library"));
    assert_eq!(d.package_manager.unwrap().name, "pnpm");
}

#[test]
fn react_router_6_in_a_vite_app_stays_react_vite() {
    let d = detect(&app("react-router-v6-vite"), &rules());
    let fw = d.framework.expect("detected");
    assert_eq!(fw.id, "react-vite");
    assert_eq!(
        fw.version.as_deref(),
        Some("^18.3.1"),
        "react's declared range"
    );
    assert_eq!(d.package_manager.unwrap().name, "bun");
}

#[test]
fn a_remix_vite_app_is_remix_not_react_router_nor_react_vite() {
    let d = detect(&app("remix-vite"), &rules());
    let fw = d.framework.expect("detected");
    assert_eq!(fw.id, "remix");
    assert_eq!(fw.name, "Remix");
    assert_eq!(fw.version.as_deref(), Some("^2.9.2"));
    assert_eq!(fw.example.as_deref(), Some("remix"));
    assert_eq!(d.package_manager.unwrap().name, "yarn");
}

#[test]
fn a_remix_app_migrated_to_react_router_7_is_react_router() {
    // A half-finished migration keeps old @remix-run packages beside the new ones.
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("package.json"),
        r#"{"dependencies":{"react-router":"^7.9.0","@remix-run/react":"^2.16.0","react":"^19.1.0"},
            "devDependencies":{"@react-router/dev":"^7.9.0","vite":"^7.0.0"}}"#,
    )
    .unwrap();
    assert_eq!(
        detect(dir.path(), &rules()).framework.unwrap().id,
        "react-router-framework"
    );
}

#[test]
fn the_react_router_version_is_the_installed_one_when_there_is_one() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("package.json"),
        r#"{"dependencies":{"react-router":"^7.9.0"},"devDependencies":{"@react-router/dev":"^7.9.0"}}"#,
    )
    .unwrap();
    fs::create_dir_all(dir.path().join("node_modules/react-router")).unwrap();
    fs::write(
        dir.path().join("node_modules/react-router/package.json"),
        r#"{"version":"7.18.4"}"#,
    )
    .unwrap();
    let fw = detect(dir.path(), &rules()).framework.unwrap();
    assert_eq!(fw.id, "react-router-framework");
    assert_eq!(fw.version.as_deref(), Some("7.18.4"));
}

#[test]
fn node_servers_beyond_express_are_each_recognised() {
    // (fixture, id, version of the rule's package, package manager)
    let cases = [
        ("fastify-api", "node-fastify", Some("^5.6.0"), "pnpm"),
        ("hono-api", "node-hono", Some("^4.9.0"), "bun"),
        ("koa-api", "node-koa", Some("^3.0.0"), "npm"),
        ("node-http-server", "node-http", None, "npm"),
    ];
    for (fixture, id, version, pm) in cases {
        let d = detect(&app(fixture), &rules());
        let fw = d
            .framework
            .unwrap_or_else(|| panic!("{fixture}: {}", d.reason));
        assert_eq!(fw.id, id, "{fixture}");
        assert_eq!(fw.version.as_deref(), version, "{fixture}");
        assert_eq!(fw.example.as_deref(), Some(id), "{fixture}");
        assert_eq!(d.package_manager.unwrap().name, pm, "{fixture}");
    }
}

#[test]
fn a_nestjs_app_on_the_express_platform_is_nestjs_not_express() {
    let d = detect(&app("nestjs-api"), &rules());
    let fw = d.framework.expect("detected");
    assert_eq!(fw.id, "node-nestjs");
    assert_eq!(fw.version.as_deref(), Some("^11.1.0"));
    assert_eq!(d.package_manager.unwrap().name, "yarn");
}

#[test]
fn a_server_file_beside_a_browser_page_is_not_a_plain_node_server() {
    // A Vite SSR template or a static site with a dev server: not node:http.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("package.json"), r#"{"type":"module"}"#).unwrap();
    fs::write(dir.path().join("server.js"), "").unwrap();
    assert_eq!(
        detect(dir.path(), &rules()).framework.unwrap().id,
        "node-http"
    );
    fs::write(dir.path().join("index.html"), "<!doctype html>").unwrap();
    let d = detect(dir.path(), &rules());
    assert_eq!(d.framework, None);
    assert!(d.reason.contains("index.html is present"), "{}", d.reason);
}

#[test]
fn frontend_and_mobile_frameworks_win_over_what_they_also_declare() {
    // (fixture, id, version of the rule's first package, package manager).
    // Each fixture also declares the packages of a more general rule: Nuxt
    // vue+vite, SvelteKit vite, Astro react+vite, Angular SSR express, Expo
    // react-native, TanStack Start @tanstack/react-router and vite.
    let cases = [
        ("nuxt-app", "nuxt", Some("^4.1.0"), "pnpm"),
        ("vue-vite", "vue-vite", Some("^3.5.13"), "npm"),
        ("sveltekit-app", "sveltekit", Some("^2.27.0"), "bun"),
        ("astro-react", "astro", Some("^5.13.0"), "npm"),
        ("angular-ssr", "angular", Some("^20.2.0"), "npm"),
        ("expo-app", "expo", Some("~54.0.0"), "yarn"),
        ("react-native-app", "react-native", Some("0.81.4"), "npm"),
        ("tanstack-start", "tanstack-start", Some("^1.131.0"), "pnpm"),
        (
            "tanstack-router",
            "tanstack-router",
            Some("^1.131.0"),
            "npm",
        ),
    ];
    for (fixture, id, version, pm) in cases {
        let d = detect(&app(fixture), &rules());
        let fw = d
            .framework
            .unwrap_or_else(|| panic!("{fixture}: {}", d.reason));
        assert_eq!(fw.id, id, "{fixture}: {}", d.reason);
        // Each has a reference example of its own, so its agents get its skills.
        assert_eq!(fw.example.as_deref(), Some(id), "{fixture}");
        assert_eq!(fw.version.as_deref(), version, "{fixture}");
        assert_eq!(d.package_manager.unwrap().name, pm, "{fixture}");
    }
}

#[test]
fn an_android_app_is_android_and_a_react_native_app_with_an_android_folder_is_not() {
    let d = detect(&app("android-kotlin"), &rules());
    let fw = d.framework.unwrap_or_else(|| panic!("{}", d.reason));
    assert_eq!(fw.id, "android");
    assert_eq!(fw.example.as_deref(), Some("android"));
    assert_eq!(fw.version, None);
    assert!(
        d.reason
            .contains("app/src/main/AndroidManifest.xml is present"),
        "{}",
        d.reason
    );
    // React Native keeps its native Android project in android/.
    let rn = detect(&app("react-native-app"), &rules())
        .framework
        .unwrap();
    assert_eq!(rn.id, "react-native");
}

#[test]
fn nuxt_2_is_not_taken_for_nuxt_3_or_vue_3() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("package.json"),
        r#"{"dependencies":{"nuxt":"^2.17.0","vue":"^2.7.0"}}"#,
    )
    .unwrap();
    let d = detect(dir.path(), &rules());
    assert_eq!(d.framework, None, "{}", d.reason);
    assert!(
        d.reason.contains("nuxt 2.17.0 does not satisfy >=3"),
        "{}",
        d.reason
    );
}

#[test]
fn a_package_json_with_none_of_the_frameworks_says_so() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("package.json"),
        r#"{"dependencies":{"lodash":"^4"}}"#,
    )
    .unwrap();
    let d = detect(dir.path(), &rules());
    assert_eq!(d.framework, None);
    assert!(
        d.reason.contains("package.json declares none of them"),
        "{}",
        d.reason
    );
}

#[test]
fn a_next_app_with_no_router_yet_falls_back_to_plain_nextjs() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("package.json"),
        r#"{"dependencies":{"next":"latest"}}"#,
    )
    .unwrap();
    let d = detect(dir.path(), &rules());
    let fw = d.framework.expect("detected");
    assert_eq!(fw.id, "nextjs");
    assert_eq!(fw.router, None);
    assert_eq!(fw.example.as_deref(), Some("nextjs-app-router"));
}

#[test]
fn files_under_node_modules_do_not_decide_the_router() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("package.json"),
        r#"{"dependencies":{"next":"^15.3.0"}}"#,
    )
    .unwrap();
    fs::create_dir_all(dir.path().join("node_modules/some-lib/app")).unwrap();
    fs::write(dir.path().join("node_modules/some-lib/app/layout.js"), "").unwrap();
    let d = detect(dir.path(), &rules());
    assert_eq!(d.framework.unwrap().id, "nextjs");
}

/// Rules with a version constraint, as a content author might write them.
fn versioned_rules() -> FrameworkRules {
    serde_yaml_ng::from_str(
        r#"
frameworks:
  - id: next-modern
    name: Next.js
    dependencies: [{name: next, version: ">=15.3"}]
  - id: next-legacy
    name: Next.js
    dependencies: [{name: next}]
  - id: no-react
    name: Plain Node
    filesAbsent: ["**/*.jsx"]
packageManagers:
  - {name: npm, lockfiles: [package-lock.json], install: npm install, add: npm install, run: npm run, default: true}
  - {name: pnpm, lockfiles: [pnpm-lock.yaml], install: pnpm install, add: pnpm add, run: pnpm run}
"#,
    )
    .unwrap()
}

#[test]
fn a_version_constraint_uses_the_lowest_declared_version() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("package.json"),
        r#"{"dependencies":{"next":"^14.2.0"}}"#,
    )
    .unwrap();
    assert_eq!(
        detect(dir.path(), &versioned_rules()).framework.unwrap().id,
        "next-legacy"
    );
    fs::write(
        dir.path().join("package.json"),
        r#"{"dependencies":{"next":"^15.3.1"}}"#,
    )
    .unwrap();
    assert_eq!(
        detect(dir.path(), &versioned_rules()).framework.unwrap().id,
        "next-modern"
    );
}

#[test]
fn a_version_constraint_prefers_the_installed_version() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("package.json"),
        r#"{"dependencies":{"next":"^15.0.0"}}"#,
    )
    .unwrap();
    fs::create_dir_all(dir.path().join("node_modules/next")).unwrap();
    fs::write(
        dir.path().join("node_modules/next/package.json"),
        r#"{"version":"15.4.2"}"#,
    )
    .unwrap();
    let fw = detect(dir.path(), &versioned_rules()).framework.unwrap();
    assert_eq!(fw.id, "next-modern");
    assert_eq!(fw.version.as_deref(), Some("15.4.2"));
}

#[test]
fn a_files_absent_rule_fails_when_a_file_matches() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("index.js"), "").unwrap();
    assert_eq!(
        detect(dir.path(), &versioned_rules()).framework.unwrap().id,
        "no-react"
    );
    fs::create_dir_all(dir.path().join("src")).unwrap();
    fs::write(dir.path().join("src/App.jsx"), "").unwrap();
    let d = detect(dir.path(), &versioned_rules());
    assert_eq!(d.framework, None);
    assert!(d.reason.contains("src/App.jsx is present"), "{}", d.reason);
}

#[test]
fn the_package_manager_field_is_used_when_there_is_no_lockfile() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("package.json"),
        r#"{"packageManager":"pnpm@9.12.0"}"#,
    )
    .unwrap();
    let d = detect(dir.path(), &versioned_rules());
    assert_eq!(d.package_manager.unwrap().name, "pnpm");
    assert!(d.reason.contains("packageManager"), "{}", d.reason);
}
