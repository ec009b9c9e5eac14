//! Loopback fake servers for tests and benchmarks: Anthropic Messages, OpenAI-compatible Chat Completions, PostHog.

pub mod mcp;
pub mod posthog;
