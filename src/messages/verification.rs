//! What a verify task learned: which planned events reached the product's backend.

use serde::{Deserialize, Serialize};

/// The evidence a verify task leaves in its handoff.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// How the run read the events back (`the query API at https://…`), or why it could not.
    pub method: String,
    /// Every planned event and what became of it.
    pub events: Vec<EventEvidence>,
    /// The requests the agent made to the running app, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<AppRequest>,
}

impl Verification {
    /// How many planned events reached the backend.
    pub fn reached(&self) -> usize {
        self.events
            .iter()
            .filter(|e| e.outcome == EventOutcome::Reached)
            .count()
    }

    /// `verified: N of M planned events reached <product>`, then what was only sent and
    /// what was not checked, each with its events.
    pub fn summary(&self, product: &str) -> Vec<String> {
        let mut lines = vec![format!(
            "verified: {} of {} planned events reached {product}",
            self.reached(),
            self.events.len()
        )];
        for (outcome, label) in [
            (EventOutcome::NotAccepted, "not accepted"),
            (EventOutcome::Sent, "only sent"),
            (EventOutcome::NotSeen, "not seen"),
            (EventOutcome::NotChecked, "not verified"),
        ] {
            let group: Vec<String> = self
                .events
                .iter()
                .filter(|e| e.outcome == outcome)
                .map(|e| format!("{} ({})", e.event, e.detail))
                .collect();
            if !group.is_empty() {
                lines.push(format!("{label}: {}", group.join(", ")));
            }
        }
        lines
    }
}

/// One planned event and what the run knows about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventEvidence {
    /// The event name from the plan.
    pub event: String,
    /// `client`, `server`, or empty when the plan does not say.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub side: String,
    /// What became of it.
    pub outcome: EventOutcome,
    /// Why, in a few words (`needs a browser`, `no personal API key`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// What became of one planned event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EventOutcome {
    /// The backend has it, since the run started.
    Reached,
    /// The recording relay saw it leave the app, but the host refused it (not a 2xx) or
    /// could not be reached.
    NotAccepted,
    /// The app answered the requests meant to send it, but the run could not read events back.
    Sent,
    /// The run could read events back, and this one was not among them.
    NotSeen,
    /// The run could not tell (no browser for a client event, no way to read events back).
    NotChecked,
}

/// One request the verify agent made to the running app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path and query (`/api/subscribe`).
    pub path: String,
    /// The status the app answered; `None` when it did not answer.
    pub status: Option<u16>,
}
