//! The sampler: one tokio task (not an arbor process) that asks each
//! registered tree for its snapshot, turns the differences into timeline
//! entries, watches every pid it sees for its exit reason, and adds a
//! point to the graphs.
//!
//! # Invariants
//!
//! 1. The sampler only asks: a snapshot is one request per supervisor,
//!    bounded by a timeout; nothing is installed in any process except the
//!    counting handlers of the event managers the application named.
//! 2. An exit is recorded before the restart that follows it: an exit
//!    wakes the sampler at once, and a restart found first waits (briefly)
//!    for the old pid's reason.
//! 3. Each pid is watched by at most one task; every watcher ends when
//!    its process exits or when the sampler stops (it owns them in a
//!    `JoinSet`).
//! 4. On stop, the counting handlers are removed before the task ends.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arbor_process::{CallError, ExitReason, Pid, process_count, process_info, wait_exit};

use arbor_supervisor::SupervisorRef;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::diff::Slots;
use crate::events::EventSource;
use crate::hub::{Hub, Point, now_ms};
use crate::timeline::{Change, EventKind};
use crate::view::{NodeView, TreeView};

/// How long a snapshot request may take before the tree is shown as
/// unreachable for this sample.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a restart found in a sample waits for its old pid's reason.
const EXIT_GRACE: Duration = Duration::from_millis(200);
/// The window the per-second rates are measured over.
const RATE_WINDOW: Duration = Duration::from_secs(1);

pub(crate) struct Tree {
    pub(crate) label: String,
    pub(crate) sup: SupervisorRef,
    slots: Slots,
    /// The last answer, shown again while the tree is too busy to answer.
    last: Option<NodeView>,
}

impl Tree {
    pub(crate) fn new(label: String, sup: SupervisorRef) -> Tree {
        Tree {
            label,
            sup: sup.with_timeout(SNAPSHOT_TIMEOUT),
            slots: Slots::default(),
            last: None,
        }
    }
}

/// Where a watched pid belongs.
struct Watched {
    tree: usize,
    key: String,
    id: Option<String>,
}

pub(crate) struct Sampler {
    hub: Arc<Hub>,
    trees: Vec<Tree>,
    sources: Vec<Box<dyn EventSource>>,
    watched: HashMap<Pid, Watched>,
    watchers: JoinSet<()>,
    exits_tx: mpsc::UnboundedSender<(Pid, ExitReason)>,
    exits_rx: mpsc::UnboundedReceiver<(Pid, ExitReason)>,
    /// (when, restarts so far, events so far), for the rates.
    history: VecDeque<(Instant, u64, u64)>,
}

impl Sampler {
    pub(crate) fn new(hub: Arc<Hub>, trees: Vec<Tree>, sources: Vec<Box<dyn EventSource>>) -> Self {
        let (exits_tx, exits_rx) = mpsc::unbounded_channel();
        Sampler {
            hub,
            trees,
            sources,
            watched: HashMap::new(),
            watchers: JoinSet::new(),
            exits_tx,
            exits_rx,
            history: VecDeque::new(),
        }
    }

