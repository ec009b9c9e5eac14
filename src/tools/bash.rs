//! `Bash`: runs one allow-listed command in the install dir, without a shell.
//!
//! The command is checked by [`check_bash_command`], which returns the exact
//! words to execute, and [`check_bash_paths`], which keeps its arguments inside
//! the install dir; they are exec'd directly with `tokio::process`, so no
//! shell ever sees them. A trailing `| head -n N` / `| tail -n N` is done here
//! on the captured output.
//!
//! Output is streamed from both pipes into one bounded buffer that keeps the
//! TAIL (build errors come last), so a command that prints gigabytes costs at
//! most the cap in memory. The child runs in its own process group; on timeout
//! (its own, or the task's: the call's future dropped) the whole group is
//! killed, so `npm` cannot leave a stray `node` behind.
//! A non-zero exit is a normal result that shows the status: the model reads
//! the build error and fixes it. Only a command that cannot start is an error.

use std::collections::VecDeque;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use super::context::{Tool, ToolContext, ToolError, ToolOutput};
use super::input;
use super::permissions::{
    check_bash_command, check_bash_paths, check_tool_allowed, AllowedCommand, OutputFilter,
};
use crate::providers::ToolSpec;

/// How long to keep reading output once the command exited or was killed.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// `Bash`: one allow-listed command, with a timeout and a capped output.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunCommand;

/// Input of `Bash`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BashInput {
    /// The command, e.g. `npm run build`. One command; no `;`, `&&`, redirections or substitutions. A single trailing `| head -n N` or `| tail -n N` is allowed.
    pub command: String,
    /// Time limit in milliseconds (capped by the run's maximum).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

#[async_trait]
impl Tool for RunCommand {
    fn spec(&self) -> ToolSpec {
        input::spec_for::<BashInput>(
            "Bash",
            "Runs one command in the project root, without a shell, if it starts with one of \
             this task's allowed command prefixes. Returns the exit status and the end of the \
             output (stdout and stderr merged). A failing command is a normal result: read \
             the error and fix the cause.",
        )
    }

    fn activity(&self, input: &Value) -> String {
        match input.get("command").and_then(Value::as_str) {
            Some(command) => format!("Running {command}"),
            None => "Running a command".into(),
        }
    }

    async fn call(&self, ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
        check_tool_allowed(&ctx.permissions, "Bash")?;
        let args: BashInput = input::parse("Bash", input)?;
        let allowed = check_bash_command(&ctx.permissions, &args.command)?;
        check_bash_paths(&ctx.install_dir, &allowed)?;
        if let Some(reason) = &ctx.bash.skip_reason {
            tracing::info!(command = %args.command, "bash not run: {reason}");
            return Ok(ToolOutput::text(format!(
                "$ {}\n(not run: {reason})",
                args.command
            )));
        }
        let limit = args
            .timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(ctx.bash.default_timeout)
            .min(ctx.bash.max_timeout);
        let _install = match &ctx.bash.install_lock {
            Some(lock) => lock.hold_for(&allowed.argv, &ctx.package_managers).await,
            None => None,
        };
        let run = run_command(ctx, &allowed, limit).await?;
        // The log keeps every command's outcome: the user (and the end-to-end test) can see
        // whether the install and the build really passed.
        match run.status {
            Some(status) => {
                tracing::info!(command = %args.command, exit = status.code().unwrap_or(-1), "bash finished")
            }
            None => tracing::warn!(command = %args.command, "bash timed out"),
        }
        Ok(ToolOutput::text(
            ctx.secrets.redact(&run.report(&args.command, limit)),
        ))
    }
}

/// How a command the runtime ran for itself (a task's `check`) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRun {
    /// The exit code; `None` when it timed out or a signal killed it.
    pub exit_code: Option<i32>,
    /// What `Bash` would have returned: the command, the output tail, the status; secrets redacted.
    pub report: String,
}

/// Runs a command the fence already accepted exactly as `Bash` runs one (no shell, its
/// own process group killed at the end, the output tail kept), for the runtime's checks.
pub async fn run_allowed(
    ctx: &ToolContext,
    allowed: &AllowedCommand,
    command: &str,
    limit: Duration,
) -> Result<CheckedRun, ToolError> {
    let run = run_command(ctx, allowed, limit).await?;
    Ok(CheckedRun {
        exit_code: run.status.and_then(|s| s.code()),
        report: ctx.secrets.redact(&run.report(command, limit)),
    })
}

