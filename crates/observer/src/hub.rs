//! The observer's shared state: the last sample of every tree, the
//! timeline, the graph series, and the fan-out of updates to the page's
//! clients.
//!
//! # Invariants
//!
//! 1. Publishing never waits: updates go into a bounded broadcast ring;
//!    a client that falls behind loses the oldest ones, and the loss is
//!    counted ([`Hub::count_dropped`]) and repaired by a fresh `hello`.
//! 2. Every update is serialised once, whatever the number of clients.
//! 3. The timeline, the series and the exit-reason memory are bounded
//!    (oldest dropped first).
//! 4. The lock is never held across an await.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use arbor_process::Pid;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::timeline::{Change, EventKind, TimelineEvent};
use crate::view::TreeView;

/// Timeline entries kept for `hello` and `/api/timeline`.
pub(crate) const TIMELINE_KEPT: usize = 1000;
/// Graph points kept (one per sample).
pub(crate) const SERIES_KEPT: usize = 240;
/// Pids whose last exit reason is remembered.
const EXITS_KEPT: usize = 4096;

/// One message to the page: an SSE event name and its JSON data.
#[derive(Debug)]
pub(crate) struct Update {
    pub(crate) event: &'static str,
    pub(crate) data: String,
}

/// One point of the live graphs.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Point {
    pub(crate) at_ms: u64,
    pub(crate) processes: usize,
    pub(crate) restarts_per_s: f64,
    pub(crate) events_per_s: f64,
}

/// Where a pid was seen, and how it ended.
#[derive(Debug, Clone, Default)]
pub(crate) struct PidRecord {
    pub(crate) tree: String,
    pub(crate) key: String,
    pub(crate) id: Option<String>,
    pub(crate) exit_reason: Option<String>,
}

#[derive(Default)]
struct State {
    trees: Vec<TreeView>,
    timeline: VecDeque<TimelineEvent>,
    next_seq: u64,
    series: VecDeque<Point>,
    /// Every pid seen in a tree (bounded, oldest forgotten first).
    pids: HashMap<Pid, PidRecord>,
    pid_order: VecDeque<Pid>,
    /// The last exit reason of each slot (by key).
    slot_exit: HashMap<String, String>,
    restarts_total: u64,
    /// This node's name, when the observer shows a cluster.
    local_node: Option<String>,
    /// The other nodes of the cluster, by name.
    remote: std::collections::BTreeMap<String, cluster::RemoteNode>,
}

