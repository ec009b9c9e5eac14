//! Lines typed on stdin, read by one thread for the whole process.
//!
//! Stdin has no async reads, and a thread blocked in `read_line` holds stdin's
//! lock until a line comes: two readers would split the user's answers between
//! them. So every question the wizard asks outside the TUI (the sign-in offer,
//! the pasted code, the project pick, permission asks) takes its answer from
//! this one channel, started at the first question.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, Mutex};

type Lines = Arc<Mutex<mpsc::Receiver<String>>>;

static LINES: OnceLock<Lines> = OnceLock::new();

/// The process's stdin lines (without their line ends); `None` from `recv` at end of input.
pub fn shared() -> Lines {
    LINES
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel(8);
            std::thread::spawn(move || {
                let stdin = std::io::stdin();
                let mut line = String::new();
                while stdin.read_line(&mut line).is_ok_and(|n| n > 0) {
                    let text = line.trim_end_matches(['\r', '\n']).to_string();
                    line.clear();
                    if tx.blocking_send(text).is_err() {
                        break;
                    }
                }
            });
            Arc::new(Mutex::new(rx))
        })
        .clone()
}

/// The next line typed, or `None` when stdin is closed.
pub async fn next_line() -> Option<String> {
    shared().lock().await.recv().await
}
