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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::ui::{UiActor, UiMode};
    use crate::tools::asks::Request;
    use actix::Actor;

    fn lint() -> Ask {
        Ask {
            task_id: "install-1".into(),
            task_type: "install".into(),
            request: Request::Command("npm run lint".into()),
            reason: None,
            detail: None,
            refusal: "command rule: npm run lint matches no allowed prefix".into(),
        }
    }

    #[actix::test]
    async fn an_asker_not_yet_connected_does_not_ask() {
        assert_eq!(UiAsker::new().ask(&lint()).await, Answer::NotAsked);
    }

    #[actix::test]
    async fn a_ui_without_a_terminal_answers_not_asked_at_once_instead_of_hanging() {
        let asker = UiAsker::new();
        asker.connect(UiActor::new(UiMode::Quiet, None).start().recipient());
        let answer = tokio::time::timeout(std::time::Duration::from_secs(5), asker.ask(&lint()))
            .await
            .expect("the ask came back without waiting for the timeout");
        assert_eq!(answer, Answer::NotAsked);
    }
}
