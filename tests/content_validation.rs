//! The content format end to end: the built-in content validates, broken
//! content fails with errors that name the file and the field, and export
//! round-trips.

use std::fs;
use std::path::Path;

use pretty_assertions::assert_eq;
use wizard::content::{
    check_report, export_embedded, load, load_blocking, ContentErrors, ContentSet, ContentSource,
    FileStore,
};

fn embedded() -> ContentSet {
    match load_blocking(&ContentSource::Embedded) {
        Ok(set) => set,
        Err(e) => panic!("the built-in content must validate:\n{e}"),
    }
}

/// A temp dir holding a copy of the built-in content.
fn exported() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    export_embedded(dir.path()).unwrap();
    dir
}

/// Replaces `from` by `to` in a content file (which must contain `from`).
fn edit(root: &Path, file: &str, from: &str, to: &str) {
    let path = root.join(file);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} does not contain {from:?}");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn errors_of(root: &Path) -> ContentErrors {
    match load_blocking(&ContentSource::Dir(root.to_path_buf())) {
        Ok(_) => panic!("broken content loaded without an error"),
        Err(e) => e,
    }
}

#[test]
fn the_built_in_content_passes_validation() {
    let set = embedded();
    assert_eq!(set.seed().task_type, "plan");
    assert!(set.seed().seed);
    let order: Vec<&str> = set
        .graph_order()
        .iter()
        .map(|a| a.task_type.as_str())
        .collect();
    assert_eq!(
        order,
        vec![
            "init",
            "error-tracking",
            "identify",
            "install",
            "plan-capture",
            "capture",
            "build",
            "dashboard",
            "report",
            "verify"
        ]
    );
}

#[tokio::test]
async fn async_load_of_the_built_in_content_matches_the_blocking_load() {
    let set = load(&ContentSource::Embedded).await.unwrap();
    assert_eq!(set.content_hash(), embedded().content_hash());
}

#[test]
fn only_the_build_task_may_run_commands_and_models_follow_the_brief() {
    let set = embedded();
    for agent in set.agents.values() {
        let has_bash = agent.allowed_tools.iter().any(|t| t == "Bash");
        assert_eq!(has_bash, agent.task_type == "build", "{}", agent.task_type);
        // The cheapest model that can do it (issue 16): judgment (which events matter,
        // repairing a broken build) on medium; edits a skill or the plan spells out on small.
        let expected = match agent.task_type.as_str() {
            "plan-capture" | "build" => "medium",
            _ => "small",
        };
        assert_eq!(agent.model, expected, "{}", agent.task_type);
    }
    assert_eq!(
        set.agents["plan-capture"].write,
        vec![".posthog-wizard/event-plan.json"]
    );
    // The manifests only: package.json, Python's, and Gradle's (an Android app's
    // build files and version catalog).
    assert_eq!(
        set.agents["install"].write,
        vec![
            "package.json",
            "pyproject.toml",
            "requirements*.txt",
            "requirements/*.txt",
            "build.gradle",
            "build.gradle.kts",
            "*/build.gradle",
            "*/build.gradle.kts",
            "gradle/libs.versions.toml"
        ]
    );
    assert!(set.agents["dashboard"].write.is_empty());
}

#[test]
fn check_report_lists_agents_and_skills() {
    let set = embedded();
    let report = check_report(&set);
    for agent in set.agents.keys() {
        assert!(
            report.contains(agent.as_str()),
            "report lacks agent {agent}:\n{report}"
        );
    }
    for skill in set.skills.keys() {
        assert!(
            report.contains(skill.as_str()),
            "report lacks skill {skill}:\n{report}"
        );
    }
    assert!(report.contains(&set.content_hash()));
    assert!(report.contains("npm (default)"));
}

