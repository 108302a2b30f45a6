//! The synchronisation types of the hand-written concurrency (the mailbox
//! queue, the cell's exit protocol), from here rather than from
//! `parking_lot` and `std` directly, so that the model tests can swap in
//! loom's: a normal build re-exports `parking_lot::Mutex` and std's atomics
//! as they are (no wrapper, no cost); a build with `--cfg loom` gets loom's
//! versions, whose every lock and atomic access is a point where loom
//! explores another thread's turn. As tokio's `src/loom/` module.
//!
//! Run the model tests (the `loom_` tests of this crate) with
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p arbor-process --release --lib loom_
//! ```
//!
//! Under `--cfg loom` only those tests can run: loom's types panic outside
//! a `loom::model`.

#[cfg(not(loom))]
pub(crate) use parking_lot::Mutex;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicBool;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicBool;
#[cfg(loom)]
pub(crate) use mocked::Mutex;

/// loom's mutex with `parking_lot`'s API (no poisoning).
#[cfg(loom)]
mod mocked {
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Mutex<T> {
            Mutex(loom::sync::Mutex::new(value))
        }

        #[track_caller]
        pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
            match self.0.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            }
        }

        #[track_caller]
        pub(crate) fn get_mut(&mut self) -> &mut T {
            match self.0.get_mut() {
                Ok(value) => value,
                Err(poisoned) => poisoned.into_inner(),
            }
        }
    }
}

/// Runs `f` under loom (every interleaving of its threads with at most
/// three preemptions, loom's usual bound in tokio's tests: beyond it the
/// count explodes, and the races here need one or two) and prints how
/// many it explored and how long that took (seen with `--nocapture`).
/// `LOOM_MAX_PREEMPTIONS` overrides the bound.
#[cfg(all(test, loom))]
pub(crate) fn model<F: Fn() + Sync + Send + 'static>(name: &str, f: F) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let start = std::time::Instant::now();
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound.get_or_insert(3);
    builder.check(move || {
        counted.fetch_add(1, Ordering::Relaxed);
        f();
    });
    println!(
        "{name}: {} interleavings in {:.2?}",
        runs.load(Ordering::Relaxed),
        start.elapsed()
    );
}
