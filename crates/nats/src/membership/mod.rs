//! Membership: who is up. Heartbeats, the server's disconnect advisories,
//! goodbyes, the node table, and what a node going down does locally.
//!
//! - Every node publishes a heartbeat on `<prefix>.hb.<node>` every tick.
//! - A node is down when: it said goodbye (reason `shutdown`); the server
//!   reported its connection closed *and* a ping found no responder
//!   (`disconnected`, milliseconds after a crash; the ping tells a dead
//!   node from one that is reconnecting to another server); or it was
//!   silent for 3 ticks (`heartbeat_timeout`, for a hung or cut-off node).
//! - What a node down does here, in this order: in-flight calls to it fail
//!   with `NoConnection`; every proxy of its pids exits with
//!   `noconnection` (so links and monitors fire through arbor's own
//!   machinery) and is waited for; watches it held are dropped; it is
//!   marked dead in the node table; last, [`NodeEvent::Down`] is
//!   published.
//! - Fencing: a node marked dead that is in fact alive (it was paused or
//!   cut off) sees the write on its own key; it resets every connection
//!   to other nodes (proxies exit with `noconnection`, calls fail),
//!   forgets which nodes it saw down (cut off, it saw everyone silent),
//!   and rejoins as a new incarnation, so its old pids stay dead. A
//!   verdict of an incarnation that was itself declared down marks no one
//!   dead (a write queued during a partition must not fence the healthy
//!   nodes).

mod detector;
mod table;

use std::time::{Duration, Instant};

use arbor_process::{Ctx, ExitReason, Msg, ProcessRef, spawn_link, wait_exit};
use arbor_supervisor::ChildSpec;
use bytes::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::call::ping_incarnation;
use crate::node::{Node, NodeDownReason, NodeError, NodeEvent, NodeEvents};
use crate::proxy::Proxies;
use crate::watch::Watchers;
use crate::wire::{Incarnation, NodeId, decode, encode};
use detector::{Change, Detector};
use table::NodeTable;

/// A heartbeat (or goodbye) on `<prefix>.hb.<node>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Heartbeat {
    cluster: String,
    node: NodeId,
    incarnation: Incarnation,
    client: String,
    bye: bool,
}

/// What the membership agent is told by its helper tasks.
#[derive(Debug)]
pub(crate) enum MemberMsg {
    /// A disconnect advisory for this incarnation was confirmed by a ping
    /// without responders.
    Confirmed(NodeId, Incarnation),
}

fn heartbeat(node: &Node, bye: bool) -> Option<Bytes> {
    let hb = Heartbeat {
        cluster: node.prefix().to_owned(),
        node: node.name().clone(),
        incarnation: node.incarnation(),
        client: node.client_name().to_owned(),
        bye,
    };
    encode(&hb).ok().map(Bytes::from)
}

/// Writes this node into the node table; runs before the agents start.
pub(crate) async fn join(node: &Node) -> Result<(), NodeError> {
    node.extension::<NodeTable>().claim(node).await
}

/// The heartbeat agent: one heartbeat per tick.
pub(crate) fn heartbeat_spec(node: &Node) -> ChildSpec {
    let node = node.clone();
    ChildSpec::worker("heartbeat", move || {
        let node = node.clone();
        async move {
            Ok::<_, ExitReason>(spawn_link(move |mut ctx: Ctx<()>| async move {
                let subject = node.subject(&format!("hb.{}", node.name()));
                let mut every = tokio::time::interval(node.config().tick);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = ctx.recv() => {}
                        _ = every.tick() => {
                            if let Some(hb) = heartbeat(&node, false) {
                                let _ = node.client().publish(subject.clone(), hb).await;
                            }
                        }
                    }
                }
            }))
        }
    })
}