#[test]
fn catalogue_has_every_task_type_but_the_seed() {
    let set = embedded();
    let catalogue = set.catalogue();
    assert!(!catalogue.types.contains_key("plan"));
    assert_eq!(catalogue.types.len(), set.agents.len() - 1);
    assert_eq!(catalogue.types["install"].model, "small");
    assert_eq!(
        catalogue.types["install"].label,
        set.agents["install"].label
    );
}

#[test]
fn skills_for_keeps_only_the_skills_of_the_detected_framework() {
    let set = embedded();
    let install = &set.agents["install"];
    let names = |fw: Option<&str>| -> Vec<String> {
        set.skills_for(install, fw)
            .iter()
            .map(|s| s.name.clone())
            .collect()
    };
    assert_eq!(names(Some("nextjs-app-router")), vec!["install-nextjs"]);
    assert_eq!(names(Some("node-express")), vec!["install-node"]);
    assert!(names(None).is_empty());
    let init = &set.agents["init"];
    let init_skills: Vec<&str> = set
        .skills_for(init, None)
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        init_skills,
        vec!["env-values"],
        "framework-free skills always apply"
    );
}

#[test]
fn examples_are_found_by_framework_id() {
    let set = embedded();
    let app = set.example("nextjs-app-router").unwrap();
    assert!(app.contains("instrumentation-client.ts"));
    assert_eq!(
        set.example("nextjs"),
        Some(app),
        "the fallback rule names the app-router example"
    );
    assert!(set.example("react-vite").is_some());
    assert!(set.example("node-express").is_some());
    assert!(set.example("nextjs-pages-router").is_some());
    assert_eq!(set.example("django"), None);
    assert_eq!(set.cassette("no-such-cassette"), None);
}

#[test]
fn export_writes_files_that_load_back_identically() {
    let dir = exported();
    let back = load_blocking(&ContentSource::Dir(dir.path().to_path_buf())).unwrap();
    let original = embedded();
    assert_eq!(back.files, original.files);
    assert_eq!(back.content_hash(), original.content_hash());
}

