//! A mirror's registration with exporters: which nodes may export a
//! topic, and the `Register` message that makes an exporter wait for this
//! node's mirror on synchronous events.

use std::time::Duration;

use bytes::Bytes;

use super::frame::{self, Control};
use crate::node::Node;
use crate::wire::{NodeId, encode};

/// This node and every node up: where an exporter may be.
pub(crate) fn origins(node: &Node) -> Vec<NodeId> {
    let mut all: Vec<NodeId> = node.nodes().into_iter().map(|(n, _)| n).collect();
    all.push(node.name().clone());
    all
}

/// Registers this node's mirror with `origin` (no exporter there: no
/// answer, nothing to do).
pub(crate) async fn register(node: &Node, topic: &str, origin: &NodeId, wait: Option<Duration>) {
    let ctl = Control::Register(node.name().clone(), node.incarnation());
    let Ok(bytes) = encode(&ctl) else { return };
    let subject = frame::control(node, topic, origin);
    match wait {
        Some(t) => {
            let _ =
                tokio::time::timeout(t, node.client().request(subject, Bytes::from(bytes))).await;
        }
        None => {
            let _ = node.client().publish(subject, Bytes::from(bytes)).await;
        }
    }
}
