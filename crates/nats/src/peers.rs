//! The peers this node knows to be up: name → incarnation, NATS client
//! name, and a cancellation token that fires when that incarnation goes
//! down (pending calls to it then fail at once).
//!
//! Membership writes the table; calls, proxies and the router read it.
//!
//! # Invariants
//!
//! 1. At most one incarnation per node name is up; a newer one replaces an
//!    older one (which is reported down first).
//! 2. A peer's token is cancelled exactly when it is removed from the table.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::wire::{Incarnation, NodeId};

/// One live peer.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) incarnation: Incarnation,
    /// Its NATS client name, as disconnect advisories report it.
    pub(crate) client: Arc<str>,
    /// Cancelled when this incarnation goes down.
    pub(crate) down: CancellationToken,
}

/// The table (one per node, in the node).
#[derive(Debug, Default)]
pub(crate) struct Peers {
    map: Mutex<HashMap<NodeId, Peer>>,
    /// The newest incarnation seen down, per node: envelopes from it or
    /// older ones are stale.
    dead: Mutex<HashMap<NodeId, Incarnation>>,
}

impl Peers {
    /// The live incarnation of `node`, if up.
    pub(crate) fn get(&self, node: &NodeId) -> Option<Peer> {
        self.map.lock().get(node).cloned()
    }

    /// Every live peer.
    pub(crate) fn all(&self) -> Vec<(NodeId, Incarnation)> {
        self.map
            .lock()
            .iter()
            .map(|(n, p)| (n.clone(), p.incarnation))
            .collect()
    }

    /// Records `node` up as `incarnation`; returns the incarnation it
    /// replaced, if any (already removed and cancelled: invariant 1).
    pub(crate) fn up(
        &self,
        node: &NodeId,
        incarnation: Incarnation,
        client: String,
    ) -> Option<Incarnation> {
        let mut map = self.map.lock();
        let old = map.insert(
            node.clone(),
            Peer {
                incarnation,
                client: client.into(),
                down: CancellationToken::new(),
            },
        );
        old.map(|p| {
            p.down.cancel();
            p.incarnation
        })
    }

    /// Whether an envelope from `node`'s `incarnation` must be dropped: that
    /// incarnation was seen down, or another one is up.
    pub(crate) fn is_stale(&self, node: &NodeId, incarnation: Incarnation) -> bool {
        if self.was_down(node, incarnation) {
            return true;
        }
        self.map
            .lock()
            .get(node)
            .is_some_and(|p| p.incarnation != incarnation)
    }

    /// Whether `node`'s `incarnation` (or a newer one) was seen down. Kept
    /// in the node, so it outlives a restart of the membership agent.
    pub(crate) fn was_down(&self, node: &NodeId, incarnation: Incarnation) -> bool {
        self.dead
            .lock()
            .get(node)
            .is_some_and(|d| incarnation <= *d)
    }

    /// Removes `node` if its live incarnation is `incarnation`; `true` if
    /// it was removed (its token is cancelled).
    pub(crate) fn down(&self, node: &NodeId, incarnation: Incarnation) -> bool {
        {
            let mut dead = self.dead.lock();
            let d = dead.entry(node.clone()).or_insert(0);
            *d = (*d).max(incarnation);
        }
        let mut map = self.map.lock();
        match map.get(node) {
            Some(p) if p.incarnation == incarnation => {
                if let Some(p) = map.remove(node) {
                    p.down.cancel();
                }
                true
            }
            _ => false,
        }
    }

    /// The peer whose NATS client name is `client`.
    pub(crate) fn by_client(&self, client: &str) -> Option<(NodeId, Incarnation)> {
        self.map
            .lock()
            .iter()
            .find(|(_, p)| &*p.client == client)
            .map(|(n, p)| (n.clone(), p.incarnation))
    }

    /// Forgets which incarnations were seen down (this node was fenced:
    /// see `Detector::reset`), so their envelopes are no longer stale.
    pub(crate) fn forget_down(&self) {
        self.dead.lock().clear();
    }

    /// Forgets every peer, cancelling their tokens (this node stopped or
    /// was fenced).
    pub(crate) fn clear(&self) -> Vec<(NodeId, Incarnation)> {
        let mut map = self.map.lock();
        map.drain()
            .map(|(n, p)| {
                p.down.cancel();
                (n, p.incarnation)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_incarnation_replaces_and_cancels_the_older() {
        let peers = Peers::default();
        let n = NodeId::new("n1");
        assert_eq!(peers.up(&n, 1, "c1".into()), None);
        let first = peers.get(&n).unwrap().down;
        assert_eq!(peers.up(&n, 2, "c2".into()), Some(1));
        assert!(first.is_cancelled());
        assert_eq!(peers.by_client("c2"), Some((n.clone(), 2)));
        assert_eq!(peers.by_client("c1"), None);
        // A stale down (old incarnation) changes nothing.
        assert!(!peers.down(&n, 1));
        assert!(peers.is_stale(&n, 1));
        assert!(!peers.is_stale(&n, 2));
        let second = peers.get(&n).unwrap().down;
        assert!(peers.down(&n, 2));
        assert!(second.is_cancelled());
        assert!(peers.get(&n).is_none());
        // Envelopes of a down incarnation are stale; a new one is not.
        assert!(peers.is_stale(&n, 2));
        assert!(!peers.is_stale(&n, 3));
        assert!(!peers.is_stale(&NodeId::new("unknown"), 1));
    }
}
