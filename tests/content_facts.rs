//! PostHog facts the content must get right, pinned: each test reads the
//! built-in content (and the demo's target integration) and fails when a skill,
//! an example, an agent's permissions or the cassette drifts from what
//! PostHog's SDKs accept (posthog-js 1.449.2, posthog-node 5.70.0,
//! @posthog/react 1.11.1, read from their published packages).

mod snippets;

use std::collections::BTreeSet;
use std::path::Path;

use globset::{GlobSet, GlobSetBuilder};
use regex::Regex;
use snippets::{examples, imported_packages, snippets};
use wizard::content::{load_blocking, ContentSet, ContentSource};

fn content() -> ContentSet {
    match load_blocking(&ContentSource::Embedded) {
        Ok(set) => set,
        Err(e) => panic!("the built-in content must validate:\n{e}"),
    }
}

/// Every text file of the content plus the demo's target integration, by path.
fn texts() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = content()
        .files
        .iter()
        .filter_map(|(path, bytes)| {
            let text = String::from_utf8(bytes.clone()).ok()?;
            Some((format!("content/{path}"), text))
        })
        .collect();
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/next-app-integration");
    for entry in ignore::WalkBuilder::new(&target).hidden(false).build() {
        let entry = entry.unwrap();
        if entry.file_type().is_some_and(|t| t.is_file()) {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let rel = entry
                .path()
                .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .unwrap();
            out.push((rel.display().to_string(), text));
        }
    }
    out
}

/// The one `defaults` date: the newest that posthog-js 1.449.2 lists in
/// `CONFIG_DEFAULTS_DATES` (its `@posthog/types`).
const DEFAULTS: &str = "2026-08-30";