#[test]
fn export_refuses_a_directory_that_is_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    let err = export_embedded(dir.path()).unwrap_err();
    assert!(err.message.contains("not empty"), "{err}");
    assert_eq!(
        fs::read_to_string(dir.path().join("keep.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn the_content_hash_changes_when_one_byte_changes() {
    let dir = exported();
    let before = load_blocking(&ContentSource::Dir(dir.path().to_path_buf()))
        .unwrap()
        .content_hash();
    edit(dir.path(), "agents/report.md", "Write from", "Write From");
    let after = load_blocking(&ContentSource::Dir(dir.path().to_path_buf()))
        .unwrap()
        .content_hash();
    assert_ne!(before, after);
}

/// One way to break the content, and the error line it must produce.
struct Broken {
    name: &'static str,
    file: &'static str,
    from: &'static str,
    to: &'static str,
    expect: &'static str,
}

#[test]
fn each_kind_of_broken_content_fails_with_its_own_message() {
    let cases = [
        Broken {
            name: "bad YAML",
            file: "agents/install.md",
            from: "allowedTools: [Read, Edit, Glob, Grep, complete_task]",
            to: "allowedTools: [Read, Edit",
            expect: "agents/install.md: invalid YAML",
        },
        Broken {
            name: "unknown skill",
            file: "agents/capture.md",
            from: "skills: [capture-browser,",
            to: "skills: [capture-browsr,",
            expect: "agents/capture.md: skills: unknown skill \"capture-browsr\" (did you mean \"capture-browser\"?)",
        },
        Broken {
            name: "unknown tier",
            file: "agents/build.md",
            from: "model: medium",
            to: "model: meduim",
            expect: "agents/build.md: model: unknown model tier or id \"meduim\" (did you mean \"medium\"?)",
        },
        Broken {
            name: "unknown frontmatter field",
            file: "agents/install.md",
            from: "skills:",
            to: "skils:",
            expect: "agents/install.md: skils: unknown field (did you mean \"skills\"?)",
        },
        Broken {
            name: "unknown dependsOn type",
            file: "agents/capture.md",
            from: "dependsOn: [plan-capture, identify]",
            to: "dependsOn: [plan-captur, identify]",
            expect: "agents/capture.md: dependsOn: unknown task type \"plan-captur\" (did you mean \"plan-capture\"?)",
        },
        Broken {
            name: "two seeds",
            file: "agents/report.md",
            from: "type: report\n",
            to: "type: report\nseed: true\n",
            expect: "agents/report.md: seed: more than one seed (agents/plan.md, agents/report.md)",
        },
        Broken {
            name: "no seed",
            file: "agents/plan.md",
            from: "seed: true\n",
            to: "",
            expect: "agents/: no seed",
        },
        Broken {
            name: "a cycle in dependsOn",
            file: "agents/install.md",
            from: "type: install\n",
            to: "type: install\ndependsOn: [report]\n",
            expect: "dependsOn: the default graph has a cycle: ",
        },
        Broken {
            name: "unknown tool name",
            file: "agents/report.md",
            from: "allowedTools: [Read,",
            to: "allowedTools: [Reed,",
            expect: "agents/report.md: allowedTools: unknown tool \"Reed\" (did you mean \"Read\"?)",
        },
        Broken {
            name: "write glob that does not compile",
            file: "agents/report.md",
            from: "write: [posthog-setup-report.md]",
            to: "write: [\"docs/[a-\"]",
            expect: "agents/report.md: write: glob \"docs/[a-\" does not compile",
        },
        Broken {
            name: "type that is not the file name",
            file: "agents/report.md",
            from: "type: report",
            to: "type: reporter",
            expect: "agents/report.md: type: \"reporter\" does not match the file name \"report\"",
        },
        Broken {
            name: "skill for an unknown framework",
            file: "skills/install-node.md",
            from: "frameworks: [node-express]",
            to: "frameworks: [node-expres]",
            expect: "skills/install-node.md: frameworks: unknown framework \"node-expres\" (did you mean \"node-express\"?)",
        },
        Broken {
            name: "two default package managers",
            file: "frameworks.yaml",
            from: "    run: pnpm run\n",
            to: "    run: pnpm run\n    default: true\n",
            expect: "frameworks.yaml: packageManagers: exactly one needs `default: true` (found 2)",
        },
        Broken {
            name: "unknown field in frameworks.yaml",
            file: "frameworks.yaml",
            from: "    filesPresent:\n      - \"pages/",
            to: "    filesPresnt:\n      - \"pages/",
            expect: "frameworks.yaml: frameworks[1]: unknown field `filesPresnt`",
        },
        Broken {
            name: "a shared state file that is the runner's own",
            file: "frameworks.yaml",
            from: "    - .posthog-wizard/event-plan.json\n",
            to: "    - .posthog-wizard/event-plan.json\n    - .posthog-wizard/queue.json\n",
            expect: "frameworks.yaml: fences.stateFiles[1]: \".posthog-wizard/queue.json\" is the runner's own file",
        },
        Broken {
            name: "a shared state file outside the state folder",
            file: "frameworks.yaml",
            from: "    - .posthog-wizard/event-plan.json\n",
            to: "    - .posthog-wizard/event-plan.json\n    - .posthog-wizard/handoffs/x.json\n",
            expect: "frameworks.yaml: fences.stateFiles[1]: \".posthog-wizard/handoffs/x.json\" must be one file directly in .posthog-wizard/",
        },
        Broken {
            name: "a relay variable that is not a variable name",
            file: "frameworks.yaml",
            from: "    relayEnv: POSTHOG_HOST\n",
            to: "    relayEnv: \"POSTHOG_HOST; rm -rf\"\n",
            expect: "frameworks.yaml: frameworks[0].relayEnv: \"POSTHOG_HOST; rm -rf\" must be an environment variable name",
        },
        Broken {
            name: "a relay variable on a rule the verify step cannot start",
            file: "frameworks.yaml",
            from: "    start: \"npx --no-install next start -H 127.0.0.1 -p {port}\"\n    relayEnv",
            to: "    relayEnv",
            expect: "frameworks.yaml: frameworks[0].relayEnv: \"POSTHOG_HOST\" is set only on an app the verify step starts",
        },
    ];
    for case in cases {
        let dir = exported();
        edit(dir.path(), case.file, case.from, case.to);
        let errors = errors_of(dir.path());
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(case.expect) || l.contains(case.expect)),
            "{}: expected an error like\n  {}\ngot:\n  {}",
            case.name,
            case.expect,
            lines.join("\n  ")
        );
    }
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let dir = exported();
    edit(
        dir.path(),
        "agents/capture.md",
        "skills: [capture-browser,",
        "skills: [nope,",
    );
    edit(
        dir.path(),
        "agents/report.md",
        "allowedTools: [Read,",
        "allowedTools: [Reed,",
    );
    edit(
        dir.path(),
        "agents/build.md",
        "model: medium",
        "model: meduim",
    );
    let errors = errors_of(dir.path());
    let text = errors.to_string();
    assert!(text.starts_with("the content has 3 problems:"), "{text}");
    assert!(text.contains("agents/capture.md: skills"));
    assert!(text.contains("agents/report.md: allowedTools"));
    assert!(text.contains("agents/build.md: model"));
}

