//! The state one node's todo service shares between its agents: the shard
//! table as last seen, the shards served with their epochs, the lease that
//! lets this node serve at all, and the lists known cluster-wide.
//!
//! # Invariants
//!
//! 1. A shard is served (here, or for a forwarded command) only while it
//!    is in `owned` with the epoch of this node's own successful write,
//!    and the lease is valid (`lease.rs`): a probe this node *sent* less
//!    than 2 ticks ago came back from the server (the others declare a
//!    node down after 3 silent ticks), and since the ownership was last
//!    confirmed by a write the lease never lapsed (no gap between fresh
//!    probes, no reconnect), and the node's incarnation is the one that
//!    wrote it.
//! 2. A forwarded command that names an epoch newer than the served one is
//!    refused (`NotOwner`): a sender that knows of a newer owner is never
//!    answered by an older one.
//! 3. Only the ownership agent changes `owned`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arbor_todo::TodoApp;
use async_nats::jetstream::kv;
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc};

use super::config::TodoClusterConfig;
use super::lease::Lease;
use super::shard::ShardOwner;
use crate::node::Node;
use crate::wire::WireExitReason;

/// Something the event bridge must publish, in order with the list events
/// of this node.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// The exit of a list this node's tree did not report: one on a dead
    /// node taken over here (`noconnection`), or one stopped with the
    /// service (`shutdown`).
    Exit {
        list: String,
        shard: u32,
        at: ShardOwner,
        reason: WireExitReason,
    },
    /// Answered once everything queued before it was published.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// See [`Shared::after_run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterRun {
    Answer(u64),
    Gone,
    Unconfirmed,
}

/// Per-node counters, for tests, the example and the soak.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) served_local: AtomicU64,
    pub(crate) served_forwarded: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) takeovers: AtomicU64,
    pub(crate) lost_cas: AtomicU64,
    pub(crate) fenced: AtomicU64,
}

pub(crate) struct Shared {
    pub(crate) node: Node,
    pub(crate) app: TodoApp,
    pub(crate) config: TodoClusterConfig,
    pub(crate) kv: kv::Store,
    view: Mutex<HashMap<u32, (ShardOwner, u64)>>,
    owned: Mutex<HashMap<u32, u64>>,
    lease: Mutex<Lease>,
    /// Lists known anywhere: name → (shard, where it lives).
    pub(crate) directory: Mutex<HashMap<String, (u32, ShardOwner)>>,
    /// Local lists dropped with a lost shard: their exit is not published
    /// (the new owner published it).
    pub(crate) silenced: Mutex<HashSet<String>>,
    pub(crate) outgoing: mpsc::UnboundedSender<Outgoing>,
    /// Woken on every change of the view or of `owned`.
    pub(crate) changed: Notify,
    pub(crate) counters: Counters,
    pub(crate) started: Instant,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TodoShared({:?})", self.node)
    }
}

impl Shared {
    pub(crate) fn new(
        node: Node,
        app: TodoApp,
        config: TodoClusterConfig,
        kv: kv::Store,
        outgoing: mpsc::UnboundedSender<Outgoing>,
    ) -> Arc<Shared> {
        let connects = node.client().statistics().connects.load(Ordering::Relaxed);
        Arc::new(Shared {
            node,
            app,
            config,
            kv,
            view: Mutex::default(),
            owned: Mutex::default(),
            lease: Mutex::new(Lease::new(connects)),
            directory: Mutex::default(),
            silenced: Mutex::default(),
            outgoing,
            changed: Notify::new(),
            counters: Counters::default(),
            started: Instant::now(),
        })
    }

    /// This node run as a shard owner.
    pub(crate) fn me(&self) -> ShardOwner {
        ShardOwner {
            node: self.node.name().clone(),
            incarnation: self.node.incarnation(),
        }
    }

    pub(crate) fn tick(&self) -> Duration {
        self.node.config().tick
    }

    // ----- the view of the shard table -----

    pub(crate) fn view_of(&self, shard: u32) -> Option<(ShardOwner, u64)> {
        self.view.lock().get(&shard).cloned()
    }

    pub(crate) fn view(&self) -> HashMap<u32, (ShardOwner, u64)> {
        self.view.lock().clone()
    }

