//! `wizard demo --app NAME`: any bundled sample app with a cassette of its name runs
//! offline, end to end through the real binary (the default app stays `next-app`,
//! which `tests/demo_cassette.rs` pins). Only the model is scripted: the queue, the
//! agent loop, the tools and the content's permissions are real, so a scripted call a
//! task may not make, or an `Edit` whose `old_string` is not in the file, shows up as
//! a refused or failed tool call in the log.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use wizard::messages::{QueueFile, Verdict};

/// What the agent loop logs when a tool call is refused or fails.
const TOOL_FAILURE_LOG: &str = "tool refused or failed";

/// Runs `wizard demo` at speed 0 with `args` into `dir`.
fn demo(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wizard"))
        .arg("demo")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .args(["--speed", "0", "--ui", "json"])
        .env("WIZARD_LOG", "info")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("POSTHOG_PROJECT_TOKEN")
        .env_remove("POSTHOG_HOST")
        .env_remove("WIZARD_ORCHESTRATOR")
        .stdin(Stdio::null())
        .output()
        .expect("run wizard demo")
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

/// Plays sample app `name`'s cassette offline and checks the run succeeded with no
/// refused or failed tool call and detected `framework` on the copy; returns the copy.
fn integrated_offline(name: &str, framework: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    let out = demo(&app, &["--app", name]);
    let log = std::fs::read_to_string(app.join(".posthog-wizard/wizard.log")).unwrap_or_default();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr:\n{}\nlog:\n{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    let failures: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(TOOL_FAILURE_LOG))
        .collect();
    assert!(
        failures.is_empty(),
        "refused or failed tool calls:\n{}",
        failures.join("\n")
    );
    let queue: QueueFile = serde_json::from_str(&read(&app, ".posthog-wizard/queue.json")).unwrap();
    let outcome = queue.outcome.expect("an outcome");
    assert_eq!(outcome.verdict, Verdict::Success, "{}", outcome.message);
    assert_eq!(
        queue.run.framework.as_deref(),
        Some(framework),
        "detection ran on the copied app"
    );
    (tmp, app)
}

#[test]
fn the_react_router_sample_app_is_integrated_offline_by_its_cassette() {
    let (_tmp, app) = integrated_offline("react-router-app", "React Router (framework mode)");

    // The copy is the React Router app, and the integration the skills describe is in it.
    assert!(read(&app, "react-router.config.ts").contains("ssr: true"));
    let manifest = read(&app, "package.json");
    for sdk in ["posthog-js", "@posthog/react", "posthog-node"] {
        assert!(
            manifest.contains(&format!("\"{sdk}\"")),
            "{sdk} not declared"
        );
    }
    assert!(
        read(&app, "vite.config.ts").contains("noExternal: [\"posthog-js\", \"@posthog/react\"]")
    );
    let entry = read(&app, "app/entry.client.tsx");
    assert!(entry.contains("import.meta.env.VITE_PUBLIC_POSTHOG_PROJECT_TOKEN"));
    assert!(entry.contains("<PostHogProvider client={posthog}>"));
    assert!(read(&app, "app/routes.ts").contains("route(\"ingest/*\", \"routes/ingest.$.ts\")"));
    let root = read(&app, "app/root.tsx");
    assert!(root.contains("posthog.identify(user.id"));
    assert!(root.contains("onSubmit={() => posthog.reset()}"));
    assert!(root.contains("posthog.captureException(error)"));
    assert!(read(&app, "app/routes/login.tsx").contains("event: \"user_logged_in\""));
    let projects = read(&app, "app/routes/projects.tsx");
    assert!(projects.contains("event: \"project_created\""));
    assert!(projects.contains("posthog.capture(\"project_starred\""));
    let env = read(&app, ".env");
    assert!(env.contains("VITE_PUBLIC_POSTHOG_PROJECT_TOKEN="), "{env}");
    assert!(env.contains("VITE_PUBLIC_POSTHOG_HOST="), "{env}");
    assert!(app.join("posthog-setup-report.md").is_file());
}

#[test]
fn the_fastapi_sample_app_is_integrated_offline_by_its_cassette() {
    let (_tmp, app) = integrated_offline("fastapi-app", "FastAPI");
    assert!(
        !app.join(".venv").exists(),
        "the demo runs no command: no virtual environment"
    );
    assert!(read(&app, "requirements.txt").contains("posthog>=7.91.1,<8"));
    let main = read(&app, "main.py");
    for line in [
        "posthog.project_api_key = os.environ.get(\"POSTHOG_PROJECT_TOKEN\", \"\")",
        "app.add_middleware(PosthogASGIMiddleware)",
        "posthog.identify_context(user.id)",
        "posthog.capture(\"user_logged_in\", distinct_id=user.id)",
        "posthog.capture(\"note_created\", properties={\"note_id\": note.id})",
        "posthog.capture(\"note_pinned\", properties={\"note_id\": note.id})",
    ] {
        assert!(main.contains(line), "main.py lacks {line}:\n{main}");
    }
    // The client is configured after load_dotenv() and before the app exists.
    let at = |needle: &str| main.find(needle).unwrap();
    assert!(at("load_dotenv()\n") < at("posthog.project_api_key"));
    assert!(at("posthog.project_api_key") < at("app = FastAPI("));
    let env = read(&app, ".env");
    assert!(env.contains("POSTHOG_PROJECT_TOKEN="), "{env}");
    assert!(env.contains("POSTHOG_HOST="), "{env}");
    assert!(read(&app, "posthog-setup-report.md").contains("note_pinned"));
}

#[test]
fn the_fastify_sample_app_is_integrated_offline_by_its_cassette() {
    let (_tmp, app) = integrated_offline("fastify-app", "Node.js (Fastify)");
    assert!(read(&app, "package.json").contains("\"posthog-node\": \"^5.70.0\""));
    assert!(read(&app, "lib/posthog.js").contains("process.env.POSTHOG_PROJECT_TOKEN"));
    let server = read(&app, "server.js");
    for line in [
        "import { posthog } from './lib/posthog.js'",
        "distinctId: request.user?.id,",
        "await posthog.shutdown()",
        "posthog.captureException(error, request.user?.id, {",
        "posthog.identify({ distinctId: user.id, properties: { email: user.email } })",
        "posthog.capture({ distinctId: user.id, event: 'user_signed_up' })",
        "posthog.capture({ distinctId: user.id, event: 'user_logged_in' })",
        "posthog.capture({ event: 'todo_created', properties: { todo_id: todo.id } })",
        "posthog.capture({ event: 'todo_completed', properties: { todo_id: todo.id } })",
    ] {
        assert!(server.contains(line), "server.js lacks {line}:\n{server}");
    }
    // The context hook runs after the app's own authentication hook.
    let at = |needle: &str| server.find(needle).unwrap();
    assert!(at("request.user = store.userForToken") < at("posthog.withContext("));
    let env = read(&app, ".env");
    assert!(env.contains("POSTHOG_PROJECT_TOKEN="), "{env}");
    assert!(read(&app, "posthog-setup-report.md").contains("todo_completed"));
}

#[test]
fn the_hono_sample_app_is_integrated_offline_by_its_cassette() {
    let (_tmp, app) = integrated_offline("hono-app", "Node.js (Hono)");
    assert!(read(&app, "package.json").contains("\"posthog-node\": \"^5.70.0\""));
    assert!(read(&app, "src/lib/posthog.ts").contains("process.env.POSTHOG_PROJECT_TOKEN"));
    let index = read(&app, "src/index.ts");
    for line in [
        "import { posthog } from './lib/posthog.js'",
        "{ distinctId: c.get('user')?.id, sessionId: c.req.header('x-posthog-session-id') },",
        "await posthog.shutdown()",
        "posthog.captureException(err, c.get('user')?.id, { $request_path: c.req.routePath })",
        "posthog.identify({ distinctId: user.id, properties: { email: user.email } })",
        "posthog.capture({ distinctId: user.id, event: 'user_signed_up' })",
        "posthog.capture({ distinctId: user.id, event: 'user_logged_in' })",
        "posthog.capture({ event: 'link_saved', properties: { link_id: link.id } })",
        "posthog.capture({ event: 'link_archived', properties: { link_id: link.id } })",
    ] {
        assert!(index.contains(line), "src/index.ts lacks {line}:\n{index}");
    }
    // The context middleware runs after the app's own session middleware.
    let at = |needle: &str| index.find(needle).unwrap();
    assert!(at("c.set('user', sid ?") < at("posthog.withContext("));
    assert!(read(&app, ".env").contains("POSTHOG_PROJECT_TOKEN="));
    assert!(read(&app, "posthog-setup-report.md").contains("link_archived"));
}

#[test]
fn the_koa_sample_app_is_integrated_offline_by_its_cassette() {
    let (_tmp, app) = integrated_offline("koa-app", "Node.js (Koa)");
    assert!(read(&app, "package.json").contains("\"posthog-node\": \"^5.70.0\""));
    assert!(read(&app, "lib/posthog.js").contains("process.env.POSTHOG_PROJECT_TOKEN"));
    assert!(read(&app, "server.js").contains("await posthog.shutdown()"));
    let main = read(&app, "app.js");
    for line in [
        "import { posthog } from './lib/posthog.js'",
        "{ distinctId: ctx.state.user?.id, sessionId: ctx.get('x-posthog-session-id') || undefined },",
        "app.on('error', (err, ctx) => posthog.captureException(err, ctx?.state.user?.id))",
        "posthog.identify({ distinctId: user.id, properties: { email: user.email } })",
        "posthog.capture({ distinctId: user.id, event: 'user_signed_up' })",
        "posthog.capture({ distinctId: user.id, event: 'user_logged_in' })",
        "posthog.capture({ event: 'habit_created', properties: { habit_id: habit.id } })",
        "posthog.capture({ event: 'habit_checked_in', properties: { habit_id: habit.id, streak: habit.streak } })",
    ] {
        assert!(main.contains(line), "app.js lacks {line}:\n{main}");
    }
    // The context middleware runs after the app's own session middleware.
    let at = |needle: &str| main.find(needle).unwrap();
    assert!(at("ctx.state.user = sid ?") < at("posthog.withContext("));
    assert!(read(&app, ".env").contains("POSTHOG_PROJECT_TOKEN="));
    assert!(read(&app, "posthog-setup-report.md").contains("habit_checked_in"));
}

#[test]
fn the_nest_sample_app_is_integrated_offline_by_its_cassette() {
    let (_tmp, app) = integrated_offline("nest-app", "NestJS");
    assert!(read(&app, "package.json").contains("\"posthog-node\": \"^5.70.0\""));
    assert!(read(&app, "src/lib/posthog.ts").contains("process.env.POSTHOG_PROJECT_TOKEN"));
    let main = read(&app, "src/main.ts");
    for line in [
        "import { PostHogInterceptor } from 'posthog-node/nestjs'",
        "new PostHogInterceptor(posthog, { captureExceptions: true, getDistinctId: (req) => req.user?.id }),",
        "await posthog.shutdown()",
    ] {
        assert!(main.contains(line), "src/main.ts lacks {line}:\n{main}");
    }
    let at = |needle: &str| main.find(needle).unwrap();
    assert!(at("NestFactory.create(AppModule)") < at("app.useGlobalInterceptors("));
    let auth = read(&app, "src/auth/auth.service.ts");
    for line in [
        "posthog.identify({ distinctId: user.id, properties: { email: user.email } })",
        "posthog.capture({ distinctId: user.id, event: 'user_signed_up' })",
        "posthog.capture({ distinctId: user.id, event: 'user_logged_in' })",
    ] {
        assert!(auth.contains(line), "auth.service.ts lacks {line}:\n{auth}");
    }
    let issues = read(&app, "src/issues/issues.service.ts");
    for line in [
        "import { posthog } from '../lib/posthog'",
        "posthog.capture({ event: 'issue_opened', properties: { issue_id: issue.id } })",
        "posthog.capture({ event: 'issue_closed', properties: { issue_id: issue.id } })",
    ] {
        assert!(
            issues.contains(line),
            "issues.service.ts lacks {line}:\n{issues}"
        );
    }
    assert!(read(&app, ".env").contains("POSTHOG_PROJECT_TOKEN="));
    assert!(read(&app, "posthog-setup-report.md").contains("issue_closed"));
}

#[test]
fn the_node_http_sample_app_is_integrated_offline_by_its_cassette() {
    let (_tmp, app) = integrated_offline("http-app", "Node.js (node:http)");
    let manifest = read(&app, "package.json");
    let manifest: serde_json::Value = serde_json::from_str(&manifest).expect("valid JSON");
    assert_eq!(manifest["dependencies"]["posthog-node"], "^5.70.0");
    assert!(read(&app, "lib/posthog.js").contains("process.env.POSTHOG_PROJECT_TOKEN"));
    let server = read(&app, "server.js");
    for line in [
        "import { posthog } from './lib/posthog.js'",
        "{ distinctId: req.user?.id, sessionId: req.headers['x-posthog-session-id'] },",
        "() => route(req, res),",
        "await posthog.shutdown()",
        "posthog.captureException(err, req.user?.id)",
        "posthog.identify({ distinctId: created.id, properties: { email: created.email } })",
        "posthog.capture({ distinctId: created.id, event: 'user_signed_up' })",
        "posthog.capture({ distinctId: found.id, event: 'user_logged_in' })",
        "posthog.capture({ event: 'poll_created', properties: { poll_id: poll.id } })",
        "posthog.capture({ event: 'poll_voted', properties: { poll_id: poll.id, answer } })",
    ] {
        assert!(server.contains(line), "server.js lacks {line}:\n{server}");
    }
    // The context wraps the routing after the listener's own authentication.
    let at = |needle: &str| server.find(needle).unwrap();
    assert!(at("req.user = store.userForSession") < at("posthog.withContext("));
    assert!(read(&app, ".env").contains("POSTHOG_PROJECT_TOKEN="));
    assert!(read(&app, "posthog-setup-report.md").contains("poll_voted"));
}

#[test]
fn the_flask_sample_app_is_integrated_offline_by_its_cassette() {
    let (_tmp, app) = integrated_offline("flask-app", "Flask");
    assert!(read(&app, "requirements.txt").contains("posthog>=7.91.1,<8"));
    let main = read(&app, "app.py");
    for line in [
        "posthog.project_api_key = os.environ.get(\"POSTHOG_PROJECT_TOKEN\", \"\")",
        "PosthogFlaskIntegration(app)",
        "posthog.identify_context(g.user.id)",
        "posthog.capture(\"user_logged_in\", distinct_id=user.id)",
        "posthog.capture(\"bookmark_added\", properties={\"bookmark_id\": bookmark.id})",
        "posthog.capture(\"bookmark_archived\", properties={\"bookmark_id\": bookmark.id})",
    ] {
        assert!(main.contains(line), "app.py lacks {line}:\n{main}");
    }
    let at = |needle: &str| main.find(needle).unwrap();
    assert!(at("posthog.project_api_key") < at("app = Flask("));
    assert!(at("app = Flask(") < at("PosthogFlaskIntegration(app)"));
    assert!(read(&app, ".env").contains("POSTHOG_PROJECT_TOKEN="));
    assert!(read(&app, "posthog-setup-report.md").contains("bookmark_archived"));
}

#[test]
fn the_django_sample_app_is_integrated_offline_by_its_cassette() {
    let (_tmp, app) = integrated_offline("django-app", "Django");
    assert!(read(&app, "requirements.txt").contains("posthog>=7.91.1,<8"));
    let config = read(&app, "books/apps.py");
    assert!(config.contains("    def ready(self):"), "{config}");
    assert!(config
        .contains("posthog.project_api_key = os.environ.get(\"POSTHOG_PROJECT_TOKEN\", \"\")"));
    let settings = read(&app, "reading/settings.py");
    let at = |needle: &str| settings.find(needle).unwrap();
    assert!(
        at("django.contrib.auth.middleware.AuthenticationMiddleware")
            < at("posthog.integrations.django.PosthogContextMiddleware"),
        "{settings}"
    );
    assert!(settings.contains("POSTHOG_MW_CAPTURE_EXCEPTIONS = True"));
    let views = read(&app, "books/views.py");
    for line in [
        "posthog.capture(\"user_logged_in\", distinct_id=str(user.pk))",
        "posthog.capture(\"book_added\", properties={\"book_id\": book.id})",
        "posthog.capture(\"book_finished\", properties={\"book_id\": book.id})",
    ] {
        assert!(
            views.contains(line),
            "books/views.py lacks {line}:\n{views}"
        );
    }
    assert!(read(&app, ".env").contains("POSTHOG_PROJECT_TOKEN="));
    assert!(read(&app, "posthog-setup-report.md").contains("book_finished"));
}

#[test]
fn the_sveltekit_sample_app_is_integrated_offline_by_its_cassette() {
    let (_tmp, app) = integrated_offline("sveltekit-app", "SvelteKit");
    let manifest = read(&app, "package.json");
    for sdk in ["posthog-js", "posthog-node"] {
        assert!(
            manifest.contains(&format!("\"{sdk}\"")),
            "{sdk} not declared"
        );
    }
    let client = read(&app, "src/hooks.client.ts");
    assert!(client.contains("export const init: ClientInit"), "{client}");
    assert!(client.contains("posthog.init(env.PUBLIC_POSTHOG_PROJECT_TOKEN"));
    assert!(client.contains("posthog.captureException(error)"));
    assert!(read(&app, "src/lib/server/posthog.ts").contains("new PostHog("));
    let hooks = read(&app, "src/hooks.server.ts");
    for line in [
        "const loadUser: Handle = async",
        "export const handle = sequence(posthogProxy, loadUser);",
        "event.locals.user?.id ?? event.request.headers.get('x-posthog-distinct-id')",
    ] {
        assert!(
            hooks.contains(line),
            "hooks.server.ts lacks {line}:\n{hooks}"
        );
    }
    let layout = read(&app, "src/routes/+layout.svelte");
    assert!(layout.contains("posthog.identify(data.user.id"), "{layout}");
    assert!(
        layout.contains("onsubmit={() => posthog.reset()}"),
        "{layout}"
    );
    assert!(read(&app, "src/routes/login/+page.server.ts")
        .contains("posthog.capture({ distinctId: user.id, event: 'user_logged_in' });"));
    assert!(read(&app, "src/routes/projects/+page.server.ts").contains("event: 'project_created'"));
    assert!(read(&app, "src/routes/api/projects/[id]/star/+server.ts")
        .contains("event: 'project_starred'"));
    let env = read(&app, ".env");
    assert!(env.contains("PUBLIC_POSTHOG_PROJECT_TOKEN="), "{env}");
    assert!(env.contains("PUBLIC_POSTHOG_HOST="), "{env}");
    assert!(read(&app, "posthog-setup-report.md").contains("project_starred"));
}

#[test]
fn the_astro_sample_app_is_integrated_offline_by_its_cassette() {
    let (_tmp, app) = integrated_offline("astro-app", "Astro");
    let manifest = read(&app, "package.json");
    for sdk in ["posthog-js", "posthog-node"] {
        assert!(
            manifest.contains(&format!("\"{sdk}\"")),
            "{sdk} not declared"
        );
    }
    let init = read(&app, "src/components/PostHog.astro");
    assert!(init.contains("posthog.init(token, {"), "{init}");
    assert!(init.contains("tracing_headers: [window.location.hostname]"));
    assert!(read(&app, "src/lib/posthog-server.ts").contains("new PostHog("));
    let layout = read(&app, "src/layouts/Layout.astro");
    for line in [
        "import PostHog from '../components/PostHog.astro';",
        "<PostHog />",
        "posthog.identify(el.dataset.id",
        "addEventListener('submit', () => posthog.reset())",
    ] {
        assert!(
            layout.contains(line),
            "Layout.astro lacks {line}:\n{layout}"
        );
    }
    assert!(read(&app, "src/pages/login.astro")
        .contains("posthog.capture({ distinctId: user.id, event: 'user_logged_in' });"));
    assert!(read(&app, "src/pages/api/subscribe.ts").contains("event: 'newsletter_subscribed'"));
    let env = read(&app, ".env");
    assert!(env.contains("PUBLIC_POSTHOG_PROJECT_TOKEN="), "{env}");
    assert!(env.contains("PUBLIC_POSTHOG_HOST="), "{env}");
    assert!(read(&app, "posthog-setup-report.md").contains("newsletter_subscribed"));
}

#[test]
fn an_unknown_sample_app_is_refused_with_the_ones_there_are() {
    let tmp = tempfile::tempdir().unwrap();
    let out = demo(&tmp.path().join("app"), &["--app", "no-such-app"]);
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no sample app named \"no-such-app\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("next-app") && stderr.contains("react-router-app"),
        "{stderr}"
    );
    assert!(!tmp.path().join("app").exists(), "nothing was copied");
}

