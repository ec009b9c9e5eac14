//! Permission asks: what happens when a permission rule refuses a command or a write.
//!
//! The rules in [`super::permissions`] stay as they are; this is the hook at
//! the point where one of them said no. A refusal is *askable* only when it
//! is the task's allow-list that said no (a command prefix, a write glob,
//! a tool its `allowedTools` do not list or its `disallowedTools` do). Writes
//! outside the project, into `.git/` or the run's state, env files and secrets
//! are never askable: those rules refuse before any allow-list is consulted,
//! and their messages are not recognised here. Neither are the tools in
//! [`NEVER_ASKED_TOOLS`], nor a tool that does not exist (that is no refusal).
//!
//! An askable refusal is checked against the run's grants (`--allow-command`,
//! `--allow-write`, `--allow-tool`, and answers "allow for this run"); then, when the run has
//! an [`Asker`] (the TUI's ask panel, or the terminal in plain mode), the user is asked: allow once, allow for this
//! run, or deny, with a timeout that denies. With no asker the refusal stays,
//! and its text names the flag that would grant it. Every ask and answer is
//! kept ([`RunAsks::records`]) for the run report and shown as task activity,
//! which `audit.jsonl` records. `--yes` never answers an ask.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use super::context::{Permissions, ToolError};
use super::permissions::tool_pattern_matches;

/// Tools a task is never asked about: `enqueue_task` shapes the run's queue (the plan's
/// job, not a permission on the app), and `set_env_values` writes env files, which stay refused.
pub const NEVER_ASKED_TOOLS: [&str; 2] = [super::queue_tools::ENQUEUE_TASK, "set_env_values"];

/// How long an ask waits for an answer before it counts as "deny".
pub const ASK_TIMEOUT: Duration = Duration::from_secs(120);

/// What the agent asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "subject", rename_all = "snake_case")]
pub enum Request {
    /// A command line (`npm run lint`).
    Command(String),
    /// A path to write, relative to the app.
    Write(String),
    /// A tool the task's tool lists do not give it (`Grep`, `mcp__posthog__dashboard-get`).
    Tool(String),
}

impl Request {
    /// The flag that grants this in advance.
    pub fn flag(&self) -> String {
        match self {
            Request::Command(c) => format!("--allow-command {c:?}"),
            Request::Write(p) => format!("--allow-write {p:?}"),
            Request::Tool(t) => format!("--allow-tool {t}"),
        }
    }

    /// "run `npm run lint`", "write lib/x.ts".
    pub fn describe(&self) -> String {
        match self {
            Request::Command(c) => format!("run `{c}`"),
            Request::Write(p) => format!("write {p}"),
            Request::Tool(t) => format!("use the tool {t}"),
        }
    }
}

/// One ask, as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ask {
    /// The task's id.
    pub task_id: String,
    /// The task's type.
    pub task_type: String,
    /// What it wants.
    pub request: Request,
    /// Why, in the agent's words (its text before the call), when it said.
    pub reason: Option<String>,
    /// For a tool, the call's arguments (compact JSON, cut short) when it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The rule that refused.
    pub refusal: String,
}

/// The user's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// Allow this one call.
    AllowOnce,
    /// Allow this command prefix or path for the rest of the run.
    AllowRun,
    /// Refuse.
    Deny,
    /// Nobody answered in time (a refusal).
    TimedOut,
    /// Granted in advance by a flag or an earlier "allow for this run".
    Granted,
    /// No one to ask: the run is not interactive (a refusal naming the flag).
    NotAsked,
}

impl Answer {
    fn allows(self) -> bool {
        matches!(self, Answer::AllowOnce | Answer::AllowRun | Answer::Granted)
    }
}

/// An ask and its answer, for the run report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AskRecord {
    /// The ask.
    #[serde(flatten)]
    pub ask: Ask,
    /// The answer.
    pub answer: Answer,
}

