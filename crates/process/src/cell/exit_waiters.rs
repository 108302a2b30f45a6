//! The tasks waiting for one process's exit: a waker per waiting future,
//! kept in the process's cell under its lock and taken by exit processing.
//!
//! Not a `tokio::sync::Notify`: the cell's lock already orders registration
//! against exit processing, so a second lock would be paid for nothing
//! (docs/performance.md, "Design notes"). The common case, one waiter (the
//! supervisor, or a `wait()`), is stored inline.
//!
//! A waiter is identified by a key its future picks (the future's address,
//! stable because it is pinned while registered), so a future polled again
//! with a new waker replaces its own entry, and a future dropped before the
//! exit removes exactly its own.

use std::task::Waker;

/// The waiters of one process. Empty for most processes.
#[derive(Debug, Default)]
pub(crate) enum ExitWaiters {
    #[default]
    Empty,
    One(usize, Waker),
    Many(Vec<(usize, Waker)>),
}

impl ExitWaiters {
    /// Registers `waker` under `key`, replacing the waker the same key
    /// registered before (cloned only if it would wake another task).
    pub(crate) fn register(&mut self, key: usize, waker: &Waker) {
        match self {
            ExitWaiters::Empty => *self = ExitWaiters::One(key, waker.clone()),
            ExitWaiters::One(k, w) if *k == key => w.clone_from(waker),
            ExitWaiters::One(..) => {
                let ExitWaiters::One(k, w) = std::mem::take(self) else {
                    unreachable!("matched One above")
                };
                *self = ExitWaiters::Many(vec![(k, w), (key, waker.clone())]);
            }
            ExitWaiters::Many(list) => match list.iter_mut().find(|(k, _)| *k == key) {
                Some((_, w)) => w.clone_from(waker),
                None => list.push((key, waker.clone())),
            },
        }
    }

    /// Removes the entry of `key`, if any (a waiting future dropped before
    /// the exit).
    pub(crate) fn remove(&mut self, key: usize) {
        match self {
            ExitWaiters::One(k, _) if *k == key => *self = ExitWaiters::Empty,
            ExitWaiters::Many(list) => list.retain(|(k, _)| *k != key),
            _ => {}
        }
    }

    /// Wakes every waiter. Called after the lock that guarded the list is
    /// released.
    pub(crate) fn wake_all(self) {
        match self {
            ExitWaiters::Empty => {}
            ExitWaiters::One(_, w) => w.wake(),
            ExitWaiters::Many(list) => list.into_iter().for_each(|(_, w)| w.wake()),
        }
    }

    /// How many futures are registered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        match self {
            ExitWaiters::Empty => 0,
            ExitWaiters::One(..) => 1,
            ExitWaiters::Many(list) => list.len(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::counting_waker::counting_waker as counter;

    #[test]
    fn a_key_registered_twice_keeps_one_entry_with_the_latest_waker() {
        let (a, wa) = counter();
        let (b, wb) = counter();
        let mut w = ExitWaiters::default();
        w.register(1, &wa);
        w.register(1, &wb);
        assert_eq!(w.len(), 1);
        w.wake_all();
        assert_eq!((a.get(), b.get()), (0, 1));
    }

    #[test]
    fn every_registered_key_is_woken_once() {
        let counters: Vec<_> = (0..5).map(|_| counter()).collect();
        let mut w = ExitWaiters::default();
        for (key, (_, waker)) in counters.iter().enumerate() {
            w.register(key, waker);
        }
        // Re-registering in the Many state replaces, never duplicates.
        w.register(3, &counters[3].1);
        assert_eq!(w.len(), 5);
        w.wake_all();
        assert!(counters.iter().all(|(c, _)| c.get() == 1));
    }

    #[test]
    fn a_removed_key_is_not_woken_and_others_are() {
        let (a, wa) = counter();
        let (b, wb) = counter();
        let (c, wc) = counter();
        let mut w = ExitWaiters::default();
        w.register(1, &wa);
        w.remove(1);
        assert_eq!(w.len(), 0);
        w.register(1, &wa);
        w.register(2, &wb);
        w.register(3, &wc);
        w.remove(2);
        w.remove(9);
        assert_eq!(w.len(), 2);
        w.wake_all();
        assert_eq!((a.get(), b.get(), c.get()), (1, 0, 1));
    }
}