    /// Samples every `every` and at every observed exit, until `stop`.
    pub(crate) async fn run(mut self, every: Duration, stop: CancellationToken) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                Some((pid, reason)) = self.exits_rx.recv() => {
                    self.exited(pid, &reason);
                    while let Ok((pid, reason)) = self.exits_rx.try_recv() {
                        self.exited(pid, &reason);
                    }
                }
                _ = tick.tick() => {}
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = self.sample() => {}
            }
        }
        self.watchers.shutdown().await;
        for source in &mut self.sources {
            source.detach().await;
        }
    }

    /// One sample of every tree and event source.
    pub(crate) async fn sample(&mut self) {
        while self.watchers.try_join_next().is_some() {}
        for source in &mut self.sources {
            source.attach().await;
        }
        let mut views = Vec::with_capacity(self.trees.len());
        for t in 0..self.trees.len() {
            // The whole snapshot is bounded: the root's handle has a
            // timeout, the nested supervisors' requests (by pid) do not.
            let snapshot = tokio::time::timeout(SNAPSHOT_TIMEOUT, self.trees[t].sup.tree()).await;
            let root = match snapshot {
                Ok(Ok(node)) => {
                    let label = self.trees[t].label.clone();
                    let name_of = |pid: Pid| {
                        process_info(pid)
                            .and_then(|i| i.registered_name)
                            .map(|n| n.as_str().to_string())
                    };
                    Some(NodeView::of(&node, None, &label, &name_of))
                }
                // Busy, not gone: show the last answer, report no change.
                Ok(Err(CallError::Timeout)) | Err(_) => {
                    views.push(TreeView {
                        label: self.trees[t].label.clone(),
                        root: self.trees[t].last.clone(),
                    });
                    continue;
                }
                Ok(Err(_)) => None,
            };
            let changes = self.trees[t].slots.diff(root.as_ref());
            for change in &changes {
                if let (EventKind::Restart, Some(old)) = (change.kind, change.old_pid) {
                    self.await_exit(old).await;
                }
            }
            self.trees[t].slots_recorded(&self.hub, changes);
            for node in root.iter().flat_map(|r| r.walk()) {
                if let Some(pid) = node.pid {
                    self.watch(t, pid, node);
                }
            }
            self.trees[t].last.clone_from(&root);
            views.push(TreeView {
                label: self.trees[t].label.clone(),
                root,
            });
        }
        self.hub.set_trees(views);
        self.add_point();
    }

    fn watch(&mut self, tree: usize, pid: Pid, node: &NodeView) {
        if self.watched.contains_key(&pid) {
            return;
        }
        self.watched.insert(
            pid,
            Watched {
                tree,
                key: node.key.clone(),
                id: node.id.clone(),
            },
        );
        let tx = self.exits_tx.clone();
        self.watchers.spawn(async move {
            let reason = wait_exit(pid).await;
            let _ = tx.send((pid, reason));
        });
    }

    /// Records `pid`'s exit unless it was recorded already.
    fn exited(&mut self, pid: Pid, reason: &ExitReason) {
        let Some(w) = self.watched.remove(&pid) else {
            return;
        };
        let change = Change {
            key: w.key,
            id: w.id,
            kind: EventKind::Exit,
            pid: Some(pid),
            old_pid: None,
            reason: Some(reason.to_string()),
        };
        self.hub.record(&self.trees[w.tree].label, vec![change]);
    }

    /// Invariant 2: the old pid's exit goes in before its restart. Its
    /// watcher has the reason (a pid no longer in the process table would
    /// only give `noproc` to a new `wait_exit`), so wait for its report.
    async fn await_exit(&mut self, old: Pid) {
        let deadline = tokio::time::Instant::now() + EXIT_GRACE;
        while self.watched.contains_key(&old) {
            match tokio::time::timeout_at(deadline, self.exits_rx.recv()).await {
                Ok(Some((pid, reason))) => self.exited(pid, &reason),
                Ok(None) | Err(_) => return,
            }
        }
    }

    fn add_point(&mut self) {
        let now = Instant::now();
        let restarts = self.hub.restarts_total();
        let events: u64 = self.sources.iter().map(|s| s.count()).sum();
        self.history.push_back((now, restarts, events));
        while self
            .history
            .front()
            .is_some_and(|(t, _, _)| now.duration_since(*t) > RATE_WINDOW)
            && self.history.len() > 2
        {
            self.history.pop_front();
        }
        let (t0, r0, e0) = self
            .history
            .front()
            .copied()
            .unwrap_or((now, restarts, events));
        let secs = now.duration_since(t0).as_secs_f64();
        let rate = |d: u64| if secs > 0.0 { d as f64 / secs } else { 0.0 };
        self.hub.add_point(Point {
            at_ms: now_ms(),
            processes: process_count(),
            restarts_per_s: rate(restarts - r0),
            events_per_s: rate(events - e0),
        });
    }
}

impl Tree {
    fn slots_recorded(&self, hub: &Hub, changes: Vec<Change>) {
        hub.record(&self.label, changes);
    }
}