/// `--allow-command` / `--allow-write` / `--allow-tool`, as given.
#[derive(Debug, Clone, Default)]
pub struct AskFlags {
    /// Command prefixes granted in advance.
    pub allow_commands: Vec<String>,
    /// Write globs granted in advance.
    pub allow_writes: Vec<String>,
    /// Tool names (or `prefix*` patterns) granted in advance.
    pub allow_tools: Vec<String>,
}

/// The run's asks: grants from `flags`, and who answers asks (`None`: refuse, naming the flag).
/// `WIZARD_ASK_TIMEOUT_MS` shortens the ask timeout (tests of the timeout use it).
pub fn for_run(flags: &AskFlags, asker: Option<Arc<dyn Asker>>) -> Arc<RunAsks> {
    let asks = RunAsks::new(
        flags.allow_commands.clone(),
        flags.allow_writes.clone(),
        asker,
    )
    .with_tools(flags.allow_tools.clone());
    Arc::new(asks.with_timeout(timeout_from(|name| std::env::var(name).ok())))
}

/// The ask timeout: `WIZARD_ASK_TIMEOUT_MS` when it is a number of milliseconds, else [`ASK_TIMEOUT`].
fn timeout_from(env: impl Fn(&str) -> Option<String>) -> Duration {
    env("WIZARD_ASK_TIMEOUT_MS")
        .and_then(|ms| ms.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
        .unwrap_or(ASK_TIMEOUT)
}

/// "120s", or "1500ms" when it is not whole seconds.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() != 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs())
    }
}

/// Appends the asks and their answers to the run report (`run-report.md` in `state_dir`).
pub fn append_to_report(state_dir: &std::path::Path, asks: &RunAsks) -> std::io::Result<()> {
    let records = asks.records();
    if records.is_empty() {
        return Ok(());
    }
    let mut text = String::from(
        "\n## Permission asks\n\n| task | asked to | why | answer |\n|---|---|---|---|\n",
    );
    for r in &records {
        text.push_str(&format!(
            "| {} ({}) | {} | {} | {} |\n",
            r.ask.task_id,
            r.ask.task_type,
            r.ask.request.describe().replace('|', "\\|"),
            r.ask.reason.as_deref().unwrap_or("").replace('|', "\\|"),
            answer_words(r.answer)
        ));
    }
    if asks.blocked() {
        text.push_str("\nRefused for lack of an answer; to grant in advance, re-run with:");
        for r in records
            .iter()
            .filter(|r| matches!(r.answer, Answer::NotAsked | Answer::TimedOut))
        {
            text.push_str(&format!(" `{}`", r.ask.request.flag()));
        }
        text.push('\n');
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(state_dir.join("run-report.md"))?;
    file.write_all(text.as_bytes())
}

/// Someone who can answer asks (a terminal).
#[async_trait]
pub trait Asker: Send + Sync {
    /// Asks and waits; the caller applies the timeout.
    async fn ask(&self, ask: &Ask) -> Answer;
}

/// The run's grants, asker and record of asks; shared by every agent of the run.
pub struct RunAsks {
    commands: Mutex<Vec<String>>,
    writes: Mutex<Vec<String>>,
    tools: Mutex<Vec<String>>,
    asker: Option<Arc<dyn Asker>>,
    // One question on screen at a time; other tasks keep running meanwhile.
    turn: tokio::sync::Mutex<()>,
    timeout: Duration,
    records: Mutex<Vec<AskRecord>>,
}

impl std::fmt::Debug for RunAsks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunAsks")
            .field("interactive", &self.asker.is_some())
            .finish_non_exhaustive()
    }
}

impl RunAsks {
    /// Grants from `--allow-command` / `--allow-write`, and who answers asks (none: refuse).
    pub fn new(commands: Vec<String>, writes: Vec<String>, asker: Option<Arc<dyn Asker>>) -> Self {
        RunAsks {
            commands: Mutex::new(commands),
            writes: Mutex::new(writes),
            tools: Mutex::new(Vec::new()),
            asker,
            turn: tokio::sync::Mutex::new(()),
            timeout: ASK_TIMEOUT,
            records: Mutex::new(Vec::new()),
        }
    }

