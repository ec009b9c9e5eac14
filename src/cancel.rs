//! Cancellation of running work: one [`CancellationToken`] per attempt and for the seed.
//!
//! The queue owns the tokens (a child of the run's token for each attempt);
//! the task agent runs the attempt inside [`scope`], so every tool call made
//! by that attempt can find its token with [`current`] without the token
//! being threaded through each tool's signature. Blocking file work carries it
//! onto the blocking pool with [`in_blocking`], where the work checks
//! [`blocking_cancelled`] before an effect that must not happen once the task
//! is over (an `Edit` that would land after the task failed).

use std::cell::RefCell;
use std::future::Future;

pub use tokio_util::sync::CancellationToken;

tokio::task_local! {
    static CURRENT: CancellationToken;
}

thread_local! {
    static BLOCKING: RefCell<Option<CancellationToken>> = const { RefCell::new(None) };
}

/// Runs `fut` with `token` as the current token of everything it awaits.
pub async fn scope<F: Future>(token: CancellationToken, fut: F) -> F::Output {
    CURRENT.scope(token, fut).await
}

/// The token of the attempt (or seed) this code runs for, if any.
pub fn current() -> Option<CancellationToken> {
    CURRENT.try_with(CancellationToken::clone).ok()
}

/// Runs blocking `work` with `token` visible to [`blocking_cancelled`] on this thread.
pub fn in_blocking<T>(token: Option<CancellationToken>, work: impl FnOnce() -> T) -> T {
    struct Reset(Option<CancellationToken>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let previous = self.0.take();
            BLOCKING.with(|b| *b.borrow_mut() = previous);
        }
    }
    let previous = BLOCKING.with(|b| b.replace(token));
    let _reset = Reset(previous);
    work()
}

/// True when the blocking work running on this thread belongs to a task that was stopped.
pub fn blocking_cancelled() -> bool {
    BLOCKING.with(|b| b.borrow().as_ref().is_some_and(|t| t.is_cancelled()))
}

/// A token to carry in a message: compares equal to any other (a message's
/// equality is about its data) and is a fresh token when deserialised.
#[derive(Debug, Clone, Default)]
pub struct Carried(pub CancellationToken);

impl PartialEq for Carried {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_current_token_is_the_scoped_one() {
        assert!(current().is_none());
        let token = CancellationToken::new();
        let seen = scope(token.clone(), async { current() }).await;
        token.cancel();
        assert!(seen.is_some_and(|t| t.is_cancelled()));
    }

    #[test]
    fn blocking_work_sees_its_token_and_the_thread_forgets_it_after() {
        let token = CancellationToken::new();
        token.cancel();
        assert!(in_blocking(Some(token), blocking_cancelled));
        assert!(!blocking_cancelled());
    }
}
