//! The process's exit codes, shared by the command line and the runner so that neither
//! has to import the other (README, "Exit codes").

use crate::messages::Verdict;

/// Exit code for a successful run.
pub const EXIT_OK: i32 = 0;
/// Exit code for a run that failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code for a usage or configuration error.
pub const EXIT_USAGE: i32 = 2;
/// Exit code for a missing or refused credential (sign-in, project token, model key).
pub const EXIT_AUTH: i32 = 3;
/// Exit code for a run a budget (`--budget-usd`, `--max-tokens`) stopped.
pub const EXIT_BUDGET: i32 = 4;
/// Exit code for a run blocked by a permission it needed and was not given.
pub const EXIT_BLOCKED: i32 = 10;
/// Exit code for an interrupted run.
pub const EXIT_INTERRUPTED: i32 = 130;

/// The exit code for a verdict.
pub fn exit_code(verdict: Verdict) -> i32 {
    match verdict {
        Verdict::Success => EXIT_OK,
        Verdict::Failed => EXIT_FAILED,
        Verdict::BudgetExhausted => EXIT_BUDGET,
        Verdict::Interrupted => EXIT_INTERRUPTED,
    }
}
