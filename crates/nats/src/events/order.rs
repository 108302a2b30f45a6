//! Per-origin sequence tracking: what a mirror (or a stream) has seen of
//! each origin, so that it drops duplicates and counts gaps (events
//! invariants 1-2). A pure core.

use std::collections::HashMap;

use crate::wire::{Incarnation, NodeId};

/// What to do with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Dispatch it; `lost` events of this origin were missed just before.
    New { lost: u64 },
    /// Already dispatched (a retry or redelivery), or from an older
    /// incarnation than one already seen: drop it.
    Duplicate,
}

/// The last `seq` seen per origin.
#[derive(Debug, Default)]
pub(crate) struct Order {
    last: HashMap<NodeId, (Incarnation, u64)>,
}

impl Order {
    /// Classifies `(origin, incarnation, seq)` and records it if new. The
    /// first event of an origin incarnation counts no loss: what came
    /// before was sent before this receiver was there.
    pub(crate) fn accept(&mut self, origin: &NodeId, incarnation: Incarnation, seq: u64) -> Seen {
        let seen = match self.last.get(origin) {
            None => Seen::New { lost: 0 },
            Some(&(inc, _)) if incarnation > inc => Seen::New { lost: 0 },
            Some(&(inc, _)) if incarnation < inc => return Seen::Duplicate,
            Some(&(_, last)) if seq <= last => return Seen::Duplicate,
            Some(&(_, last)) => Seen::New {
                lost: seq - last - 1,
            },
        };
        self.last.insert(origin.clone(), (incarnation, seq));
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_counted_and_duplicates_dropped_per_origin_incarnation() {
        let mut o = Order::default();
        let a = NodeId::new("a");
        let b = NodeId::new("b");
        assert_eq!(o.accept(&a, 1, 5), Seen::New { lost: 0 }); // baseline
        assert_eq!(o.accept(&a, 1, 6), Seen::New { lost: 0 });
        assert_eq!(o.accept(&a, 1, 6), Seen::Duplicate);
        assert_eq!(o.accept(&a, 1, 4), Seen::Duplicate);
        assert_eq!(o.accept(&a, 1, 10), Seen::New { lost: 3 });
        assert_eq!(o.accept(&b, 7, 1), Seen::New { lost: 0 }); // another origin
        assert_eq!(o.accept(&a, 2, 1), Seen::New { lost: 0 }); // restarted origin
        assert_eq!(o.accept(&a, 1, 11), Seen::Duplicate); // the old incarnation
        assert_eq!(o.accept(&a, 2, 2), Seen::New { lost: 0 });
    }
}
