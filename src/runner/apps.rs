//! Which apps a run integrates, and one branch of tasks per app.
//!
//! [`choose`] scans the directory (`crate::detect`), then takes the apps
//! named with `--app`, all of them with `--all-apps`, asks on a terminal
//! (several apps: a multi-select with the web apps preselected; one app in a
//! subfolder, or a router that is ambiguous: a question), and otherwise takes
//! the documented default and says so: the root when the root is an app, the
//! only app when there is one, the first matching framework rule. Several apps
//! below a root that is no app, without a choice on a non-interactive run, is
//! an exit-2 error that lists them.
//!
//! [`BranchBackend`] runs the branches side by side: each app keeps its own
//! backend (its folder as the agents' install dir, its detection and
//! inventory in the project context), the seeds of all apps run at once, and
//! every task they enqueue carries its app (ids like `install@web`). Design:
//! one seed per app rather than one seed for all, so each seed sees a single
//! app and the content's seed prompt needs no notion of a monorepo.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;

use crate::agent::{AgentBackend, AgentJob, AttemptReport, SeedReport, TaskPort};
use crate::content::{ContentSet, Detection};
use crate::detect::{self, AppReport, Inventory, RepoScan};
use crate::messages::{
    app_tag, AttemptEnd, HandoffQuery, QueueFile, Task, TaskHandoff, TaskId, TaskSpec, Usage,
    SINGLE_APP,
};
use crate::queue::{GuardError, QueryError};

/// One app a run integrates.
#[derive(Debug, Clone)]
pub struct AppTarget {
    /// Relative to the run's root; `.` for the root itself.
    pub rel: String,
    /// Its folder, absolute: the agents' install dir.
    pub dir: PathBuf,
    /// What detection found.
    pub detection: Detection,
    /// What it already has of the product.
    pub inventory: Inventory,
    /// The workspace root whose lockfile it shares, absolute.
    pub workspace_root: Option<PathBuf>,
}

/// The outcome of choosing: the apps, or an exit code (nothing to run).
pub enum AppChoice {
    /// Run these, one branch each.
    Run(Vec<AppTarget>),
    /// Stop with this exit code (the reason is printed).
    Exit(i32),
}

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct AppFlags {
    /// `--app PATH` (repeatable).
    pub apps: Vec<String>,
    /// `--all-apps`.
    pub all: bool,
    /// Whether questions may be asked (a terminal, and no `--yes`).
    pub interactive: bool,
}

