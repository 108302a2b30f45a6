//! The cluster side of the hub: the other nodes' trees and timelines, and
//! their ups and downs, as the cluster glue (feature `nats`) reports them.
//! Without a cluster, the node list is this node alone.
//!
//! # Invariants
//!
//! 1. A peer's events are renumbered into this timeline, in the order its
//!    samples arrive, each once: a sample carries the events after the
//!    last sequence number taken from that peer's incarnation.
//! 2. A node that goes down shows no trees (its processes are gone) until
//!    a new incarnation comes up.
//! 3. What this node hands to its peers is its own events only, never
//!    the ones it took from others (no echo).

use serde::Serialize;
use serde_json::{Value, json};

use super::{Hub, State, TIMELINE_KEPT, now_ms};
use crate::timeline::{EventKind, TimelineEvent};

/// Whether a peer is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PeerState {
    Up,
    Down,
}

/// What the hub knows of one other node.
#[derive(Debug, Clone)]
pub(crate) struct RemoteNode {
    incarnation: u64,
    state: PeerState,
    /// Why it went down.
    reason: Option<String>,
    /// Its trees as it last reported them (JSON of `TreeView`s).
    trees: Value,
    /// Why its last sample failed, if it did.
    error: Option<String>,
    /// The last of its sequence numbers taken (invariant 1).
    last_seq: u64,
    /// When its last sample arrived.
    sampled_ms: Option<u64>,
}

/// One sample of a peer, as its observer answers it.
#[cfg_attr(not(feature = "nats"), allow(dead_code))]
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct PeerSample {
    pub(crate) trees: Value,
    pub(crate) events: Vec<TimelineEvent>,
    pub(crate) last_seq: u64,
}

/// Numbers and stores one event (oldest dropped past the bound).
fn push(st: &mut State, mut event: TimelineEvent) -> TimelineEvent {
    event.seq = st.next_seq;
    st.next_seq += 1;
    if st.timeline.len() == TIMELINE_KEPT {
        st.timeline.pop_front();
    }
    st.timeline.push_back(event.clone());
    event
}

fn node_event(node: &str, kind: EventKind, reason: Option<String>) -> TimelineEvent {
    TimelineEvent {
        seq: 0,
        at_ms: now_ms(),
        node: Some(node.to_owned()),
        tree: String::new(),
        key: node.to_owned(),
        id: None,
        kind,
        pid: None,
        old_pid: None,
        reason,
    }
}

#[cfg_attr(not(feature = "nats"), allow(dead_code))]
impl Hub {
    /// Names this node: its own events carry the name from now on.
    pub(crate) fn set_local_node(&self, name: &str) {
        self.state.lock().local_node = Some(name.to_owned());
    }

    pub(crate) fn local_node(&self) -> Option<String> {
        self.state.lock().local_node.clone()
    }

    /// Every node: this one first, then the others by name.
    pub(crate) fn nodes(&self) -> Value {
        let trees = self.trees();
        let st = self.state.lock();
        let mut out = vec![json!({
            "node": st.local_node,
            "local": true,
            "state": PeerState::Up,
            "incarnation": null,
            "reason": null,
            "error": null,
            "sampled_ms": null,
            "trees": trees,
        })];
        for (name, r) in &st.remote {
            out.push(json!({
                "node": name,
                "local": false,
                "state": r.state,
                "incarnation": r.incarnation,
                "reason": r.reason,
                "error": r.error,
                "sampled_ms": r.sampled_ms,
                "trees": r.trees,
            }));
        }
        Value::Array(out)
    }

    fn publish_nodes(&self) {
        self.publish("nodes", &json!({ "nodes": self.nodes() }));
    }

    fn publish_events(&self, events: &[TimelineEvent]) {
        if !events.is_empty() {
            self.publish("timeline", &json!({ "events": events }));
        }
    }

