//! Starting and stopping a [`Node`]: connect, start the agents in order;
//! say goodbye, stop them.

use crate::node::{Node, NodeConfig, NodeError};

impl Node {
    /// Connects to NATS and starts the node's agents.
    ///
    /// # Errors
    ///
    /// [`NodeError::InvalidConfig`] / [`NodeError::CredentialsInUrl`] for
    /// a bad configuration (checked before connecting);
    /// [`NodeError::Unreachable`] if no server accepts a connection within
    /// `connect_timeout`; [`NodeError::Auth`] if the server refuses the
    /// credentials; [`NodeError::JetStream`] if the node table cannot be
    /// opened; [`NodeError::Supervisor`] if an agent fails to start.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use arbor_nats::{Node, NodeConfig};
    /// # #[tokio::main] async fn main() -> Result<(), arbor_nats::NodeError> {
    /// let node = Node::start(NodeConfig::new("n1", ["nats://127.0.0.1:4222"])).await?;
    /// node.stop().await;
    /// # Ok(()) }
    /// ```
    pub async fn start(config: NodeConfig) -> Result<Node, NodeError> {
        #[cfg(feature = "metrics")]
        crate::metrics::describe();
        let node = Node::connect(config).await?;
        if let Err(e) = start_agents(&node).await {
            node.stop().await;
            return Err(e);
        }
        tracing::info!(target: "arbor::nats", node = %node.name(), incarnation = node.incarnation(), "node started");
        Ok(node)
    }

    /// Leaves the cluster in order: others see the node down with reason
    /// [`NodeDownReason::Shutdown`](crate::NodeDownReason::Shutdown) (not a
    /// crash); then resets every connection to other nodes (local proxies
    /// exit with `noconnection`, pending calls fail), stops the agents, ends
    /// every [`NodeEvents`](crate::NodeEvents) stream and drains the
    /// connection. The NATS client's own tasks end when the last handle of
    /// the node (a `Node` or a `RemoteRef`) is dropped. Idempotent.
    pub async fn stop(&self) {
        if !self.mark_stopped() {
            return;
        }
        before_stop(self).await;
        self.shut_down().await;
    }
}

/// Starts the node's agents in order (one line per module). The router
/// comes before the claim of the name: from the moment the record names
/// this incarnation, its pings are answered, so another start of the name
/// that reads the record finds a live holder (`NameInUse`) instead of a
/// silent one it may replace.
async fn start_agents(node: &Node) -> Result<(), NodeError> {
    node.add_agent(crate::router::spec(node)).await?;
    crate::membership::join(node).await?;
    node.add_agent(crate::membership::membership_spec(node))
        .await?;
    node.add_agent(crate::membership::heartbeat_spec(node))
        .await?;
    crate::global::start(node).await?;
    node.add_agent(crate::events::outbox_spec(node)).await?;
    Ok(())
}

/// Runs first in [`Node::stop`], while the connection is still up.
async fn before_stop(node: &Node) {
    crate::pg::before_stop(node).await;
    crate::global::before_stop(node).await;
    crate::membership::leave(node).await;
}
