//! Runners: what `wizard integrate` does after the CLI has parsed its flags.

pub mod lock;
pub mod orchestrated;
