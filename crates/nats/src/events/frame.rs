//! What crosses the network for remote event managers, and the subjects.
//!
//! Subjects (all under the node prefix):
//! - `ev.<topic>.<origin>.n` — a bridge's broadcast of `notify` frames;
//!   mirrors subscribe `ev.<topic>.*.n`.
//! - `ev.<topic>.<origin>.in` — remote `notify` / `sync_notify` into the
//!   origin's manager ([`Inbound`]).
//! - `ev.<topic>.<origin>.sub` — mirrors (un)register with an origin for
//!   synchronous events ([`Control`]).
//! - `evm.<topic>.<node>` — one node's mirror: synchronous [`Frame`]s,
//!   answered with a [`MirrorReply`].
//! - `evh.<topic>` — a new bridge says hello; mirrors register with it.
//! - `evd.<topic>.<origin>` — durable frames, stored in the JetStream
//!   stream `ARBOR_<cluster>_EV_<topic>`.

use serde::{Deserialize, Serialize};

use super::error::MirrorFailure;
use crate::node::Node;
use crate::wire::{Incarnation, NodeId};

/// One event from a bridge (its type tag travels in the type header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Frame {
    pub(crate) origin: NodeId,
    pub(crate) incarnation: Incarnation,
    pub(crate) seq: u64,
    pub(crate) sync: bool,
    pub(crate) body: Vec<u8>,
}

/// A mirror's (un)registration with an origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Control {
    Register(NodeId, Incarnation),
    Unregister(NodeId, Incarnation),
}

/// A remote `notify` (`sync: false`) or `sync_notify` into an origin's
/// manager (the type tag is in the type header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Inbound {
    pub(crate) sync: bool,
    pub(crate) body: Vec<u8>,
}

/// The origin's answer to an [`Inbound`] `sync_notify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum InboundReply {
    Ok,
    NoProcess,
    Partial(Vec<MirrorFailure>),
    Decode { expected: String, got: String },
}

/// A mirror's answer to a synchronous frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum MirrorReply {
    /// Dispatched (or a duplicate of one that was).
    Ok,
    /// The frame's type tag is not the mirror's.
    Decode { expected: String, got: String },
}

pub(crate) fn broadcast(node: &Node, topic: &str) -> String {
    node.subject(&format!("ev.{topic}.{}.n", node.name()))
}

pub(crate) fn broadcast_all(node: &Node, topic: &str) -> String {
    node.subject(&format!("ev.{topic}.*.n"))
}

pub(crate) fn inbound(node: &Node, topic: &str, origin: &NodeId) -> String {
    node.subject(&format!("ev.{topic}.{origin}.in"))
}

pub(crate) fn control(node: &Node, topic: &str, origin: &NodeId) -> String {
    node.subject(&format!("ev.{topic}.{origin}.sub"))
}

pub(crate) fn mirror(node: &Node, topic: &str, who: &NodeId) -> String {
    node.subject(&format!("evm.{topic}.{who}"))
}

pub(crate) fn hello(node: &Node, topic: &str) -> String {
    node.subject(&format!("evh.{topic}"))
}

pub(crate) fn durable(node: &Node, topic: &str, origin: &NodeId) -> String {
    node.subject(&format!("evd.{topic}.{origin}"))
}

pub(crate) fn durable_all(node: &Node, topic: &str) -> String {
    node.subject(&format!("evd.{topic}.>"))
}

/// The JetStream stream of a durable topic (a valid stream name: the
/// topic is `[A-Za-z0-9_-]`, and a cluster's `@` is spelled out).
pub(crate) fn stream_name(node: &Node, topic: &str) -> String {
    let cluster = node.config().cluster.replace('@', "_at_");
    format!("ARBOR_{cluster}_EV_{topic}")
}

/// A node's durable consumer: node names may hold `@`, which consumer
/// names avoid.
pub(crate) fn consumer_name(who: &NodeId) -> String {
    who.as_str().replace('@', "_at_")
}
