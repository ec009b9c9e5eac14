//! The content's frameworks hold together: every framework the content supports
//! (a rule with a reference example) has skills of its own for each integration
//! task, and the files those skills tell an agent to write are inside that
//! agent's `write` globs.

use wizard::content::{load_blocking, ContentSet, ContentSource};
use wizard::tools::paths::resolve;
use wizard::tools::permissions::check_write_allowed;
use wizard::tools::Permissions;

fn embedded() -> ContentSet {
    match load_blocking(&ContentSource::Embedded) {
        Ok(set) => set,
        Err(e) => panic!("the built-in content must validate:\n{e}"),
    }
}

/// The tasks whose work depends on the framework.
const FRAMEWORK_TASKS: [&str; 5] = ["install", "init", "identify", "error-tracking", "capture"];

#[test]
fn every_supported_framework_has_its_own_skill_for_each_integration_task() {
    let set = embedded();
    let mut missing = Vec::new();
    // A rule with an example is a framework the content supports; one without
    // is detected only (named in the run, no framework skills yet).
    let supported = set
        .frameworks
        .frameworks
        .iter()
        .filter(|r| r.example.is_some());
    for rule in supported {
        for task in FRAMEWORK_TASKS {
            let agent = &set.agents[task];
            let own = set.skills_for(agent, Some(&rule.id)).iter().any(|s| {
                s.frameworks
                    .as_ref()
                    .is_some_and(|ids| ids.contains(&rule.id))
            });
            if !own {
                missing.push(format!("{task} for {}", rule.id));
            }
        }
    }
    assert!(missing.is_empty(), "no framework skill: {missing:?}");
}

/// Asserts that `agent` may write each of `files` (paths a skill names).
fn assert_may_write(set: &ContentSet, agent: &str, files: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let perms = Permissions {
        write: set.agents[agent].write.clone(),
        ..Permissions::default()
    };
    for file in files {
        let path = resolve(dir.path(), file).unwrap();
        if let Err(e) = check_write_allowed(&perms, &Default::default(), &path) {
            panic!("{agent} may not write {file}, which its skills name: {e}");
        }
    }
}

#[test]
fn the_react_router_and_remix_skills_name_files_their_agents_may_write() {
    let set = embedded();
    assert_may_write(
        &set,
        "init",
        &[
            "vite.config.ts",
            "app/entry.client.tsx",
            "app/lib/posthog.server.ts",
            "app/routes/ingest.$.ts",
            "app/routes.ts",
            "src/main.tsx",
        ],
    );
    assert_may_write(
        &set,
        "identify",
        &["app/root.tsx", "app/routes/login.tsx", "src/auth.ts"],
    );
    assert_may_write(
        &set,
        "error-tracking",
        &["app/root.tsx", "app/entry.server.tsx", "src/Root.tsx"],
    );
    assert_may_write(
        &set,
        "capture",
        &["app/routes/projects.tsx", "app/routes/api.project-star.ts"],
    );
    assert_may_write(&set, "build", &["vite.config.ts", "app/root.tsx"]);
}

#[test]
fn the_node_server_skills_name_files_their_agents_may_write() {
    let set = embedded();
    assert_may_write(
        &set,
        "init",
        &[
            "lib/posthog.js",
            "src/lib/posthog.ts",
            "server.js",
            "src/server.ts",
            "src/index.ts",
            "src/main.ts",
        ],
    );
    assert_may_write(
        &set,
        "error-tracking",
        &["server.js", "src/main.ts", "src/index.ts"],
    );
    assert_may_write(&set, "identify", &["server.js", "src/auth/auth.service.ts"]);
    assert_may_write(
        &set,
        "capture",
        &["server.js", "src/todos/todos.service.ts", "routes/todos.js"],
    );
}

#[test]
fn the_python_skills_name_files_their_agents_may_write_and_never_the_venv() {
    let set = embedded();
    assert_may_write(
        &set,
        "install",
        &[
            "pyproject.toml",
            "requirements.txt",
            "requirements/base.txt",
        ],
    );
    assert_may_write(
        &set,
        "init",
        &[
            "main.py",
            "app/main.py",
            "shop/settings.py",
            "todos/apps.py",
            "src/shop/settings.py",
        ],
    );
    for agent in ["identify", "error-tracking", "capture"] {
        assert_may_write(
            &set,
            agent,
            &["app.py", "todos/views.py", "src/api/routes/todos.py"],
        );
    }
    assert_may_write(&set, "build", &["shop/settings.py", "pyproject.toml"]);
    // The project's virtual environment is installed code, not the app's.
    let dir = tempfile::tempdir().unwrap();
    for agent in ["init", "identify", "error-tracking", "capture", "build"] {
        let perms = Permissions {
            write: set.agents[agent].write.clone(),
            ..Permissions::default()
        };
        let venv_file = resolve(dir.path(), ".venv/lib/python3.12/site-packages/x.py").unwrap();
        assert!(
            check_write_allowed(&perms, &Default::default(), &venv_file).is_err(),
            "{agent} may write into .venv"
        );
    }
}

