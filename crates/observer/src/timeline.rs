//! The timeline: starts, exits (with reason) and restarts, as they were
//! observed, numbered in order.

use arbor_process::Pid;
use serde::{Deserialize, Serialize};

/// What happened to a process of an observed tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A child appeared running (a new child, or the first sample).
    Start,
    /// A process of the tree exited; `reason` says why.
    Exit,
    /// A child runs again under a new pid (`old_pid` was its last one).
    Restart,
    /// A child's restart failed or is delayed: a retry is queued.
    Restarting,
    /// A node of the cluster came up (`node` names it; cluster view only).
    NodeUp,
    /// A node of the cluster went down; `reason` says why (`shutdown`,
    /// `disconnected`, `heartbeat_timeout`, ...; cluster view only).
    NodeDown,
}

/// One entry of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// Its place in the timeline: 1, 2, 3, ... in the order observed.
    pub seq: u64,
    /// When it was observed, in milliseconds since the Unix epoch (for
    /// another node's event: by that node's clock).
    pub at_ms: u64,
    /// The node it happened on: `None` unless the observer shows a cluster
    /// (then this node's name for its own trees, the peer's for theirs and
    /// for `node_up` / `node_down`).
    #[serde(default)]
    pub node: Option<String>,
    /// The label of the tree (empty for `node_up` / `node_down`).
    pub tree: String,
    /// The node's key (the node's name for `node_up` / `node_down`) (see [`NodeView::key`](crate::NodeView::key)).
    pub key: String,
    /// The child id, if it has one.
    pub id: Option<String>,
    /// What happened.
    pub kind: EventKind,
    /// The process concerned (the new one for a restart).
    #[serde(
        serialize_with = "crate::json::opt_pid",
        deserialize_with = "crate::json::de_opt_pid"
    )]
    pub pid: Option<Pid>,
    /// For a restart: the pid it had before.
    #[serde(
        serialize_with = "crate::json::opt_pid",
        deserialize_with = "crate::json::de_opt_pid"
    )]
    pub old_pid: Option<Pid>,
    /// For an exit (and a `node_down`): the exit reason, as arbor prints it (`killed`,
    /// `{panic,"boom"}`, ...).
    pub reason: Option<String>,
}

/// A change found by comparing two samples, before it gets its number and
/// time (see [`crate::diff`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) key: String,
    pub(crate) id: Option<String>,
    pub(crate) kind: EventKind,
    pub(crate) pid: Option<Pid>,
    pub(crate) old_pid: Option<Pid>,
    pub(crate) reason: Option<String>,
}