#[test]
fn one_defaults_date_everywhere() {
    let re = Regex::new(r#"defaults:\s*['"]([0-9]{4}-[0-9]{2}-[0-9]{2})['"]"#).unwrap();
    let mut seen = Vec::new();
    for (path, text) in texts() {
        for cap in re.captures_iter(&text) {
            seen.push((path.clone(), cap[1].to_string()));
        }
    }
    let files: BTreeSet<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
    for must in [
        "content/skills/init-nextjs.md",
        "content/skills/init-react-vite.md",
        "content/examples/nextjs-app-router/EXAMPLE.md",
        "content/examples/nextjs-pages-router/EXAMPLE.md",
        "content/examples/react-vite/EXAMPLE.md",
        "content/cassettes/next-app.yaml",
        "tests/data/next-app-integration/instrumentation-client.ts",
    ] {
        assert!(files.contains(must), "{must} sets no defaults date");
    }
    let wrong: Vec<_> = seen.iter().filter(|(_, d)| d != DEFAULTS).collect();
    assert!(
        wrong.is_empty(),
        "defaults dates other than {DEFAULTS}: {wrong:?}"
    );
}

/// The lowest version a caret range allows (`^1.449.2` → 1.449.2).
fn lowest(range: &str) -> semver::Version {
    semver::Version::parse(range.trim_start_matches(['^', '~'])).unwrap()
}

#[test]
fn the_pinned_posthog_js_accepts_the_defaults_date() {
    let set = content();
    let skill = |name: &str| set.skills[name].body.clone();
    let row = Regex::new(&format!(r"\| ([0-9.]+) or newer \| `'{DEFAULTS}'` \|")).unwrap();
    let init = skill("init-nextjs");
    let needed = row
        .captures(&init)
        .map(|c| semver::Version::parse(&c[1]).unwrap())
        .expect("init-nextjs's table names the first posthog-js version for the date");
    let pin = Regex::new(r#""posthog-js": "(\^[0-9.]+)""#).unwrap();
    for name in ["install-nextjs", "install-react-vite"] {
        let range = pin
            .captures(&skill(name))
            .unwrap_or_else(|| panic!("{name} pins no posthog-js"))[1]
            .to_string();
        assert!(
            lowest(&range) >= needed,
            "{name} pins posthog-js {range}, older than {needed}, which {DEFAULTS} needs"
        );
    }
}

#[test]
fn hash_routed_apps_keep_their_hashes() {
    // From defaults 2026-06-25 on, posthog-js strips URL hashes.
    let set = content();
    for name in ["init-nextjs", "init-react-vite"] {
        assert!(
            set.skills[name]
                .body
                .contains("disable_capture_url_hashes: false"),
            "{name} does not keep hashes for hash-routed apps"
        );
    }
}

#[test]
fn next_server_errors_use_the_cookie_and_an_awaited_capture() {
    let mut blocks: Vec<(String, String)> = Vec::new();
    for (path, text) in texts() {
        if path.ends_with(".md") || path.ends_with(".yaml") {
            for s in snippets(&text) {
                if s.code.contains("onRequestError") {
                    blocks.push((path.clone(), s.code));
                }
            }
        } else if text.contains("onRequestError") {
            blocks.push((path, text));
        }
    }
    assert!(
        blocks.len() >= 3,
        "too few onRequestError snippets: {blocks:?}"
    );
    for (path, code) in &blocks {
        assert!(
            !code.to_lowercase().contains("x-posthog-distinct-id"),
            "{path}: full-page requests carry no x-posthog-distinct-id header"
        );
        assert!(
            code.contains("readPostHogCookie"),
            "{path}: not read from the cookie"
        );
        assert!(
            code.contains("await getPostHog") && code.contains(".captureExceptionImmediate("),
            "{path}: the capture is not awaited"
        );
        assert!(
            code.contains("NEXT_RUNTIME"),
            "{path}: runs on the edge runtime too"
        );
    }
    let skill = content().skills["error-tracking-nextjs-server"]
        .body
        .clone();
    assert!(skill.contains("Next.js 15 or newer"), "no version gate");
    assert!(skill.contains("never add a second export"), "no merge rule");
}

#[test]
fn every_posthog_package_an_example_imports_is_declared_in_its_package_json() {
    for (id, snips) in examples() {
        let Some(manifest) = snips
            .iter()
            .find(|s| s.lang == "json" && s.heading.starts_with("package.json"))
        else {
            // A Python or Android example declares its SDK in its own manifest instead.
            assert!(
                snips.iter().any(|s| (s.heading.starts_with("requirements")
                    || s.heading.starts_with("pyproject.toml")
                    || s.heading.starts_with("gradle/libs.versions.toml"))
                    && s.code.contains("posthog")),
                "{id}: no package.json excerpt, and no Python or Gradle manifest declaring posthog"
            );
            continue;
        };
        let json: serde_json::Value = serde_json::from_str(&manifest.code).unwrap();
        let declared = &json["dependencies"];
        for s in &snips {
            for pkg in imported_packages(&s.code) {
                if pkg.starts_with("posthog") || pkg.starts_with("@posthog/") {
                    assert!(
                        declared.get(&pkg).is_some(),
                        "{id}: {} imports {pkg}, which package.json does not declare",
                        s.heading
                    );
                }
            }
        }
    }
    let install = content().skills["install-nextjs"].body.clone();
    assert!(
        install.contains("\"@posthog/react\"") && install.contains("older than 15.3"),
        "the Next.js < 15.3 provider imports @posthog/react; install must declare it"
    );
}

#[test]
fn javascript_snippets_carry_no_typescript() {
    let ts_only = Regex::new(
        r"as const|[A-Za-z0-9_)\]]!(?:[.,);\s]|$)|:\s*(?:string|number|boolean)\b|^import type ",
    )
    .unwrap();
    let mut checked = 0;
    let mut sources: Vec<(String, String)> = Vec::new();
    for (path, text) in texts() {
        if path.ends_with(".md") {
            sources.push((path, text));
        }
    }
    for (path, text) in sources {
        for s in snippets(&text).into_iter().filter(|s| s.is_javascript()) {
            checked += 1;
            for line in s.code.lines() {
                let code = line.split("//").next().unwrap_or("");
                let code = code.replace("!==", "").replace("!=", "");
                assert!(
                    !ts_only.is_match(&code),
                    "{path} ({}): TypeScript in a JavaScript snippet: {line}",
                    s.heading
                );
            }
        }
    }
    assert!(checked >= 5, "only {checked} JavaScript snippets found");
    let proxy = content().skills["reverse-proxy-nextjs"].body.clone();
    assert!(
        proxy.contains("next.config.{js,mjs,ts,cjs}"),
        "every next.config form"
    );
}

#[test]
fn react_vite_inits_at_module_scope_and_hands_the_client_to_the_provider() {
    let set = content();
    let mut texts = vec![(
        "init-react-vite".to_string(),
        set.skills["init-react-vite"].body.clone(),
    )];
    let ex = examples();
    let main = ex["react-vite"]
        .iter()
        .find(|s| s.file() == Some("src/main.tsx"))
        .expect("the example has src/main.tsx");
    texts.push(("react-vite example".into(), main.code.clone()));
    for (name, text) in texts {
        assert!(
            text.contains("<PostHogProvider client={posthog}>"),
            "{name}"
        );
        assert!(
            !text.contains("apiKey="),
            "{name}: the provider must not init"
        );
        assert!(
            !text.contains("useEffect"),
            "{name}: init is not at module scope"
        );
        let init = text.find("posthog.init(").expect("an init");
        let render = text.find("createRoot(").expect("a render");
        assert!(
            init < render,
            "{name}: init must run before the first render"
        );
    }
}

#[test]
fn identity_uses_tracing_headers_personless_events_and_express_request_context() {
    for (path, text) in texts() {
        assert!(
            !text.contains("get_distinct_id()"),
            "{path}: builds PostHog's tracing headers by hand; tracing_headers sends them"
        );
    }
    let set = content();
    assert!(set.skills["init-nextjs"].body.contains("tracing_headers:"));
    let server = &set.skills["identify-server"].body;
    assert!(
        server.contains("leave `distinctId` out"),
        "personless by omission"
    );
    assert!(server.contains("setupExpressRequestContext") && server.contains("5.31"));
    assert!(set.skills["init-node"]
        .body
        .contains("setupExpressRequestContext(posthog, app)"));
    assert!(
        set.agents["capture"]
            .depends_on
            .contains(&"identify".to_string()),
        "capture uses the user id identify chose"
    );
    let target = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/next-app-integration/instrumentation-client.ts");
    let init = std::fs::read_to_string(target).unwrap();
    assert!(init.contains("tracing_headers: [window.location.hostname]"));
}

#[test]
fn inits_are_guarded_against_a_missing_token_and_warn_in_development() {
    let mut checked = 0;
    for (path, text) in texts() {
        let blocks: Vec<String> = if path.ends_with(".md") {
            snippets(&text).into_iter().map(|s| s.code).collect()
        } else if path.ends_with(".yaml") {
            Vec::new() // the cassette's files are the target's, checked below
        } else {
            vec![text.clone()]
        };
        for code in blocks.iter().filter(|c| c.contains("posthog.init(")) {
            checked += 1;
            assert!(
                !code.contains("posthog.init(process.env")
                    && !code.contains("posthog.init(import.meta"),
                "{path}: an unguarded init:\n{code}"
            );
            assert!(
                code.contains("console.warn("),
                "{path}: no development warning:\n{code}"
            );
        }
        if path.ends_with(".md") {
            for code in snippets(&text).iter().map(|s| &s.code) {
                assert!(
                    !code.contains("new PostHog(process.env.NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN!"),
                    "{path}: a server client that assumes the token"
                );
            }
        }
    }
    assert!(checked >= 6, "only {checked} inits found");
}

#[test]
fn the_proxy_skill_covers_static_export_base_path_custom_hosts_middleware_and_csp() {
    let body = content().skills["reverse-proxy-nextjs"].body.clone();
    for must in [
        "output: 'export'",
        "basePath",
        "proxied to itself, never to the US Cloud",
        "matcher",
        "proxy.ts",
        "reuse that path",
        "connect-src",
        "script-src",
        "worker-src",
    ] {
        assert!(
            body.contains(must),
            "reverse-proxy-nextjs does not cover {must:?}"
        );
    }
    let init = content().skills["init-nextjs"].body.clone();
    assert!(init.contains("Never `Write` over a file that exists"));
    assert!(init.contains("`ui_host`") && init.contains("An existing `ui_host` stays"));
}

/// The source glob every editing agent shares.
const SOURCE_GLOBS: [&str; 2] = [
    "{app,src,pages,components,lib,hooks,context,contexts,services,server,routes,api,actions,utils,middleware,middlewares,features,modules}/**/*.{ts,tsx,js,jsx,mjs,cjs,mts,cts}",
    "{index,server,app,main,middleware,proxy,instrumentation,instrumentation-client}.{ts,tsx,js,jsx,mjs,cjs,mts,cts}",
];

fn globset(globs: &[String]) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(
            globset::GlobBuilder::new(g)
                .literal_separator(true)
                .build()
                .unwrap(),
        );
    }
    b.build().unwrap()
}

