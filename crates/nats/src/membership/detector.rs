//! The pure core of membership: from heartbeats, goodbyes, confirmed
//! disconnects and the clock, which nodes are up and which went down.
//!
//! # Invariants
//!
//! 1. A node is down after `3 × tick` without a heartbeat, measured from
//!    its last heartbeat; checks run every `tick / 4`, so it is reported
//!    at most `3 × tick + tick / 4` (plus scheduling) after it fell
//!    silent.
//! 2. An incarnation once down never comes back up: later heartbeats of it
//!    (or of an older one) are ignored. Until [`Detector::reset`] (this
//!    node was fenced): its verdicts are forgotten with it.
//! 3. A pause of this node itself (a check that runs more than `2 × tick`
//!    late) does not make others down: their silence is measured from the
//!    end of the pause.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::node::NodeDownReason;
use crate::wire::{Incarnation, NodeId};

/// A membership change to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Up, replacing `replaced` if an older incarnation was up.
    Up {
        node: NodeId,
        incarnation: Incarnation,
        client: String,
        replaced: Option<Incarnation>,
    },
    /// Down.
    Down {
        node: NodeId,
        incarnation: Incarnation,
        reason: NodeDownReason,
    },
}

#[derive(Debug)]
struct Seen {
    incarnation: Incarnation,
    last: Instant,
}

/// The detector.
#[derive(Debug)]
pub(crate) struct Detector {
    tick: Duration,
    up: HashMap<NodeId, Seen>,
    /// The newest incarnation seen down, per node (invariant 2).
    dead: HashMap<NodeId, Incarnation>,
    last_check: Option<Instant>,
}

impl Detector {
    pub(crate) fn new(tick: Duration) -> Detector {
        Detector {
            tick,
            up: HashMap::new(),
            dead: HashMap::new(),
            last_check: None,
        }
    }

    /// How often [`Detector::check`] should run.
    pub(crate) fn check_every(&self) -> Duration {
        (self.tick / 4).max(Duration::from_millis(1))
    }

    fn is_dead(&self, node: &NodeId, incarnation: Incarnation) -> bool {
        self.dead.get(node).is_some_and(|d| incarnation <= *d)
    }

    /// A heartbeat of `node` at `now`.
    pub(crate) fn heartbeat(
        &mut self,
        node: &NodeId,
        incarnation: Incarnation,
        client: &str,
        now: Instant,
    ) -> Vec<Change> {
        if self.is_dead(node, incarnation) {
            return Vec::new();
        }
        match self.up.get_mut(node) {
            Some(seen) if seen.incarnation == incarnation => {
                seen.last = now;
                Vec::new()
            }
            Some(seen) if seen.incarnation > incarnation => Vec::new(),
            Some(seen) => {
                let old = seen.incarnation;
                *seen = Seen {
                    incarnation,
                    last: now,
                };
                self.dead.insert(node.clone(), old);
                vec![
                    Change::Down {
                        node: node.clone(),
                        incarnation: old,
                        reason: NodeDownReason::Replaced,
                    },
                    Change::Up {
                        node: node.clone(),
                        incarnation,
                        client: client.to_owned(),
                        replaced: Some(old),
                    },
                ]
            }
            None => {
                self.up.insert(
                    node.clone(),
                    Seen {
                        incarnation,
                        last: now,
                    },
                );
                vec![Change::Up {
                    node: node.clone(),
                    incarnation,
                    client: client.to_owned(),
                    replaced: None,
                }]
            }
        }
    }

