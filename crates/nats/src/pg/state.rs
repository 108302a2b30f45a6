//! The node-wide state of a scope, shared by its agent, the tasks that
//! deliver group messages, and [`PgScope`](crate::PgScope) handles.
//!
//! # Invariants
//!
//! 1. The view changes only under its write lock, and the events of a
//!    change are sent before the lock is released: a subscriber that took
//!    a snapshot under the lock sees every later change exactly once.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::{Context, Poll};

use arbor_process::{MonitorRef, Pid, ProcessRef};
use parking_lot::{Mutex, RwLock};
use tokio::sync::mpsc;

use super::view::{PgEvent, View};
use crate::wire::{GlobalPid, NodeId, Wire, decode};

/// Hands one group message (type tag, body) to a local member; `Err`
/// says why it was dropped.
pub(crate) type DeliverFn = Arc<dyn Fn(&str, &[u8]) -> Result<(), String> + Send + Sync>;

/// Delivery to `to`: only messages tagged `M::TAG` that decode as `M`.
pub(crate) fn deliver_to<M: Wire>(to: ProcessRef<M>) -> DeliverFn {
    Arc::new(move |tag, body| {
        if tag != M::TAG {
            return Err(format!(
                "a {tag} message for a member that takes {}",
                M::TAG
            ));
        }
        let msg = decode::<M>(body).map_err(|e| format!("{tag} does not decode: {e}"))?;
        to.send(msg).map_err(|_| "the member has exited".to_owned())
    })
}

/// A local process in a group.
#[derive(Clone)]
pub(crate) struct LocalMember {
    pub(crate) pid: Pid,
    pub(crate) monitor: Option<MonitorRef>,
    pub(crate) deliver: DeliverFn,
}

/// A stream of [`PgEvent`]s from [`PgScope::monitor`](crate::PgScope::monitor)
/// or [`PgScope::monitor_scope`](crate::PgScope::monitor_scope); it ends
/// when the node stops.
#[derive(Debug)]
pub struct PgEvents {
    rx: mpsc::UnboundedReceiver<PgEvent>,
}

impl PgEvents {
    /// The next event; `None` once the node has stopped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn recv(&mut self) -> Option<PgEvent> {
        self.rx.recv().await
    }
}

impl futures::Stream for PgEvents {
    type Item = PgEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<PgEvent>> {
        self.rx.poll_recv(cx)
    }
}

type Sub = (Option<String>, mpsc::UnboundedSender<PgEvent>);

/// One scope on one node.
pub(crate) struct ScopeState {
    pub(crate) name: String,
    view: RwLock<View>,
    /// This node's members, per group, with their delivery.
    pub(crate) local: RwLock<HashMap<String, Vec<LocalMember>>>,
    subs: Mutex<Vec<Sub>>,
    /// Round robin over local members for send-to-any.
    pub(crate) next_any: AtomicUsize,
}

impl ScopeState {
    pub(crate) fn new(name: &str) -> ScopeState {
        ScopeState {
            name: name.to_owned(),
            view: RwLock::new(View::default()),
            local: RwLock::new(HashMap::new()),
            subs: Mutex::new(Vec::new()),
            next_any: AtomicUsize::new(0),
        }
    }

    /// Changes the view and sends the resulting events (invariant 1).
    pub(crate) fn update(&self, change: impl FnOnce(&mut View) -> Vec<PgEvent>) {
        let mut view = self.view.write();
        let events = change(&mut view);
        if events.is_empty() {
            return;
        }
        let mut subs = self.subs.lock();
        for e in &events {
            subs.retain(|(filter, tx)| {
                filter.as_ref().is_some_and(|g| g != e.group()) || tx.send(e.clone()).is_ok()
            });
        }
    }

    pub(crate) fn members(&self, group: &str) -> Vec<GlobalPid> {
        self.view.read().members(group)
    }

    pub(crate) fn node_members(&self, node: &NodeId, group: &str) -> Vec<GlobalPid> {
        self.view.read().node_members(node, group)
    }

    pub(crate) fn groups(&self) -> Vec<String> {
        self.view.read().groups()
    }

    /// The members of `group` now and every change from then on
    /// (`None`: every group, no snapshot).
    pub(crate) fn subscribe(&self, group: Option<&str>) -> (Vec<GlobalPid>, PgEvents) {
        let view = self.view.read();
        let (tx, rx) = mpsc::unbounded_channel();
        self.subs.lock().push((group.map(str::to_owned), tx));
        let now = group.map(|g| view.members(g)).unwrap_or_default();
        (now, PgEvents { rx })
    }

    /// This node's membership, for a `Sync`.
    pub(crate) fn local_sync(&self) -> Vec<(String, Vec<u64>)> {
        self.local
            .read()
            .iter()
            .map(|(g, ms)| (g.clone(), ms.iter().map(|m| m.pid.id()).collect()))
            .collect()
    }

    /// Ends every event stream (the node stops).
    pub(crate) fn close(&self) {
        self.subs.lock().clear();
    }
}

/// The scopes of a node (a node extension).
#[derive(Default)]
pub(crate) struct Scopes {
    pub(crate) map: Mutex<HashMap<String, Arc<ScopeState>>>,
    /// Serialises starting scope agents.
    pub(crate) starting: tokio::sync::Mutex<()>,
}
