//! A waker that counts how often it is woken, for the unit tests of the
//! parts that keep and wake wakers (the mailbox slot, the queue, the exit
//! waiters, the cell).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Wake, Waker};

/// The count behind a [`counting_waker`].
pub(crate) struct WakeCount(AtomicUsize);

impl WakeCount {
    /// Wakes so far.
    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A fresh count and a waker that adds to it.
pub(crate) fn counting_waker() -> (Arc<WakeCount>, Waker) {
    let count = Arc::new(WakeCount(AtomicUsize::new(0)));
    (count.clone(), Waker::from(count))
}