/// Scans `root` and decides which apps to run; `resumed` keeps a resumed run's apps.
pub async fn choose(
    root: &Path,
    content: &ContentSet,
    flags: &AppFlags,
    resumed: Option<&QueueFile>,
) -> Result<AppChoice> {
    let rules = content.frameworks.clone();
    let inventory_rules = content.product().inventory;
    let dir = root.to_path_buf();
    let scan = tokio::task::spawn_blocking(move || detect::scan(&dir, &rules, &inventory_rules))
        .await
        .context("the repository scan stopped")?;
    let root_target = || -> Result<AppChoice> {
        let rules = content.frameworks.clone();
        Ok(AppChoice::Run(vec![AppTarget {
            rel: SINGLE_APP.into(),
            dir: root.to_path_buf(),
            detection: crate::content::detect(root, &rules),
            inventory: scan
                .others
                .iter()
                .find(|o| o.path == SINGLE_APP)
                .map(|o| o.inventory.clone())
                .unwrap_or_default(),
            workspace_root: None,
        }]))
    };
    if let Some(file) = resumed {
        let mut names: Vec<&str> = file.tasks.iter().map(|t| t.app.as_str()).collect();
        names.sort();
        names.dedup();
        if names.iter().all(|n| *n == SINGLE_APP) && scan.app(SINGLE_APP).is_none() {
            return root_target();
        }
        let picked: Vec<&AppReport> = names.iter().filter_map(|n| scan.app(n)).collect();
        return Ok(AppChoice::Run(targets(&scan, &picked, flags)));
    }
    if !flags.apps.is_empty() {
        let mut picked = Vec::new();
        for wanted in &flags.apps {
            match scan.app(wanted) {
                Some(app) => picked.push(app),
                None => {
                    eprintln!("wizard: no app at {wanted} in {}.", scan.root);
                    print_apps(&scan);
                    return Ok(AppChoice::Exit(crate::exit::EXIT_USAGE));
                }
            }
        }
        return Ok(AppChoice::Run(targets(&scan, &picked, flags)));
    }
    if flags.all && !scan.apps.is_empty() {
        let all: Vec<&AppReport> = scan.apps.iter().collect();
        return Ok(AppChoice::Run(targets(&scan, &all, flags)));
    }
    match scan.apps.as_slice() {
        [] => {
            let choice = root_target()?;
            if let AppChoice::Run(t) = &choice {
                eprintln!(
                    "wizard: no app detected in {}: {}. The run goes on at the root; `wizard detect` shows what was looked at.",
                    scan.root, t[0].detection.framework_reason
                );
            }
            Ok(choice)
        }
        [only] if only.path == SINGLE_APP => Ok(AppChoice::Run(targets(&scan, &[only], flags))),
        [only] => {
            let framework = only
                .framework
                .as_ref()
                .map(|f| f.name.as_str())
                .unwrap_or("an app");
            let question = format!(
                "The only app here is {} ({framework}). Integrate it? [Y/n] ",
                only.path
            );
            if flags.interactive {
                if !ask(&question)? {
                    eprintln!("wizard: stopped before changing anything.");
                    return Ok(AppChoice::Exit(crate::exit::EXIT_USAGE));
                }
            } else {
                eprintln!(
                    "wizard: the only app here is {} ({framework}); integrating it (pass --app to choose another folder).",
                    only.path
                );
            }
            Ok(AppChoice::Run(targets(&scan, &[only], flags)))
        }
        several if !flags.interactive && scan.app(SINGLE_APP).is_some() => {
            // Run at an app's own root: that app, as before monorepo support.
            let others: Vec<&str> = several
                .iter()
                .filter(|a| a.path != SINGLE_APP)
                .map(|a| a.path.as_str())
                .collect();
            eprintln!(
                "wizard: integrating the app at the root; also found {} (pass --app PATH or --all-apps to include them).",
                others.join(", ")
            );
            let root_app: Vec<&AppReport> = scan.app(SINGLE_APP).into_iter().collect();
            Ok(AppChoice::Run(targets(&scan, &root_app, flags)))
        }
        several if flags.interactive => {
            let picked = multi_select(several, content)?;
            if picked.is_empty() {
                eprintln!("wizard: no app chosen; stopped before changing anything.");
                return Ok(AppChoice::Exit(crate::exit::EXIT_USAGE));
            }
            Ok(AppChoice::Run(targets(&scan, &picked, flags)))
        }
        _ => {
            eprintln!(
                "wizard: {} holds {} apps; choose with --app PATH (repeatable) or --all-apps:",
                scan.root,
                scan.apps.len()
            );
            print_apps(&scan);
            Ok(AppChoice::Exit(crate::exit::EXIT_USAGE))
        }
    }
}

fn print_apps(scan: &RepoScan) {
    for a in &scan.apps {
        let fw = a.framework.as_ref().map(|f| f.name.as_str()).unwrap_or("-");
        eprintln!("  --app {:<24} {fw}", a.path);
    }
}

/// The chosen apps as run targets, each with its framework settled (an
/// ambiguous router asked about, or the first rule taken and said so).
fn targets(scan: &RepoScan, picked: &[&AppReport], flags: &AppFlags) -> Vec<AppTarget> {
    picked
        .iter()
        .map(|app| {
            let mut detection = app.detection.clone().unwrap_or_else(|| Detection {
                framework: app.framework.clone(),
                package_manager: None,
                reason: app.reason.clone(),
                framework_reason: app.reason.clone(),
                package_manager_reason: String::new(),
                alternatives: Vec::new(),
            });
            settle_alternatives(&app.path, &mut detection, flags.interactive);
            AppTarget {
                rel: app.path.clone(),
                dir: app.dir.clone(),
                detection,
                inventory: app.inventory.clone(),
                workspace_root: app
                    .workspace_root
                    .as_ref()
                    .map(|r| Path::new(&scan.root).join(r).components().collect()),
            }
        })
        .collect()
}

