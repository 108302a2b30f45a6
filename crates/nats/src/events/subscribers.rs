//! An origin's subscribing nodes: whom a synchronous event must reach. A
//! pure core, shared by the export agent (which writes it on
//! registrations and node events) and its bridge (which reads it).
//!
//! # Invariants
//!
//! 1. One entry per node name, for its newest registered incarnation.
//! 2. A node that stopped in order, or unregistered, is removed at once; a
//!    crashed one stays for `forget_after`, so that it is named in
//!    failures (or retried) until it restarts and registers again.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::wire::{Incarnation, NodeId};

#[derive(Debug, Clone, Copy)]
struct Sub {
    incarnation: Incarnation,
    down_since: Option<Instant>,
}

/// The subscribing nodes of one exported manager.
#[derive(Debug, Default)]
pub(crate) struct Subscribers {
    map: BTreeMap<NodeId, Sub>,
}

impl Subscribers {
    /// `node` (incarnation `inc`) subscribes.
    pub(crate) fn register(&mut self, node: &NodeId, inc: Incarnation) {
        match self.map.get(node) {
            Some(s) if s.incarnation > inc => {}
            _ => {
                self.map.insert(
                    node.clone(),
                    Sub {
                        incarnation: inc,
                        down_since: None,
                    },
                );
            }
        }
    }

    /// `node` (incarnation `inc`) unsubscribes, or stopped in order.
    pub(crate) fn unregister(&mut self, node: &NodeId, inc: Incarnation) {
        if self.map.get(node).is_some_and(|s| s.incarnation <= inc) {
            self.map.remove(node);
        }
    }

    /// `node`'s incarnation `inc` crashed at `now` (invariant 2).
    pub(crate) fn crashed(&mut self, node: &NodeId, inc: Incarnation, now: Instant) {
        if let Some(s) = self.map.get_mut(node)
            && s.incarnation <= inc
            && s.down_since.is_none()
        {
            s.down_since = Some(now);
        }
    }

    /// The nodes a synchronous event goes to now; forgets those crashed
    /// more than `forget_after` ago.
    pub(crate) fn targets(&mut self, now: Instant, forget_after: Duration) -> Vec<NodeId> {
        self.map.retain(|_, s| {
            s.down_since
                .is_none_or(|t| now.duration_since(t) < forget_after)
        });
        self.map.keys().cloned().collect()
    }

    /// Whether `node` is still a subscriber (a retry stops when it is not).
    pub(crate) fn contains(&self, node: &NodeId) -> bool {
        self.map.contains_key(node)
    }

    /// The number of subscribers.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crashed_nodes_stay_until_forgotten_and_clean_stops_leave_at_once() {
        let mut s = Subscribers::default();
        let (a, b) = (NodeId::new("a"), NodeId::new("b"));
        let t0 = Instant::now();
        let forget = Duration::from_secs(30);
        s.register(&a, 2);
        s.register(&a, 1); // older: ignored
        s.register(&b, 5);
        assert_eq!(s.targets(t0, forget), vec![a.clone(), b.clone()]);
        s.crashed(&a, 2, t0);
        assert_eq!(s.targets(t0 + Duration::from_secs(29), forget).len(), 2);
        s.register(&a, 3); // restarted: no longer down
        assert_eq!(s.targets(t0 + Duration::from_secs(31), forget).len(), 2);
        s.crashed(&a, 3, t0);
        assert_eq!(
            s.targets(t0 + Duration::from_secs(31), forget),
            vec![b.clone()]
        );
        s.unregister(&b, 4); // an older incarnation's goodbye: ignored
        assert!(s.contains(&b));
        s.unregister(&b, 5);
        assert_eq!(s.len(), 0);
    }
}
