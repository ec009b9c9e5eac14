//! `TerminalUi` in a real pseudo-terminal: whatever way the TUI ends (stop,
//! drop, or a panic), the user's terminal comes back: the alternate screen
//! is left and raw mode is off.
//!
//! Each test runs this test binary again as a child on a pty (the ignored
//! `terminal_child` test) and reads everything it wrote. Raw mode is
//! detected by the pty's own output processing: only with raw mode off does
//! the terminal turn the child's final `\n` into `\r\n`.

use std::io::Read;
use std::panic::AssertUnwindSafe;

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use wizard::ui::terminal::TerminalUi;
use wizard::ui::view::RunView;

const MODE_VAR: &str = "WIZARD_TUI_CHILD_MODE";
const ENTER_ALTERNATE: &str = "\x1b[?1049h";
const LEAVE_ALTERNATE: &str = "\x1b[?1049l";
const AFTER: &str = "after-the-tui";

#[test]
#[ignore = "the child process of the pty tests below"]
fn terminal_child() {
    let mode = std::env::var(MODE_VAR).expect("run by a pty test");
    let mut ui = TerminalUi::start().unwrap();
    ui.draw(&RunView::new(), 0).unwrap();
    match mode.as_str() {
        "stop" => ui.stop().unwrap(),
        "drop" => drop(ui),
        "panic" => {
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| panic!("boom")));
            assert!(result.is_err());
            // Only the panic hook may restore here, not Drop.
            std::mem::forget(ui);
        }
        other => panic!("unknown mode {other}"),
    }
    println!("{AFTER}");
}

/// Runs the child on a fresh pty and returns everything it printed.
fn run_child(mode: &str) -> String {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(std::env::current_exe().unwrap());
    cmd.args(["terminal_child", "--exact", "--ignored", "--nocapture"]);
    cmd.env(MODE_VAR, mode);
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    // The parent's copy of the slave must close, or reading never ends.
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let output = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        // Linux answers EIO once the child's side is closed: that is the end.
        while let Ok(n) = reader.read(&mut chunk) {
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let status = child.wait().unwrap();
    let output = output.join().unwrap();
    assert!(status.success(), "child failed:\n{output:?}");
    output
}

fn assert_restored(output: &str) {
    let entered = output
        .find(ENTER_ALTERNATE)
        .expect("entered the alternate screen");
    let left = output
        .rfind(LEAVE_ALTERNATE)
        .expect("left the alternate screen");
    assert!(entered < left, "{output:?}");
    assert!(
        output.contains(&format!("{AFTER}\r\n")),
        "raw mode is still on after the TUI: {output:?}"
    );
}

#[test]
fn stop_gives_the_terminal_back() {
    assert_restored(&run_child("stop"));
}

#[test]
fn dropping_the_ui_gives_the_terminal_back() {
    assert_restored(&run_child("drop"));
}

#[test]
fn a_panic_gives_the_terminal_back_before_the_message_prints() {
    let output = run_child("panic");
    assert_restored(&output);
    let left = output.rfind(LEAVE_ALTERNATE).unwrap();
    let message = output.find("boom").expect("the panic message is shown");
    assert!(left < message, "{output:?}");
}
