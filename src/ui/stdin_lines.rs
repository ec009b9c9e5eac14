//! Lines typed on stdin, read by one thread for the whole process, only when asked for.
//!
//! Stdin has no async reads, and a thread blocked in `read_line` holds stdin's
//! lock until a line comes: two readers would split the user's answers between
//! them. So every question the wizard asks outside the TUI (the sign-in offer,
//! the pasted code, the project pick, permission asks, the yes/no questions)
//! takes its answer from here. The reader thread reads a line only when some
//! caller wants one; a line read for a caller that stopped waiting (the pasted
//! code, when the browser answered first) goes to the next caller, never lost.

use std::sync::mpsc as std_mpsc;
use std::sync::{Mutex, OnceLock};

use tokio::sync::oneshot;

/// Where a line goes: an async caller or a blocking one.
enum Reply {
    Async(oneshot::Sender<Option<String>>),
    Blocking(std_mpsc::Sender<Option<String>>),
}

impl Reply {
    /// Hands the line over; gives it back when the caller stopped waiting.
    fn deliver(self, line: Option<String>) -> Result<(), Option<String>> {
        match self {
            Reply::Async(tx) => tx.send(line),
            Reply::Blocking(tx) => tx.send(line).map_err(|e| e.0),
        }
    }
}

static REQUESTS: OnceLock<Mutex<std_mpsc::Sender<Reply>>> = OnceLock::new();

fn requests() -> std_mpsc::Sender<Reply> {
    let sender = REQUESTS.get_or_init(|| {
        let (tx, rx) = std_mpsc::channel::<Reply>();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            let mut kept: Option<Option<String>> = None;
            for reply in rx {
                let line = match kept.take() {
                    Some(line) => line,
                    None => {
                        let mut text = String::new();
                        match stdin.read_line(&mut text) {
                            Ok(n) if n > 0 => Some(text.trim_end_matches(['\r', '\n']).to_string()),
                            _ => None,
                        }
                    }
                };
                if let Err(line) = reply.deliver(line) {
                    kept = Some(line);
                }
            }
        });
        Mutex::new(tx)
    });
    match sender.lock() {
        Ok(tx) => tx.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// The next line typed, or `None` when stdin is closed.
pub async fn next_line() -> Option<String> {
    let (tx, rx) = oneshot::channel();
    requests().send(Reply::Async(tx)).ok()?;
    rx.await.ok().flatten()
}

/// The same, blocking the calling thread (for the synchronous yes/no questions).
pub fn next_line_blocking() -> Option<String> {
    let (tx, rx) = std_mpsc::channel();
    requests().send(Reply::Blocking(tx)).ok()?;
    rx.recv().ok().flatten()
}
