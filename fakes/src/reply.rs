//! What a fake server answers to one request: a stream, an HTTP error, or a network fault.
//!
//! A [`Reply`] is plain data so scripts can build them from recorded fixtures
//! and fault injection can rewrite them (cut a stream short, stall it,
//! corrupt a delta) before the server plays them.

use bytes::Bytes;

use crate::latency::Latency;

/// How a streamed body is split into the chunks the server writes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Chunking {
    /// One chunk (or one per event when a latency model paces the stream).
    #[default]
    Whole,
    /// Chunks of this many bytes: boundaries fall inside lines, JSON and UTF-8 characters.
    Every(usize),
    /// Chunk boundaries at these byte offsets.
    At(Vec<usize>),
}

impl Chunking {
    /// Splits `body` into chunks.
    pub fn split(&self, body: &Bytes) -> Vec<Bytes> {
        let offsets: Vec<usize> = match self {
            Chunking::Whole => vec![],
            Chunking::Every(0) => vec![],
            Chunking::Every(n) => (1..)
                .map(|i| i * n)
                .take_while(|&o| o < body.len())
                .collect(),
            Chunking::At(offsets) => {
                let mut offsets: Vec<usize> = offsets
                    .iter()
                    .copied()
                    .filter(|&o| o > 0 && o < body.len())
                    .collect();
                offsets.sort_unstable();
                offsets.dedup();
                offsets
            }
        };
        let mut chunks = Vec::with_capacity(offsets.len() + 1);
        let mut start = 0;
        for offset in offsets.into_iter().chain(std::iter::once(body.len())) {
            if offset > start {
                chunks.push(body.slice(start..offset));
            }
            start = offset;
        }
        chunks
    }
}

/// A streamed (SSE) body.
#[derive(Debug, Clone, PartialEq)]
pub struct SseBody {
    /// The bytes, sent verbatim.
    pub bytes: Bytes,
    /// How they are split into writes.
    pub chunking: Chunking,
    /// Output tokens the answer stands for, used by the latency model (estimated when absent).
    pub output_tokens: Option<u64>,
    /// Pacing for this reply alone, instead of the server's latency model (benchmarks
    /// vary the time to first token with each request's uncached input).
    pub latency: Option<Latency>,
}

impl SseBody {
    /// A body sent as given, in one chunk.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        SseBody {
            bytes: bytes.into(),
            chunking: Chunking::Whole,
            output_tokens: None,
            latency: None,
        }
    }
}

/// One answer of a fake server.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `200` with an event stream.
    Sse(SseBody),
    /// Any status with headers and a body (errors, or a non-streamed JSON answer).
    Http {
        /// HTTP status.
        status: u16,
        /// Extra headers (`retry-after`, `x-should-retry`…).
        headers: Vec<(String, String)>,
        /// The body, verbatim.
        body: String,
    },
    /// The connection is closed before a complete response is read.
    Reset,
    /// `200`, the first `after_bytes` bytes of the stream, then the connection breaks.
    Cut {
        /// The stream that is cut short.
        body: SseBody,
        /// Bytes sent before the cut.
        after_bytes: usize,
    },
    /// `200`, the first `after_bytes` bytes of the stream, then nothing, forever.
    Stall {
        /// The stream that stalls.
        body: SseBody,
        /// Bytes sent before the stall.
        after_bytes: usize,
    },
}

impl Reply {
    /// A 200 event stream with these bytes, in one chunk.
    pub fn sse(bytes: impl Into<Bytes>) -> Reply {
        Reply::Sse(SseBody::new(bytes))
    }

    /// A 200 event stream split by `chunking`.
    pub fn sse_chunked(bytes: impl Into<Bytes>, chunking: Chunking) -> Reply {
        Reply::Sse(SseBody {
            chunking,
            ..SseBody::new(bytes)
        })
    }

    /// An HTTP answer with a status, headers and a body.
    pub fn http(status: u16, headers: &[(&str, &str)], body: impl Into<String>) -> Reply {
        Reply::Http {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.into(),
        }
    }

    /// An Anthropic error envelope: `{"type":"error","error":{"type","message"},"request_id"}`.
    pub fn anthropic_error(status: u16, kind: &str, message: &str) -> Reply {
        let body = serde_json::json!({
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": "req_fake_error",
        });
        Reply::http(
            status,
            &[("content-type", "application/json")],
            body.to_string(),
        )
    }

    /// An OpenAI error object: `{"error":{"message","type","param","code"}}`.
    pub fn openai_error(status: u16, kind: &str, message: &str) -> Reply {
        let body = serde_json::json!({
            "error": {"message": message, "type": kind, "param": null, "code": null},
        });
        Reply::http(
            status,
            &[("content-type", "application/json")],
            body.to_string(),
        )
    }

    /// The stream `bytes`, broken off after `after_bytes`.
    pub fn cut(bytes: impl Into<Bytes>, after_bytes: usize) -> Reply {
        Reply::Cut {
            body: SseBody::new(bytes),
            after_bytes,
        }
    }

    /// The stream `bytes`, going silent after `after_bytes`.
    pub fn stall(bytes: impl Into<Bytes>, after_bytes: usize) -> Reply {
        Reply::Stall {
            body: SseBody::new(bytes),
            after_bytes,
        }
    }
}

/// Pads every JSON `data:` line with spaces before its closing brace, as real
/// recorded Anthropic streams do (`{"type":"content_block_stop","index":0     }`).
pub fn pad_data_lines(sse: &str, spaces: usize) -> String {
    let padding = " ".repeat(spaces);
    sse.split_inclusive('\n')
        .map(|line| {
            let (content, ending) = match line.strip_suffix('\n') {
                Some(content) => (content, "\n"),
                None => (line, ""),
            };
            match content.strip_prefix("data:") {
                Some(data) if data.trim_end().ends_with('}') => {
                    let trimmed = content.trim_end();
                    let cut = trimmed.len() - 1;
                    format!("{}{padding}}}{ending}", &trimmed[..cut])
                }
                _ => line.to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_n_splits_at_fixed_offsets_and_keeps_all_bytes() {
        let body = Bytes::from_static("héllo wörld".as_bytes());
        let chunks = Chunking::Every(2).split(&body);
        assert!(chunks.iter().all(|c| c.len() <= 2));
        assert_eq!(chunks.concat(), body.to_vec());
        // A boundary falls inside "é" (bytes 1..3).
        assert!(std::str::from_utf8(&chunks[0]).is_err());
    }

    #[test]
    fn explicit_offsets_are_sorted_and_clamped() {
        let body = Bytes::from_static(b"abcdef");
        let chunks = Chunking::At(vec![4, 2, 2, 99]).split(&body);
        assert_eq!(
            chunks,
            vec![
                Bytes::from_static(b"ab"),
                Bytes::from_static(b"cd"),
                Bytes::from_static(b"ef")
            ]
        );
    }

    #[test]
    fn padding_goes_inside_the_json_of_data_lines_only() {
        let padded = pad_data_lines(
            "event: ping\ndata: {\"type\":\"ping\"}\n\ndata: [DONE]\n",
            3,
        );
        assert_eq!(
            padded,
            "event: ping\ndata: {\"type\":\"ping\"   }\n\ndata: [DONE]\n"
        );
    }
}
