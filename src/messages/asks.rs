//! A permission ask on its way to the TUI, and the channel its answer comes back on.

use actix::Message;
use tokio::sync::oneshot;

use crate::tools::asks::{Answer, Ask};

/// Show `ask` in the TUI's ask panel; the user's key comes back on `reply`. A dropped
/// `reply` (no terminal to show it on) reads as "not asked"; a dropped receiver (the
/// ask timed out) closes the panel.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct AskUser {
    /// What the task asks for, and why.
    pub ask: Ask,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Answer>,
}
