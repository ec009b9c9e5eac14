//! Tool calls run while the model's answer is still streaming.
//!
//! A client reports each tool call as soon as its input is whole
//! ([`crate::providers::ProviderEvent::ToolCallReady`]). For the tools an agent
//! names as early (the seed's `enqueue_task`: the first task then starts while
//! the seed is still writing the rest of its plan), the agent loop runs the call
//! at once and keeps its outcome here. When the answer ends, the loop walks its
//! calls in order as always and takes each early outcome instead of running the
//! call again, so the tool results sent back keep the answer's ids and order.
//!
//! Calls are matched by name and canonical input, not by id: a retried attempt
//! streams the same calls again under new ids, and must not run them twice.
//! Within one attempt a call made twice runs twice, as it would at the end.

use std::collections::{HashMap, VecDeque};

use serde_json::Value;

use crate::queue::canonical_json;
use crate::tools::{ToolError, ToolOutput};

/// What a tool call returned.
pub(crate) type Outcome = Result<ToolOutput, ToolError>;

/// The early outcomes of one model request (all its attempts), until the answer's end takes them.
#[derive(Debug, Default)]
pub(crate) struct EarlyCalls {
    /// Outcomes by call key, in the order the calls ran.
    done: HashMap<String, VecDeque<Outcome>>,
    /// How often each key was streamed in the current attempt.
    seen: HashMap<String, usize>,
}

impl EarlyCalls {
    /// A new attempt of the same request starts (the client retries): its calls are
    /// counted afresh against what earlier attempts already ran.
    pub(crate) fn new_attempt(&mut self) {
        self.seen.clear();
    }

    /// Notes a streamed call; true when it has to run now, false when an earlier
    /// attempt of this request already ran it.
    pub(crate) fn should_run(&mut self, name: &str, input: &Value) -> bool {
        let key = call_key(name, input);
        let ran = self.done.get(&key).map_or(0, VecDeque::len);
        let seen = self.seen.entry(key).or_default();
        *seen += 1;
        *seen > ran
    }

    /// Keeps the outcome of a call that ran early.
    pub(crate) fn record(&mut self, name: &str, input: &Value, outcome: Outcome) {
        self.done
            .entry(call_key(name, input))
            .or_default()
            .push_back(outcome);
    }

    /// The outcome of this call if it already ran, taken (each outcome answers one call).
    pub(crate) fn take(&mut self, name: &str, input: &Value) -> Option<Outcome> {
        let key = call_key(name, input);
        let queue = self.done.get_mut(&key)?;
        let outcome = queue.pop_front();
        if queue.is_empty() {
            self.done.remove(&key);
        }
        outcome
    }

    /// Ends the request: forgets everything and says how many early calls no call of the
    /// final answer claimed (an attempt that failed after running them, and whose retry
    /// did not make the same calls).
    pub(crate) fn finish(&mut self) -> usize {
        let unclaimed = self.done.values().map(VecDeque::len).sum();
        self.done.clear();
        self.seen.clear();
        unclaimed
    }
}

fn call_key(name: &str, input: &Value) -> String {
    format!("{name}:{}", canonical_json(input))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(text: &str) -> Outcome {
        Ok(ToolOutput::text(text))
    }

    #[test]
    fn a_retried_attempt_does_not_run_a_call_again_but_a_repeated_call_runs_twice() {
        let mut early = EarlyCalls::default();
        let install = json!({"type": "install", "reason": "r"});
        assert!(early.should_run("enqueue_task", &install));
        early.record("enqueue_task", &install, ok("install"));

        // The stream broke; the retry streams the same call again (keys ignore key order).
        early.new_attempt();
        let reordered = json!({"reason": "r", "type": "install"});
        assert!(!early.should_run("enqueue_task", &reordered));
        // The same call a second time in this attempt is a second call: it runs.
        assert!(early.should_run("enqueue_task", &install));
        early.record("enqueue_task", &install, ok("install-2"));

        assert_eq!(early.take("enqueue_task", &install), Some(ok("install")));
        assert_eq!(early.take("enqueue_task", &install), Some(ok("install-2")));
        assert_eq!(early.take("enqueue_task", &install), None);
        assert_eq!(early.finish(), 0);
    }

    #[test]
    fn outcomes_no_call_claims_are_counted_and_dropped_at_the_end() {
        let mut early = EarlyCalls::default();
        let input = json!({"type": "init"});
        assert!(early.should_run("enqueue_task", &input));
        early.record("enqueue_task", &input, ok("init"));
        assert_eq!(early.take("Read", &input), None, "another tool's call");
        assert_eq!(early.finish(), 1);
        assert_eq!(early.take("enqueue_task", &input), None);
    }
}
