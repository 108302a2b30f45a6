//! The ownership agent: keeps the view of the shard table (a KV watch),
//! claims free shards, takes over the shards of dead nodes, confirms its
//! ownership after its lease lapsed, and drops shards it lost. It runs
//! one serving task per owned shard.
//!
//! # Invariants
//!
//! 1. Every change of a shard's owner is a compare-and-set in KV: `create`
//!    for a free shard, `update` at the revision that named the dead owner
//!    for a takeover, `update` at its own revision to confirm. Of nodes
//!    racing for a shard one write wins; the others drop it.
//! 2. A shard is served from the moment its write succeeded (after its
//!    subject is subscribed) until this node sees another owner in the
//!    table, a write of its own fails, or its incarnation changes.
//! 3. The exits of the dead owner's lists are queued for publication
//!    before the taken-over shard is served, so a client sees `exit` of
//!    the old list before `create` of a new one with the same name.
//! 4. Takeover of a node seen down starts at once; an owner that is only
//!    missing from the membership (not seen down) is taken over only when
//!    the node table says that incarnation is dead or replaced (this node
//!    may have just started, or be the one that was cut off).
//! 5. A shard starts empty on the node that takes it: local lists of the
//!    shard left from an earlier ownership of this node (a fenced
//!    incarnation, a lost write) are stopped before it is served.
//! 6. A confirmation drops a shard only when its write lost the
//!    compare-and-set (another owner wrote); a write without an answer
//!    (JetStream electing a leader, a server killed) leaves the lease
//!    unconfirmed and is tried again. A shard the table names this very
//!    incarnation for but that is not served here (such a write may have
//!    landed after all) is taken again at its revision: otherwise nobody
//!    would ever serve it, since its owner is alive.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use arbor_process::{Ctx, ExitReason, Process, spawn_link};
use arbor_supervisor::ChildSpec;
use async_nats::jetstream::kv::{Operation, UpdateErrorKind, Watch};
use bytes::Bytes;
use futures::StreamExt;

use super::serve::{serve, subject};
use super::shard::{ShardOwner, key, parse_key, preferred, shard_of};
use super::state::{Outgoing, Shared};
use crate::membership::incarnation_alive;
use crate::node::{NodeDownReason, NodeEvent, NodeEvents};
use crate::wire::{NodeId, WireExitReason, decode, encode};

/// What a confirmation write found (invariant 6).
enum Confirmed {
    Kept(u64),
    Lost,
    Unanswered,
}

/// Serving tasks by shard; aborted when dropped.
#[derive(Default)]
struct Serving(HashMap<u32, tokio::task::JoinHandle<()>>);

impl Drop for Serving {
    fn drop(&mut self) {
        for (_, t) in self.0.drain() {
            t.abort();
        }
    }
}