#[test]
fn a_broken_skill_is_reported_once_not_again_as_unknown() {
    let dir = exported();
    edit(
        dir.path(),
        "skills/install-node.md",
        "description:",
        "descripton:",
    );
    let errors = errors_of(dir.path());
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].starts_with("skills/install-node.md: descripton: unknown field"));
}

#[test]
fn missing_framework_rules_are_an_error() {
    let dir = exported();
    fs::remove_file(dir.path().join("frameworks.yaml")).unwrap();
    let text = errors_of(dir.path()).to_string();
    assert!(text.contains("frameworks.yaml: missing"), "{text}");
}

#[test]
fn content_whose_agents_are_replaced_by_unrelated_agents_still_loads() {
    let dir = exported();
    let agents = dir.path().join("agents");
    fs::remove_dir_all(&agents).unwrap();
    fs::create_dir(&agents).unwrap();
    fs::write(
        agents.join("triage.md"),
        "---\ntype: triage\nseed: true\nlabel: Triage\nmodel: small\ngoal: Look and enqueue.\nsuccess: One task enqueued.\nallowedTools: [Read, enqueue_task]\n---\nLook, then enqueue `summarise`.\n",
    )
    .unwrap();
    fs::write(
        agents.join("summarise.md"),
        "---\ntype: summarise\nlabel: Summarise the repo\nmodel: claude-haiku-4-5\ngoal: Write a summary.\nsuccess: SUMMARY.md exists.\nskills: [setup-report]\nallowedTools: [Read, Write, complete_task, \"mcp__docs__search\"]\nwrite: [SUMMARY.md]\n---\nSummarise.\n",
    )
    .unwrap();
    let set = load_blocking(&ContentSource::Dir(dir.path().to_path_buf())).unwrap();
    assert_eq!(set.seed().task_type, "triage");
    let order: Vec<&str> = set
        .graph_order()
        .iter()
        .map(|a| a.task_type.as_str())
        .collect();
    assert_eq!(order, vec!["summarise"]);
    assert_eq!(set.agents["summarise"].body, "Summarise.");
}

#[test]
fn validate_models_reports_names_the_providers_do_not_know() {
    let set = embedded();
    assert!(set.validate_models(|_| true).is_empty());
    let known = ["small", "large"];
    let errors = set.validate_models(|m| known.contains(&m));
    let files: Vec<&str> = errors.iter().map(|e| e.file.as_str()).collect();
    assert!(files.contains(&"agents/build.md"), "{files:?}");
    assert!(!files.contains(&"agents/install.md"), "{files:?}");
    assert!(errors.iter().all(|e| e.field.as_deref() == Some("model")));
}

