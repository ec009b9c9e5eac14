//! The built app, started for verification: its own process group, a loopback port,
//! and always stopped (by [`RunningApp::stop`], or by the drop when the task is cut).

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

use crate::tools::{Fences, Secrets};

/// Bytes of the app's output kept, for a start that fails.
const OUTPUT_CAP: usize = 16 * 1024;
/// How long a stopped app has to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Why the app could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The start command is empty or does not split into words.
    #[error("the start command {0:?} is not a command")]
    BadCommand(String),
    /// No free loopback port.
    #[error("no free loopback port: {0}")]
    NoPort(std::io::Error),
    /// The program did not start.
    #[error("`{command}` did not start: {source}")]
    Spawn {
        /// The command.
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// It exited, or never listened, in time; with the end of its output.
    #[error("`{command}` {why}; its output ended with:\n{output}")]
    NotReady {
        /// The command.
        command: String,
        /// `exited with status 1`, `did not listen on port N within 60s`.
        why: String,
        /// The tail of its output.
        output: String,
    },
}

/// The app, running.
pub struct RunningApp {
    child: Child,
    group: GroupKill,
    /// The loopback port it listens on.
    pub port: u16,
    output: Arc<Mutex<VecDeque<u8>>>,
}

impl RunningApp {
    /// Starts `command` (`{port}` replaced) in `dir` on a free loopback port, with `env`
    /// added to its environment, and waits until the port accepts connections. Secrets of
    /// the run stay out of its environment.
    pub async fn start(
        dir: &Path,
        command: &str,
        fences: &Fences,
        secrets: &Secrets,
        env: &[(String, String)],
        ready: Duration,
    ) -> Result<Self, StartError> {
        let port = free_port().map_err(StartError::NoPort)?;
        let line = command.replace("{port}", &port.to_string());
        let argv = shell_words::split(&line).map_err(|_| StartError::BadCommand(line.clone()))?;
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| StartError::BadCommand(line.clone()))?;
        let mut cmd = Command::new(program);
        // The same allow-listed environment as every command (see tools::child_env).
        cmd.env_clear().envs(crate::tools::child_env::child_env(
            std::env::vars_os(),
            fences,
            secrets,
        ));
        cmd.args(args)
            .current_dir(dir)
            .env("PORT", port.to_string())
            .env("HOSTNAME", "127.0.0.1")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Own process group, killed with the wizard, found by the run's sweeps (`tools::process`).
        crate::tools::process::supervise(&mut cmd, &crate::tools::process::command_marker(dir));
        let mut child = cmd.spawn().map_err(|source| StartError::Spawn {
            command: line.clone(),
            source,
        })?;
        let group = GroupKill(child.id());
        let output = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(out) = child.stdout.take() {
            tokio::spawn(keep_tail(out, output.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(keep_tail(err, output.clone()));
        }
        let mut app = Self {
            child,
            group,
            port,
            output,
        };
        let deadline = tokio::time::Instant::now() + ready;
        loop {
            if let Ok(Some(status)) = app.child.try_wait() {
                return Err(app.not_ready(&line, format!("exited ({status}) before it listened")));
            }
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(app);
            }
            if tokio::time::Instant::now() >= deadline {
                let why = format!("did not listen on port {port} within {}s", ready.as_secs());
                return Err(app.not_ready(&line, why));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The end of the app's output so far.
    pub fn output_tail(&self) -> String {
        let bytes: Vec<u8> = match self.output.lock() {
            Ok(o) => o.iter().copied().collect(),
            Err(p) => p.into_inner().iter().copied().collect(),
        };
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Stops the whole group: SIGTERM, a grace period, then SIGKILL; waits for the child.
    pub async fn stop(mut self) {
        self.group.signal_term();
        if tokio::time::timeout(STOP_GRACE, self.child.wait())
            .await
            .is_err()
        {
            self.group.kill_now();
            let _ = self.child.wait().await;
        }
        // Children that ignored SIGTERM (a `next start` worker) go with SIGKILL.
        self.group.kill_now();
    }

    fn not_ready(&mut self, command: &str, why: String) -> StartError {
        self.group.kill_now();
        StartError::NotReady {
            command: command.to_string(),
            why,
            output: last_lines(&self.output_tail(), 30),
        }
    }
}

/// Kills the app's process group when dropped: a task cut at its time limit, an
/// interrupted run or a panic must not leave a server holding the port.
struct GroupKill(Option<u32>);

impl GroupKill {
    fn signal_term(&self) {
        signal(self.0, false);
    }

    fn kill_now(&mut self) {
        signal(self.0.take(), true);
    }
}

impl Drop for GroupKill {
    fn drop(&mut self) {
        self.kill_now();
    }
}

#[cfg(unix)]
fn signal(group: Option<u32>, kill: bool) {
    use nix::sys::signal::{killpg, Signal};
    use nix::unistd::Pid;
    if let Some(Ok(pid)) = group.map(i32::try_from) {
        let sig = if kill {
            Signal::SIGKILL
        } else {
            Signal::SIGTERM
        };
        // ESRCH (the group is already gone) is the usual, fine outcome.
        let _ = killpg(Pid::from_raw(pid), sig);
    }
}

#[cfg(not(unix))]
fn signal(_group: Option<u32>, _kill: bool) {}

/// A loopback port nothing listens on right now.
fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

async fn keep_tail(mut pipe: impl AsyncRead + Unpin, into: Arc<Mutex<VecDeque<u8>>>) {
    let mut buf = vec![0u8; 8 * 1024];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let mut tail = into.lock().unwrap_or_else(|p| p.into_inner());
        tail.extend(&buf[..n]);
        let excess = tail.len().saturating_sub(OUTPUT_CAP);
        tail.drain(..excess);
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
