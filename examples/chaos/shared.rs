//! State shared by the clients, the collector and the checker: the
//! violations found, the event ledger, the next event sequence number.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::ledger::Ledger;

/// Everything the tasks of a run share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) violations: Violations,
    pub(crate) ledger: Mutex<Ledger>,
    /// The next client event's sequence number (`#<seq>`).
    pub(crate) next_seq: AtomicU64,
}

/// Invariant violations: counted, the first 20 kept and printed at once.
#[derive(Debug, Default)]
pub(crate) struct Violations {
    count: AtomicU64,
    first: Mutex<Vec<String>>,
}

impl Violations {
    pub(crate) fn report(&self, what: impl Into<String>) {
        let what = what.into();
        let n = self.count.fetch_add(1, Ordering::SeqCst);
        if n < 20 {
            eprintln!("VIOLATION: {what}");
            lock(&self.first).push(what);
        }
    }

    pub(crate) fn total(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// The first violations reported (at most 20).
    pub(crate) fn first(&self) -> MutexGuard<'_, Vec<String>> {
        lock(&self.first)
    }
}

/// Locks `m`, also after a panic elsewhere (the data is counters).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
