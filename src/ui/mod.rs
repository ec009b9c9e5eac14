//! What the user sees while a run goes on: the TUI, the plain and JSON lines, the outro.
//!
//! Everything here renders state it is sent and owns none: [`view::RunView`]
//! is folded from [`QueueEvent`](crate::messages::QueueEvent)s by whoever
//! drives the UI, and every renderer is a function of that view (and the
//! clock it is given), so each screen state can be pinned by a snapshot test.

pub mod apps;
pub mod asker;
pub mod lines;
pub mod output;
pub mod outro;
pub mod review_screen;
pub mod sanitize;
pub mod status;
pub mod stdin_lines;
pub mod terminal;
pub mod tui;
pub mod units;
pub mod view;