#[test]
fn every_editing_agent_shares_one_source_glob() {
    let set = content();
    let editors = ["init", "identify", "capture", "error-tracking", "build"];
    for name in editors {
        let write = &set.agents[name].write;
        for g in SOURCE_GLOBS {
            assert!(
                write.iter().any(|w| w == g),
                "{name} lacks the shared source glob {g}"
            );
        }
    }
    // Beyond the shared glob, these agents may only name other frameworks' source files
    // (Python, Vue, Svelte, Astro, Kotlin/Java): never config, env files, manifests or lockfiles.
    let other_source =
        Regex::new(r#"\.(py|vue|svelte|astro|\{ts,js\}|\{ts,tsx,js,jsx\}|\{kt,java\})"?$"#)
            .unwrap();
    for name in ["identify", "capture", "error-tracking"] {
        for w in &set.agents[name].write {
            if SOURCE_GLOBS.contains(&w.as_str()) {
                continue;
            }
            // Nuxt's error tracking is switched on in the PostHog module's options.
            let nuxt_module = name == "error-tracking" && w.starts_with("nuxt.config.");
            assert!(
                nuxt_module
                    || (other_source.is_match(w) && !w.contains("config") && !w.contains(".env")),
                "{name} edits only source, not {w}"
            );
        }
    }
    assert!(
        set.agents["identify"]
            .allowed_tools
            .iter()
            .any(|t| t == "Write"),
        "identify may create a file"
    );
    assert!(
        set.agents["capture"]
            .allowed_tools
            .iter()
            .any(|t| t == "Write"),
        "capture may create a file"
    );
    let source = globset(&SOURCE_GLOBS.map(String::from));
    for ok in [
        "app/api/subscribe/route.ts",
        "src/server/jobs.mts",
        "lib/posthog-server.cts",
        "instrumentation.ts",
        "middleware.js",
        "pages/_app.jsx",
    ] {
        assert!(source.is_match(ok), "{ok} should be editable");
    }
    for no in [
        "next.config.js",
        "package.json",
        "package-lock.json",
        ".env.local",
        ".next/server/app.js",
        "dist/index.js",
        "node_modules/posthog-js/dist/module.js",
        "tsconfig.json",
        "vite.config.ts",
    ] {
        assert!(!source.is_match(no), "{no} must not be in the source glob");
    }
    // The planner names files capture may edit: the folders it lists are in the glob.
    let plan = &set.skills["event-plan"].body;
    let listed = Regex::new(r"`([a-z]+)/`").unwrap();
    let folders: Vec<String> = listed
        .captures_iter(plan)
        .map(|c| c[1].to_string())
        .collect();
    assert!(folders.len() >= 5, "event-plan lists the editable folders");
    for f in folders {
        assert!(
            source.is_match(format!("{f}/x.ts")),
            "event-plan names {f}/, which capture may not edit"
        );
    }
}

#[test]
fn build_may_lint_typecheck_and_install_without_a_frozen_lockfile() {
    let set = content();
    let bash = &set.agents["build"].bash;
    for must in [
        "npm run lint",
        "npm run typecheck",
        "pnpm install",
        "yarn install",
    ] {
        assert!(bash.iter().any(|b| b == must), "build may not run {must}");
    }
    let skill = &set.skills["build-and-verify"].body;
    assert!(skill.contains("--no-frozen-lockfile") && skill.contains("--no-immutable"));
    assert!(skill.contains("--ignore-scripts"));
    // The build's own fence lets the CI-safe installs and the scripts through.
    let perms = set.agents["build"].permissions();
    for command in [
        "pnpm install --no-frozen-lockfile",
        "yarn install --no-immutable",
        "npm install --legacy-peer-deps",
        // build-and-verify's retry when a postinstall cannot download its binary.
        "npm install --ignore-scripts",
        "npm run lint",
        "pnpm run typecheck",
    ] {
        wizard::tools::permissions::check_bash_command(&perms, command)
            .unwrap_or_else(|e| panic!("build may not run {command}: {e}"));
    }
}

#[test]
fn the_dashboard_may_only_create_and_read() {
    let set = content();
    let tools: Vec<&String> = set.agents["dashboard"]
        .allowed_tools
        .iter()
        .filter(|t| t.starts_with("mcp__"))
        .collect();
    assert!(!tools.is_empty());
    for t in &tools {
        assert!(
            !t.contains('*'),
            "{t}: a wildcard admits update and delete tools"
        );
        let name = t.rsplit("__").next().unwrap();
        let allowed = name.contains("create")
            || name.ends_with("-get")
            || name.ends_with("-get-all")
            || name.ends_with("-list")
            || name == "query-run";
        assert!(allowed, "{t} is neither create nor read");
        assert!(!name.contains("update") && !name.contains("delete") && !name.contains("partial"));
    }
    assert!(tools.iter().any(|t| t.ends_with("dashboard-create")));
    assert!(tools
        .iter()
        .any(|t| t.ends_with("insight-create-from-query")));
}

#[test]
fn the_event_plan_has_one_rule_and_no_count_to_reach() {
    let set = content();
    let plan = &set.skills["event-plan"].body;
    assert!(plan.contains("never invent one to reach a number"));
    assert!(!set.agents["plan-capture"].success.contains("5 to 15"));
    for field in ["\"side\"", "\"file\"", "\"properties\""] {
        assert!(plan.contains(field), "the plan's example lacks {field}");
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/next-app-integration/.posthog-wizard/event-plan.json");
    let events: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(target).unwrap()).unwrap();
    for e in events {
        for field in ["event", "description", "side", "file", "properties"] {
            assert!(e.get(field).is_some(), "the demo's plan lacks {field}: {e}");
        }
    }
}

#[test]
fn env_templates_get_names_through_the_env_tool() {
    let body = content().skills["env-values"].body.clone();
    assert!(body.contains("`.env.example`") && body.contains("empty strings"));
    assert!(body.contains("never git-ignores it"));
}

#[test]
fn the_event_plan_lives_in_the_wizards_folder_and_only_plan_capture_writes_it() {
    use wizard::tools::paths::resolve;
    use wizard::tools::permissions::check_write_allowed;
    let set = content();
    let plan = set
        .product()
        .verify
        .expect("product.yaml has verify")
        .event_plan;
    assert_eq!(plan, ".posthog-wizard/event-plan.json");
    assert_eq!(set.frameworks.fences.state_files, vec![plan.clone()]);
    let app = tempfile::tempdir().unwrap();
    let fences = &set.frameworks.fences;
    let writes = |task: &str, rel: &str| {
        let path = resolve(app.path(), rel).unwrap();
        check_write_allowed(&set.agents[task].permissions(), fences, &path).is_ok()
    };
    assert!(writes("plan-capture", &plan));
    assert!(
        !writes("plan-capture", ".posthog-events.json"),
        "the app root"
    );
    for task in set.agents.keys() {
        for own in [
            ".posthog-wizard/queue.json",
            ".posthog-wizard/audit.jsonl",
            ".posthog-wizard/handoffs/init.json",
            ".posthog-wizard/run.json",
        ] {
            assert!(!writes(task, own), "{task} may write {own}");
        }
        if task != "plan-capture" {
            assert!(!writes(task, &plan), "{task} may write the plan");
        }
    }
    // Every agent that works from the plan names it where it really is.
    for (task, needs) in [("capture", true), ("plan-capture", true)] {
        let agent = &set.agents[task];
        let text = format!("{} {} {}", agent.goal, agent.success, agent.body);
        let skills: String = set
            .skills_for(agent, None)
            .iter()
            .map(|s| s.body.clone())
            .collect();
        assert_eq!(
            format!("{text}{skills}").contains(&plan),
            needs,
            "{task} does not name {plan}"
        );
    }
    for (path, text) in texts() {
        assert!(
            !text.contains(".posthog-events.json"),
            "{path} still names the old plan file at the app root"
        );
    }
}
