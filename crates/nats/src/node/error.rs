//! [`NodeError`]: why a node could not start or a node operation failed.

use std::time::Duration;

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
    /// Another node of the cluster runs under this name.
    #[error("a node named {0} is already running in this cluster")]
    NameTaken(String),
    /// A NATS request (subscribe, publish) failed.
    #[error("nats: {0}")]
    Nats(String),
    /// The node's supervisor could not start or add an agent.
    #[error("node supervisor: {0}")]
    Supervisor(String),
    /// The node was stopped.
    #[error("node stopped")]
    Stopped,
}