/// Both `app/` and `pages/` (or any two rules that match by their files): ask
/// on a terminal; otherwise keep the first rule, the documented default, and say so.
fn settle_alternatives(path: &str, detection: &mut Detection, interactive: bool) {
    let Some(first) = detection.framework.clone() else {
        return;
    };
    if detection.alternatives.is_empty() {
        return;
    }
    let mut options = vec![first.clone()];
    options.extend(detection.alternatives.iter().cloned());
    let names: Vec<String> = options.iter().map(|o| o.id.clone()).collect();
    if interactive {
        eprintln!("wizard: {path} matches several rules:");
        for (i, o) in options.iter().enumerate() {
            eprintln!("  [{}] {} ({})", i + 1, o.id, o.name);
        }
        eprint!("Which one? [1] ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        if let Some(choice) = line
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|n| options.get(n.wrapping_sub(1)))
        {
            detection.framework = Some(choice.clone());
        }
    } else {
        eprintln!(
            "wizard: {path} matches {}; taking {} (the first rule, the default; run in a terminal to choose).",
            names.join(" and "),
            first.id
        );
    }
}

/// The terminal multi-select: every app listed, web apps preselected.
fn multi_select<'a>(apps: &'a [AppReport], content: &ContentSet) -> Result<Vec<&'a AppReport>> {
    let is_web = |a: &AppReport| {
        a.framework
            .as_ref()
            .and_then(|f| content.frameworks.get(&f.id))
            .is_some_and(|rule| rule.web)
    };
    eprintln!("wizard: this repository holds {} apps:", apps.len());
    for (i, a) in apps.iter().enumerate() {
        let fw = a.framework.as_ref().map(|f| f.name.as_str()).unwrap_or("-");
        let mark = if is_web(a) { "x" } else { " " };
        eprintln!("  [{mark}] {}. {:<24} {fw}", i + 1, a.path);
    }
    eprint!("Press Enter to integrate the marked apps, or type their numbers (1,3): ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let line = line.trim();
    if line.is_empty() {
        return Ok(apps.iter().filter(|a| is_web(a)).collect());
    }
    Ok(line
        .split([',', ' '])
        .filter_map(|n| n.trim().parse::<usize>().ok())
        .filter_map(|n| apps.get(n.wrapping_sub(1)))
        .collect())
}

fn ask(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(true);
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let answer = line.trim().to_ascii_lowercase();
    Ok(answer.is_empty() || answer == "y" || answer == "yes")
}

/// Runs each app's tasks with that app's backend; seeds every app at once.
pub struct BranchBackend {
    branches: BTreeMap<String, Arc<dyn AgentBackend>>,
}

impl BranchBackend {
    /// One backend per app, keyed by the app's relative path.
    pub fn new(branches: BTreeMap<String, Arc<dyn AgentBackend>>) -> Self {
        Self { branches }
    }
}

#[async_trait]
impl AgentBackend for BranchBackend {
    async fn run(&self, job: AgentJob, port: Arc<dyn TaskPort>) -> AttemptReport {
        let app = job.task.app.clone();
        match self.branches.get(&app) {
            Some(backend) => backend.run(job, Arc::new(AppPort::new(port, &app))).await,
            None => AttemptReport::free(AttemptEnd::Error {
                error_kind: "app".into(),
                message: format!("no branch for app {app} in this run"),
                fatal: false,
            }),
        }
    }

    async fn seed(&self, port: Arc<dyn TaskPort>) -> SeedReport {
        let seeds = self.branches.iter().map(|(app, backend)| {
            let port: Arc<dyn TaskPort> = Arc::new(AppPort::new(port.clone(), app));
            async move { (app.clone(), backend.seed(port).await) }
        });
        let mut total = SeedReport::default();
        let mut errors = Vec::new();
        for (app, report) in futures::future::join_all(seeds).await {
            total.usage.add(&report.usage);
            total.cost_usd += report.cost_usd;
            if let Some(e) = report.error {
                errors.push(format!("{app}: {e}"));
            }
        }
        total.error = (!errors.is_empty()).then(|| errors.join("; "));
        total
    }

    fn time_limit(&self, task: &Task) -> Duration {
        self.branches
            .get(&task.app)
            .map(|b| b.time_limit(task))
            .unwrap_or(Duration::from_secs(600))
    }
}

/// A task port that files everything it enqueues under one app: the spec's
/// `app` is set, and a dependency named by its short id (`install`, as a
/// single-app script would) means this branch's task (`install@web`).
pub struct AppPort {
    inner: Arc<dyn TaskPort>,
    app: String,
}

impl AppPort {
    /// Wraps `inner` for the branch of `app`.
    pub fn new(inner: Arc<dyn TaskPort>, app: &str) -> Self {
        Self {
            inner,
            app: app.to_string(),
        }
    }
}

