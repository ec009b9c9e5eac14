//! Runners: what `wizard integrate` does after the CLI has parsed its flags.

pub mod apps;
pub mod bootstrap;
pub mod demo;
pub mod detect;
pub mod flag;
pub mod integrate;
pub mod linear;
pub mod lock;
pub mod orchestrated;
pub mod prefix;
pub mod resume;
pub mod review;
pub mod settings;