#[test]
fn the_vue_and_nuxt_skills_name_files_their_agents_may_write() {
    let set = embedded();
    assert_may_write(
        &set,
        "init",
        &[
            "nuxt.config.ts",
            "server/routes/ingest/[...path].ts",
            "plugins/posthog.client.ts",
            "app/plugins/posthog.client.ts",
            "src/main.ts",
        ],
    );
    for agent in ["identify", "error-tracking", "capture"] {
        assert_may_write(
            &set,
            agent,
            &[
                "app.vue",
                "components/LoginForm.vue",
                "app/stores/auth.ts",
                "src/App.vue",
            ],
        );
    }
    assert_may_write(&set, "error-tracking", &["error.vue", "nuxt.config.ts"]);
    assert_may_write(
        &set,
        "capture",
        &["server/api/projects.post.ts", "server/utils/posthog.ts"],
    );
}

#[test]
fn the_sveltekit_skills_name_files_their_agents_may_write() {
    let set = embedded();
    assert_may_write(
        &set,
        "init",
        &[
            "src/hooks.client.ts",
            "src/hooks.server.ts",
            "src/lib/server/posthog.ts",
            "src/routes/+layout.svelte",
        ],
    );
    for agent in ["identify", "capture"] {
        assert_may_write(
            &set,
            agent,
            &[
                "src/routes/+layout.svelte",
                "src/routes/projects/+page.server.ts",
            ],
        );
    }
    assert_may_write(
        &set,
        "error-tracking",
        &["src/hooks.client.ts", "src/hooks.server.ts"],
    );
}

#[test]
fn the_astro_skills_name_files_their_agents_may_write() {
    let set = embedded();
    assert_may_write(
        &set,
        "init",
        &[
            "src/components/PostHog.astro",
            "src/layouts/Layout.astro",
            "src/pages/index.astro",
        ],
    );
    for agent in ["identify", "error-tracking", "capture"] {
        assert_may_write(
            &set,
            agent,
            &["src/layouts/Layout.astro", "src/pages/api/subscribe.ts"],
        );
    }
}

#[test]
fn the_angular_tanstack_and_react_native_skills_name_files_their_agents_may_write() {
    let set = embedded();
    assert_may_write(
        &set,
        "init",
        &[
            "angular.json",
            "src/env.d.ts",
            "src/main.ts",
            "src/main.tsx",
            "src/routes/__root.tsx",
            "src/routes/ingest.$.ts",
            "src/lib/posthog.server.ts",
            "src/posthog.ts",
            "app/_layout.tsx",
            "App.tsx",
        ],
    );
    for agent in ["identify", "capture"] {
        assert_may_write(
            &set,
            agent,
            &[
                "src/app/auth.service.ts",
                "src/app/new-project.component.ts",
                "src/server/projects.ts",
                "app/projects/new.tsx",
                "src/screens/NewProject.tsx",
                "App.tsx",
            ],
        );
    }
    assert_may_write(
        &set,
        "error-tracking",
        &[
            "src/app/posthog-error-handler.ts",
            "src/app/app.config.ts",
            "src/router.tsx",
            "app/_layout.tsx",
            "App.tsx",
        ],
    );
}

#[test]
fn the_android_skills_name_files_their_agents_may_write() {
    let set = embedded();
    assert_may_write(
        &set,
        "install",
        &[
            "app/build.gradle.kts",
            "app/build.gradle",
            "gradle/libs.versions.toml",
        ],
    );
    assert_may_write(
        &set,
        "init",
        &[
            "app/build.gradle.kts",
            "app/src/main/AndroidManifest.xml",
            "app/src/main/java/com/example/shop/ShopApplication.kt",
            "app/src/main/java/com/example/shop/ShopApplication.java",
        ],
    );
    for agent in ["identify", "error-tracking", "capture", "build"] {
        assert_may_write(
            &set,
            agent,
            &["app/src/main/java/com/example/shop/AuthViewModel.kt"],
        );
    }
    // The Gradle build runs code: only install and init may change it.
    let dir = tempfile::tempdir().unwrap();
    let gradle = resolve(dir.path(), "app/build.gradle.kts").unwrap();
    for agent in ["identify", "error-tracking", "capture", "build"] {
        let perms = Permissions {
            write: set.agents[agent].write.clone(),
            ..Permissions::default()
        };
        assert!(
            check_write_allowed(&perms, &Default::default(), &gradle).is_err(),
            "{agent} may write app/build.gradle.kts"
        );
    }
}

#[test]
fn the_build_may_add_expos_helpers_and_build_android_only_through_its_fence() {
    let set = embedded();
    let perms = set.agents["build"].permissions();
    for command in [
        "npx expo install expo-file-system expo-application expo-device expo-localization",
        "java -version",
        "./gradlew assembleDebug",
    ] {
        wizard::tools::permissions::check_bash_command(&perms, command)
            .unwrap_or_else(|e| panic!("build may not run {command}: {e}"));
    }
    // Only the debug build: no other Gradle task (publishing, signing) and no shell.
    for command in ["./gradlew publish", "./gradlew assembleDebug && curl x"] {
        assert!(
            wizard::tools::permissions::check_bash_command(&perms, command).is_err(),
            "build may run {command}"
        );
    }
}
