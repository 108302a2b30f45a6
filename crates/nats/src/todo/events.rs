//! List events across nodes: every node publishes its lists' creates and
//! exits (and the `noconnection` exits of lists it took over from a dead
//! node) on `<prefix>.todo.ev.<node>`; `EVENTS` and the directory of
//! known lists subscribe `<prefix>.todo.ev.*`.
//!
//! This is the one place that knows how events cross nodes: at-most-once
//! core NATS, one publisher per origin, so order per origin is kept and a
//! gap in `seq` shows a loss.
//!
//! # Invariants
//!
//! 1. One task per node publishes, in the order it takes events from the
//!    local event manager and from takeovers, with `seq` 1, 2, 3, … per
//!    incarnation.
//! 2. The exit of a local list dropped with a lost shard is not published:
//!    the new owner published it, with `noconnection`.

use std::sync::Arc;

use arbor_process::{Ctx, ExitReason, Process, spawn_link};
use arbor_supervisor::ChildSpec;
use arbor_todo::TodoEvent;
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::msg::{ClusterEvent, ListEventKind};
use super::shard::shard_of;
use super::state::{Outgoing, Shared};
use crate::wire::{WireExitReason, decode, encode};

/// A stream of [`ClusterEvent`]s from every node, from now on.
#[derive(Debug)]
pub struct ClusterEvents {
    sub: async_nats::Subscriber,
}

impl ClusterEvents {
    /// The next event; `None` when the node's connection closed. Events
    /// that do not decode are skipped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn next(&mut self) -> Option<ClusterEvent> {
        loop {
            let msg = self.sub.next().await?;
            if let Ok(e) = decode::<ClusterEvent>(&msg.payload) {
                return Some(e);
            }
        }
    }
}

/// Subscribes to every node's list events.
pub(crate) async fn subscribe(shared: &Shared) -> Result<ClusterEvents, String> {
    let sub = shared
        .node
        .client()
        .subscribe(shared.node.subject("todo.ev.*"))
        .await
        .map_err(|e| e.to_string())?;
    Ok(ClusterEvents { sub })
}

/// The receiver of [`Outgoing`], handed from one run of the agent to the
/// next.
pub(crate) type OutgoingRx = Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Outgoing>>>;

/// The events agent: publishes this node's events, keeps the directory.
pub(crate) fn spec(shared: Arc<Shared>, rx: OutgoingRx) -> ChildSpec {
    ChildSpec::worker("todo_events", move || {
        let shared = shared.clone();
        let rx = rx.clone();
        async move {
            let dir = subscribe(&shared)
                .await
                .map_err(|e| ExitReason::custom(format!("todo events: {e}")))?;
            Ok::<_, ExitReason>(spawn_link(move |_: Ctx<()>| run(shared, rx, dir)))
        }
    })
}

async fn run(shared: Arc<Shared>, rx: OutgoingRx, mut dir: ClusterEvents) -> ExitReason {
    let mut rx = rx.lock().await;
    let subject = shared
        .node
        .subject(&format!("todo.ev.{}", shared.node.name()));
    let mut seq = 0u64;
    let mut inc = shared.node.incarnation();
    let mut local = None;
    loop {
        if local.is_none() {
            local = shared.app.subscribe().await.ok();
        }
        let event = tokio::select! {
            e = next_local(&mut local) => match e {
                Some(e) => from_local(&shared, e),
                None => {
                    // The event manager restarted (or is restarting):
                    // follow its successor after a short pause.
                    local = None;
                    tokio::time::sleep(shared.tick() / 4).await;
                    continue;
                }
            },
            o = rx.recv() => match o {
                Some(Outgoing::Exit { list, shard, at, reason }) => Some((list, shard, at, ListEventKind::Exit(reason))),
                Some(Outgoing::Flush(done)) => {
                    let _ = done.send(());
                    continue;
                }
                None => return ExitReason::Normal,
            },
            e = dir.next() => {
                let Some(e) = e else { return ExitReason::custom("todo events: subscription closed") };
                learn(&shared, &e);
                continue;
            }
        };
        let Some((list, shard, at, kind)) = event else {
            continue;
        };
        if shared.node.incarnation() != inc {
            inc = shared.node.incarnation();
            seq = 0;
        }
        seq += 1;
        let ev = ClusterEvent {
            origin: shared.node.name().clone(),
            origin_incarnation: inc,
            seq,
            list,
            shard,
            at,
            kind,
        };
        if let Ok(bytes) = encode(&ev) {
            let _ = shared
                .node
                .client()
                .publish(subject.clone(), Bytes::from(bytes))
                .await;
        }
    }
}

async fn next_local(s: &mut Option<arbor_genevent::EventStream<TodoEvent>>) -> Option<TodoEvent> {
    match s {
        Some(s) => s.next().await.and_then(Result::ok),
        None => None,
    }
}

type Local = (String, u32, super::shard::ShardOwner, ListEventKind);

/// A local event as a cluster event (invariant 2).
fn from_local(shared: &Shared, e: TodoEvent) -> Option<Local> {
    let shard = shard_of(e.name(), shared.config.shards);
    match e {
        TodoEvent::Create { name, .. } => Some((name, shard, shared.me(), ListEventKind::Create)),
        TodoEvent::Exit { name, list } => {
            if shared.silenced.lock().remove(&name) {
                return None;
            }
            let reason = list
                .exit_reason()
                .map_or(WireExitReason::NoProc, |r| WireExitReason::from(&r));
            Some((name, shard, shared.me(), ListEventKind::Exit(reason)))
        }
    }
}

/// The directory follows every node's events.
fn learn(shared: &Shared, e: &ClusterEvent) {
    let mut dir = shared.directory.lock();
    match e.kind {
        ListEventKind::Create => {
            dir.insert(e.list.clone(), (e.shard, e.at.clone()));
        }
        ListEventKind::Exit(_) => {
            if dir.get(&e.list).is_some_and(|(_, at)| *at == e.at) {
                dir.remove(&e.list);
            }
        }
    }
}
