//! The optional bound on queued `notify` events.
//!
//! Invariants:
//! 1. `queued` counts `Notify` messages sent through a bounded ref and not
//!    yet taken by the manager: refs increment before sending, the manager
//!    decrements when it takes one. It may briefly exceed `bound` by the
//!    number of concurrent senders, never by more.
//! 2. A ref of a bounded manager always carries its gate: `start` returns it,
//!    handlers see the manager's own ref, `whereis` finds it in [`GATES`].

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Weak};

use arbor_process::Pid;
use dashmap::DashMap;

/// Bounded managers by pid, for `whereis` (invariant 2). An entry is removed
/// when its manager exits normally; a killed manager leaves a dead weak entry.
static GATES: LazyLock<DashMap<Pid, Weak<Gate>>> = LazyLock::new(DashMap::new);

#[derive(Debug)]
pub(crate) struct Gate {
    queued: AtomicUsize,
    bound: usize,
    dropped: AtomicU64,
}

impl Gate {
    pub(crate) fn new(bound: usize) -> Gate {
        Gate {
            queued: AtomicUsize::new(0),
            bound,
            dropped: AtomicU64::new(0),
        }
    }

    /// Reserves a place for one event; `false` (and the drop counted) if the
    /// mailbox holds `bound` events already.
    pub(crate) fn admit(&self) -> bool {
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.bound {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// The manager took one event out of its mailbox.
    pub(crate) fn taken(&self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn publish(pid: Pid, gate: &Arc<Gate>) {
        GATES.insert(pid, Arc::downgrade(gate));
    }

    pub(crate) fn unpublish(pid: Pid) {
        GATES.remove(&pid);
    }

    pub(crate) fn lookup(pid: Pid) -> Option<Arc<Gate>> {
        GATES.get(&pid).and_then(|w| w.upgrade())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_bound_then_drops_and_counts() {
        let gate = Gate::new(2);
        assert!(gate.admit());
        assert!(gate.admit());
        assert!(!gate.admit());
        assert!(!gate.admit());
        assert_eq!(gate.dropped(), 2);
        gate.taken();
        assert!(gate.admit());
        assert!(!gate.admit());
        assert_eq!(gate.dropped(), 3);
    }

    #[test]
    fn zero_bound_drops_everything() {
        let gate = Gate::new(0);
        assert!(!gate.admit());
        assert_eq!(gate.dropped(), 1);
    }
}
