//! The node's view of the name table: what `whereis_name` reads without
//! waiting, fed by the KV watch, plus the names this node's processes hold.
//!
//! # Invariants
//!
//! 1. A slot only moves forward: an update with a revision at or below the
//!    slot's is ignored, so a late or replayed watch entry never brings
//!    back an older holder. Deletions are kept as revisions too.
//! 2. A [`NameEvent`] is emitted exactly when a name's holder changes in
//!    the view, in revision order per name.

use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};

use arbor_process::{MonitorRef, Pid};
use async_nats::jetstream::kv;
use parking_lot::{Mutex, RwLock};
use tokio::sync::mpsc;

use crate::wire::GlobalPid;

/// A change of the name table, as this node's view sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameEvent {
    /// `name` is now held by `pid`.
    Registered {
        /// The name.
        name: String,
        /// Its holder.
        pid: GlobalPid,
    },
    /// `name`, held by `pid`, is free now.
    Unregistered {
        /// The name.
        name: String,
        /// The holder it had.
        pid: GlobalPid,
    },
}

/// A stream of [`NameEvent`]s from
/// [`Node::monitor_names`](crate::Node::monitor_names); it ends when the
/// node stops.
#[derive(Debug)]
pub struct NameEvents {
    rx: mpsc::UnboundedReceiver<NameEvent>,
}

impl NameEvents {
    /// The next event; `None` once the node has stopped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn recv(&mut self) -> Option<NameEvent> {
        self.rx.recv().await
    }
}

impl futures::Stream for NameEvents {
    type Item = NameEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<NameEvent>> {
        self.rx.poll_recv(cx)
    }
}

#[derive(Clone, Debug)]
struct Slot {
    revision: u64,
    holder: Option<GlobalPid>,
}

/// A name held by a process of this node.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Held {
    pub(crate) pid: Pid,
    pub(crate) revision: u64,
    pub(crate) monitor: Option<MonitorRef>,
}

/// Node-wide state of the name registry (a node extension).
#[derive(Default)]
pub(crate) struct Names {
    view: RwLock<HashMap<String, Slot>>,
    /// Names held by this node's processes (the agent's, kept here so a
    /// restarted agent finds them again).
    pub(crate) held: Mutex<HashMap<String, Held>>,
    subs: Mutex<Vec<mpsc::UnboundedSender<NameEvent>>>,
    store: Mutex<Option<kv::Store>>,
}

impl Names {
    /// The holder of `name` in the view (invariant 1).
    pub(crate) fn whereis(&self, name: &str) -> Option<GlobalPid> {
        self.view.read().get(name)?.holder.clone()
    }

    /// Every name with a holder, sorted.
    pub(crate) fn registered(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .view
            .read()
            .iter()
            .filter(|(_, s)| s.holder.is_some())
            .map(|(n, _)| n.clone())
            .collect();
        names.sort();
        names
    }

    /// Every (name, holder, revision) in the view.
    pub(crate) fn entries(&self) -> Vec<(String, GlobalPid, u64)> {
        self.view
            .read()
            .iter()
            .filter_map(|(n, s)| Some((n.clone(), s.holder.clone()?, s.revision)))
            .collect()
    }

    /// Records that at `revision`, `name` is held by `holder` (or free).
    /// Returns whether the view changed.
    pub(crate) fn apply(&self, name: &str, revision: u64, holder: Option<GlobalPid>) -> bool {
        let mut events = Vec::new();
        {
            let mut view = self.view.write();
            let slot = view.entry(name.to_owned()).or_insert(Slot {
                revision: 0,
                holder: None,
            });
            if revision <= slot.revision {
                return false;
            }
            slot.revision = revision;
            let old = std::mem::replace(&mut slot.holder, holder.clone());
            if old != holder {
                if let Some(pid) = old {
                    events.push(NameEvent::Unregistered {
                        name: name.to_owned(),
                        pid,
                    });
                }
                if let Some(pid) = holder {
                    events.push(NameEvent::Registered {
                        name: name.to_owned(),
                        pid,
                    });
                }
            }
            // Under the view's lock: events leave in the view's order.
            self.emit(events);
        }
        true
    }

    fn emit(&self, events: Vec<NameEvent>) {
        let mut subs = self.subs.lock();
        for e in events {
            subs.retain(|tx| tx.send(e.clone()).is_ok());
        }
    }

    /// A new event subscription.
    pub(crate) fn subscribe(&self) -> NameEvents {
        let (tx, rx) = mpsc::unbounded_channel();
        self.subs.lock().push(tx);
        NameEvents { rx }
    }

    /// Ends every event subscription.
    pub(crate) fn close(&self) {
        self.subs.lock().clear();
    }

    /// The bucket, once the agent has opened it.
    pub(crate) fn store(&self) -> Option<kv::Store> {
        self.store.lock().clone()
    }

    pub(crate) fn set_store(&self, store: kv::Store) {
        *self.store.lock() = Some(store);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::NodeId;

    fn gpid(node: &str, inc: u64, id: u64) -> GlobalPid {
        GlobalPid {
            node: NodeId::new(node),
            incarnation: inc,
            id,
        }
    }

    #[test]
    fn the_view_only_moves_forward() {
        let names = Names::default();
        let mut events = names.subscribe();
        assert!(names.apply("a", 5, Some(gpid("n1", 1, 7))));
        // A replayed older delete does not remove the newer holder.
        assert!(!names.apply("a", 3, None));
        assert!(!names.apply("a", 5, None));
        assert_eq!(names.whereis("a"), Some(gpid("n1", 1, 7)));
        assert!(names.apply("a", 6, None));
        assert_eq!(names.whereis("a"), None);
        // An older put after the delete stays dead.
        assert!(!names.apply("a", 5, Some(gpid("n1", 1, 7))));
        assert!(names.apply("a", 9, Some(gpid("n2", 2, 1))));
        assert_eq!(names.registered(), vec!["a".to_owned()]);
        let mut got = Vec::new();
        while let Ok(e) = events.rx.try_recv() {
            got.push(e);
        }
        assert_eq!(
            got,
            vec![
                NameEvent::Registered {
                    name: "a".into(),
                    pid: gpid("n1", 1, 7)
                },
                NameEvent::Unregistered {
                    name: "a".into(),
                    pid: gpid("n1", 1, 7)
                },
                NameEvent::Registered {
                    name: "a".into(),
                    pid: gpid("n2", 2, 1)
                },
            ]
        );
    }

    #[test]
    fn a_new_holder_replaces_the_old_with_two_events() {
        let names = Names::default();
        names.apply("a", 1, Some(gpid("n1", 1, 1)));
        let mut events = names.subscribe();
        names.apply("a", 2, Some(gpid("n1", 1, 2)));
        assert!(matches!(
            events.rx.try_recv(),
            Ok(NameEvent::Unregistered { .. })
        ));
        assert!(matches!(
            events.rx.try_recv(),
            Ok(NameEvent::Registered { .. })
        ));
        assert!(events.rx.try_recv().is_err());
    }
}
