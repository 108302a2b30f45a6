//! The membership view of one scope: which node run has which members in
//! which group, and the announcements that change it. Pure: no I/O.
//!
//! # Invariants
//!
//! 1. Per node, only the newest incarnation counts: an announcement of an
//!    older run is ignored; one of a newer run replaces the node's entry
//!    (the older run's members leave).
//! 2. A [`PgEvent`] is produced exactly for each change of a group's
//!    membership, with the pids that joined or left.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::wire::{GlobalPid, Incarnation, NodeId};

/// A change of a group's membership.
///
/// # OTP
///
/// The `{Ref, join, Group, Pids}` / `{Ref, leave, Group, Pids}` messages
/// of `pg:monitor/2`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PgEvent {
    /// `pids` joined `group`.
    Join {
        /// The group.
        group: String,
        /// Who joined.
        pids: Vec<GlobalPid>,
    },
    /// `pids` left `group` (left, exited, or their node went down).
    Leave {
        /// The group.
        group: String,
        /// Who left.
        pids: Vec<GlobalPid>,
    },
}

impl PgEvent {
    /// The group the event is about.
    pub fn group(&self) -> &str {
        match self {
            PgEvent::Join { group, .. } | PgEvent::Leave { group, .. } => group,
        }
    }
}

/// What scope agents tell each other on the scope's control subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Ctl {
    /// Local processes `ids` of the sender joined `group`.
    Join {
        node: NodeId,
        incarnation: Incarnation,
        group: String,
        ids: Vec<u64>,
    },
    /// Local processes `ids` of the sender left `group`.
    Leave {
        node: NodeId,
        incarnation: Incarnation,
        group: String,
        ids: Vec<u64>,
    },
    /// The sender's whole local membership (a reply to `Discover`, a
    /// restarted agent, or empty when the node stops).
    Sync {
        node: NodeId,
        incarnation: Incarnation,
        groups: Vec<(String, Vec<u64>)>,
    },
    /// "I am new here: send me your `Sync`."
    Discover {
        node: NodeId,
        incarnation: Incarnation,
    },
}

#[derive(Clone, Debug, Default)]
struct NodeMembers {
    incarnation: Incarnation,
    groups: BTreeMap<String, Vec<u64>>,
}

/// Members of every node run, per group (invariants 1-2).
#[derive(Debug, Default)]
pub(crate) struct View {
    nodes: HashMap<NodeId, NodeMembers>,
}

fn gpids(node: &NodeId, incarnation: Incarnation, ids: &[u64]) -> Vec<GlobalPid> {
    ids.iter()
        .map(|&id| GlobalPid {
            node: node.clone(),
            incarnation,
            id,
        })
        .collect()
}

impl View {
    /// The node's entry for `incarnation`, replacing an older run's (whose
    /// members leave); `None` for an announcement of an older run.
    fn entry(
        &mut self,
        node: &NodeId,
        incarnation: Incarnation,
        events: &mut Vec<PgEvent>,
    ) -> Option<&mut NodeMembers> {
        let stale = self.nodes.get(node).map(|m| m.incarnation);
        match stale {
            Some(inc) if inc > incarnation => return None,
            Some(inc) if inc < incarnation => self.remove_node(node, events),
            _ => {}
        }
        Some(
            self.nodes
                .entry(node.clone())
                .or_insert_with(|| NodeMembers {
                    incarnation,
                    groups: BTreeMap::new(),
                }),
        )
    }

    fn remove_node(&mut self, node: &NodeId, events: &mut Vec<PgEvent>) {
        if let Some(old) = self.nodes.remove(node) {
            for (group, ids) in old.groups {
                events.push(PgEvent::Leave {
                    group,
                    pids: gpids(node, old.incarnation, &ids),
                });
            }
        }
    }