#[test]
fn the_vue_sample_app_is_integrated_offline_by_its_cassette() {
    let (_tmp, app) = integrated_offline("vue-app", "Vue (Vite)");
    assert!(read(&app, "package.json").contains("\"posthog-js\": \"^1.449.2\""));
    let main = read(&app, "src/main.ts");
    for line in [
        "import posthog from 'posthog-js'",
        "const token = import.meta.env.VITE_PUBLIC_POSTHOG_PROJECT_TOKEN",
        "api_host: import.meta.env.VITE_PUBLIC_POSTHOG_HOST,",
        "posthog.captureException(err, { vue_info: info })",
    ] {
        assert!(main.contains(line), "src/main.ts lacks {line}:\n{main}");
    }
    // The init runs before the stored session is restored (and identified).
    let at = |needle: &str| main.find(needle).unwrap();
    assert!(at("posthog.init(") < at("restoreSession()\n"));
    let auth = read(&app, "src/auth.ts");
    for line in [
        "posthog.identify(currentUser.value.id,",
        "posthog.identify(user.id, { email: user.email, name: user.name })",
        "posthog.capture('user_logged_in')",
        "posthog.reset()",
    ] {
        assert!(auth.contains(line), "src/auth.ts lacks {line}:\n{auth}");
    }
    let books = read(&app, "src/views/BooksView.vue");
    for line in [
        "posthog.captureException(err)",
        "posthog.capture('book_added', { book_id: book.id })",
        "posthog.capture('book_finished', { book_id: book.id })",
    ] {
        assert!(books.contains(line), "BooksView.vue lacks {line}:\n{books}");
    }
    assert_eq!(books.matches("import posthog from 'posthog-js'").count(), 1);
    let env = read(&app, ".env");
    assert!(env.contains("VITE_PUBLIC_POSTHOG_PROJECT_TOKEN="), "{env}");
    assert!(read(&app, "posthog-setup-report.md").contains("book_finished"));
}

