//! Model clients behind one trait: `anthropic` (Messages API), `openai`
//! (OpenAI-compatible Chat Completions) and `replay` (scripted cassettes).
//!
//! The agent loop speaks only the types in [`types`]; each client maps them to
//! its wire format. Base URLs are configurable so tests point the real clients
//! at loopback fake servers.

pub mod types;

pub use types::*;