    /// The same, with tools granted in advance (`--allow-tool`).
    pub fn with_tools(self, tools: Vec<String>) -> Self {
        if let Ok(mut granted) = self.tools.lock() {
            granted.extend(tools);
        }
        self
    }

    /// The same, with another ask timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Every ask so far, with its answer.
    pub fn records(&self) -> Vec<AskRecord> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// True when a refusal that a flag could have granted was kept because no one could be
    /// asked: the run was blocked by a permission it needed.
    pub fn blocked(&self) -> bool {
        self.records()
            .iter()
            .any(|r| matches!(r.answer, Answer::NotAsked | Answer::TimedOut))
    }

    /// Called where a permission rule refused `tool` with `input`: the permissions to retry
    /// the call with when it is now allowed, or the refusal to return to the agent; and,
    /// when there was an ask, a phrase saying how it was answered (for the activity line).
    pub async fn on_denied(
        &self,
        task: (&str, &str),
        perms: &Permissions,
        tool: &str,
        input: &Value,
        refusal: String,
        reason: Option<String>,
    ) -> (Result<Permissions, ToolError>, Option<String>) {
        let Some(request) = askable(tool, input, &refusal) else {
            return (Err(ToolError::Denied(refusal)), None);
        };
        // The tool rule refuses first; an env file or a protected dir behind it is never asked
        // about, because no answer could allow it.
        if let Some(hard) = hard_refusal(perms, tool, input, &request) {
            return (Err(ToolError::Denied(hard)), None);
        }
        let ask = Ask {
            task_id: task.0.to_string(),
            task_type: task.1.to_string(),
            detail: match request {
                Request::Tool(_) => arguments(input),
                _ => None,
            },
            request,
            reason,
            refusal: refusal.clone(),
        };
        let answer = if self.granted(&ask.request) {
            Answer::Granted
        } else if let Some(asker) = &self.asker {
            let _turn = self.turn.lock().await;
            // An earlier answer may have granted it while this one waited its turn.
            if self.granted(&ask.request) {
                Answer::Granted
            } else {
                tokio::time::timeout(self.timeout, asker.ask(&ask))
                    .await
                    .unwrap_or(Answer::TimedOut)
            }
        } else {
            Answer::NotAsked
        };
        if answer == Answer::AllowRun {
            self.grant(&ask.request);
        }
        let phrase = format!(
            "Asked to {}: {}",
            ask.request.describe(),
            answer_words(answer)
        );
        if let Ok(mut records) = self.records.lock() {
            records.push(AskRecord {
                ask: ask.clone(),
                answer,
            });
        }
        if answer.allows() {
            return (Ok(extended(perms, tool, &ask.request)), Some(phrase));
        }
        let why = match answer {
            Answer::Deny => "the user denied it".to_string(),
            Answer::TimedOut => format!("no one answered within {}", seconds(self.timeout)),
            _ => format!(
                "this run cannot ask (it is not interactive); re-run with {} to allow it",
                ask.request.flag()
            ),
        };
        (
            Err(ToolError::Denied(format!(
                "{refusal}. Asked to allow it: {why}"
            ))),
            Some(phrase),
        )
    }

    fn granted(&self, request: &Request) -> bool {
        match request {
            Request::Command(c) => self
                .commands
                .lock()
                .map(|g| g.iter().any(|p| prefix_matches(p, c)))
                .unwrap_or(false),
            Request::Write(p) => self
                .writes
                .lock()
                .map(|g| g.iter().any(|glob| glob_matches(glob, p)))
                .unwrap_or(false),
            Request::Tool(t) => self
                .tools
                .lock()
                .map(|g| g.iter().any(|pattern| tool_pattern_matches(pattern, t)))
                .unwrap_or(false),
        }
    }

