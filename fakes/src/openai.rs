//! `FakeOpenAi`: a loopback OpenAI-compatible Chat Completions server.
//!
//! Serves `POST …/chat/completions` and `GET …/models` under any prefix
//! (clients use `{base}/v1`), checks `Authorization: Bearer` only with
//! [`FakeBuilder::expect_key`], and streams `data:`-only chunks ending with
//! `data: [DONE]`. Errors use the OpenAI `{"error":{…}}` object.

use std::sync::Arc;

use serde_json::Value;

use crate::answer::Answer;
use crate::reply::Reply;
use crate::server::{FakeBuilder, FakeServer, Flavor};

/// Builds OpenAI-compatible fakes.
pub struct FakeOpenAi;

impl FakeOpenAi {
    /// A server answering each model request with `script(body, index)`.
    pub fn builder(script: impl Fn(&Value, usize) -> Reply + Send + Sync + 'static) -> FakeBuilder {
        FakeBuilder::new(Flavor::OpenAi, Arc::new(script))
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
        Self::builder(move |body, _| answer(body).openai_reply())
    }

    /// Starts a server streaming the [`Answer`] that `answer(body)` builds for each request.
    pub async fn scripted(answer: impl Fn(&Value) -> Answer + Send + Sync + 'static) -> FakeServer {
        Self::scripted_builder(answer).start().await
    }
}