#[test]
fn embedded_store_lists_what_the_content_directory_holds() {
    let embedded = FileStore::Embedded.read_all().unwrap();
    let dir = FileStore::Dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("content"))
        .read_all()
        .unwrap();
    assert_eq!(
        embedded.keys().collect::<Vec<_>>(),
        dir.keys().collect::<Vec<_>>()
    );
}

#[test]
fn bad_checks_are_content_errors_naming_the_file_and_field() {
    let dir = exported();
    edit(
        dir.path(),
        "agents/report.md",
        "maxTurns:",
        "check:\n  - npm run build && rm -rf /\n  - cat ../outside\ncheckFiles:\n  - files: \"src/[a-\"\n  - files: \"**/*.ts\"\n    pattern: 'posthog.init('\n  - files: \"**/*.ts\"\n    min: 2\n    max: 1\nmaxTurns:",
    );
    let lines: Vec<String> = errors_of(dir.path())
        .iter()
        .map(ToString::to_string)
        .collect();
    let has = |prefix: &str| lines.iter().any(|l| l.starts_with(prefix));
    assert!(
        has("agents/report.md: check[0]: `npm run build && rm -rf /`"),
        "{lines:#?}"
    );
    assert!(has("agents/report.md: check[1]:"), "{lines:#?}");
    assert!(
        has("agents/report.md: checkFiles[0].files: glob"),
        "{lines:#?}"
    );
    assert!(
        has("agents/report.md: checkFiles[1].pattern: regex"),
        "{lines:#?}"
    );
    assert!(has("agents/report.md: checkFiles[2].max:"), "{lines:#?}");
    assert_eq!(lines.len(), 5, "{lines:#?}");
}

#[test]
fn checks_in_the_documented_format_load() {
    let dir = exported();
    edit(
        dir.path(),
        "agents/report.md",
        "maxTurns:",
        "check:\n  - npm run build\ncheckFiles:\n  - files: \"{instrumentation-client,src/instrumentation-client}.{ts,js}\"\n    min: 1\n  - files: \"**/*.{ts,tsx,js,jsx,mjs,cjs}\"\n    pattern: 'posthog\\.init\\('\n    min: 1\n    max: 1\n    message: exactly one posthog.init in the app\nmaxTurns:",
    );
    let set = load_blocking(&ContentSource::Dir(dir.path().to_path_buf())).unwrap();
    let report = &set.agents["report"];
    assert_eq!(report.check, vec!["npm run build"]);
    assert_eq!(report.check_files.len(), 2);
    assert_eq!(report.check_files[1].bounds(), (1, Some(1)));
    assert_eq!(report.check_files[0].bounds(), (1, None));
    assert_eq!(
        report.check_files[1].message.as_deref(),
        Some("exactly one posthog.init in the app")
    );
}

#[test]
fn keep_needs_a_pattern_and_with_one_loads_as_at_least_what_there_was() {
    let dir = exported();
    edit(
        dir.path(),
        "agents/report.md",
        "maxTurns:",
        "checkFiles:\n  - files: \"instrumentation-client.ts\"\n    keep: true\nmaxTurns:",
    );
    let lines: Vec<String> = errors_of(dir.path())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("agents/report.md: checkFiles[0].keep: ")
            && lines[0].contains("pattern"),
        "{lines:#?}"
    );

    let dir = exported();
    edit(
        dir.path(),
        "agents/report.md",
        "maxTurns:",
        "checkFiles:\n  - files: \"instrumentation-client.ts\"\n    pattern: '\\.init\\('\n    keep: true\nmaxTurns:",
    );
    let set = load_blocking(&ContentSource::Dir(dir.path().to_path_buf())).unwrap();
    let keep = &set.agents["report"].check_files[0];
    assert!(keep.keep);
    // No lower bound of its own: a file that did not exist may stay absent.
    assert_eq!(keep.bounds(), (0, None));
}
