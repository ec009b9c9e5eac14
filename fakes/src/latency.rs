//! A latency model for benchmarks: time to first token, then tokens per second.
//!
//! The server sleeps `ttft` before the first chunk, then spreads
//! `output_tokens / tokens_per_sec` evenly over the remaining chunks; every
//! duration is multiplied by `time_scale` (0 = no waiting, 0.1 = ten times
//! faster than life).

use std::time::Duration;

/// How fast a fake model answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Time to first token.
    pub ttft: Duration,
    /// Output speed.
    pub tokens_per_sec: f64,
    /// A factor applied to every wait.
    pub time_scale: f64,
}

impl Latency {
    /// The wait before the first chunk.
    pub(crate) fn first_chunk_delay(&self) -> Duration {
        self.scaled(self.ttft.as_secs_f64())
    }

    /// The wait before each later chunk, when `output_tokens` are spread over `chunks` chunks.
    pub(crate) fn per_chunk_delay(&self, output_tokens: u64, chunks: usize) -> Duration {
        if chunks <= 1 || self.tokens_per_sec <= 0.0 {
            return Duration::ZERO;
        }
        let total = output_tokens as f64 / self.tokens_per_sec;
        self.scaled(total / (chunks - 1) as f64)
    }

    fn scaled(&self, seconds: f64) -> Duration {
        let scaled = seconds * self.time_scale;
        if scaled.is_finite() && scaled > 0.0 {
            Duration::from_secs_f64(scaled)
        } else {
            Duration::ZERO
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_spread_the_output_over_the_chunks_and_scale() {
        let latency = Latency {
            ttft: Duration::from_millis(800),
            tokens_per_sec: 50.0,
            time_scale: 0.5,
        };
        assert_eq!(latency.first_chunk_delay(), Duration::from_millis(400));
        // 100 tokens at 50/s = 2 s over 4 gaps = 500 ms each, halved.
        assert_eq!(latency.per_chunk_delay(100, 5), Duration::from_millis(250));
        assert_eq!(latency.per_chunk_delay(100, 1), Duration::ZERO);
        let instant = Latency {
            time_scale: 0.0,
            ..latency
        };
        assert_eq!(instant.first_chunk_delay(), Duration::ZERO);
    }
}