    /// Records a KV write seen (older revisions than the one known are
    /// ignored: the watch and our own writes race).
    pub(crate) fn see(&self, shard: u32, owner: ShardOwner, revision: u64) {
        let mut view = self.view.lock();
        let newer = view.get(&shard).is_none_or(|(_, r)| *r < revision);
        if newer {
            view.insert(shard, (owner, revision));
        }
        drop(view);
        if newer {
            self.changed.notify_waiters();
        }
    }

    /// Records a deletion seen (the owner released the shard).
    pub(crate) fn unsee(&self, shard: u32, revision: u64) {
        let mut view = self.view.lock();
        if view.get(&shard).is_some_and(|(_, r)| *r < revision) {
            view.remove(&shard);
        }
        drop(view);
        self.changed.notify_waiters();
    }

    // ----- served shards (invariant 3: written by the ownership agent) -----

    pub(crate) fn owned_epoch(&self, shard: u32) -> Option<u64> {
        self.owned.lock().get(&shard).copied()
    }

    pub(crate) fn owned(&self) -> HashMap<u32, u64> {
        self.owned.lock().clone()
    }

    pub(crate) fn set_owned(&self, shard: u32, epoch: u64) {
        self.owned.lock().insert(shard, epoch);
        self.changed.notify_waiters();
    }

    pub(crate) fn drop_owned(&self, shard: u32) -> bool {
        let was = self.owned.lock().remove(&shard).is_some();
        self.changed.notify_waiters();
        was
    }

    // ----- the lease (invariant 1) -----

    /// A lease probe sent at `sent` came back from the server (lease
    /// invariant 1: freshness counts from the send time).
    pub(crate) fn echoed(&self, sent: Instant) {
        self.lease.lock().echoed(sent, Instant::now(), self.tick());
    }

    fn connects(&self) -> u64 {
        self.node
            .client()
            .statistics()
            .connects
            .load(Ordering::Relaxed)
    }

    /// Whether the lease holds now; a lapse is remembered until
    /// [`Shared::confirm`].
    pub(crate) fn lease_valid(&self) -> bool {
        let connects = self.connects();
        self.lease
            .lock()
            .valid(Instant::now(), self.tick(), connects)
    }

    /// Whether the lease lapsed and ownership must be confirmed by writes
    /// before serving again; `Some(token)` to pass to `confirm`.
    pub(crate) fn needs_confirmation(&self) -> Option<u64> {
        let connects = self.connects();
        self.lease
            .lock()
            .needs_confirmation(Instant::now(), self.tick(), connects)
    }

    /// Ownership was confirmed by writes begun when `needs_confirmation`
    /// gave `token`; whether the lease holds again (not when it lapsed
    /// meanwhile: lease invariant 3).
    pub(crate) fn confirm(&self, token: u64) -> bool {
        self.lease.lock().confirm(token)
    }

    /// After a command ran here under `shard`'s ownership: whether its
    /// answer may be given (invariant 1 still holds, maybe at a newer
    /// epoch of the same ownership), or the copy it ran on is gone
    /// (another owner: a retry elsewhere is safe), or ownership is
    /// unconfirmed (the command took effect on a copy that may live on:
    /// neither answer nor retry).
    pub(crate) fn after_run(&self, shard: u32) -> AfterRun {
        match self.view_of(shard) {
            Some((owner, _)) if owner == self.me() => match self.may_serve(shard, None) {
                Some(epoch) => AfterRun::Answer(epoch),
                None => AfterRun::Unconfirmed,
            },
            _ => AfterRun::Gone,
        }
    }

    /// The epoch to serve `shard` under for a command routed by `epoch`
    /// (`None`: route-local), or `None` (invariants 1-2).
    pub(crate) fn may_serve(&self, shard: u32, epoch: Option<u64>) -> Option<u64> {
        let mine = self.owned_epoch(shard)?;
        if epoch.is_some_and(|e| e > mine) {
            return None;
        }
        let (owner, _) = self.view_of(shard)?;
        if owner != self.me() || !self.lease_valid() {
            return None;
        }
        Some(mine)
    }
}