/// The ownership agent's child spec.
pub(crate) fn spec(shared: Arc<Shared>) -> ChildSpec {
    ChildSpec::worker("todo_shards", move || {
        let shared = shared.clone();
        async move {
            let err = |e: String| ExitReason::custom(format!("todo shards: {e}"));
            let events = shared.node.monitor_nodes();
            // Changes from now on, then the current table (a change in
            // between is seen twice; `see` keeps the newest revision).
            let watch = shared
                .kv
                .watch_all()
                .await
                .map_err(|e| err(e.to_string()))?;
            for k in 0..shared.config.shards {
                match shared.kv.entry(key(k)).await {
                    Ok(Some(e)) if e.operation == Operation::Put => {
                        if let Ok(owner) = decode::<ShardOwner>(&e.value) {
                            shared.see(k, owner, e.revision);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => return Err(err(e.to_string())),
                }
            }
            // Lease probes: on a subject of their own under the cluster
            // prefix, each carrying its send time (lease invariant 1).
            let inbox = shared
                .node
                .subject(&format!("todo.lease.{}", shared.node.name()));
            let probes = shared
                .node
                .client()
                .subscribe(inbox.clone())
                .await
                .map_err(|e| err(e.to_string()))?;
            let prober = Prober(tokio::spawn(probe(shared.clone(), inbox, probes)));
            Ok::<_, ExitReason>(spawn_link(move |_: Ctx<()>| {
                Agent {
                    shared,
                    serving: Serving::default(),
                    orphaned: HashMap::new(),
                    _prober: prober,
                }
                .run(events, watch)
            }))
        }
    })
}

struct Agent {
    shared: Arc<Shared>,
    serving: Serving,
    /// Since when a shard has had no live owner.
    orphaned: HashMap<u32, Instant>,
    _prober: Prober,
}

/// The lease prober task; aborted when dropped.
struct Prober(tokio::task::JoinHandle<()>);

impl Drop for Prober {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An interval of a quarter tick (at least 5 ms) that never bursts after
/// a stall: the pace of the lease probes and of the agent's sweeps.
fn quarter_ticks(shared: &Shared) -> tokio::time::Interval {
    let mut every = tokio::time::interval((shared.tick() / 4).max(Duration::from_millis(5)));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every
}

/// Every tick/4, publishes a probe carrying its send time (microseconds
/// since the service started) to `subject`, which `sub` subscribes; every
/// probe that comes back renews the lease as of its send time. A task of
/// its own, so a slow KV call of the agent does not starve the lease.
async fn probe(shared: Arc<Shared>, subject: String, mut sub: async_nats::Subscriber) {
    let mut every = quarter_ticks(&shared);
    loop {
        tokio::select! {
            _ = every.tick() => {
                let micros = shared.started.elapsed().as_micros() as u64;
                let _ = shared
                    .node
                    .client()
                    .publish(subject.clone(), Bytes::copy_from_slice(&micros.to_be_bytes()))
                    .await;
            }
            m = sub.next() => {
                let Some(m) = m else { return };
                if let Ok(b) = <[u8; 8]>::try_from(&m.payload[..]) {
                    let sent = shared.started + Duration::from_micros(u64::from_be_bytes(b));
                    shared.echoed(sent);
                }
            }
        }
    }
}

impl Agent {
    async fn run(mut self, mut events: NodeEvents, mut watch: Watch) -> ExitReason {
        let mut check = quarter_ticks(&self.shared);
        loop {
            tokio::select! {
                e = watch.next() => match e {
                    Some(Ok(entry)) => self.on_entry(&entry.key, entry.revision, entry.operation, &entry.value).await,
                    _ => return ExitReason::custom("todo shards: table watch ended"),
                },
                e = events.recv() => match e {
                    // `fenced` and `stopped` are about this node, not the
                    // other one: it may be well and serving.
                    Some(NodeEvent::Down { reason: NodeDownReason::Fenced | NodeDownReason::Stopped, .. }) => {}
                    Some(NodeEvent::Down { node, incarnation, .. }) => {
                        self.take_over_from(&ShardOwner { node, incarnation }).await;
                    }
                    Some(NodeEvent::Up { .. }) => {}
                    None => return ExitReason::Normal,
                },
                _ = check.tick() => self.sweep().await,
            }
        }
    }

    async fn on_entry(&mut self, k: &str, revision: u64, op: Operation, value: &[u8]) {
        let Some(shard) = parse_key(k) else { return };
        if op != Operation::Put {
            self.shared.unsee(shard, revision);
            if self.shared.owned_epoch(shard).is_some_and(|e| revision > e) {
                self.drop_shard(shard).await;
            }
            return;
        }
        let Ok(owner) = decode::<ShardOwner>(value) else {
            return;
        };
        self.shared.see(shard, owner.clone(), revision);
        // Invariant 2: another owner wrote after us: we are fenced.
        if let Some(epoch) = self.shared.owned_epoch(shard)
            && revision > epoch
            && owner != self.shared.me()
        {
            self.shared.counters.fenced.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(target: "arbor::nats::todo", shard, new_owner = %owner, "shard taken by another node: no longer served here");
            self.drop_shard(shard).await;
        }
    }

    /// The peers up now, with this node: the candidates for a shard.
    fn candidates(&self) -> (Vec<NodeId>, HashMap<NodeId, u64>) {
        let peers: HashMap<NodeId, u64> = self.shared.node.nodes().into_iter().collect();
        let mut names: Vec<NodeId> = peers.keys().cloned().collect();
        names.push(self.shared.node.name().clone());
        (names, peers)
    }

    /// Whether `owner` is surely gone (`Some(true)`), maybe gone
    /// (`Some(false)`: not in the membership), or alive (`None`).
    fn gone(&self, owner: &ShardOwner, peers: &HashMap<NodeId, u64>) -> Option<bool> {
        let me = self.shared.me();
        if owner.node == me.node {
            return (owner.incarnation != me.incarnation).then_some(true);
        }
        match peers.get(&owner.node) {
            Some(i) if *i > owner.incarnation => Some(true),
            Some(_) => None,
            None => Some(false),
        }
    }

    /// A node incarnation is down: take over the shards it owned that this
    /// node is preferred for (invariant 4).
    async fn take_over_from(&mut self, dead: &ShardOwner) {
        let (names, _) = self.candidates();
        let names: Vec<NodeId> = names.into_iter().filter(|n| *n != dead.node).collect();
        let mine: Vec<(u32, (ShardOwner, u64))> = self
            .shared
            .view()
            .into_iter()
            .filter(|(shard, (owner, _))| {
                owner == dead && preferred(*shard, &names) == Some(self.shared.node.name())
            })
            .collect();
        // The writes go out together: a takeover costs one KV round trip,
        // not one per shard.
        let writes = mine.into_iter().map(|(shard, from)| {
            let kv = self.shared.kv.clone();
            let value = encode(&self.shared.me()).unwrap_or_default();
            async move {
                let written = kv
                    .update(key(shard), Bytes::from(value), from.1)
                    .await
                    .map_err(|e| e.to_string());
                (shard, from, written)
            }
        });
        for (shard, from, written) in futures::future::join_all(writes).await {
            self.taken(shard, Some(from), written).await;
        }
    }

    /// Claims `shard` (free: `create`; else `update` at the dead owner's
    /// revision). Invariant 1.
    async fn take(&mut self, shard: u32, from: Option<(ShardOwner, u64)>) {
        let Ok(value) = encode(&self.shared.me()) else {
            return;
        };
        let written = match &from {
            None => self
                .shared
                .kv
                .create(key(shard), Bytes::from(value))
                .await
                .map_err(|e| e.to_string()),
            Some((_, rev)) => self
                .shared
                .kv
                .update(key(shard), Bytes::from(value), *rev)
                .await
                .map_err(|e| e.to_string()),
        };
        self.taken(shard, from, written).await;
    }

    /// After the write of [`Agent::take`]: serve the shard if it won.
    async fn taken(
        &mut self,
        shard: u32,
        from: Option<(ShardOwner, u64)>,
        written: Result<u64, String>,
    ) {
        let me = self.shared.me();
        let epoch = match written {
            Ok(rev) => rev,
            Err(e) => {
                self.shared
                    .counters
                    .lost_cas
                    .fetch_add(1, Ordering::Relaxed);
                tracing::debug!(target: "arbor::nats::todo", shard, error = %e, "shard claim lost");
                return;
            }
        };
        self.shared.see(shard, me.clone(), epoch);
        self.orphaned.remove(&shard);
        tracing::debug!(target: "arbor::nats::todo", shard, owner = %me, epoch, "shard claimed");
        if let Some((dead, _)) = from {
            self.shared
                .counters
                .takeovers
                .fetch_add(1, Ordering::Relaxed);
            tracing::info!(target: "arbor::nats::todo", shard, from = %dead, epoch, "shard taken over");
            // Invariant 3: exits first.
            let lost: Vec<String> = self
                .shared
                .directory
                .lock()
                .iter()
                .filter(|(_, (s, at))| *s == shard && *at == dead)
                .map(|(n, _)| n.clone())
                .collect();
            for list in lost {
                let _ = self.shared.outgoing.send(Outgoing::Exit {
                    list,
                    shard,
                    at: dead.clone(),
                    reason: WireExitReason::NoConnection,
                });
            }
        }
        self.purge_local(shard).await;
        self.serve(shard, epoch).await;
    }

    /// Subscribes the shard's subject, then marks it served.
    async fn serve(&mut self, shard: u32, epoch: u64) {
        if !self.serving.0.contains_key(&shard) {
            let client = self.shared.node.client();
            let sub = match client.subscribe(subject(&self.shared, shard)).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(target: "arbor::nats::todo", shard, error = %e, "could not subscribe a shard");
                    return;
                }
            };
            let _ = client.flush().await;
            let task = tokio::spawn(serve(self.shared.clone(), sub));
            self.serving.0.insert(shard, task);
        }
        self.shared.set_owned(shard, epoch);
    }

    /// Stops serving `shard`, and stops the local lists in it without
    /// publishing their exits (the new owner does).
    async fn drop_shard(&mut self, shard: u32) {
        self.shared.drop_owned(shard);
        if let Some(t) = self.serving.0.remove(&shard) {
            t.abort();
        }
        self.purge_local(shard).await;
    }

    /// Stops every local list of `shard` and waits until they are gone:
    /// a shard taken (or taken again) starts empty, never with the copy of
    /// an earlier ownership (invariant 5).
    async fn purge_local(&self, shard: u32) {
        let Ok(names) = self.shared.app.list_names().await else {
            return;
        };
        for name in names {
            if shard_of(&name, self.shared.config.shards) != shard {
                continue;
            }
            self.shared.silenced.lock().insert(name.clone());
            if let Ok(Some(list)) = self.shared.app.lookup(&name).await {
                list.kill();
                let _ = tokio::time::timeout(Duration::from_secs(1), list.wait()).await;
            }
        }
    }

    /// Every tick/4: the lease, the incarnation, and shards without a live
    /// owner.
    async fn sweep(&mut self) {
        let me = self.shared.me();
        // A new incarnation (this node was fenced and rejoined): every
        // shard of the old one is dropped.
        for (shard, _) in self.shared.owned() {
            if self.shared.view_of(shard).is_none_or(|(o, _)| o != me) {
                self.drop_shard(shard).await;
            }
        }
        if let Some(token) = self.shared.needs_confirmation() {
            self.confirm(token).await;
        }
        let settled = self.shared.started.elapsed() >= self.shared.tick() * 3;
        if !settled {
            return;
        }
        let (names, peers) = self.candidates();
        let now = Instant::now();
        let four_ticks = self.shared.tick() * 4;
        let mut table: HashMap<ShardOwner, bool> = HashMap::new();
        for shard in 0..self.shared.config.shards {
            let state = self.shared.view_of(shard);
            // Ours in the table, not served here (invariant 6).
            if let Some((owner, _)) = &state
                && *owner == me
                && self.shared.owned_epoch(shard).is_none()
            {
                self.take(shard, state).await;
                continue;
            }
            let gone = match &state {
                None => Some(false),
                Some((owner, _)) => self.gone(owner, &peers),
            };
            let Some(mut surely) = gone else {
                self.orphaned.remove(&shard);
                continue;
            };
            // Missing from the membership is not proof: this node may have
            // just started, or be the one that was cut off (after being
            // fenced it sees no one until they heartbeat again). The node
            // table decides, read once per owner and sweep.
            if let Some((owner, _)) = &state
                && !surely
            {
                let dead = match table.get(owner) {
                    Some(d) => *d,
                    None => {
                        let d =
                            incarnation_alive(&self.shared.node, &owner.node, owner.incarnation)
                                .await
                                == Some(false);
                        table.insert(owner.clone(), d);
                        d
                    }
                };
                if !dead {
                    self.orphaned.insert(shard, now);
                    continue;
                }
                surely = true;
            }
            let since = *self.orphaned.entry(shard).or_insert(now);
            let waited = now.duration_since(since);
            let mine = preferred(shard, &names) == Some(self.shared.node.name());
            // Free shards and dead owners' go to the preferred node at
            // once; anyone may step in after 8 ticks.
            let ready = match &state {
                None => mine || waited >= four_ticks * 2,
                Some(_) => (mine && surely) || waited >= four_ticks * 2,
            };
            if !ready {
                continue;
            }
            self.take(shard, state).await;
        }
    }

    /// The lease lapsed: rewrite every owned shard at its revision, all
    /// at once; keep those whose write succeeds, drop those whose write
    /// lost (invariant 6).
    async fn confirm(&mut self, token: u64) {
        let me = self.shared.me();
        let Ok(value) = encode(&me) else { return };
        let writes = self.shared.owned().into_keys().filter_map(|shard| {
            // No entry: nothing to confirm against; not served either
            // (`may_serve` wants the table to name this node).
            let (owner, rev) = self.shared.view_of(shard)?;
            let kv = self.shared.kv.clone();
            let value = Bytes::from(value.clone());
            let mine = owner == me;
            Some(async move {
                let outcome = if !mine {
                    Confirmed::Lost
                } else {
                    match kv.update(key(shard), value, rev).await {
                        Ok(epoch) => Confirmed::Kept(epoch),
                        Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Confirmed::Lost,
                        Err(_) => Confirmed::Unanswered,
                    }
                };
                (shard, outcome)
            })
        });
        let mut unanswered = 0;
        for (shard, outcome) in futures::future::join_all(writes).await {
            match outcome {
                Confirmed::Kept(epoch) => {
                    self.shared.see(shard, me.clone(), epoch);
                    self.shared.set_owned(shard, epoch);
                }
                Confirmed::Lost => {
                    self.shared
                        .counters
                        .lost_cas
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(target: "arbor::nats::todo", shard, "ownership not confirmed after a lapse: shard dropped");
                    self.drop_shard(shard).await;
                }
                Confirmed::Unanswered => unanswered += 1,
            }
        }
        if unanswered > 0 {
            tracing::info!(target: "arbor::nats::todo", unanswered, "the shard table did not answer every confirmation; the lease stays lapsed and is confirmed again");
            return;
        }
        if self.shared.confirm(token) {
            tracing::info!(target: "arbor::nats::todo", "shard ownership confirmed after a lapse of the lease");
        } else {
            // Lapsed again while the writes were out: the next sweep
            // confirms again (lease invariant 3).
            tracing::info!(target: "arbor::nats::todo", "the lease lapsed again during its confirmation");
        }
    }
}
