//! `FakeAnthropic`: a loopback Anthropic Messages server.
//!
//! Serves `POST …/v1/messages` under any path prefix (gateways mount the API
//! under one), requires `anthropic-version`, accepts `x-api-key` or
//! `Authorization: Bearer` (checked only with [`FakeBuilder::expect_key`]),
//! answers `GET …/v1/models`, tags every response with `request-id`, and
//! ignores headers it does not know, like the real API.

use std::sync::Arc;

use serde_json::Value;

use crate::answer::Answer;
use crate::reply::Reply;
use crate::server::{FakeBuilder, FakeServer, Flavor};

/// Builds Anthropic fakes.
pub struct FakeAnthropic;

impl FakeAnthropic {
    /// A server answering each model request with `script(body, index)`.
    pub fn builder(script: impl Fn(&Value, usize) -> Reply + Send + Sync + 'static) -> FakeBuilder {
        FakeBuilder::new(Flavor::Anthropic, Arc::new(script))
    }

    /// Starts a server answering with `script(body, index)`.
    pub async fn start(
        script: impl Fn(&Value, usize) -> Reply + Send + Sync + 'static,
    ) -> FakeServer {
        Self::builder(script).start().await
    }

    /// A server streaming the [`Answer`] that `answer(body)` builds for each request.
    pub fn scripted_builder(
        answer: impl Fn(&Value) -> Answer + Send + Sync + 'static,
    ) -> FakeBuilder {
        Self::builder(move |body, _| answer(body).anthropic_reply())
    }

    /// Starts a server streaming the [`Answer`] that `answer(body)` builds for each request.
    pub async fn scripted(answer: impl Fn(&Value) -> Answer + Send + Sync + 'static) -> FakeServer {
        Self::scripted_builder(answer).start().await
    }
}
