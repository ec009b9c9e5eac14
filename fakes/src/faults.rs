//! Seeded fault injection: a fraction of requests get a failure instead of their scripted answer.
//!
//! The rates are probabilities per request, drawn from a seeded RNG in request
//! order, so a run with the same seed and the same requests meets the same
//! faults. Faults that need a stream (cut, stall, malformed delta) rewrite the
//! scripted stream; on a non-stream answer they fall back to a reset or leave it.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::reply::{Reply, SseBody};
use crate::server::Flavor;

/// Per-request fault probabilities (0.0–1.0; their sum should stay ≤ 1).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Faults {
    /// 429 rate limited, with `retry-after-ms: 10` or `retry-after: 0`.
    pub rate_429: f64,
    /// 529 overloaded (503 on the OpenAI fake).
    pub rate_529: f64,
    /// 500 internal error.
    pub rate_500: f64,
    /// The connection closes before a response.
    pub rate_reset: f64,
    /// The stream breaks off halfway.
    pub rate_cut_stream: f64,
    /// The stream goes silent halfway.
    pub rate_stall: f64,
    /// An event with truncated JSON is slipped in after the first event.
    pub rate_malformed_delta: f64,
    /// The RNG seed.
    pub seed: u64,
}

/// The RNG and rates of one server.
pub(crate) struct FaultInjector {
    faults: Faults,
    rng: StdRng,
}

impl FaultInjector {
    pub(crate) fn new(faults: Faults) -> Self {
        let rng = StdRng::seed_from_u64(faults.seed);
        FaultInjector { faults, rng }
    }

    /// The reply to send instead of `reply`, or `reply` itself when no fault is drawn.
    pub(crate) fn apply(&mut self, reply: Reply, flavor: Flavor) -> Reply {
        let draw: f64 = self.rng.random();
        let f = &self.faults;
        let mut threshold = 0.0;
        let mut hit = |rate: f64| {
            threshold += rate.max(0.0);
            draw < threshold
        };
        if hit(f.rate_429) {
            let wait = if self.rng.random_bool(0.5) {
                ("retry-after-ms", "10")
            } else {
                ("retry-after", "0")
            };
            return with_headers(
                flavor.error(429, "rate_limit_error", "Rate limited (injected fault)"),
                &[wait, ("x-should-retry", "true")],
            );
        }
        if hit(f.rate_529) {
            return match flavor {
                Flavor::Anthropic => {
                    flavor.error(529, "overloaded_error", "Overloaded (injected fault)")
                }
                Flavor::OpenAi => {
                    flavor.error(503, "unavailable_error", "Loading model (injected fault)")
                }
            };
        }
        if hit(f.rate_500) {
            let kind = match flavor {
                Flavor::Anthropic => "api_error",
                Flavor::OpenAi => "server_error",
            };
            return flavor.error(500, kind, "Internal server error (injected fault)");
        }
        if hit(f.rate_reset) {
            return Reply::Reset;
        }
        if hit(f.rate_cut_stream) {
            return match reply {
                Reply::Sse(body) => {
                    let after_bytes = body.bytes.len() / 2;
                    Reply::Cut { body, after_bytes }
                }
                _ => Reply::Reset,
            };
        }
        if hit(f.rate_stall) {
            return match reply {
                Reply::Sse(body) => {
                    let after_bytes = body.bytes.len() / 2;
                    Reply::Stall { body, after_bytes }
                }
                _ => Reply::Stall {
                    body: SseBody::new(""),
                    after_bytes: 0,
                },
            };
        }
        if hit(f.rate_malformed_delta) {
            if let Reply::Sse(body) = reply {
                return Reply::Sse(malformed(body, flavor));
            }
        }
        reply
    }
}

fn with_headers(reply: Reply, extra: &[(&str, &str)]) -> Reply {
    match reply {
        Reply::Http {
            status,
            mut headers,
            body,
        } => {
            headers.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
            Reply::Http {
                status,
                headers,
                body,
            }
        }
        other => other,
    }
}

/// The stream with a truncated-JSON delta after its first event.
fn malformed(body: SseBody, flavor: Flavor) -> SseBody {
    let text = String::from_utf8_lossy(&body.bytes).into_owned();
    let bad = match flavor {
        Flavor::Anthropic => "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\n\n",
        Flavor::OpenAi => "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\n\n",
    };
    let at = text.find("\n\n").map_or(0, |i| i + 2);
    let mut corrupted = String::with_capacity(text.len() + bad.len());
    corrupted.push_str(&text[..at]);
    corrupted.push_str(bad);
    corrupted.push_str(&text[at..]);
    SseBody {
        bytes: corrupted.into(),
        ..body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(faults: Faults, n: usize) -> Vec<Reply> {
        let mut injector = FaultInjector::new(faults);
        (0..n)
            .map(|_| injector.apply(Reply::sse("event: a\ndata: {}\n\n"), Flavor::Anthropic))
            .collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let faults = Faults {
            rate_429: 0.3,
            rate_reset: 0.3,
            seed: 7,
            ..Faults::default()
        };
        assert_eq!(run(faults.clone(), 50), run(faults, 50));
    }

    #[test]
    fn rates_select_roughly_that_share_of_requests() {
        let replies = run(
            Faults {
                rate_429: 0.5,
                seed: 1,
                ..Faults::default()
            },
            400,
        );
        let limited = replies
            .iter()
            .filter(|r| matches!(r, Reply::Http { status: 429, .. }))
            .count();
        assert!((120..280).contains(&limited), "{limited}");
        let clean = run(Faults::default(), 50);
        assert!(clean.iter().all(|r| matches!(r, Reply::Sse(_))));
    }

    #[test]
    fn a_malformed_delta_is_inserted_after_the_first_event() {
        let replies = run(
            Faults {
                rate_malformed_delta: 1.0,
                ..Faults::default()
            },
            1,
        );
        let Reply::Sse(body) = &replies[0] else {
            panic!("expected a stream")
        };
        let text = std::str::from_utf8(&body.bytes).unwrap();
        assert!(
            text.starts_with("event: a\ndata: {}\n\nevent: content_block_delta\ndata: {\"type\"")
        );
    }
}
