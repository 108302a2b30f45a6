//! The checker: at a quiet point after each burst, waits for the tree to
//! be whole again and checks the invariants (tree shape and names, no name
//! for a dead list, every `Ok` event forwarded exactly once).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arbor::process::{ExitReason, is_alive, registered, whereis};
use arbor::supervisor::{SupervisorRef, TreeNode};
use arbor_todo::{TodoApp, TodoEvent, TodoList};
use tokio::sync::{mpsc, watch};

use crate::DEATH_TIMEOUT;
use crate::collector::FLUSH;
use crate::shared::{Shared, lock};
use crate::tree::{TreePids, dead_pid, shape};
use arbor::process::Process;

/// Quiet-point attempts before "shape not restored" is declared.
const SETTLE_ATTEMPTS: usize = 100_000;

/// Invariant 2 for one list seen dead (or about to be): after its death,
/// the name must not lead to it.
pub(crate) async fn check_dead_list(app: &TodoApp, name: &str, list: &TodoList, shared: &Shared) {
    if tokio::time::timeout(DEATH_TIMEOUT, list.wait())
        .await
        .is_err()
    {
        shared
            .violations
            .report(format!("list {name} {} did not die", list.pid()));
        return;
    }
    if let Ok(Some(found)) = app.lookup(name).await
        && found == *list
    {
        shared.violations.report(format!(
            "lookup({name:?}) returned the dead list {}",
            list.pid()
        ));
    }
}

/// The quiet points' state: what to compare with, what was seen.
pub(crate) struct Checker {
    app: TodoApp,
    top: SupervisorRef,
    shared: Arc<Shared>,
    /// To send flush markers through the forwarding channel.
    tx: mpsc::UnboundedSender<TodoEvent>,
    flushed: watch::Receiver<u64>,
    flushes: u64,
    marker_list: TodoList,
    expected_shape: String,
    last_pids: TreePids,
    stats: QuietStats,
}

/// What the quiet points saw, for the report.
#[derive(Debug, Default)]
pub(crate) struct QuietStats {
    pub(crate) quiet_points: u64,
    pub(crate) pid_changes: BTreeMap<&'static str, u64>,
    pub(crate) settle_attempts_max: usize,
    pub(crate) lists_checked: u64,
}

impl Checker {
    /// A checker that expects the tree to keep the shape of `first`.
    pub(crate) fn new(
        app: TodoApp,
        top: SupervisorRef,
        shared: Arc<Shared>,
        tx: mpsc::UnboundedSender<TodoEvent>,
        flushed: watch::Receiver<u64>,
        marker_list: TodoList,
        first: &TreeNode,
    ) -> Checker {
        Checker {
            app,
            top,
            shared,
            tx,
            flushed,
            flushes: 0,
            marker_list,
            expected_shape: shape(first),
            last_pids: TreePids::of(first),
            stats: QuietStats::default(),
        }
    }

    /// Waits until the tree is whole again and checks its shape and names.
    async fn settle(&mut self) -> Option<TreeNode> {
        for attempt in 1..=SETTLE_ATTEMPTS {
            let tree = match self.top.tree().await {
                Ok(t) => t,
                Err(e) => {
                    self.shared
                        .violations
                        .report(format!("chaos_top did not answer: {e}"));
                    return None;
                }
            };
            if let Some(pid) = dead_pid(&tree) {
                // Its supervisor restarts it after handling the exit.
                arbor::process::wait_exit(pid).await;
                continue;
            }
            if shape(&tree) != self.expected_shape {
                // Restarting (a retry is queued) or a supervisor that died
                // between two status calls.
                tokio::task::yield_now().await;
                continue;
            }
            let in_tree = TreePids::of(&tree);
            let named = TreePids::named(self.app.names());
            if in_tree != named {
                if dead_pid(&tree).is_some() {
                    continue; // something crashed meanwhile
                }
                self.shared.violations.report(format!(
                    "names do not lead to the tree: tree {in_tree:?}, names {named:?}"
                ));
            }
            self.stats.settle_attempts_max = self.stats.settle_attempts_max.max(attempt);
            return Some(tree);
        }
        self.shared.violations.report(format!(
            "tree shape not restored after {SETTLE_ATTEMPTS} attempts"
        ));
        None
    }

    /// A quiet point: tree, names, lists, events.
    pub(crate) async fn quiet_point(&mut self) {
        self.stats.quiet_points += 1;
        let Some(tree) = self.settle().await else {
            return;
        };
        let pids = TreePids::of(&tree);
        for (what, changed) in self.last_pids.changes(pids) {
            if changed {
                *self.stats.pid_changes.entry(what).or_default() += 1;
            }
        }
        self.last_pids = pids;
        self.check_names().await;
        self.check_events().await;
    }

    /// Invariant 2: no name leads to a dead process.
    async fn check_names(&mut self) {
        if let Ok(names) = self.app.list_names().await {
            for name in names {
                if let Ok(Some(list)) = self.app.lookup(&name).await
                    && !list.is_alive()
                {
                    self.stats.lists_checked += 1;
                    check_dead_list(&self.app, &name, &list, &self.shared).await;
                }
            }
        }
        for name in registered() {
            if let Some(pid) = whereis(name.as_str())
                && !is_alive(pid)
            {
                arbor::process::wait_exit(pid).await;
                if whereis(name.as_str()) == Some(pid) {
                    self.shared
                        .violations
                        .report(format!("name {name:?} leads to the dead {pid}"));
                }
            }
        }
    }

    /// Invariant 1: every `Ok` recorded so far was forwarded exactly once.
    pub(crate) async fn check_events(&mut self) {
        // 1. The Oks to verify: each was forwarded (if at all) before the
        //    client recorded it, so before the flush marker below.
        let oks = lock(&self.shared.ledger).oks_to_verify();
        // 2. The collector has taken everything forwarded up to the marker.
        self.flushes += 1;
        let marker = TodoEvent::Create {
            name: format!("{FLUSH}{}", self.flushes),
            list: self.marker_list.clone(),
        };
        if self.tx.send(marker).is_err()
            || self.flushed.wait_for(|n| *n >= self.flushes).await.is_err()
        {
            self.shared
                .violations
                .report("the event collector ended early");
            return;
        }
        // 3. Verify.
        lock(&self.shared.ledger).verify(&oks, &self.shared.violations);
    }

    /// Stops the marker list and ends the checker (its channel sender with
    /// it); what the quiet points saw.
    pub(crate) async fn finish(self) -> QuietStats {
        let _ = self
            .marker_list
            .stop_with(ExitReason::Normal, Duration::MAX)
            .await;
        self.stats
    }
}