/// What a finished (or killed) command left.
#[derive(Debug)]
struct CommandRun {
    /// `None` when it timed out and was killed.
    status: Option<ExitStatus>,
    output: Output,
}

impl CommandRun {
    fn report(&self, command: &str, limit: Duration) -> String {
        let mut text = format!("$ {command}\n");
        if self.output.cut > 0 {
            text.push_str(&format!(
                "[{} bytes of earlier output cut; showing the last {}]\n",
                self.output.cut,
                self.output.kept.len()
            ));
        }
        let body = String::from_utf8_lossy(&self.output.bytes()).into_owned();
        let body = match self.output.filter {
            Some(OutputFilter::Tail(n)) => last_lines(&body, n),
            _ => body,
        };
        if body.is_empty() {
            text.push_str("(no output)\n");
        } else {
            text.push_str(&body);
            if !body.ends_with('\n') {
                text.push('\n');
            }
        }
        match self.status {
            None => text.push_str(&format!(
                "[timed out after {}s; the command and its children were killed]",
                limit.as_secs_f64()
            )),
            Some(status) => text.push_str(&describe_status(status)),
        }
        text
    }
}

fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("[exit status {code}]");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            return format!("[killed by signal {signal}]");
        }
    }
    format!("[{status}]")
}

fn last_lines(text: &str, n: usize) -> String {
    let trimmed = text.strip_suffix('\n').unwrap_or(text);
    if n == 0 || trimmed.is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = trimmed.split('\n').collect();
    let mut out = lines[lines.len().saturating_sub(n)..].join("\n");
    out.push('\n');
    out
}

/// Output kept from a command: the last `cap` bytes, or the first lines for `| head`.
#[derive(Debug)]
struct Output {
    kept: VecDeque<u8>,
    cap: usize,
    /// Bytes dropped because the cap was reached (not counting what `head` discards by design).
    cut: u64,
    filter: Option<OutputFilter>,
    /// Lines still wanted for `| head`; once zero, the rest is discarded.
    head_left: Option<usize>,
}

impl Output {
    fn new(cap: usize, filter: Option<OutputFilter>) -> Self {
        let head_left = match filter {
            Some(OutputFilter::Head(n)) => Some(n),
            _ => None,
        };
        Self {
            kept: VecDeque::new(),
            cap,
            cut: 0,
            filter,
            head_left,
        }
    }

    /// The kept bytes, in order.
    fn bytes(&self) -> Vec<u8> {
        let (front, back) = self.kept.as_slices();
        [front, back].concat()
    }

    fn push(&mut self, bytes: &[u8]) {
        match self.head_left {
            Some(left) => self.push_head(bytes, left),
            None => self.push_tail(bytes),
        }
    }

    fn push_tail(&mut self, bytes: &[u8]) {
        let bytes = if bytes.len() > self.cap {
            let skip = bytes.len() - self.cap;
            self.cut += skip as u64;
            &bytes[skip..]
        } else {
            bytes
        };
        self.kept.extend(bytes);
        let excess = self.kept.len().saturating_sub(self.cap);
        if excess > 0 {
            self.kept.drain(..excess);
            self.cut += excess as u64;
        }
    }

    fn push_head(&mut self, bytes: &[u8], mut left: usize) {
        for &byte in bytes {
            if left == 0 {
                break;
            }
            if self.kept.len() == self.cap {
                self.cut += 1;
                continue;
            }
            self.kept.push_back(byte);
            if byte == b'\n' {
                left -= 1;
            }
        }
        self.head_left = Some(left);
    }
}

