//! Responsiveness: how soon the user saw something happen, and the longest silence.
//!
//! Fed with the `t_ms` of queue events (milliseconds on the process clock).
//! A transition is "visible" when the user sees it: the run starting, a task
//! starting, completing, failing or being skipped, the run finishing. A
//! requeue is not visible, so a retry stall counts as silence. The run's
//! start is the first mark; a value is `None` when its event never happened.

use serde::Serialize;

/// The marks seen so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunMetrics {
    start_ms: Option<u64>,
    first_task_ms: Option<u64>,
    first_completion_ms: Option<u64>,
    prev_start_ms: Option<u64>,
    last_visible_ms: Option<u64>,
    max_gap_ms: u64,
    start_is_fallback: bool,
}

/// Where a task start falls in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StartTiming {
    /// Milliseconds since the run started.
    pub ms_since_run_start: u64,
    /// Milliseconds since the previous task start; `None` for the first.
    pub gap_since_prev_start_ms: Option<u64>,
}

/// The run's responsiveness numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MetricsSummary {
    /// From the run start to the first task start.
    pub time_to_first_task_ms: Option<u64>,
    /// From the run start to the first task completion.
    pub time_to_first_completion_ms: Option<u64>,
    /// The longest interval between consecutive visible transitions.
    pub max_gap_ms: u64,
}

impl RunMetrics {
    /// Metrics for a run that started at `t_ms`.
    pub fn starting_at(t_ms: u64) -> Self {
        let mut metrics = Self::default();
        metrics.run_started(t_ms);
        metrics
    }

    /// Metrics that count from `t_ms` unless a run start arrives before any task event
    /// (a subscriber created before the queue's `run_started`).
    pub fn with_fallback_start(t_ms: u64) -> Self {
        let mut metrics = Self::starting_at(t_ms);
        metrics.start_is_fallback = true;
        metrics
    }

    /// The run started (or resumed) at `t_ms`; the first call wins over all but a fallback start.
    pub fn run_started(&mut self, t_ms: u64) {
        let nothing_seen = self.first_task_ms.is_none() && self.first_completion_ms.is_none();
        if self.start_ms.is_none() || (self.start_is_fallback && nothing_seen) {
            self.start_ms = Some(t_ms);
            self.last_visible_ms = Some(t_ms);
            self.max_gap_ms = 0;
        }
        self.start_is_fallback = false;
    }

    /// A task started at `t_ms`.
    pub fn task_started(&mut self, t_ms: u64) -> StartTiming {
        let start = self.start(t_ms);
        self.first_task_ms.get_or_insert(t_ms);
        let gap = self.prev_start_ms.map(|prev| t_ms.saturating_sub(prev));
        self.prev_start_ms = Some(t_ms);
        self.visible(t_ms);
        StartTiming {
            ms_since_run_start: t_ms.saturating_sub(start),
            gap_since_prev_start_ms: gap,
        }
    }

    /// A task completed at `t_ms`.
    pub fn task_completed(&mut self, t_ms: u64) {
        self.start(t_ms);
        self.first_completion_ms.get_or_insert(t_ms);
        self.visible(t_ms);
    }

    /// A task failed or was skipped at `t_ms`; the run finished at `t_ms`.
    pub fn task_ended(&mut self, t_ms: u64) {
        self.start(t_ms);
        self.visible(t_ms);
    }

    /// When the run started, once known.
    pub fn start_ms(&self) -> Option<u64> {
        self.start_ms
    }

    /// The numbers so far.
    pub fn summary(&self) -> MetricsSummary {
        let since_start = |t: Option<u64>| Some(t?.saturating_sub(self.start_ms?));
        MetricsSummary {
            time_to_first_task_ms: since_start(self.first_task_ms),
            time_to_first_completion_ms: since_start(self.first_completion_ms),
            max_gap_ms: self.max_gap_ms,
        }
    }

    /// The run's start, taking `t_ms` when none was seen; a task event fixes a fallback start.
    fn start(&mut self, t_ms: u64) -> u64 {
        if self.start_ms.is_none() {
            self.run_started(t_ms);
        }
        self.start_is_fallback = false;
        self.start_ms.unwrap_or(t_ms)
    }

    fn visible(&mut self, t_ms: u64) {
        if let Some(last) = self.last_visible_ms {
            self.max_gap_ms = self.max_gap_ms.max(t_ms.saturating_sub(last));
        }
        self.last_visible_ms = Some(t_ms.max(self.last_visible_ms.unwrap_or(0)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_task_and_first_completion_count_from_the_run_start() {
        let mut m = RunMetrics::starting_at(1_000);
        m.task_started(1_400);
        m.task_completed(3_000);
        let s = m.summary();
        assert_eq!(s.time_to_first_task_ms, Some(400));
        assert_eq!(s.time_to_first_completion_ms, Some(2_000));
    }

    #[test]
    fn longest_silence_is_between_visible_transitions_only() {
        let mut m = RunMetrics::starting_at(0);
        m.task_started(100);
        // A requeue at 2_000 is not fed in: it is not visible.
        m.task_started(5_000);
        m.task_completed(5_500);
        m.task_ended(6_000);
        assert_eq!(m.summary().max_gap_ms, 4_900);
    }

    #[test]
    fn start_gaps_are_reported_per_task() {
        let mut m = RunMetrics::starting_at(0);
        assert_eq!(m.task_started(50).gap_since_prev_start_ms, None);
        let second = m.task_started(350);
        assert_eq!(second.gap_since_prev_start_ms, Some(300));
        assert_eq!(second.ms_since_run_start, 350);
    }

    #[test]
    fn a_run_start_replaces_a_fallback_start_seen_before_any_task() {
        let mut m = RunMetrics::with_fallback_start(0);
        m.run_started(1_000);
        m.task_started(1_250);
        assert_eq!(m.summary().time_to_first_task_ms, Some(250));
        assert_eq!(m.summary().max_gap_ms, 250);
    }

    #[test]
    fn a_fallback_start_stands_when_no_run_start_arrives() {
        let mut m = RunMetrics::with_fallback_start(100);
        m.task_started(600);
        m.run_started(700);
        assert_eq!(m.summary().time_to_first_task_ms, Some(500));
    }

    #[test]
    fn events_that_never_happened_are_none() {
        let m = RunMetrics::starting_at(10);
        assert_eq!(m.summary().time_to_first_task_ms, None);
        assert_eq!(m.summary().time_to_first_completion_ms, None);
    }
}
