//! The real binary on a pseudo-terminal, its output read through a terminal
//! emulator (`vt100`), so a test reads the screen as the user sees it and
//! types keys as the user would. Used by the tests of the TUI's questions
//! (the ask panel, the review screen).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, PtySize};

/// How long an awaited screen or exit may take before the test calls the run hung.
pub const HANG_GUARD: Duration = Duration::from_secs(90);

/// A process on a pty, with its screen.
pub struct Pty {
    child: Box<dyn Child + Send + Sync>,
    keys: Box<dyn Write + Send>,
    screen: Arc<Mutex<vt100::Parser>>,
    reader: Option<JoinHandle<()>>,
    // Kept open so the child's terminal stays alive.
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Pty {
    /// Spawns `cmd` on a `rows`×`cols` pty.
    pub fn spawn(mut cmd: CommandBuilder, rows: u16, cols: u16) -> Self {
        cmd.env("TERM", "xterm-256color");
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let child = pair.slave.spawn_command(cmd).unwrap();
        // The parent's copy of the slave must close, or reading never ends.
        drop(pair.slave);
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            NonZeroU16::new(rows).unwrap(),
            NonZeroU16::new(cols).unwrap(),
            0,
        )));
        let mut output = pair.master.try_clone_reader().unwrap();
        let keys = pair.master.take_writer().unwrap();
        let feed = screen.clone();
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = output.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                lock(&feed).process(&chunk[..n]);
            }
        });
        Self {
            child,
            keys,
            screen,
            reader: Some(reader),
            _master: pair.master,
        }
    }

    /// The screen as text.
    pub fn text(&self) -> String {
        lock(&self.screen).screen().contents()
    }

    /// Waits until the screen shows `needle`; returns that screen. Panics with the screen on a hang.
    pub fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.finish_reading();
                let text = self.text();
                if text.contains(needle) {
                    return text;
                }
                panic!("exited ({status:?}) before the screen showed {needle:?}:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "the screen did not show {needle:?} within {HANG_GUARD:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `text`.
    pub fn press(&mut self, text: &str) {
        self.keys.write_all(text.as_bytes()).unwrap();
        self.keys.flush().unwrap();
    }

    /// Waits for the process to end; returns its exit code and the last screen.
    pub fn wait_for_exit(&mut self) -> (u32, String) {
        let deadline = Instant::now() + HANG_GUARD;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the run did not exit within {HANG_GUARD:?}:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        self.finish_reading();
        (status.exit_code(), self.text())
    }

    fn finish_reading(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        // A failed assertion must not leave the run going behind the test.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn lock(parser: &Mutex<vt100::Parser>) -> MutexGuard<'_, vt100::Parser> {
    parser
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