    /// Applies an announcement; the membership changes it made.
    pub(crate) fn apply(&mut self, ctl: &Ctl) -> Vec<PgEvent> {
        let mut events = Vec::new();
        match ctl {
            Ctl::Join {
                node,
                incarnation,
                group,
                ids,
            } => {
                if let Some(m) = self.entry(node, *incarnation, &mut events)
                    && !ids.is_empty()
                {
                    m.groups.entry(group.clone()).or_default().extend(ids);
                    events.push(PgEvent::Join {
                        group: group.clone(),
                        pids: gpids(node, *incarnation, ids),
                    });
                }
            }
            Ctl::Leave {
                node,
                incarnation,
                group,
                ids,
            } => {
                if let Some(m) = self.entry(node, *incarnation, &mut events)
                    && let Some(members) = m.groups.get_mut(group)
                {
                    let mut left = Vec::new();
                    for id in ids {
                        if let Some(i) = members.iter().position(|m| m == id) {
                            members.remove(i);
                            left.push(*id);
                        }
                    }
                    if members.is_empty() {
                        m.groups.remove(group);
                    }
                    if !left.is_empty() {
                        events.push(PgEvent::Leave {
                            group: group.clone(),
                            pids: gpids(node, *incarnation, &left),
                        });
                    }
                }
            }
            Ctl::Sync {
                node,
                incarnation,
                groups,
            } => {
                let Some(m) = self.entry(node, *incarnation, &mut events) else {
                    return events;
                };
                let new: BTreeMap<String, Vec<u64>> = groups
                    .iter()
                    .filter(|(_, ids)| !ids.is_empty())
                    .cloned()
                    .collect();
                let old = std::mem::replace(&mut m.groups, new.clone());
                for (group, ids) in &old {
                    let now = new.get(group).map_or(&[][..], |v| &v[..]);
                    let left = multiset_minus(ids, now);
                    if !left.is_empty() {
                        events.push(PgEvent::Leave {
                            group: group.clone(),
                            pids: gpids(node, *incarnation, &left),
                        });
                    }
                }
                for (group, ids) in &new {
                    let before = old.get(group).map_or(&[][..], |v| &v[..]);
                    let joined = multiset_minus(ids, before);
                    if !joined.is_empty() {
                        events.push(PgEvent::Join {
                            group: group.clone(),
                            pids: gpids(node, *incarnation, &joined),
                        });
                    }
                }
            }
            Ctl::Discover { .. } => {}
        }
        events
    }

    /// Node run `incarnation` of `node` (or an older one) is gone.
    pub(crate) fn node_down(&mut self, node: &NodeId, incarnation: Incarnation) -> Vec<PgEvent> {
        let mut events = Vec::new();
        if self
            .nodes
            .get(node)
            .is_some_and(|m| m.incarnation <= incarnation)
        {
            self.remove_node(node, &mut events);
        }
        events
    }