async fn run_command(
    ctx: &ToolContext,
    allowed: &AllowedCommand,
    limit: Duration,
) -> Result<CommandRun, ToolError> {
    let (program, args) = allowed
        .argv
        .split_first()
        .ok_or_else(|| ToolError::InvalidInput("Bash: field `command` is empty".into()))?;
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(&ctx.install_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // An allow-list, not the wizard's own environment: it may hold keys (see child_env).
    // Cleared first: supervision adds its marker variable next.
    command.env_clear().envs(super::child_env::child_env(
        std::env::vars_os(),
        &ctx.fences,
        &ctx.secrets,
    ));
    let marker = super::process::command_marker(&ctx.install_dir);
    super::process::supervise(&mut command, &marker);

    let mut child = command.spawn().map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "it was not found on PATH".to_string(),
            _ => e.to_string(),
        };
        ToolError::Failed(format!("cannot run `{program}`: {why}"))
    })?;
    let mut group = GroupGuard {
        group: child.id(),
        marker: Some(marker),
    };
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(ToolError::Failed(format!(
            "cannot capture the output of `{program}`"
        )));
    };

    let mut output = Output::new(ctx.bash.output_cap, allowed.filter);
    let finished = tokio::time::timeout(limit, async {
        let mut pipes = std::pin::pin!(collect(&mut stdout, &mut stderr, &mut output));
        tokio::select! {
            () = &mut pipes => child.wait().await,
            status = child.wait() => {
                // The command is done; a background child may still hold the pipes open.
                let _ = tokio::time::timeout(DRAIN_AFTER_EXIT, pipes).await;
                status
            }
        }
    })
    .await;
    // Whatever is left of the group (a timed-out command, a stray background child)
    // or outside it (a `setsid` descendant) would outlive the task.
    group.kill_now();
    group.sweep().await;
    let status = match finished {
        Ok(status) => {
            status.map_err(|e| ToolError::Failed(format!("waiting for `{program}` failed: {e}")))?
        }
        Err(_elapsed) => {
            // Whatever the group wrote before it died is still in the pipes.
            let _ = tokio::time::timeout(
                DRAIN_AFTER_EXIT,
                collect(&mut stdout, &mut stderr, &mut output),
            )
            .await;
            let _ = child.wait().await;
            return Ok(CommandRun {
                status: None,
                output,
            });
        }
    };
    Ok(CommandRun {
        status: Some(status),
        output,
    })
}

/// Kills the command's process group when dropped, so every way out of
/// [`run_command`] ends the group, including the task agent cutting the task at
/// its time limit (the future is dropped mid-await), where `kill_on_drop`
/// alone would reach only the direct child and leave its children running.
/// Descendants that left the group are found by the command's marker.
struct GroupGuard {
    group: Option<u32>,
    marker: Option<String>,
}

impl GroupGuard {
    /// Kills the group now; the drop then does nothing (the id may be reused later).
    fn kill_now(&mut self) {
        super::process::kill_group(self.group.take());
    }

    /// Kills what the command detached, off the actor thread.
    async fn sweep(&mut self) {
        if let Some(marker) = self.marker.take() {
            let _ =
                tokio::task::spawn_blocking(move || super::process::kill_marked(&marker, false))
                    .await;
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill_now();
        if let (Some(marker), Ok(runtime)) =
            (self.marker.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn_blocking(move || super::process::kill_marked(&marker, false));
        }
    }
}

/// Reads both pipes into `output` until both are closed.
async fn collect<O, E>(stdout: &mut O, stderr: &mut E, output: &mut Output)
where
    O: AsyncRead + Unpin,
    E: AsyncRead + Unpin,
{
    let mut out_buf = vec![0u8; 64 * 1024];
    let mut err_buf = vec![0u8; 64 * 1024];
    let (mut out_open, mut err_open) = (true, true);
    while out_open || err_open {
        tokio::select! {
            read = stdout.read(&mut out_buf), if out_open => match read {
                Ok(0) | Err(_) => out_open = false,
                Ok(n) => output.push(&out_buf[..n]),
            },
            read = stderr.read(&mut err_buf), if err_open => match read {
                Ok(0) | Err(_) => err_open = false,
                Ok(n) => output.push(&err_buf[..n]),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_buffer_keeps_only_the_last_cap_bytes_and_counts_the_rest() {
        let mut out = Output::new(5, None);
        out.push(b"abc");
        out.push(b"defg");
        out.push(b"0123456789");
        assert_eq!(out.bytes(), b"56789");
        assert_eq!(out.cut, 12);
    }

    #[test]
    fn head_buffer_keeps_the_first_lines_only() {
        let mut out = Output::new(100, Some(OutputFilter::Head(2)));
        out.push(b"one\ntw");
        out.push(b"o\nthree\n");
        assert_eq!(out.bytes(), b"one\ntwo\n");
        assert_eq!(out.cut, 0);
    }

    #[test]
    fn last_lines_takes_the_final_n() {
        assert_eq!(last_lines("a\nb\nc\nd\n", 2), "c\nd\n");
        assert_eq!(last_lines("a\nb", 5), "a\nb\n");
        assert_eq!(last_lines("", 3), "");
    }
}
