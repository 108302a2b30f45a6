//! Errors of remote event managers.

use std::fmt;

use arbor_process::CallError;
use serde::{Deserialize, Serialize};

use crate::wire::NodeId;

/// Why exporting, subscribing or streaming a topic failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventsError {
    /// A topic name must be 1–64 characters of `[A-Za-z0-9_-]`.
    #[error("invalid event topic name {0:?}: 1-64 characters of [A-Za-z0-9_-]")]
    InvalidName(String),
    /// This node already exports a manager under this name.
    #[error("a manager is already exported here as {0:?}")]
    AlreadyExported(String),
    /// This node subscribed to the topic with another event type.
    #[error("topic {0:?} is subscribed here with another event type")]
    TypeMismatch(String),
    /// The local manager refused the bridge's stream (it is not running).
    #[error("event manager: {0}")]
    Manager(CallError),
    /// JetStream refused the topic's stream or consumer.
    #[error("jetstream: {0}")]
    JetStream(String),
    /// A NATS subscription failed.
    #[error("nats: {0}")]
    Nats(String),
    /// The node's supervisor refused the agent.
    #[error("supervisor: {0}")]
    Supervisor(String),
    /// The node is stopped.
    #[error("the node is stopped")]
    Stopped,
}

/// Why one subscribing node did not confirm a synchronous event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MirrorError {
    /// Nobody answers for that node's mirror (the node is down, or it
    /// closed its mirror).
    NoConnection,
    /// Its mirror did not answer within the topic's `sync_timeout`.
    Timeout,
    /// Its mirror takes another event type (the type tags differ).
    TypeMismatch,
}

impl fmt::Display for MirrorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MirrorError::NoConnection => "noconnection",
            MirrorError::Timeout => "timeout",
            MirrorError::TypeMismatch => "type_mismatch",
        })
    }
}

/// One subscribing node that did not confirm a synchronous event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorFailure {
    /// The node.
    pub node: NodeId,
    /// What happened.
    pub reason: MirrorError,
}

/// Why a `sync_notify` across nodes did not fully succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncNotifyError {
    /// The origin node is not reachable.
    #[error("noconnection: node {node} is not reachable")]
    NoConnection {
        /// The origin node.
        node: NodeId,
    },
    /// The origin node is up but exports no manager under that name, or
    /// the manager is not running.
    #[error("noproc: no such event manager")]
    NoProcess,
    /// No answer within the timeout; the event may have been handled.
    #[error("sync_notify timed out (the event may have been handled)")]
    Timeout,
    /// The origin's handlers ran, but these subscribing nodes did not
    /// confirm theirs (the others did).
    #[error("{} subscribing node(s) did not confirm: {}", failed.len(), names(failed))]
    Partial {
        /// The nodes that did not confirm, and why.
        failed: Vec<MirrorFailure>,
    },
    /// The two sides disagree on the event type.
    #[error("type mismatch: expected {expected}, got {got}")]
    Decode {
        /// The tag the origin takes.
        expected: String,
        /// The tag that arrived.
        got: String,
    },
    /// The event could not be serialised.
    #[error("encode: {0}")]
    Encode(String),
    /// The event exceeds the server's payload limit.
    #[error("payload of {size} bytes exceeds the server's limit of {max}")]
    PayloadTooLarge {
        /// The encoded size.
        size: usize,
        /// The server's limit.
        max: usize,
    },
}

fn names(failed: &[MirrorFailure]) -> String {
    failed
        .iter()
        .map(|f| format!("{} ({})", f.node, f.reason))
        .collect::<Vec<_>>()
        .join(", ")
}
