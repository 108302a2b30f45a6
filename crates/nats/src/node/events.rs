//! Node up/down events: [`NodeEvent`], and the hub that fans them out to
//! every subscriber (monitors, proxies, global, pg).
//!
//! # Invariants
//!
//! 1. A subscriber gets every event published after it subscribed, in
//!    publication order: channels are unbounded, so nothing is dropped.
//! 2. A subscriber whose receiver was dropped is removed at the next
//!    publication.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::wire::{Incarnation, NodeId};

/// Why a node went down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeDownReason {
    /// It left in order ([`Node::stop`](crate::Node::stop)): the
    /// `shutdown` of OTP.
    Shutdown,
    /// Its connection closed (the server's disconnect advisory) and a ping
    /// found nobody: the process died.
    Disconnected,
    /// No heartbeat for 3 ticks: hung, or cut off.
    Silent,
    /// Another incarnation of the node is up now (it restarted).
    Replaced,
    /// This node was declared down by the others (it was paused or cut
    /// off) and rejoined as a new incarnation: every link, monitor and
    /// call to any other node was reset.
    Fenced,
    /// This node stopped.
    Stopped,
    /// The node was not up when it was monitored.
    NotConnected,
}

impl fmt::Display for NodeDownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NodeDownReason::Shutdown => "shutdown",
            NodeDownReason::Disconnected => "disconnected",
            NodeDownReason::Silent => "heartbeat_timeout",
            NodeDownReason::Replaced => "replaced",
            NodeDownReason::Fenced => "fenced",
            NodeDownReason::Stopped => "stopped",
            NodeDownReason::NotConnected => "not_connected",
        })
    }
}

/// A change in the cluster's membership, as seen by this node.
///
/// # OTP
///
/// `{nodeup, Node}` / `{nodedown, Node, Info}` of
/// `net_kernel:monitor_nodes/2`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeEvent {
    /// A node (incarnation) joined.
    Up {
        /// The node.
        node: NodeId,
        /// Its incarnation.
        incarnation: Incarnation,
    },
    /// A node (incarnation) is gone; its pids are dead for good.
    Down {
        /// The node.
        node: NodeId,
        /// The incarnation that went down.
        incarnation: Incarnation,
        /// Why.
        reason: NodeDownReason,
    },
}

impl NodeEvent {
    /// The node the event is about.
    pub fn node(&self) -> &NodeId {
        match self {
            NodeEvent::Up { node, .. } | NodeEvent::Down { node, .. } => node,
        }
    }
}

/// Fans node events out to subscribers (invariants 1-2).
#[derive(Debug, Default)]
pub(crate) struct EventHub {
    subs: Mutex<Vec<mpsc::UnboundedSender<NodeEvent>>>,
}

#[allow(dead_code)] // publishers arrive with membership
impl EventHub {
    /// A new subscription: every event from now on.
    pub(crate) fn subscribe(&self) -> NodeEvents {
        let (tx, rx) = mpsc::unbounded_channel();
        self.subs.lock().push(tx);
        NodeEvents { rx }
    }

    /// Sends `event` to every live subscriber.
    pub(crate) fn publish(&self, event: &NodeEvent) {
        #[cfg(feature = "metrics")]
        match event {
            NodeEvent::Up { node, .. } => crate::metrics::node_up(node.as_str()),
            NodeEvent::Down { node, reason, .. } => {
                crate::metrics::node_down(node.as_str(), reason.to_string());
            }
        }
        self.subs.lock().retain(|tx| tx.send(event.clone()).is_ok());
    }

    /// Ends every subscription (the node stopped).
    pub(crate) fn close(&self) {
        self.subs.lock().clear();
    }

    /// The number of live subscriptions (for leak tests).
    pub(crate) fn subscriber_count(&self) -> usize {
        let mut subs = self.subs.lock();
        subs.retain(|tx| !tx.is_closed());
        subs.len()
    }
}

/// A stream of [`NodeEvent`]s, from
/// [`Node::monitor_nodes`](crate::Node::monitor_nodes). It ends when the
/// node stops.
#[derive(Debug)]
pub struct NodeEvents {
    rx: mpsc::UnboundedReceiver<NodeEvent>,
}

impl NodeEvents {
    /// The next event; `None` once the node has stopped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an event is never lost by dropping the future.
    pub async fn recv(&mut self) -> Option<NodeEvent> {
        self.rx.recv().await
    }
}

impl futures::Stream for NodeEvents {
    type Item = NodeEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<NodeEvent>> {
        self.rx.poll_recv(cx)
    }
}
