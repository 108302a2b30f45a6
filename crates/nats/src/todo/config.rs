//! [`TodoClusterConfig`] and [`TodoClusterError`].

use std::net::SocketAddr;
use std::time::Duration;

use crate::node::NodeError;

/// How a node runs the todo service.
///
/// ```
/// use arbor_nats::todo::TodoClusterConfig;
/// let config = TodoClusterConfig::new("127.0.0.1:0".parse().unwrap()).shards(16);
/// assert_eq!(config.shards, 16);
/// ```
#[derive(Debug, Clone)]
pub struct TodoClusterConfig {
    /// Where the TCP line protocol listens (port 0: any free port).
    pub listen: SocketAddr,
    /// How many shards list names are hashed into. Every node of a cluster
    /// must use the same number.
    pub shards: u32,
    /// How long a command may wait for its shard's owner (a handover, a
    /// slow node) before it is answered `ERR unavailable …`.
    pub command_timeout: Duration,
}

impl TodoClusterConfig {
    /// 64 shards, commands wait at most 5 s.
    pub fn new(listen: SocketAddr) -> TodoClusterConfig {
        TodoClusterConfig {
            listen,
            shards: 64,
            command_timeout: Duration::from_secs(5),
        }
    }

    /// Sets the number of shards (at least 1).
    pub fn shards(mut self, shards: u32) -> Self {
        self.shards = shards.max(1);
        self
    }

    /// Sets the command timeout.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }
}

/// Why [`TodoCluster::start`](super::TodoCluster::start) failed.
#[derive(Debug, thiserror::Error)]
pub enum TodoClusterError {
    /// The shard table could not be opened, or an agent not started.
    #[error("node: {0}")]
    Node(#[from] NodeError),
    /// The local todo tree did not start.
    #[error("todo tree: {0}")]
    Tree(String),
    /// The listening socket could not be bound.
    #[error("listen: {0}")]
    Listen(#[from] std::io::Error),
    /// A subscription failed.
    #[error("nats: {0}")]
    Nats(String),
}