/// The membership agent: heartbeats in, advisories in, the clock, the own
/// node-table key; changes out.
pub(crate) fn membership_spec(node: &Node) -> ChildSpec {
    let node = node.clone();
    ChildSpec::worker("membership", move || {
        let node = node.clone();
        async move {
            let err = |e: String| ExitReason::custom(format!("membership: {e}"));
            let hbs = node
                .client()
                .subscribe(node.subject("hb.*"))
                .await
                .map_err(|e| err(e.to_string()))?;
            let advisories = match &node.config().advisory_account {
                Some(acc) => Some(
                    node.client()
                        .subscribe(format!("$SYS.ACCOUNT.{acc}.DISCONNECT"))
                        .await
                        .map_err(|e| err(e.to_string()))?,
                ),
                None => None,
            };
            let own = node
                .extension::<NodeTable>()
                .watch_own(&node)
                .await
                .map_err(|e| err(e.to_string()))?;
            Ok::<_, ExitReason>(spawn_link(move |ctx: Ctx<MemberMsg>| {
                run(node, ctx, hbs, advisories, own)
            }))
        }
    })
}

async fn run(
    node: Node,
    mut ctx: Ctx<MemberMsg>,
    mut hbs: async_nats::Subscriber,
    mut advisories: Option<async_nats::Subscriber>,
    mut own: async_nats::jetstream::kv::Watch,
) -> ExitReason {
    let mut detector = Detector::new(node.config().tick);
    let mut check = tokio::time::interval(detector.check_every());
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let me = ctx.process_ref();
    loop {
        let changes = tokio::select! {
            msg = ctx.recv() => match msg {
                Msg::Message(MemberMsg::Confirmed(n, i)) => {
                    detector.gone(&n, i, NodeDownReason::Disconnected)
                }
                _ => Vec::new(),
            },
            msg = hbs.next() => {
                let Some(msg) = msg else { return ExitReason::custom("heartbeat_subscription_closed") };
                on_heartbeat(&node, &mut detector, &msg.payload)
            }
            msg = next_advisory(&mut advisories) => {
                if let Some(msg) = msg {
                    on_advisory(&node, &me, &msg.payload);
                }
                Vec::new()
            }
            entry = own.next() => {
                let Some(Ok(entry)) = entry else { return ExitReason::custom("node_table_watch_closed") };
                let table = node.extension::<NodeTable>();
                // A stopping node writes its own record dead (`leave`): that
                // is not a fence, and rejoining would bring it back alive.
                if !node.is_stopped() && table.fences(entry.revision, &entry.value, node.incarnation()) {
                    rejoin(&node, &mut detector).await;
                }
                Vec::new()
            }
            _ = check.tick() => detector.check(Instant::now()),
        };
        for change in changes {
            apply(&node, change).await;
        }
    }
}

