//! Running async test bodies on a paused clock.

use std::future::Future;

/// Runs `fut` to completion on a fresh single-threaded tokio runtime whose
/// clock starts paused (time moves only with `tokio::time::advance`, or
/// jumps ahead when every task waits on a timer). Use it inside
/// `proptest!` bodies, which are synchronous.
///
/// # Panics
///
/// If the runtime cannot be built (out of OS resources), or if `fut`
/// panics.
pub fn run_paused<F: Future>(fut: F) -> F::Output {
    #[allow(clippy::expect_used)]
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("building a current-thread tokio runtime");
    rt.block_on(fut)
}

/// A fresh single-threaded runtime with a paused clock, for tests that
/// drive one runtime across many synchronous steps (state-machine tests).
///
/// # Panics
///
/// If the runtime cannot be built.
pub fn paused_runtime() -> tokio::runtime::Runtime {
    #[allow(clippy::expect_used)]
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("building a current-thread tokio runtime")
}
