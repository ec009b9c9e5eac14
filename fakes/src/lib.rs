//! Loopback fake servers for tests and benchmarks: Anthropic Messages, OpenAI-compatible Chat Completions,
//! PostHog (flags, capture) and the PostHog MCP server.
//!
//! Each fake binds 127.0.0.1 on a free port, records every request (headers
//! and JSON body), and answers model requests from a pluggable script
//! (`Fn(&request_body, request_index) -> Reply`). A [`Reply`] is a verbatim
//! event stream (a recorded fixture, optionally split at awkward byte offsets
//! and padded like real traffic), an HTTP error, a reset connection, a stream
//! cut off or stalled after N bytes. [`Answer`] builds well-formed streams from
//! blocks, so whole runs can be scripted; [`Faults`] injects seeded failures
//! and [`Latency`] paces streams for benchmarks. The PostHog and MCP fakes
//! live in [`posthog`] and [`mcp`]; the sign-in (OAuth + API) in [`account`].
//!
//! The fakes follow the checklist of the wire reference (§6): event order,
//! `event:` + `data:` lines with blank-line terminators, error envelopes,
//! `request-id`, `retry-after`, arbitrary path prefixes, unknown headers ignored.
//!
//! ```no_run
//! # async fn demo() {
//! use wizard_fakes::{Answer, FakeAnthropic};
//! let server = FakeAnthropic::scripted(|_request| Answer::text("Hello")).await;
//! let base = server.base_url(); // point ANTHROPIC_BASE_URL here
//! # }
//! ```

pub mod account;
mod answer;
mod anthropic;
mod faults;
mod latency;
pub mod mcp;
mod openai;
pub mod posthog;
mod reply;
mod server;

pub use answer::{Answer, Block, FakeUsage};
pub use anthropic::FakeAnthropic;
pub use faults::Faults;
pub use latency::Latency;
pub use openai::FakeOpenAi;
pub use reply::{pad_data_lines, Chunking, Reply, SseBody};
pub use server::{FakeBuilder, FakeServer, Flavor, RecordedRequest, Script};
