//! The pure core of the sampler: what changed between two samples of a
//! tree.
//!
//! # Invariants
//!
//! 1. A slot (a node key) remembers the last pid it ran as, also while it
//!    is not running: a pid after a gap is a restart, not a start.
//! 2. One change per slot per sample, in the tree's depth-first order.
//! 3. A slot that vanished from the tree is forgotten (its exit is
//!    reported by the exit watchers, not here).

use std::collections::HashMap;

use arbor_process::Pid;

use crate::timeline::{Change, EventKind};
use crate::view::{NodeState, NodeView};

/// What the sampler remembers of each slot of one tree.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    slots: HashMap<String, Slot>,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    last_pid: Option<Pid>,
    state: NodeState,
}

impl Slots {
    /// The changes from the previous sample to `root`, and remembers
    /// `root` as the new previous sample.
    pub(crate) fn diff(&mut self, root: Option<&NodeView>) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut next = HashMap::with_capacity(self.slots.len());
        for node in root.map(NodeView::walk).unwrap_or_default() {
            let before = self.slots.get(&node.key).copied();
            let change = |kind, old_pid| Change {
                key: node.key.clone(),
                id: node.id.clone(),
                kind,
                pid: node.pid,
                old_pid,
                reason: None,
            };
            match (before, node.pid) {
                (None, Some(_)) => changes.push(change(EventKind::Start, None)),
                (Some(b), Some(pid)) if b.last_pid != Some(pid) => match b.last_pid {
                    Some(old) => changes.push(change(EventKind::Restart, Some(old))),
                    None => changes.push(change(EventKind::Start, None)),
                },
                (b, None)
                    if node.state == NodeState::Restarting
                        && b.is_none_or(|b| b.state != NodeState::Restarting) =>
                {
                    changes.push(change(EventKind::Restarting, b.and_then(|b| b.last_pid)));
                }
                _ => {}
            }
            let last_pid = node.pid.or(before.and_then(|b| b.last_pid));
            next.insert(
                node.key.clone(),
                Slot {
                    last_pid,
                    state: node.state,
                },
            );
        }
        self.slots = next;
        changes
    }
}

#[cfg(test)]
mod tests;
