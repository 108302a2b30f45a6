//! The node's own agents, started by [`Node::start`](crate::Node::start)
//! under its supervisor, and what runs before the node stops.

use crate::node::{Node, NodeError};

/// Starts the node's agents in order.
pub(crate) async fn start(node: &Node) -> Result<(), NodeError> {
    let _ = node;
    Ok(())
}

/// Runs first in [`Node::stop`](crate::Node::stop), while the connection
/// is still up.
pub(crate) async fn before_stop(node: &Node) {
    let _ = node;
}