    fn grant(&self, request: &Request) {
        match request {
            Request::Command(c) => {
                if let Ok(mut g) = self.commands.lock() {
                    g.push(c.clone());
                }
            }
            Request::Write(p) => {
                if let Ok(mut g) = self.writes.lock() {
                    g.push(p.clone());
                }
            }
            Request::Tool(t) => {
                if let Ok(mut g) = self.tools.lock() {
                    g.push(t.clone());
                }
            }
        }
    }
}

/// A tool call's arguments for the question: compact JSON, at most 200 characters; none when empty.
fn arguments(input: &Value) -> Option<String> {
    let empty = match input {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        _ => false,
    };
    if empty {
        return None;
    }
    let text = input.to_string();
    let mut short: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        short.push('…');
    }
    Some(short)
}

fn answer_words(answer: Answer) -> &'static str {
    match answer {
        Answer::AllowOnce => "allowed once",
        Answer::AllowRun => "allowed for this run",
        Answer::Deny => "denied",
        Answer::TimedOut => "no answer (denied)",
        Answer::Granted => "allowed by a grant",
        Answer::NotAsked => "denied (not interactive)",
    }
}

/// What an askable refusal asks for; `None` when the refusal is not one a user may lift.
pub fn askable(tool: &str, input: &Value, refusal: &str) -> Option<Request> {
    let field = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_string);
    match tool {
        "Bash" => {
            let allow_list = refusal.contains("matches no allowed prefix")
                || refusal.contains("may not run commands")
                || refusal.starts_with("tool rule: Bash is not in this task's allowedTools")
                || refusal.starts_with("tool rule: Bash is in this task's disallowedTools");
            let command = field("command")?;
            let words = shell_words::split(&command).ok()?;
            (allow_list && !words.is_empty()).then(|| Request::Command(words.join(" ")))
        }
        "Write" | "Edit" => {
            let allow_list = refusal.starts_with("write rule:")
                || refusal.starts_with(&format!(
                    "tool rule: {tool} is not in this task's allowedTools"
                ))
                || refusal.starts_with(&format!(
                    "tool rule: {tool} is in this task's disallowedTools"
                ));
            let path = field("file_path")?;
            (allow_list && !path.starts_with('/') && !path.contains(".."))
                .then_some(Request::Write(path))
        }
        _ => {
            // Only the tool rule's own texts: a refusal from inside the tool (a path, an env
            // file) is not about the tool list, and no answer could lift it.
            let tool_rule = refusal.starts_with(&format!(
                "tool rule: {tool} is not in this task's allowedTools"
            )) || refusal.starts_with(&format!(
                "tool rule: {tool} is in this task's disallowedTools"
            ));
            (tool_rule && !NEVER_ASKED_TOOLS.contains(&tool))
                .then(|| Request::Tool(tool.to_string()))
        }
    }
}

/// The refusal `request` would still meet once granted: env files, protected dirs, shell tricks.
fn hard_refusal(
    perms: &Permissions,
    tool: &str,
    input: &Value,
    request: &Request,
) -> Option<String> {
    use super::permissions::{check_bash_command, is_env_file_name, PROTECTED_DIRS};
    match request {
        Request::Command(_) => {
            let command = input.get("command").and_then(Value::as_str)?;
            match check_bash_command(&extended(perms, tool, request), command) {
                Err(ToolError::Denied(why)) => Some(why),
                _ => None,
            }
        }
        Request::Write(path) => {
            let name = path.rsplit('/').next().unwrap_or(path);
            if is_env_file_name(name) {
                return Some(format!(
                    "env-file rule: {tool} may not touch {path}; env files hold secrets. \
                     Use check_env_keys to see which keys exist and set_env_values to set them"
                ));
            }
            path.split('/')
                .find(|part| PROTECTED_DIRS.contains(part))
                .map(|dir| {
                    format!("protected-dir rule: {path} is inside {dir}/, which tools never write")
                })
        }
        // The tool's own rules still run once it is granted; an env file it names is refused
        // here so the user is not asked about a call no answer could let through.
        // `check_env_keys` is the exception: env files are what it reads (key names only).
        Request::Tool(_) if tool == "check_env_keys" => None,
        Request::Tool(_) => ["file_path", "path"]
            .iter()
            .filter_map(|k| input.get(*k).and_then(Value::as_str))
            .find(|path| is_env_file_name(path.rsplit('/').next().unwrap_or(path)))
            .map(|path| {
                format!(
                    "env-file rule: {tool} may not touch {path}; env files hold secrets. \
                     Use check_env_keys to see which keys exist"
                )
            }),
    }
}