    /// Every member of `group`, by node then join order.
    pub(crate) fn members(&self, group: &str) -> Vec<GlobalPid> {
        let mut nodes: Vec<(&NodeId, &NodeMembers)> = self.nodes.iter().collect();
        nodes.sort_by(|a, b| a.0.cmp(b.0));
        nodes
            .into_iter()
            .flat_map(|(node, m)| {
                m.groups
                    .get(group)
                    .map(|ids| gpids(node, m.incarnation, ids))
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The members of `group` on `node`.
    pub(crate) fn node_members(&self, node: &NodeId, group: &str) -> Vec<GlobalPid> {
        self.nodes
            .get(node)
            .and_then(|m| Some(gpids(node, m.incarnation, m.groups.get(group)?)))
            .unwrap_or_default()
    }

    /// The groups with at least one member, sorted.
    pub(crate) fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self
            .nodes
            .values()
            .flat_map(|m| m.groups.keys().cloned())
            .collect();
        groups.sort();
        groups.dedup();
        groups
    }
}

/// `a` without one occurrence of each element of `b`.
fn multiset_minus(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut b = b.to_vec();
    a.iter()
        .filter(|x| match b.iter().position(|y| y == *x) {
            Some(i) => {
                b.swap_remove(i);
                false
            }
            None => true,
        })
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> NodeId {
        NodeId::new(s)
    }
    fn join(node: &str, inc: u64, group: &str, ids: &[u64]) -> Ctl {
        Ctl::Join {
            node: n(node),
            incarnation: inc,
            group: group.into(),
            ids: ids.to_vec(),
        }
    }
    fn leave(node: &str, inc: u64, group: &str, ids: &[u64]) -> Ctl {
        Ctl::Leave {
            node: n(node),
            incarnation: inc,
            group: group.into(),
            ids: ids.to_vec(),
        }
    }

    #[test]
    fn joins_and_leaves_count_like_otp() {
        let mut v = View::default();
        v.apply(&join("a", 1, "g", &[1, 2]));
        v.apply(&join("a", 1, "g", &[1])); // joined twice: listed twice
        v.apply(&join("b", 5, "g", &[9]));
        assert_eq!(v.members("g").len(), 4);
        let ev = v.apply(&leave("a", 1, "g", &[1]));
        assert_eq!(
            ev,
            vec![PgEvent::Leave {
                group: "g".into(),
                pids: gpids(&n("a"), 1, &[1])
            }]
        );
        assert_eq!(v.node_members(&n("a"), "g"), gpids(&n("a"), 1, &[2, 1]));
        // Leaving what is not there changes nothing.
        assert!(v.apply(&leave("a", 1, "g", &[7])).is_empty());
        assert_eq!(v.groups(), vec!["g".to_owned()]);
    }

    #[test]
    fn an_older_run_is_ignored_and_a_newer_one_replaces_it() {
        let mut v = View::default();
        v.apply(&join("a", 2, "g", &[1]));
        assert!(v.apply(&join("a", 1, "g", &[5])).is_empty());
        let ev = v.apply(&join("a", 3, "h", &[4]));
        assert_eq!(
            ev,
            vec![
                PgEvent::Leave {
                    group: "g".into(),
                    pids: gpids(&n("a"), 2, &[1])
                },
                PgEvent::Join {
                    group: "h".into(),
                    pids: gpids(&n("a"), 3, &[4])
                },
            ]
        );
        assert!(v.members("g").is_empty());
    }

    #[test]
    fn a_sync_replaces_the_nodes_membership_with_the_differences_as_events() {
        let mut v = View::default();
        v.apply(&join("a", 1, "g", &[1, 2]));
        let ev = v.apply(&Ctl::Sync {
            node: n("a"),
            incarnation: 1,
            groups: vec![("g".into(), vec![2, 3]), ("h".into(), vec![])],
        });
        assert_eq!(
            ev,
            vec![
                PgEvent::Leave {
                    group: "g".into(),
                    pids: gpids(&n("a"), 1, &[1])
                },
                PgEvent::Join {
                    group: "g".into(),
                    pids: gpids(&n("a"), 1, &[3])
                },
            ]
        );
        assert_eq!(v.groups(), vec!["g".to_owned()]);
        // An empty sync (the node stopped) empties it.
        v.apply(&Ctl::Sync {
            node: n("a"),
            incarnation: 1,
            groups: vec![],
        });
        assert!(v.members("g").is_empty());
    }

    #[test]
    fn a_down_node_loses_its_members_but_not_a_newer_run() {
        let mut v = View::default();
        v.apply(&join("a", 2, "g", &[1]));
        assert!(v.node_down(&n("a"), 1).is_empty());
        assert_eq!(v.members("g").len(), 1);
        let ev = v.node_down(&n("a"), 2);
        assert_eq!(
            ev,
            vec![PgEvent::Leave {
                group: "g".into(),
                pids: gpids(&n("a"), 2, &[1])
            }]
        );
        assert!(v.members("g").is_empty());
        assert!(v.groups().is_empty());
    }
}