async fn next_advisory(sub: &mut Option<async_nats::Subscriber>) -> Option<async_nats::Message> {
    match sub {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

fn on_heartbeat(node: &Node, detector: &mut Detector, payload: &[u8]) -> Vec<Change> {
    let hb = match decode::<Heartbeat>(payload) {
        Ok(hb) => hb,
        Err(e) => {
            tracing::warn!(target: "arbor::nats", error = %e, "dropped a heartbeat that does not decode");
            return Vec::new();
        }
    };
    if hb.cluster != node.prefix() || hb.node == *node.name() {
        return Vec::new();
    }
    // The detector forgets what was down if its agent restarts; the node
    // does not.
    if !hb.bye && node.peers().was_down(&hb.node, hb.incarnation) {
        return Vec::new();
    }
    if hb.bye {
        detector.gone(&hb.node, hb.incarnation, NodeDownReason::Shutdown)
    } else {
        detector.heartbeat(&hb.node, hb.incarnation, &hb.client, Instant::now())
    }
}

/// A client of our account disconnected: if it is a peer, ping it; no
/// responder confirms it dead (a node moving to another server answers).
fn on_advisory(node: &Node, me: &ProcessRef<MemberMsg>, payload: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(payload) else {
        return;
    };
    let Some(name) = v.pointer("/client/name").and_then(|n| n.as_str()) else {
        return;
    };
    let Some((peer, inc)) = node.peers().by_client(name) else {
        return;
    };
    let node = node.clone();
    let me = me.clone();
    tokio::spawn(async move {
        let wait = node.config().tick.max(Duration::from_millis(50));
        match ping_incarnation(&node, &peer, inc, wait).await {
            Ok(false) => {
                let _ = me.send(MemberMsg::Confirmed(peer, inc));
            }
            Ok(true) => {
                tracing::debug!(target: "arbor::nats", node = %peer, "disconnect advisory, but the node answers (it moved to another server)");
            }
            Err(()) => {}
        }
    });
}

async fn apply(node: &Node, change: Change) {
    match change {
        Change::Up {
            node: who,
            incarnation,
            client,
            replaced: _,
        } => {
            node.peers().up(&who, incarnation, client);
            tracing::info!(target: "arbor::nats", node = %who, incarnation, "node up");
            node.events().publish(&NodeEvent::Up {
                node: who,
                incarnation,
            });
        }
        Change::Down {
            node: who,
            incarnation,
            reason,
        } => node_down(node, who, incarnation, reason).await,
    }
}

/// Waits (bounded) until every pid in `pids` has exited.
async fn wait_all(pids: Vec<arbor_process::Pid>) {
    let all = futures::future::join_all(pids.into_iter().map(wait_exit));
    let _ = tokio::time::timeout(Duration::from_secs(2), all).await;
}

/// What a node down does here, in order (see the module docs).
async fn node_down(node: &Node, who: NodeId, incarnation: Incarnation, reason: NodeDownReason) {
    node.peers().down(&who, incarnation);
    wait_all(node.extension::<Proxies>().of_node(&who)).await;
    node.extension::<Watchers>().node_down(&who, incarnation);
    if !matches!(reason, NodeDownReason::Shutdown | NodeDownReason::Replaced) {
        let n = node.clone();
        let w = who.clone();
        // The verdict holds under this fencing token only: should this
        // node be fenced before the write goes out, it is dropped.
        let table = node.extension::<NodeTable>();
        let token = table.own_revision();
        tokio::spawn(async move {
            table.mark_dead(&n, token, &w, incarnation).await;
        });
    }
    tracing::warn!(target: "arbor::nats", node = %who, incarnation, %reason, "node down");
    node.events().publish(&NodeEvent::Down {
        node: who,
        incarnation,
        reason,
    });
}

/// Resets every connection to other nodes with `reason`: calls fail,
/// proxies exit with `noconnection`, watches end, `Down` events go out.
async fn reset_all(node: &Node, detector: Option<&mut Detector>, reason: NodeDownReason) {
    if let Some(d) = detector {
        d.reset();
    }
    let peers = node.peers().clear();
    wait_all(node.extension::<Proxies>().all()).await;
    node.extension::<Watchers>().clear();
    for (who, incarnation) in peers {
        node.events().publish(&NodeEvent::Down {
            node: who,
            incarnation,
            reason: reason.clone(),
        });
    }
}

/// This node was declared down while alive: reset, and rejoin as a new
/// incarnation (new router subject, new node-table record).
async fn rejoin(node: &Node, detector: &mut Detector) {
    let old = node.incarnation();
    tracing::error!(target: "arbor::nats", node = %node.name(), incarnation = old, "this node was declared down by the cluster; rejoining as a new incarnation");
    reset_all(node, Some(detector), NodeDownReason::Fenced).await;
    // The nodes it declared down while cut off were not down, it was (the
    // detector forgot them in `reset_all`): their heartbeats and envelopes
    // must count again.
    node.peers().forget_down();
    let new = node.renew_incarnation();
    if let Err(e) = node.extension::<NodeTable>().join(node).await {
        tracing::error!(target: "arbor::nats", error = %e, "rejoin: node table write failed");
    }
    // The router subscribes to the subject of the current incarnation.
    let sup = node.supervisor();
    let _ = sup.terminate_child("router").await;
    let _ = sup.restart_child("router").await;
    tracing::info!(target: "arbor::nats", node = %node.name(), incarnation = new, "rejoined");
}

/// Runs first in `Node::stop`: goodbye to the others, own record dead,
/// every connection reset (reason `stopped`).
pub(crate) async fn leave(node: &Node) {
    // A node that never claimed its name (its start was refused with
    // `NameInUse`) says nothing: a goodbye under that name would make the
    // others take the live holder for gone.
    if node.extension::<NodeTable>().own_revision() == 0 {
        reset_all(node, None, NodeDownReason::Stopped).await;
        return;
    }
    if let Some(bye) = heartbeat(node, true) {
        let subject = node.subject(&format!("hb.{}", node.name()));
        // Bounded: with no server reachable the goodbye cannot go out, and
        // `stop` must still return (the others then see the node silent).
        let bye = async {
            let _ = node.client().publish(subject, bye).await;
            let _ = node.client().flush().await;
        };
        let _ = tokio::time::timeout(crate::node::FLUSH_BOUND, bye).await;
    }
    let _ = tokio::time::timeout(
        node.config().jetstream_timeout,
        node.extension::<NodeTable>().leave(node),
    )
    .await;
    reset_all(node, None, NodeDownReason::Stopped).await;
}

/// What the node table says of `who`'s `incarnation`: `Some(true)` if
/// it is the live record, `Some(false)` if it was marked dead or another
/// incarnation replaced it, `None` if the table cannot be read now.
pub(crate) async fn incarnation_alive(
    node: &Node,
    who: &NodeId,
    incarnation: Incarnation,
) -> Option<bool> {
    node.extension::<NodeTable>().alive(who, incarnation).await
}

/// Waits for one node's down, from [`Node::monitor_node`].
#[derive(Debug)]
pub struct NodeMonitor {
    node: NodeId,
    events: NodeEvents,
    now: Option<NodeEvent>,
}

impl NodeMonitor {
    /// The node's `Down` event: at once if it was not up when monitored;
    /// otherwise when it goes down (or this node stops: reason `stopped`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe; the monitor can be awaited again.
    pub async fn down(&mut self) -> NodeEvent {
        if let Some(e) = self.now.clone() {
            return e;
        }
        loop {
            match self.events.recv().await {
                Some(e @ NodeEvent::Down { .. }) if *e.node() == self.node => {
                    self.now = Some(e.clone());
                    return e;
                }
                Some(_) => {}
                None => {
                    let e = NodeEvent::Down {
                        node: self.node.clone(),
                        incarnation: 0,
                        reason: NodeDownReason::Stopped,
                    };
                    self.now = Some(e.clone());
                    return e;
                }
            }
        }
    }
}

impl Node {
    /// Monitors `node`: [`NodeMonitor::down`] gives its `Down` event (at
    /// once, reason `not_connected`, if it is not up now).
    ///
    /// # OTP
    ///
    /// `erlang:monitor_node(Node, true)`, its `{nodedown, Node}` message.
    pub fn monitor_node(&self, node: &NodeId) -> NodeMonitor {
        let events = self.events().subscribe();
        let now = match self.peers().get(node) {
            Some(_) => None,
            None => Some(NodeEvent::Down {
                node: node.clone(),
                incarnation: 0,
                reason: NodeDownReason::NotConnected,
            }),
        };
        NodeMonitor {
            node: node.clone(),
            events,
            now,
        }
    }

    /// The nodes up now, with their incarnations (not this node).
    ///
    /// # OTP
    ///
    /// `erlang:nodes/0`.
    pub fn nodes(&self) -> Vec<(NodeId, Incarnation)> {
        self.peers().all()
    }

    /// Waits until `node` is up (some incarnation), at most `timeout`;
    /// its incarnation, or `None`.
    pub async fn wait_for_node(&self, node: &NodeId, timeout: Duration) -> Option<Incarnation> {
        let mut events = self.events().subscribe();
        if let Some(p) = self.peers().get(node) {
            return Some(p.incarnation);
        }
        let wait = async {
            while let Some(e) = events.recv().await {
                if let NodeEvent::Up {
                    node: n,
                    incarnation,
                } = e
                    && n == *node
                {
                    return Some(incarnation);
                }
            }
            None
        };
        tokio::time::timeout(timeout, wait).await.ok().flatten()
    }
}