#[test]
fn the_nuxt_sample_app_is_integrated_offline_by_its_cassette() {
    let (_tmp, app) = integrated_offline("nuxt-app", "Nuxt");
    let manifest = read(&app, "package.json");
    for sdk in [
        "\"@posthog/nuxt\": \"^1.7.91\"",
        "\"posthog-node\": \"^5.70.0\"",
    ] {
        assert!(manifest.contains(sdk), "{sdk} not declared:\n{manifest}");
    }
    let config = read(&app, "nuxt.config.ts");
    for line in [
        "modules: ['@posthog/nuxt'],",
        "publicKey: process.env.NUXT_PUBLIC_POSTHOG_PROJECT_TOKEN ?? '',",
        "api_host: '/ingest',",
        "capture_exceptions: true,",
        "enableExceptionAutocapture: true,",
    ] {
        assert!(
            config.contains(line),
            "nuxt.config.ts lacks {line}:\n{config}"
        );
    }
    assert!(read(&app, "server/utils/posthog.ts").contains("useRuntimeConfig().public.posthog"));
    assert!(app.join("server/routes/ingest/[...path].ts").is_file());
    let auth = read(&app, "app/composables/useAuth.ts");
    assert!(auth.contains("posthog?.identify(signedIn.id,"), "{auth}");
    assert!(auth.contains("posthog?.reset()"), "{auth}");
    assert!(read(&app, "app/app.vue").contains("onMounted(() => {"));
    assert!(read(&app, "app/pages/index.vue").contains("posthog?.captureException(err)"));
    assert!(read(&app, "server/api/login.post.ts").contains(
        "useServerPostHog().capture({ distinctId: account.id, event: 'user_logged_in' })"
    ));
    assert!(read(&app, "server/api/notes/index.post.ts").contains("event: 'note_created'"));
    let env = read(&app, ".env");
    assert!(env.contains("NUXT_PUBLIC_POSTHOG_PROJECT_TOKEN="), "{env}");
    assert!(read(&app, "posthog-setup-report.md").contains("note_created"));
}