pub(crate) struct Hub {
    state: Mutex<State>,
    tx: broadcast::Sender<Arc<Update>>,
    dropped: AtomicU64,
    clients: AtomicUsize,
    pub(crate) kill_enabled: bool,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Hub {
    pub(crate) fn new(client_buffer: usize, kill_enabled: bool) -> Hub {
        let (tx, _) = broadcast::channel(client_buffer.max(1));
        Hub {
            state: Mutex::new(State {
                next_seq: 1,
                ..State::default()
            }),
            tx,
            dropped: AtomicU64::new(0),
            clients: AtomicUsize::new(0),
            kill_enabled,
        }
    }

    fn publish(&self, event: &'static str, data: &impl Serialize) {
        // No receiver is not an error: nobody is watching.
        if self.tx.receiver_count() > 0 {
            let data = serde_json::to_string(data).unwrap_or_default();
            let _ = self.tx.send(Arc::new(Update { event, data }));
        }
    }

    /// A new client's stream of updates (invariant 1).
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Update>> {
        self.tx.subscribe()
    }

    pub(crate) fn count_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn client_connected(&self) {
        self.clients.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn client_gone(&self) {
        self.clients.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// Stores a new sample of the trees; tells the clients if it differs.
    pub(crate) fn set_trees(&self, trees: Vec<TreeView>) {
        let changed = {
            let mut st = self.state.lock();
            for tree in &trees {
                for node in tree.root.iter().flat_map(|r| r.walk()) {
                    if let Some(pid) = node.pid {
                        remember_pid(&mut st, pid, &tree.label, &node.key, &node.id);
                    }
                }
            }
            let changed = st.trees != trees;
            st.trees = trees;
            changed
        };
        if changed {
            self.publish("trees", &serde_json::json!({ "trees": self.trees() }));
        }
    }

    pub(crate) fn trees(&self) -> Vec<TreeView> {
        self.state.lock().trees.clone()
    }

    /// Numbers, stamps and stores changes of tree `tree`; tells the
    /// clients. An exit's reason is remembered for its pid and its slot.
    pub(crate) fn record(&self, tree: &str, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        let at_ms = now_ms();
        let events: Vec<TimelineEvent> = {
            let mut st = self.state.lock();
            changes
                .into_iter()
                .map(|c| {
                    if c.kind == EventKind::Restart {
                        st.restarts_total += 1;
                    }
                    if let (EventKind::Exit, Some(pid), Some(reason)) = (c.kind, c.pid, &c.reason) {
                        remember_pid(&mut st, pid, tree, &c.key, &c.id);
                        if let Some(r) = st.pids.get_mut(&pid) {
                            r.exit_reason = Some(reason.clone());
                        }
                        st.slot_exit.insert(c.key.clone(), reason.clone());
                    }
                    let event = TimelineEvent {
                        seq: st.next_seq,
                        at_ms,
                        node: st.local_node.clone(),
                        tree: tree.to_string(),
                        key: c.key,
                        id: c.id,
                        kind: c.kind,
                        pid: c.pid,
                        old_pid: c.old_pid,
                        reason: c.reason,
                    };
                    st.next_seq += 1;
                    if st.timeline.len() == TIMELINE_KEPT {
                        st.timeline.pop_front();
                    }
                    st.timeline.push_back(event.clone());
                    event
                })
                .collect()
        };
        self.publish("timeline", &serde_json::json!({ "events": events }));
    }

    /// Timeline entries with `seq > since`, oldest first.
    pub(crate) fn timeline_since(&self, since: u64) -> Vec<TimelineEvent> {
        let st = self.state.lock();
        st.timeline
            .iter()
            .filter(|e| e.seq > since)
            .cloned()
            .collect()
    }

    pub(crate) fn restarts_total(&self) -> u64 {
        self.state.lock().restarts_total
    }

    /// Adds a graph point; tells the clients.
    pub(crate) fn add_point(&self, point: Point) {
        {
            let mut st = self.state.lock();
            if st.series.len() == SERIES_KEPT {
                st.series.pop_front();
            }
            st.series.push_back(point);
        }
        self.publish(
            "point",
            &serde_json::json!({ "point": point, "totals": self.totals() }),
        );
    }

    pub(crate) fn series(&self) -> Vec<Point> {
        self.state.lock().series.iter().copied().collect()
    }

    /// Where `pid` was seen and how it ended, if it was ever in a tree.
    pub(crate) fn pid_record(&self, pid: Pid) -> Option<PidRecord> {
        self.state.lock().pids.get(&pid).cloned()
    }

    /// The last exit reason of the slot `key`.
    pub(crate) fn slot_exit(&self, key: &str) -> Option<String> {
        self.state.lock().slot_exit.get(key).cloned()
    }

    /// Whether `pid` runs in an observed tree as last sampled.
    pub(crate) fn in_trees(&self, pid: Pid) -> bool {
        let st = self.state.lock();
        st.trees
            .iter()
            .flat_map(|t| t.root.iter().flat_map(|r| r.walk()))
            .any(|n| n.pid == Some(pid))
    }

    pub(crate) fn totals(&self) -> serde_json::Value {
        serde_json::json!({
            "restarts": self.restarts_total(),
            "dropped_updates": self.dropped(),
            "clients": self.clients(),
        })
    }

    /// Everything a client needs to draw the page from scratch.
    pub(crate) fn hello(&self) -> Update {
        let data = serde_json::json!({
            "trees": self.trees(),
            "timeline": self.timeline_since(0),
            "series": self.series(),
            "totals": self.totals(),
            "kill_enabled": self.kill_enabled,
            "node": self.local_node(),
            "nodes": self.nodes(),
        });
        Update {
            event: "hello",
            data: data.to_string(),
        }
    }
}

fn remember_pid(st: &mut State, pid: Pid, tree: &str, key: &str, id: &Option<String>) {
    if st.pids.contains_key(&pid) {
        return;
    }
    if st.pid_order.len() == EXITS_KEPT
        && let Some(old) = st.pid_order.pop_front()
    {
        st.pids.remove(&old);
    }
    st.pid_order.push_back(pid);
    st.pids.insert(
        pid,
        PidRecord {
            tree: tree.to_string(),
            key: key.to_string(),
            id: id.clone(),
            exit_reason: None,
        },
    );
}

mod cluster;

#[cfg_attr(not(feature = "nats"), allow(unused_imports))]
pub(crate) use cluster::PeerSample;
#[cfg(test)]
mod tests;
