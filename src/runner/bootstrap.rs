//! Bootstrap: the checks both runners make before any agent starts.
//!
//! Each step is its own module with its own function, so the lead can call
//! them in order, show each result, and test each alone:
//!
//! * [`health`]: the model provider accepts our key; the PostHog host answers.
//! * [`conflicts`]: settings that would surprise the user mid-run (two model
//!   providers, a different PostHog token already in the app's env files,
//!   Claude Code overrides, a dirty git tree), one line each.
//! * [`credentials`]: the PostHog project token and host, the personal API key
//!   for MCP, the model keys, the MCP url; secrets never printed.
//!
//! Nothing here decides what the user sees or whether to ask: each step
//! returns plain data (a report, a list of conflicts, credentials) and the CLI
//! renders it. The variant (linear or orchestrator) is decided right after,
//! in [`crate::runner::flag`].

pub mod conflicts;
pub mod credentials;
pub mod health;

pub use conflicts::{settings_conflicts, Conflict, ConflictInputs, ConflictKind};
pub use credentials::{
    resolve_credentials, CredentialError, CredentialFlags, Credentials, Region, DEFAULT_MCP_URL,
    DEMO_PROJECT_TOKEN,
};
pub use health::{check_health, AuthCheck, AuthProblem, HealthDecision, HealthReport};
