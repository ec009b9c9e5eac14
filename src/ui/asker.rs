//! [`UiAsker`]: permission asks answered in the TUI's ask panel.
//!
//! The run's [`RunAsks`](crate::tools::asks::RunAsks) is built before the UI
//! actor starts, so the asker is connected to the actor afterwards, once,
//! before any task runs. The ask goes to the actor as an [`AskUser`] and the
//! answer comes back on a oneshot channel; `RunAsks` applies the timeout, and
//! dropping the receiver on timeout is what closes the panel.

use std::sync::OnceLock;

use actix::Recipient;
use async_trait::async_trait;
use tokio::sync::oneshot;

use crate::messages::AskUser;
use crate::tools::asks::{Answer, Ask, Asker};

/// Asks in the TUI.
#[derive(Debug, Default)]
pub struct UiAsker {
    ui: OnceLock<Recipient<AskUser>>,
}

impl UiAsker {
    /// An asker not yet connected to a UI (asks before [`connect`](Self::connect) are not asked).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends asks to this UI from now on; a second call is ignored.
    pub fn connect(&self, ui: Recipient<AskUser>) {
        let _ = self.ui.set(ui);
    }
}

#[async_trait]
impl Asker for UiAsker {
    async fn ask(&self, ask: &Ask) -> Answer {
        let Some(ui) = self.ui.get() else {
            return Answer::NotAsked;
        };
        let (reply, answer) = oneshot::channel();
        ui.do_send(AskUser {
            ask: ask.clone(),
            reply,
        });
        answer.await.unwrap_or(Answer::NotAsked)
    }
}
