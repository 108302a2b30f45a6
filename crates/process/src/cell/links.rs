//! The set of processes linked to one process.
//!
//! Most processes have one link (a worker to its supervisor) and a few have
//! thousands (a supervisor to its children). A hash map for every process
//! would cost a heap table of about 100 bytes per worker, half again the
//! memory of the worker's task; so the set holds its first link inline and
//! becomes a map only on the second.

use std::collections::HashMap;
use std::sync::Arc;

use super::ProcessCell;
use crate::Pid;
use crate::id_hash::IdBuildHasher;

/// Linked peers by pid: O(1) insert, lookup and remove at any size.
#[derive(Default)]
pub(crate) enum Links {
    #[default]
    Empty,
    One(Pid, Arc<ProcessCell>),
    /// Boxed: inline, the map would make the set (and every process) 16
    /// bytes larger for the few processes with many links.
    #[allow(clippy::box_collection)] // the point: 8 bytes inline, not 32
    Many(Box<HashMap<Pid, Arc<ProcessCell>, IdBuildHasher>>),
}

impl Links {
    pub(crate) fn contains(&self, pid: Pid) -> bool {
        match self {
            Links::Empty => false,
            Links::One(p, _) => *p == pid,
            Links::Many(map) => map.contains_key(&pid),
        }
    }

    /// Adds a link; `false` (and no change) if `pid` is linked already.
    pub(crate) fn insert(&mut self, pid: Pid, peer: Arc<ProcessCell>) -> bool {
        match self {
            Links::Empty => {
                *self = Links::One(pid, peer);
                true
            }
            Links::One(p, _) if *p == pid => false,
            Links::One(..) => {
                let Links::One(first, first_peer) = std::mem::take(self) else {
                    unreachable!("matched One above")
                };
                let mut map = HashMap::with_capacity_and_hasher(4, IdBuildHasher::default());
                map.insert(first, first_peer);
                map.insert(pid, peer);
                *self = Links::Many(Box::new(map));
                true
            }
            Links::Many(map) => match map.entry(pid) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(peer);
                    true
                }
            },
        }
    }

    /// Removes the link with `pid`, returning the peer if it was linked.
    pub(crate) fn remove(&mut self, pid: Pid) -> Option<Arc<ProcessCell>> {
        match self {
            Links::Empty => None,
            Links::One(p, _) if *p != pid => None,
            Links::One(..) => match std::mem::take(self) {
                Links::One(_, peer) => Some(peer),
                _ => unreachable!("matched One above"),
            },
            Links::Many(map) => map.remove(&pid),
        }
    }

    /// The linked pids, in no particular order.
    pub(crate) fn pids(&self) -> Vec<Pid> {
        match self {
            Links::Empty => Vec::new(),
            Links::One(p, _) => vec![*p],
            Links::Many(map) => map.keys().copied().collect(),
        }
    }

    /// Every linked peer, leaving the set empty.
    pub(crate) fn take(&mut self) -> impl Iterator<Item = Arc<ProcessCell>> + use<> {
        let (one, many) = match std::mem::take(self) {
            Links::Empty => (None, None),
            Links::One(_, peer) => (Some(peer), None),
            Links::Many(map) => (None, Some(map.into_values())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell() -> Arc<ProcessCell> {
        ProcessCell::new(crate::mailbox::open::<()>)
    }

    fn pids(links: &mut Links) -> Vec<Pid> {
        let mut pids: Vec<Pid> = links.take().map(|c| c.pid).collect();
        pids.sort();
        pids
    }

    #[test]
    fn first_link_is_inline_then_a_map() {
        let (a, b, c) = (cell(), cell(), cell());
        let mut links = Links::default();
        assert!(links.insert(a.pid, a.clone()));
        assert!(matches!(links, Links::One(..)));
        assert!(!links.insert(a.pid, a.clone()), "linking twice is one link");
        assert!(links.insert(b.pid, b.clone()));
        assert!(links.insert(c.pid, c.clone()));
        assert!(!links.insert(b.pid, b.clone()));
        assert!(matches!(links, Links::Many(_)));
        assert!(links.contains(a.pid) && links.contains(b.pid) && links.contains(c.pid));
        let mut expected = vec![a.pid, b.pid, c.pid];
        expected.sort();
        assert_eq!(pids(&mut links), expected);
        assert!(matches!(links, Links::Empty));
    }

    #[test]
    fn remove_returns_the_peer_once() {
        let (a, b) = (cell(), cell());
        let mut links = Links::default();
        assert!(links.remove(a.pid).is_none());
        links.insert(a.pid, a.clone());
        assert!(links.remove(b.pid).is_none(), "another pid leaves the link");
        assert!(links.contains(a.pid));
        assert_eq!(links.remove(a.pid).map(|c| c.pid), Some(a.pid));
        assert!(links.remove(a.pid).is_none());
        assert!(!links.contains(a.pid));
        links.insert(a.pid, a.clone());
        links.insert(b.pid, b.clone());
        assert_eq!(links.remove(b.pid).map(|c| c.pid), Some(b.pid));
        assert!(!links.contains(b.pid) && links.contains(a.pid));
        assert_eq!(pids(&mut links), vec![a.pid]);
    }
}
