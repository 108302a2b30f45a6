//! What a node holds for remote event managers (a node extension): its
//! exports and mirrors by topic name, and a count of live agents, for leak
//! checks.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::node::Node;

/// The node's table (an extension).
#[derive(Default)]
pub(crate) struct EventsState {
    /// Topic names exported here.
    pub(crate) exports: Mutex<HashMap<Arc<str>, ()>>,
    /// Topic name → the `Mirror<E>` of this node (as `Any`).
    pub(crate) mirrors: Mutex<HashMap<Arc<str>, Arc<dyn Any + Send + Sync>>>,
    /// Export and mirror agent processes running.
    agents: AtomicUsize,
}

/// Removes an agent's entry and count when its process ends, whatever the
/// cause (held by the process body).
pub(crate) struct AgentGuard {
    state: Arc<EventsState>,
    name: Arc<str>,
    kind: AgentKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AgentKind {
    Export,
    Mirror,
}

impl EventsState {
    pub(crate) fn guard(self: &Arc<Self>, name: Arc<str>, kind: AgentKind) -> AgentGuard {
        self.agents.fetch_add(1, Ordering::SeqCst);
        AgentGuard {
            state: Arc::clone(self),
            name,
            kind,
        }
    }
}

impl Drop for AgentGuard {
    fn drop(&mut self) {
        match self.kind {
            AgentKind::Export => {
                self.state.exports.lock().remove(&self.name);
            }
            AgentKind::Mirror => {
                self.state.mirrors.lock().remove(&self.name);
            }
        }
        self.state.agents.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a node holds for remote event managers: after nodes and topics
/// come and go, nothing may stay behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventCounts {
    /// Managers exported by this node.
    pub exports: usize,
    /// Topics this node mirrors.
    pub mirrors: usize,
    /// Export and mirror processes running.
    pub agents: usize,
}

/// A view of a node's remote event manager tables that outlives the node,
/// so a leak test can look after [`Node::stop`](crate::Node::stop).
#[derive(Clone)]
pub struct EventsProbe(Arc<EventsState>);

impl std::fmt::Debug for EventsProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.counts().fmt(f)
    }
}

impl EventsProbe {
    /// The counts now.
    pub fn counts(&self) -> EventCounts {
        EventCounts {
            exports: self.0.exports.lock().len(),
            mirrors: self.0.mirrors.lock().len(),
            agents: self.0.agents.load(Ordering::SeqCst),
        }
    }
}

impl Node {
    /// The node's remote event manager tables now.
    pub fn event_counts(&self) -> EventCounts {
        self.events_probe().counts()
    }

    /// A probe of the node's remote event manager tables that stays valid
    /// after the node stopped.
    pub fn events_probe(&self) -> EventsProbe {
        EventsProbe(self.extension::<EventsState>())
    }
}