    /// `node` (incarnation `incarnation`) is up. `observed` puts it on the
    /// timeline (a node already up when the observer started is not).
    pub(crate) fn node_up(&self, node: &str, incarnation: u64, observed: bool) {
        let event = {
            let mut st = self.state.lock();
            let entry = st.remote.entry(node.to_owned()).or_insert(RemoteNode {
                incarnation,
                state: PeerState::Up,
                reason: None,
                trees: Value::Array(Vec::new()),
                error: None,
                last_seq: 0,
                sampled_ms: None,
            });
            if entry.incarnation != incarnation {
                entry.last_seq = 0;
                entry.trees = Value::Array(Vec::new());
            }
            entry.incarnation = incarnation;
            entry.state = PeerState::Up;
            entry.reason = None;
            entry.error = None;
            observed.then(|| push(&mut st, node_event(node, EventKind::NodeUp, None)))
        };
        self.publish_events(&event.into_iter().collect::<Vec<_>>());
        self.publish_nodes();
    }

    /// `node`'s incarnation `incarnation` went down for `reason`
    /// (invariant 2). A down of an incarnation older than the one shown
    /// is only put on the timeline.
    pub(crate) fn node_down(&self, node: &str, incarnation: u64, reason: &str) {
        let event = {
            let mut st = self.state.lock();
            if let Some(r) = st.remote.get_mut(node)
                && r.incarnation <= incarnation
            {
                r.state = PeerState::Down;
                r.reason = Some(reason.to_owned());
                r.trees = Value::Array(Vec::new());
            }
            push(
                &mut st,
                node_event(node, EventKind::NodeDown, Some(reason.to_owned())),
            )
        };
        self.publish_events(&[event]);
        self.publish_nodes();
    }

    /// The sequence number to ask `node` for events after, if it is up as
    /// `incarnation`.
    pub(crate) fn peer_since(&self, node: &str, incarnation: u64) -> Option<u64> {
        let st = self.state.lock();
        let r = st.remote.get(node)?;
        (r.state == PeerState::Up && r.incarnation == incarnation).then_some(r.last_seq)
    }

    /// Stores a sample of `node` (incarnation `incarnation`); ignored if
    /// that incarnation is no longer the one up (a late answer).
    pub(crate) fn peer_sample(&self, node: &str, incarnation: u64, sample: PeerSample) {
        let (events, changed) = {
            let mut st = self.state.lock();
            let Some(r) = st.remote.get_mut(node) else {
                return;
            };
            if r.state != PeerState::Up || r.incarnation != incarnation {
                return;
            }
            let changed = r.trees != sample.trees || r.error.is_some();
            r.trees = sample.trees;
            r.error = None;
            r.sampled_ms = Some(now_ms());
            let since = r.last_seq;
            r.last_seq = r.last_seq.max(sample.last_seq);
            let node_name = Some(node.to_owned());
            let events: Vec<TimelineEvent> = sample
                .events
                .into_iter()
                .filter(|e| e.seq > since)
                .map(|mut e| {
                    e.node = node_name.clone();
                    push(&mut st, e)
                })
                .collect();
            (events, changed)
        };
        self.publish_events(&events);
        if changed {
            self.publish_nodes();
        }
    }

    /// `node`'s sample failed (it is slow, or has no observer).
    pub(crate) fn peer_error(&self, node: &str, incarnation: u64, error: String) {
        let changed = {
            let mut st = self.state.lock();
            match st.remote.get_mut(node) {
                Some(r) if r.incarnation == incarnation && r.state == PeerState::Up => {
                    let changed = r.error.as_ref() != Some(&error);
                    r.error = Some(error);
                    changed
                }
                _ => false,
            }
        };
        if changed {
            self.publish_nodes();
        }
    }

    /// What this node answers a peer asking for events after `since`: its
    /// trees, its own events (invariant 3), and its last sequence number.
    pub(crate) fn local_sample(&self, since: u64) -> Value {
        let trees = self.trees();
        let st = self.state.lock();
        let events: Vec<&TimelineEvent> = st
            .timeline
            .iter()
            .filter(|e| e.seq > since && e.node == st.local_node)
            .collect();
        json!({
            "trees": trees,
            "events": events,
            "last_seq": st.next_seq - 1,
        })
    }
}

#[cfg(test)]
mod tests;
