//! Model clients behind one trait: `anthropic` (Messages API), `openai`
//! (OpenAI-compatible Chat Completions) and `replay` (scripted cassettes).
//!
//! The agent loop speaks only the types in [`types`]; each client maps them to
//! its wire format. Base URLs are configurable so tests point the real clients
//! at loopback fake servers. [`retry`] holds the retry rules both HTTP clients
//! share, [`pricing`] the model tiers and prices read from `content/models.yaml`.

pub mod anthropic;
pub mod credential;
pub mod gateway;
pub mod http;
pub mod openai;
pub mod pricing;
pub mod replay;
pub mod retry;
mod sse;
pub mod types;

pub use types::*;