#[test]
fn the_react_router_library_sample_app_is_integrated_offline_by_its_cassette() {
    let (_tmp, app) = integrated_offline("react-router-library-app", "React Router (library mode)");
    let manifest = read(&app, "package.json");
    for sdk in [
        "\"posthog-js\": \"^1.449.2\"",
        "\"@posthog/react\": \"^1.11.1\"",
    ] {
        assert!(manifest.contains(sdk), "{sdk} not declared:\n{manifest}");
    }
    assert!(!manifest.contains("posthog-node"), "{manifest}");
    let main = read(&app, "src/main.tsx");
    for line in [
        "import { PostHogProvider } from '@posthog/react'",
        "const token = import.meta.env.VITE_PUBLIC_POSTHOG_PROJECT_TOKEN",
        "api_host: import.meta.env.VITE_PUBLIC_POSTHOG_HOST,",
        "<PostHogProvider client={posthog}>\n      <RouterProvider router={router} />\n    </PostHogProvider>",
    ] {
        assert!(main.contains(line), "src/main.tsx lacks {line}:\n{main}");
    }
    // The init runs before the stored session is restored (and identified).
    let at = |needle: &str| main.find(needle).unwrap();
    assert!(at("posthog.init(") < at("restoreSession()\n"));
    let auth = read(&app, "src/auth.ts");
    for line in [
        "posthog.identify(current.id,",
        "posthog.identify(user.id, { email: user.email, name: user.name })",
        "posthog.capture('user_logged_in')",
        "posthog.reset()",
    ] {
        assert!(auth.contains(line), "src/auth.ts lacks {line}:\n{auth}");
    }
    let root = read(&app, "src/routes/Root.tsx");
    assert!(
        root.contains("if (!isRouteErrorResponse(error)) posthog.captureException(error)"),
        "{root}"
    );
    let notes = read(&app, "src/routes/Notes.tsx");
    for line in [
        "posthog.captureException(err)",
        "posthog.capture('note_created', { note_id: note.id })",
        "posthog.capture('note_pinned', { note_id: note.id, pinned: updated.pinned })",
    ] {
        assert!(notes.contains(line), "Notes.tsx lacks {line}:\n{notes}");
    }
    assert_eq!(notes.matches("import posthog from 'posthog-js'").count(), 1);
    let env = read(&app, ".env");
    assert!(env.contains("VITE_PUBLIC_POSTHOG_PROJECT_TOKEN="), "{env}");
    assert!(read(&app, "posthog-setup-report.md").contains("note_pinned"));
}

