//! [`NodeError`]: why a node could not start or a node operation failed.

use std::time::Duration;

use crate::wire::{Incarnation, NodeId};

/// Why [`Node::start`](crate::Node::start) (or a node-level operation)
/// failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// A name, URL or interval is not acceptable.
    #[error("invalid node configuration: {0}")]
    InvalidConfig(String),
    /// A URL carries credentials, which the NATS client would ignore
    /// (authenticating as nobody); use [`crate::Credentials`].
    #[error("credentials in NATS URL {url} are ignored by the client; use NodeConfig::credentials")]
    CredentialsInUrl {
        /// The URL, with its credentials masked.
        url: String,
    },
    /// No server accepted a connection before the deadline.
    #[error("NATS unreachable at {urls:?} within {deadline:?}: {reason}")]
    Unreachable {
        /// The URLs tried.
        urls: Vec<String>,
        /// The connect deadline.
        deadline: Duration,
        /// The last error.
        reason: String,
    },
    /// The server refused the node's credentials.
    #[error("NATS refused the node's credentials: {0}")]
    Auth(String),
    /// The credentials file could not be read.
    #[error("credentials file: {0}")]
    CredsFile(String),
    /// A JetStream request (stream or KV) failed.
    #[error("jetstream: {0}")]
    JetStream(String),
    /// The node's supervisor could not start or add an agent.
    #[error("node supervisor: {0}")]
    Supervisor(String),
    /// Another incarnation of this node name is alive: its record in the
    /// node table is alive and its node answered a ping. A record whose
    /// node does not answer (no responders, or no answer within 3 ticks:
    /// killed, or hung and about to be declared down) is replaced instead,
    /// and that node, should it come back, is fenced.
    #[error("node name {node} is in use by live incarnation {incarnation}")]
    NameInUse {
        /// The name asked for.
        node: NodeId,
        /// The live incarnation that holds it.
        incarnation: Incarnation,
    },
}
