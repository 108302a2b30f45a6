//! The remote half of links and monitors: local processes that other
//! nodes' proxies watch. When such a process exits, its watchers are told
//! the reason (an `Exited` envelope); when a watcher's node goes down, its
//! watches are dropped.
//!
//! # Invariants
//!
//! 1. Each (process, watcher) pair has at most one watch task; the task
//!    removes its own entry when it has reported.
//! 2. After [`Watchers::node_down`] no task of that incarnation's watchers
//!    runs; after [`Watchers::clear`] none at all.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use arbor_process::{Pid, Process, ProcessHandle};
use parking_lot::Mutex;
use tokio::task::AbortHandle;

use crate::call::{Dest, send_envelope};
use crate::node::Node;
use crate::wire::{GlobalPid, Incarnation, Kind, NodeId, WireExitReason};

/// The watch table (a node extension).
#[derive(Debug, Default)]
pub(crate) struct Watchers {
    map: Mutex<HashMap<(u64, GlobalPid), AbortHandle>>,
}

impl Watchers {
    /// Watches local `pid` (`target` is its global pid) for `watcher`.
    /// A `None` pid (not alive) is reported at once as `noproc`.
    pub(crate) fn watch(
        self: &Arc<Self>,
        node: &Node,
        pid: Option<Pid>,
        target: GlobalPid,
        watcher: GlobalPid,
    ) {
        let node = node.clone();
        let Some(pid) = pid else {
            tokio::spawn(async move {
                report(&node, target, watcher, WireExitReason::NoProc).await;
            });
            return;
        };
        // The handle keeps the exit reason even if the process dies before
        // the task first runs.
        let Some(handle) = ProcessHandle::lookup(pid) else {
            tokio::spawn(async move {
                report(&node, target, watcher, WireExitReason::NoProc).await;
            });
            return;
        };
        let key = (pid.id(), watcher.clone());
        let mut map = self.map.lock();
        if map.contains_key(&key) {
            return;
        }
        let weak: Weak<Watchers> = Arc::downgrade(self);
        let task_key = key.clone();
        let task = tokio::spawn(async move {
            let reason = handle.wait().await;
            if let Some(w) = weak.upgrade() {
                w.map.lock().remove(&task_key);
            }
            report(&node, target, watcher, WireExitReason::from(&reason)).await;
        });
        map.insert(key, task.abort_handle());
    }

    /// Drops every watch of `node`'s incarnation `incarnation`.
    pub(crate) fn node_down(&self, node: &NodeId, incarnation: Incarnation) {
        self.map.lock().retain(|(_, w), t| {
            let keep = !(w.node == *node && w.incarnation == incarnation);
            if !keep {
                t.abort();
            }
            keep
        });
    }

    /// Drops every watch (this node stops or was fenced).
    pub(crate) fn clear(&self) {
        for (_, t) in self.map.lock().drain() {
            t.abort();
        }
    }

    /// The number of watches (leak tests).
    pub(crate) fn len(&self) -> usize {
        self.map.lock().len()
    }
}

/// Tells `watcher` that `target` exited with `reason`.
async fn report(node: &Node, target: GlobalPid, watcher: GlobalPid, reason: WireExitReason) {
    let _ = send_envelope(
        node,
        target,
        &Dest::Pid(watcher),
        Kind::Exited(reason),
        "",
        Vec::new(),
        None,
    )
    .await;
}
