//! Where the wizard's own telemetry goes, and whether it goes anywhere.
//!
//! The wizard reports to its own PostHog project (`WIZARD_TELEMETRY_HOST`,
//! `WIZARD_TELEMETRY_TOKEN`), never to the user's. The same project serves the
//! `wizard-orchestrator` flag, so [`TelemetrySetting`] is read once and
//! handed to both the flag decision and the telemetry actor.

use std::fmt;

/// The wizard's telemetry project: its host and project token.
#[derive(Clone, PartialEq, Eq)]
pub struct TelemetryTarget {
    host: String,
    token: String,
}

impl fmt::Debug for TelemetryTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryTarget")
            .field("host", &self.host)
            .field("token", &"<set>")
            .finish()
    }
}

impl TelemetryTarget {
    /// A target; the host loses any trailing slash.
    pub fn new(host: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            host: host.into().trim_end_matches('/').to_string(),
            token: token.into(),
        }
    }

    /// The host, without a trailing slash.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The project token (sent as `api_key`; never logged).
    pub fn token(&self) -> &str {
        &self.token
    }
}

/// Telemetry on (to a target) or off (with the reason shown to the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelemetrySetting {
    /// Send to this project.
    On(TelemetryTarget),
    /// Send nothing.
    Off {
        /// Why: the flag, the variable, or no project configured.
        reason: String,
    },
}

/// The reason given when no telemetry project is configured.
pub const NOT_CONFIGURED: &str = "no flag service configured";

impl TelemetrySetting {
    /// Off with `--no-telemetry` or `DO_NOT_TRACK` (any value but empty, `0`,
    /// `false`), off without both `WIZARD_TELEMETRY_HOST` and
    /// `WIZARD_TELEMETRY_TOKEN`, else on.
    pub fn resolve(no_telemetry: bool, env: &dyn Fn(&str) -> Option<String>) -> Self {
        if no_telemetry {
            return Self::off("telemetry is off (--no-telemetry)");
        }
        let dnt = env("DO_NOT_TRACK").map(|v| v.trim().to_ascii_lowercase());
        if dnt.is_some_and(|v| !v.is_empty() && v != "0" && v != "false") {
            return Self::off("telemetry is off (DO_NOT_TRACK)");
        }
        let set = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        match (set("WIZARD_TELEMETRY_HOST"), set("WIZARD_TELEMETRY_TOKEN")) {
            (Some(host), Some(token)) => Self::On(TelemetryTarget::new(host, token)),
            _ => Self::off(NOT_CONFIGURED),
        }
    }

    /// Off, for this reason.
    pub fn off(reason: impl Into<String>) -> Self {
        Self::Off {
            reason: reason.into(),
        }
    }

    /// The target, when on.
    pub fn target(&self) -> Option<&TelemetryTarget> {
        match self {
            Self::On(target) => Some(target),
            Self::Off { .. } => None,
        }
    }
}