/// `perms` with `request` allowed (the tool, and the prefix or the exact path).
fn extended(perms: &Permissions, tool: &str, request: &Request) -> Permissions {
    let mut perms = perms.clone();
    let tools: &[&str] = match request {
        Request::Command(_) => &["Bash"],
        Request::Write(_) => &["Write", "Edit"],
        Request::Tool(t) => &[t.as_str()],
    };
    for t in tools {
        if !perms.allowed_tools.iter().any(|a| a == t) {
            perms.allowed_tools.push(t.to_string());
        }
    }
    perms
        .disallowed_tools
        .retain(|t| !tool_pattern_matches(t, tool));
    match request {
        Request::Command(c) => perms.bash.push(c.clone()),
        Request::Write(p) => perms.write.push(globset::escape(p)),
        Request::Tool(_) => {}
    }
    perms
}

fn prefix_matches(pattern: &str, command: &str) -> bool {
    match (shell_words::split(pattern), shell_words::split(command)) {
        (Ok(p), Ok(c)) => !p.is_empty() && c.starts_with(&p),
        _ => false,
    }
}

fn glob_matches(glob: &str, path: &str) -> bool {
    globset::GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher().is_match(path))
        .unwrap_or(false)
}

/// Asks on the terminal: the question on stderr, the answer a line on stdin.
#[derive(Debug, Default)]
pub struct TerminalAsker;

impl TerminalAsker {
    /// An asker on the process's terminal.
    pub fn new() -> Self {
        TerminalAsker
    }
}

