//! The optional bound on a stream's queued `notify` items
//! ([`StreamOpts::notify_bound`](crate::StreamOpts::notify_bound)), shared
//! by the subscription (in the manager) and the consumer.
//!
//! Invariants (the stream module's 4 and 5 rest on them):
//! 1. `queued` counts `notify` items sent and not yet taken by the consumer:
//!    only the subscription increments it (so it never exceeds `limit`),
//!    only the consumer decrements it.
//! 2. `unreported` (drops not yet reported in-band) is written only with
//!    `lock` held. The subscription holds the lock from taking it to
//!    sending its `Lagged` item and the next item; the consumer holds it
//!    from finding its channel empty to taking it. So drops the consumer
//!    takes happened after everything it already received.
//! 3. Every drop wakes the consumer after counting, and the consumer
//!    registers its waker before reading `unreported`: a consumer parked on
//!    an empty channel (a bound of 0) still sees its drops.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::Waker;

use futures::task::AtomicWaker;

#[derive(Debug)]
pub(super) struct Bound {
    limit: usize,
    queued: AtomicUsize,
    dropped: AtomicU64,
    lock: Mutex<()>,
    unreported: AtomicU64,
    consumer: AtomicWaker,
}

/// Held while drops are taken and, on the subscription side, while the
/// items that follow them are sent (invariant 2).
pub(super) struct LagGuard<'a> {
    bound: &'a Bound,
    _lock: MutexGuard<'a, ()>,
}

impl LagGuard<'_> {
    /// The drops not yet reported, now counted as reported.
    pub(super) fn take(&self) -> u64 {
        self.bound.unreported.swap(0, Ordering::AcqRel)
    }
}

impl Bound {
    pub(super) fn new(limit: usize) -> Bound {
        Bound {
            limit,
            queued: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
            lock: Mutex::new(()),
            unreported: AtomicU64::new(0),
            consumer: AtomicWaker::new(),
        }
    }

    // ----- subscription side -----

    /// Reserves a place for one `notify` item; `false` if `limit` are queued.
    pub(super) fn reserve(&self) -> bool {
        if self.queued.load(Ordering::Acquire) >= self.limit {
            return false;
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        true
    }

    /// Counts one dropped `notify` item and wakes the consumer.
    pub(super) fn drop_one(&self) {
        {
            let _held = self.lag();
            self.unreported.fetch_add(1, Ordering::AcqRel);
        }
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.consumer.wake();
    }

    // ----- both sides -----

    pub(super) fn lag(&self) -> LagGuard<'_> {
        LagGuard {
            bound: self,
            // A panic while holding this lock leaves no broken state: the
            // guarded value is a counter updated in one step.
            _lock: self.lock.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    // ----- consumer side -----

    /// The consumer took one `notify` item out of its channel.
    pub(super) fn taken(&self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
    }

    /// Registers the consumer's waker, then says whether drops wait to be
    /// reported (invariant 3).
    pub(super) fn lagging(&self, waker: &Waker) -> bool {
        self.consumer.register(waker);
        self.unreported.load(Ordering::Acquire) > 0
    }

    pub(super) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserves_up_to_limit_then_refuses_until_taken() {
        let b = Bound::new(2);
        assert!(b.reserve());
        assert!(b.reserve());
        assert!(!b.reserve());
        b.taken();
        assert!(b.reserve());
        assert!(!b.reserve());
    }

    #[test]
    fn drops_are_counted_in_total_and_reported_once() {
        let b = Bound::new(0);
        assert!(!b.reserve());
        b.drop_one();
        b.drop_one();
        assert_eq!(b.dropped(), 2);
        assert!(b.lagging(futures::task::noop_waker_ref()));
        assert_eq!(b.lag().take(), 2);
        assert_eq!(b.lag().take(), 0);
        assert!(!b.lagging(futures::task::noop_waker_ref()));
        assert_eq!(b.dropped(), 2);
    }
}