    /// `node`'s incarnation is gone for `reason` (goodbye, confirmed
    /// disconnect).
    pub(crate) fn gone(
        &mut self,
        node: &NodeId,
        incarnation: Incarnation,
        reason: NodeDownReason,
    ) -> Vec<Change> {
        let prev = self.dead.entry(node.clone()).or_insert(0);
        *prev = (*prev).max(incarnation);
        match self.up.get(node) {
            Some(seen) if seen.incarnation == incarnation => {
                self.up.remove(node);
                vec![Change::Down {
                    node: node.clone(),
                    incarnation,
                    reason,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// The clock check: nodes silent for `3 × tick` are down (invariants
    /// 1 and 3).
    pub(crate) fn check(&mut self, now: Instant) -> Vec<Change> {
        if let Some(last) = self.last_check
            && now.saturating_duration_since(last) > self.tick * 2
        {
            // We were paused, not they: restart their clocks.
            for seen in self.up.values_mut() {
                seen.last = seen.last.max(now - self.tick);
            }
        }
        self.last_check = Some(now);
        let limit = self.tick * 3;
        let silent: Vec<(NodeId, Incarnation)> = self
            .up
            .iter()
            .filter(|(_, s)| now.saturating_duration_since(s.last) > limit)
            .map(|(n, s)| (n.clone(), s.incarnation))
            .collect();
        silent
            .into_iter()
            .flat_map(|(n, i)| self.gone(&n, i, NodeDownReason::Silent))
            .collect()
    }

    /// Forgets the nodes up (this node rejoins as a new incarnation): they
    /// were not down, this node was, so their next heartbeat brings them
    /// up again. The ones that were up are returned.
    ///
    /// Forgets the nodes it saw down too: a node cut off from the server
    /// (a real partition, not a pause) sees every other node silent and
    /// declares them down before it learns that it was the one cut off.
    /// Those verdicts are wrong, and kept they would ignore the others'
    /// heartbeats for good; it rejoins knowing what a new node knows.
    pub(crate) fn reset(&mut self) -> Vec<(NodeId, Incarnation)> {
        self.dead.clear();
        self.up.drain().map(|(n, s)| (n, s.incarnation)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(100);

    fn n(s: &str) -> NodeId {
        NodeId::new(s)
    }

    #[test]
    fn first_heartbeat_is_up_and_silence_of_three_ticks_is_down() {
        let t0 = Instant::now();
        let mut d = Detector::new(TICK);
        let ups = d.heartbeat(&n("a"), 1, "c", t0);
        assert!(matches!(
            &ups[..],
            [Change::Up {
                incarnation: 1,
                replaced: None,
                ..
            }]
        ));
        let mut t = t0;
        // Checks every tick/4; no heartbeat: down just after 3 ticks.
        let mut down_at = None;
        while down_at.is_none() {
            t += d.check_every();
            let ch = d.check(t);
            if !ch.is_empty() {
                assert_eq!(
                    ch,
                    vec![Change::Down {
                        node: n("a"),
                        incarnation: 1,
                        reason: NodeDownReason::Silent
                    }]
                );
                down_at = Some(t - t0);
            }
        }
        let at = down_at.unwrap();
        assert!(at > TICK * 3 && at <= TICK * 3 + TICK / 4, "{at:?}");
    }

    #[test]
    fn heartbeats_keep_a_node_up() {
        let t0 = Instant::now();
        let mut d = Detector::new(TICK);
        d.heartbeat(&n("a"), 1, "c", t0);
        for i in 1..40u32 {
            let t = t0 + TICK / 4 * i;
            if i % 4 == 0 {
                assert!(d.heartbeat(&n("a"), 1, "c", t).is_empty());
            }
            assert!(d.check(t).is_empty(), "tick {i}");
        }
    }

    #[test]
    fn a_down_incarnation_never_comes_back() {
        let t0 = Instant::now();
        let mut d = Detector::new(TICK);
        d.heartbeat(&n("a"), 5, "c", t0);
        let ch = d.gone(&n("a"), 5, NodeDownReason::Shutdown);
        assert_eq!(ch.len(), 1);
        assert!(d.heartbeat(&n("a"), 5, "c", t0).is_empty());
        assert!(d.heartbeat(&n("a"), 4, "c", t0).is_empty());
        assert!(d.gone(&n("a"), 5, NodeDownReason::Shutdown).is_empty());
        let ch = d.heartbeat(&n("a"), 6, "c6", t0);
        assert!(matches!(&ch[..], [Change::Up { incarnation: 6, .. }]));
    }

    #[test]
    fn a_new_incarnation_replaces_the_old_one_down_first() {
        let t0 = Instant::now();
        let mut d = Detector::new(TICK);
        d.heartbeat(&n("a"), 1, "c1", t0);
        let ch = d.heartbeat(&n("a"), 2, "c2", t0);
        assert_eq!(
            ch,
            vec![
                Change::Down {
                    node: n("a"),
                    incarnation: 1,
                    reason: NodeDownReason::Replaced
                },
                Change::Up {
                    node: n("a"),
                    incarnation: 2,
                    client: "c2".into(),
                    replaced: Some(1)
                },
            ]
        );
        // The old one's late heartbeat changes nothing.
        assert!(d.heartbeat(&n("a"), 1, "c1", t0).is_empty());
    }

    #[test]
    fn after_a_reset_the_same_incarnations_come_up_again() {
        let t0 = Instant::now();
        let mut d = Detector::new(TICK);
        d.heartbeat(&n("a"), 1, "c", t0);
        assert_eq!(d.reset(), vec![(n("a"), 1)]);
        let ch = d.heartbeat(&n("a"), 1, "c", t0);
        assert!(matches!(&ch[..], [Change::Up { incarnation: 1, .. }]));
    }

    #[test]
    fn after_a_reset_the_nodes_seen_silent_come_up_again() {
        // A cut-off node saw b silent; then it learned it was the one cut
        // off, and reset.
        let t0 = Instant::now();
        let mut d = Detector::new(TICK);
        d.heartbeat(&n("b"), 1, "c", t0);
        let t = t0 + TICK * 3 + TICK / 4 + Duration::from_millis(1);
        assert_eq!(d.check(t).len(), 1);
        assert!(d.heartbeat(&n("b"), 1, "c", t).is_empty());
        assert!(d.reset().is_empty());
        let ch = d.heartbeat(&n("b"), 1, "c", t);
        assert!(matches!(&ch[..], [Change::Up { incarnation: 1, .. }]));
    }

    #[test]
    fn our_own_pause_does_not_make_others_down() {
        let t0 = Instant::now();
        let mut d = Detector::new(TICK);
        d.heartbeat(&n("a"), 1, "c", t0);
        assert!(d.check(t0 + TICK / 4).is_empty());
        // We were stopped for 10 ticks: the next check must not blame them.
        let t = t0 + TICK * 10;
        assert!(d.check(t).is_empty());
        // Their heartbeat queued during the pause arrives now.
        d.heartbeat(&n("a"), 1, "c", t);
        assert!(d.check(t + TICK).is_empty());
        // But real silence after the pause still counts.
        let ch = d.check(t + TICK * 2 + TICK / 4);
        assert!(ch.is_empty());
        let mut tt = t + TICK * 2 + TICK / 4;
        let mut down = false;
        for _ in 0..8 {
            tt += TICK / 4;
            down |= !d.check(tt).is_empty();
        }
        assert!(down);
    }
}