#[async_trait]
impl TaskPort for AppPort {
    async fn enqueue(&self, mut spec: TaskSpec) -> Result<TaskId, GuardError> {
        spec.app = Some(self.app.clone());
        if let Some(tag) = app_tag(&self.app) {
            for dep in &mut spec.depends_on {
                if !dep.contains('@') {
                    *dep = format!("{dep}@{tag}");
                }
            }
        }
        self.inner.enqueue(spec).await
    }

    async fn read_handoffs(&self, query: HandoffQuery) -> Result<Vec<TaskHandoff>, QueryError> {
        self.inner.read_handoffs(query).await
    }

    fn activity(&self, phrase: String, usage: Option<Usage>, cost_usd: Option<f64>) {
        self.inner.activity(phrase, usage, cost_usd)
    }

    fn relabel(&self, label: String) {
        self.inner.relabel(label)
    }

    fn task_id(&self) -> Option<&str> {
        self.inner.task_id()
    }
}

/// The project-context fact about what an app already has, when it has anything:
/// the inventory, and how tasks treat it.
pub fn inventory_fact(target: &AppTarget, product: &str) -> Option<(String, String)> {
    if target.inventory.is_empty() {
        return None;
    }
    Some((
        format!("Existing {product} integration (found before this run)"),
        format!(
            "verify it and keep it: do not redo or remove what is there. Keep deliberate settings \
             (hosts, a proxy path, person profiles, guards around identify, the event naming style). \
             When your task's work is already in place and correct, change nothing and complete with \
             status done and a `did` that starts with \"already in place:\".\n{}",
            target.inventory.prompt_text()
        ),
    ))
}

/// The app's own state folder (`<app>/.posthog-wizard`), made and git-ignored;
/// where its reference example goes so its confined agents can read it.
pub fn app_state_dir(target: &AppTarget) -> Option<PathBuf> {
    let dir = target.dir.join(crate::actors::persist::files::STATE_DIR);
    std::fs::create_dir_all(&dir).ok()?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "*\n").ok()?;
    }
    Some(dir)
}