#[async_trait]
impl Asker for TerminalAsker {
    async fn ask(&self, ask: &Ask) -> Answer {
        let mut question = format!(
            "\nwizard: task {} ({}) asks to {}",
            ask.task_id,
            ask.task_type,
            ask.request.describe()
        );
        if let Some(detail) = &ask.detail {
            question.push_str(&format!("\n  with: {detail}"));
        }
        if let Some(reason) = &ask.reason {
            question.push_str(&format!("\n  why: {reason}"));
        }
        question.push_str(&format!("\n  refused by: {}", ask.refusal));
        question.push_str("\n  [o] allow once  [r] allow for this run  [d] deny: ");
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        match crate::ui::stdin_lines::next_line()
            .await
            .map(|l| l.trim().to_ascii_lowercase())
        {
            Some(a) if a == "o" || a == "once" => Answer::AllowOnce,
            Some(a) if a == "r" || a == "run" => Answer::AllowRun,
            _ => Answer::Deny,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn perms() -> Permissions {
        Permissions {
            allowed_tools: vec!["Bash".into(), "Write".into()],
            disallowed_tools: vec![],
            write: vec!["app/**".into()],
            bash: vec!["npm install".into()],
        }
    }

    struct Always(Answer);
    #[async_trait]
    impl Asker for Always {
        async fn ask(&self, _: &Ask) -> Answer {
            self.0
        }
    }

    fn lint() -> Value {
        json!({"command": "npm run lint"})
    }

    fn refusal_for(cmd: &str) -> String {
        match super::super::permissions::check_bash_command(&perms(), cmd) {
            Err(ToolError::Denied(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_non_interactive_refusal_names_the_flag_and_counts_as_blocked() {
        let asks = RunAsks::new(vec![], vec![], None);
        let err = asks
            .on_denied(
                ("build-1", "build"),
                &perms(),
                "Bash",
                &lint(),
                refusal_for("npm run lint"),
                None,
            )
            .await
            .0
            .unwrap_err()
            .to_string();
        assert!(err.contains("--allow-command \"npm run lint\""), "{err}");
        assert!(asks.blocked());
    }

    #[tokio::test]
    async fn a_flag_grant_allows_the_prefix_and_the_checks_still_run() {
        let asks = RunAsks::new(vec!["npm run lint".into()], vec![], None);
        let p = asks
            .on_denied(
                ("b", "build"),
                &perms(),
                "Bash",
                &lint(),
                refusal_for("npm run lint"),
                None,
            )
            .await
            .0
            .unwrap();
        assert!(super::super::permissions::check_bash_command(&p, "npm run lint").is_ok());
        // The no-shell rules still refuse, grant or not.
        assert!(
            super::super::permissions::check_bash_command(&p, "npm run lint; rm -rf /").is_err()
        );
        assert!(!asks.blocked());
    }

    #[tokio::test]
    async fn allow_for_this_run_is_remembered_and_deny_is_a_refusal() {
        let asks = RunAsks::new(vec![], vec![], Some(Arc::new(Always(Answer::AllowRun))));
        asks.on_denied(
            ("a", "t"),
            &perms(),
            "Bash",
            &lint(),
            refusal_for("npm run lint"),
            None,
        )
        .await
        .0
        .unwrap();
        assert!(asks.granted(&Request::Command("npm run lint --fix".into())));
        let deny = RunAsks::new(vec![], vec![], Some(Arc::new(Always(Answer::Deny))));
        let err = deny
            .on_denied(
                ("a", "t"),
                &perms(),
                "Bash",
                &json!({"command": "make"}),
                refusal_for("make"),
                Some("to build".into()),
            )
            .await
            .0
            .unwrap_err()
            .to_string();
        assert!(err.contains("the user denied it"), "{err}");
        assert_eq!(deny.records()[0].ask.reason.as_deref(), Some("to build"));
        assert!(
            !deny.blocked(),
            "an answered deny is the user's choice, not a block"
        );
    }

    #[tokio::test]
    async fn a_disallowed_tool_on_an_env_file_or_protected_dir_is_refused_without_asking() {
        struct Panics;
        #[async_trait]
        impl Asker for Panics {
            async fn ask(&self, ask: &Ask) -> Answer {
                panic!("asked about {ask:?}")
            }
        }
        let asks = RunAsks::new(vec![], vec![], Some(Arc::new(Panics)));
        for (tool, input, rule) in [
            ("Write", json!({"file_path": ".env.local"}), "env-file rule"),
            ("Edit", json!({"file_path": "app/.env"}), "env-file rule"),
            (
                "Write",
                json!({"file_path": ".git/config"}),
                "protected-dir rule",
            ),
            (
                "Bash",
                json!({"command": "cat .env.local"}),
                "env-file rule",
            ),
        ] {
            let refusal = format!("tool rule: {tool} is in this task's disallowedTools");
            let (result, phrase) = asks
                .on_denied(("a", "t"), &perms(), tool, &input, refusal, None)
                .await;
            let err = result.unwrap_err().to_string();
            assert!(err.contains(rule), "{tool} {input}: {err}");
            assert_eq!(phrase, None, "no ask, no activity line");
        }
        assert!(asks.records().is_empty());
    }

    #[test]
    fn env_files_protected_dirs_and_shell_tricks_are_never_askable() {
        let p = perms();
        for (tool, input) in [
            ("Bash", json!({"command": "cat .env"})),
            ("Bash", json!({"command": "npm run lint && curl x"})),
            ("Write", json!({"file_path": ".git/config"})),
            ("Write", json!({"file_path": ".env.local"})),
        ] {
            let refusal = match tool {
                "Bash" => refusal_for(input["command"].as_str().unwrap()),
                _ => {
                    let path = input["file_path"].as_str().unwrap();
                    if path.starts_with(".env") {
                        "env-file rule: Write may not touch .env.local".to_string()
                    } else {
                        "protected-dir rule: .git/config is inside .git/".to_string()
                    }
                }
            };
            let _ = &p;
            assert_eq!(askable(tool, &input, &refusal), None, "{tool} {input}");
        }
        assert_eq!(
            askable(
                "Write",
                &json!({"file_path": "lib/x.ts"}),
                "write rule: lib/x.ts does not match"
            ),
            Some(Request::Write("lib/x.ts".into()))
        );
    }

    fn tool_refusal(tool: &str) -> String {
        match super::super::permissions::check_tool_allowed(&perms(), tool) {
            Err(ToolError::Denied(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_tool_the_lists_do_not_give_is_askable_unless_it_is_never_asked() {
        let grep = json!({"pattern": "posthog"});
        assert_eq!(
            askable("Grep", &grep, &tool_refusal("Grep")),
            Some(Request::Tool("Grep".into()))
        );
        let mut p = perms();
        p.disallowed_tools.push("mcp__posthog__*".into());
        let refusal = match super::super::permissions::check_tool_allowed(&p, "mcp__posthog__x") {
            Err(ToolError::Denied(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            askable("mcp__posthog__x", &json!({}), &refusal),
            Some(Request::Tool("mcp__posthog__x".into()))
        );
        for never in NEVER_ASKED_TOOLS {
            assert_eq!(askable(never, &json!({}), &tool_refusal(never)), None);
        }
        // A refusal from inside the tool is not about the tool list.
        assert_eq!(
            askable(
                "Read",
                &json!({"file_path": ".env"}),
                "env-file rule: Read may not touch .env"
            ),
            None
        );
    }

    #[tokio::test]
    async fn a_tool_allowed_once_runs_under_the_task_rules_and_is_asked_again_next_time() {
        let asks = RunAsks::new(vec![], vec![], Some(Arc::new(Always(Answer::AllowOnce))));
        let grep = json!({"pattern": "posthog"});
        let (p, phrase) = asks
            .on_denied(
                ("a", "t"),
                &perms(),
                "Grep",
                &grep,
                tool_refusal("Grep"),
                Some("to find the init".into()),
            )
            .await;
        let p = p.unwrap();
        assert!(super::super::permissions::check_tool_allowed(&p, "Grep").is_ok());
        assert_eq!(
            asks.records()[0].ask.detail.as_deref(),
            Some(r#"{"pattern":"posthog"}"#),
            "the user sees what the call would do"
        );
        // Only that tool: the task's other rules are as they were.
        assert!(super::super::permissions::check_tool_allowed(&p, "Glob").is_err());
        assert_eq!(p.write, perms().write);
        assert_eq!(
            phrase.as_deref(),
            Some("Asked to use the tool Grep: allowed once")
        );
        assert!(!asks.granted(&Request::Tool("Grep".into())));
        assert_eq!(
            asks.records()[0].ask.reason.as_deref(),
            Some("to find the init")
        );
    }

    #[tokio::test]
    async fn a_tool_allowed_for_this_run_is_not_asked_about_again() {
        let asks = RunAsks::new(vec![], vec![], Some(Arc::new(Always(Answer::AllowRun))));
        for _ in 0..2 {
            asks.on_denied(
                ("a", "t"),
                &perms(),
                "Grep",
                &json!({}),
                tool_refusal("Grep"),
                None,
            )
            .await
            .0
            .unwrap();
        }
        let answers: Vec<Answer> = asks.records().iter().map(|r| r.answer).collect();
        assert_eq!(answers, [Answer::AllowRun, Answer::Granted]);
    }

    #[tokio::test]
    async fn a_tool_is_refused_naming_allow_tool_and_the_flag_grants_it_by_name_or_pattern() {
        let none = RunAsks::new(vec![], vec![], None);
        let err = none
            .on_denied(
                ("a", "t"),
                &perms(),
                "Grep",
                &json!({}),
                tool_refusal("Grep"),
                None,
            )
            .await
            .0
            .unwrap_err()
            .to_string();
        assert!(err.contains("re-run with --allow-tool Grep"), "{err}");
        assert!(none.blocked());
        let granted = RunAsks::new(vec![], vec![], None)
            .with_tools(vec!["Grep".into(), "mcp__posthog__*".into()]);
        for tool in ["Grep", "mcp__posthog__dashboard-get"] {
            let p = granted
                .on_denied(
                    ("a", "t"),
                    &perms(),
                    tool,
                    &json!({}),
                    tool_refusal(tool),
                    None,
                )
                .await
                .0
                .unwrap();
            assert!(super::super::permissions::check_tool_allowed(&p, tool).is_ok());
        }
        assert!(!granted.blocked());
        assert!(granted
            .records()
            .iter()
            .all(|r| r.answer == Answer::Granted));
        // A grant of one tool is no grant of another.
        assert!(!granted.granted(&Request::Tool("Glob".into())));
    }

    #[tokio::test]
    async fn a_tool_call_on_an_env_file_is_refused_without_asking() {
        struct Panics;
        #[async_trait]
        impl Asker for Panics {
            async fn ask(&self, ask: &Ask) -> Answer {
                panic!("asked about {ask:?}")
            }
        }
        let asks = RunAsks::new(vec![], vec![], Some(Arc::new(Panics)));
        let (result, phrase) = asks
            .on_denied(
                ("a", "t"),
                &perms(),
                "Grep",
                &json!({"pattern": "KEY", "path": "app/.env.local"}),
                tool_refusal("Grep"),
                None,
            )
            .await;
        let err = result.unwrap_err().to_string();
        assert!(err.contains("env-file rule"), "{err}");
        assert_eq!(phrase, None);
        assert!(asks.records().is_empty());
        // check_env_keys reads env files' key names: that is what it is asked for.
        let keys = json!({"file_path": ".env.local", "keys": ["POSTHOG_KEY"]});
        let request = Request::Tool("check_env_keys".into());
        assert_eq!(
            hard_refusal(&perms(), "check_env_keys", &keys, &request),
            None
        );
    }

    #[tokio::test]
    async fn an_unanswered_ask_times_out_as_a_refusal() {
        struct Never;
        #[async_trait]
        impl Asker for Never {
            async fn ask(&self, _: &Ask) -> Answer {
                std::future::pending().await
            }
        }
        let asks = RunAsks::new(vec![], vec![], Some(Arc::new(Never)))
            .with_timeout(Duration::from_millis(50));
        let err = asks
            .on_denied(
                ("a", "t"),
                &perms(),
                "Bash",
                &lint(),
                refusal_for("npm run lint"),
                None,
            )
            .await
            .0
            .unwrap_err()
            .to_string();
        assert!(err.contains("no one answered within 50ms"), "{err}");
        assert_eq!(asks.records()[0].answer, Answer::TimedOut);
    }

    #[test]
    fn the_ask_timeout_is_two_minutes_unless_the_environment_shortens_it() {
        assert_eq!(timeout_from(|_| None), ASK_TIMEOUT);
        assert_eq!(
            timeout_from(|n| (n == "WIZARD_ASK_TIMEOUT_MS").then(|| "1500".into())),
            Duration::from_millis(1500)
        );
        for bad in ["0", "soon", "-5"] {
            assert_eq!(timeout_from(|_| Some(bad.into())), ASK_TIMEOUT, "{bad}");
        }
        assert_eq!(seconds(ASK_TIMEOUT), "120s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1500ms");
    }
}