#[test]
fn the_remix_sample_app_is_integrated_offline_by_its_cassette() {
    let (_tmp, app) = integrated_offline("remix-app", "Remix");
    let manifest = read(&app, "package.json");
    for sdk in [
        "\"posthog-js\": \"^1.449.2\"",
        "\"@posthog/react\": \"^1.11.1\"",
        "\"posthog-node\": \"^5.70.0\"",
    ] {
        assert!(manifest.contains(sdk), "{sdk} not declared:\n{manifest}");
    }
    assert!(
        read(&app, "vite.config.ts").contains("noExternal: [\"posthog-js\", \"@posthog/react\"]")
    );
    let client = read(&app, "app/entry.client.tsx");
    for line in [
        "import { RemixBrowser } from \"@remix-run/react\";",
        "api_host: \"/ingest\",",
        "<RemixBrowser />",
    ] {
        assert!(
            client.contains(line),
            "entry.client.tsx lacks {line}:\n{client}"
        );
    }
    assert!(read(&app, "app/lib/posthog.server.ts").contains("new PostHog("));
    // A file route: nothing registers it.
    assert!(app.join("app/routes/ingest.$.ts").is_file());
    let root = read(&app, "app/root.tsx");
    for line in [
        "if (user) posthog.identify(user.id, { email: user.email, name: user.name });",
        "onSubmit={() => posthog.reset()}",
        "if (!isRouteErrorResponse(error)) posthog.captureException(error);",
    ] {
        assert!(root.contains(line), "app/root.tsx lacks {line}:\n{root}");
    }
    assert!(read(&app, "app/routes/login.tsx")
        .contains("posthog.capture({ distinctId: user.id, event: \"user_logged_in\" });"));
    let projects = read(&app, "app/routes/projects.tsx");
    assert!(
        projects.contains("event: \"project_created\""),
        "{projects}"
    );
    assert!(
        projects.contains("posthog.capture(\"project_starred\""),
        "{projects}"
    );
    let env = read(&app, ".env");
    assert!(env.contains("VITE_PUBLIC_POSTHOG_PROJECT_TOKEN="), "{env}");
    assert!(read(&app, "posthog-setup-report.md").contains("project_starred"));
}