/// The run's framework line for several apps: `web: Next.js; admin: React (Vite)`.
pub fn frameworks_line(targets: &[AppTarget]) -> String {
    targets
        .iter()
        .map(|t| {
            let fw = t
                .detection
                .framework
                .as_ref()
                .map(|f| f.name.as_str())
                .unwrap_or("not detected");
            format!("{}: {fw}", t.rel)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One backend per app over the shared `env`: each confined to its app's
/// folder, told its own framework and inventory, and sharing an install lock
/// with the apps of its workspace root. `example` writes an app's reference
/// example and returns its path relative to the app.
pub fn branch_backend(
    env: &crate::agent::backend::AgentEnv,
    targets: &[AppTarget],
    mcp: &crate::tools::mcp::McpHandle,
    example: &dyn Fn(&AppTarget) -> Option<String>,
) -> Arc<dyn AgentBackend> {
    use crate::agent::backend::ModelBackend;
    use crate::tools::install_lock::InstallLock;
    let mut locks: BTreeMap<PathBuf, InstallLock> = BTreeMap::new();
    let mut branches: BTreeMap<String, Arc<dyn AgentBackend>> = BTreeMap::new();
    let product = env.content.product().name;
    for t in targets {
        let mut app_env = env.clone();
        let dir = t.dir.canonicalize().unwrap_or_else(|_| t.dir.clone());
        let lock_key = t.workspace_root.clone().unwrap_or_else(|| dir.clone());
        app_env.base_ctx.install_dir = dir.clone();
        app_env.base_ctx.bash.install_lock = Some(locks.entry(lock_key).or_default().clone());
        let mut facts = env.project.facts.clone();
        facts.push((
            "App".into(),
            format!(
                "{} of the repository (this task works only inside it)",
                t.rel
            ),
        ));
        if let Some(root) = &t.workspace_root {
            facts.push((
                "Workspace root".into(),
                format!(
                    "{} (shares its lockfile; run installs from the app folder, one at a time across apps)",
                    root.display()
                ),
            ));
        }
        facts.extend(inventory_fact(t, &product));
        app_env.project = crate::agent::prompt::ProjectContext {
            install_dir: dir.display().to_string(),
            framework: t.detection.framework.as_ref().map(|f| f.name.clone()),
            package_manager: t.detection.package_manager.as_ref().map(|p| p.name.clone()),
            facts,
            example_path: example(t),
            secret_names: env.project.secret_names.clone(),
            sections: super::prefix::sections(&dir, &env.content, &env.base_ctx.secrets),
            task_sections: super::prefix::reference(
                &env.content,
                t.detection.framework.as_ref().map(|f| f.id.as_str()),
            )
            .into_iter()
            .chain(super::prefix::task_types(&env.content))
            .collect(),
        };
        app_env.framework_id = t.detection.framework.as_ref().map(|f| f.id.clone());
        branches.insert(
            t.rel.clone(),
            Arc::new(ModelBackend::new(app_env).with_mcp(mcp.clone())),
        );
    }
    Arc::new(BranchBackend::new(branches))
}

/// The run report's "found before the run" section: each app's inventory.
/// Empty when no app had anything of the product.
pub fn found_section(targets: &[AppTarget], product: &str) -> String {
    if targets.iter().all(|t| t.inventory.is_empty()) {
        return String::new();
    }
    let mut md = format!("\n## {product} found before the run\n\n");
    for t in targets {
        md.push_str(&format!("- {}: {}\n", t.rel, t.inventory.summary()));
    }
    md
}

/// Appends `section` to the run report at `path` (nothing when it is empty).
/// A failure is logged: the report is a courtesy, the run's files are the record.
pub fn append_to_report(path: &Path, section: &str) {
    if section.is_empty() {
        return;
    }
    let appended = std::fs::read_to_string(path).and_then(|mut text| {
        text.push_str(section);
        crate::atomic_file::write(path, text.as_bytes(), crate::atomic_file::Access::OwnerOnly)
    });
    if let Err(e) = appended {
        tracing::warn!(path = %path.display(), "cannot add the found section to the report: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{load_blocking, ContentSource};

    #[test]
    fn the_inventory_reaches_every_tasks_shared_prompt_with_the_keep_rule() {
        let content = load_blocking(&ContentSource::Embedded).unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/repos/posthog-custom");
        let scan = detect::scan(&root, &content.frameworks, &content.product().inventory);
        let picked: Vec<&AppReport> = scan.apps.iter().collect();
        let flags = AppFlags::default();
        let target = &targets(&scan, &picked, &flags)[0];
        let fact = inventory_fact(target, "PostHog").expect("an inventory");
        let project = crate::agent::prompt::ProjectContext {
            facts: vec![fact],
            ..Default::default()
        };
        let system: String = crate::agent::prompt::task_system(&project)
            .iter()
            .map(|b| b.text.clone())
            .collect();
        for expected in [
            "Existing PostHog integration",
            "already in place:",
            "Keep deliberate settings",
            "ui_host: https://eu.posthog.com (instrumentation-client.ts:6)",
            "api_host: /relay-7f3a",
            "person_profiles: identified_only",
            "Identify calls: 1",
        ] {
            assert!(
                system.contains(expected),
                "{expected} missing from:\n{system}"
            );
        }
    }

    #[test]
    fn an_app_port_files_enqueues_under_its_app_and_resolves_short_ids() {
        use crate::messages::TaskSpec;
        use std::sync::Mutex;
        struct Recorder(Mutex<Vec<TaskSpec>>);
        #[async_trait]
        impl TaskPort for Recorder {
            async fn enqueue(&self, spec: TaskSpec) -> Result<TaskId, GuardError> {
                self.0.lock().unwrap().push(spec);
                Ok("x".into())
            }
            async fn read_handoffs(&self, _: HandoffQuery) -> Result<Vec<TaskHandoff>, QueryError> {
                Ok(Vec::new())
            }
            fn activity(&self, _: String, _: Option<Usage>, _: Option<f64>) {}
            fn relabel(&self, _: String) {}
            fn task_id(&self) -> Option<&str> {
                None
            }
        }
        let recorder = Arc::new(Recorder(Mutex::new(Vec::new())));
        let port = AppPort::new(recorder.clone(), "apps/web");
        let spec = TaskSpec::new("init").after(["install", "plan@web"]);
        futures::executor::block_on(port.enqueue(spec)).unwrap();
        let seen = recorder.0.lock().unwrap()[0].clone();
        assert_eq!(seen.app.as_deref(), Some("apps/web"));
        assert_eq!(seen.depends_on, ["install@web", "plan@web"]);
    }
}
