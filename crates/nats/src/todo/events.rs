//! List events across nodes, on arbor-nats's remote event managers: every
//! node runs an event manager of [`ListEvent`]s exported as topic
//! `todo_events`, into which it puts its lists' creates and exits (and the
//! `noconnection` exits of lists it took over from a dead node); `EVENTS`
//! and the directory of known lists read the topic's stream on their node
//! (the node's mirror gets every exporting node's events).
//!
//! This is the one place that knows how events cross nodes. The topic's
//! level is `Notify`: at most once, in order per origin, a loss shows as a
//! gap in `seq` (and a `Lagged` item, counted here).
//!
//! # Invariants
//!
//! 1. One process per node publishes, in the order it takes events from
//!    the local event manager and from takeovers, each published before
//!    the next is taken (`seq` 1, 2, 3, … per incarnation).
//! 2. The exit of a local list dropped with a lost shard is not published:
//!    the new owner published it, with `noconnection`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arbor_genevent::{EventManager, StreamOpts};
use arbor_process::{Ctx, ExitReason, Process, StartOpts, spawn_link};
use arbor_supervisor::ChildSpec;
use arbor_todo::TodoEvent;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::msg::{ClusterEvent, ListEventKind};
use super::shard::{ShardOwner, shard_of};
use super::state::{Outgoing, Shared};
use crate::events::{
    EventTopic, EventsError, ExportedEvents, Level, RemoteEventStream, RemoteItem,
};
use crate::wire::{Wire, WireExitReason};

/// What a node puts into its exported manager: a list event without the
/// origin (the remote event machinery adds origin, incarnation and seq).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ListEvent {
    list: String,
    shard: u32,
    at: ShardOwner,
    kind: ListEventKind,
}

impl Wire for ListEvent {
    const TAG: &'static str = "todo.ListEvent/v1";
}

/// The topic every node exports and reads.
fn topic() -> EventTopic<ListEvent> {
    EventTopic::new("todo_events").level(Level::Notify)
}

/// A stream of [`ClusterEvent`]s from every node, from now on.
pub struct ClusterEvents {
    inner: RemoteEventStream<ListEvent>,
    lagged: Arc<AtomicU64>,
}

impl std::fmt::Debug for ClusterEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterEvents").finish_non_exhaustive()
    }
}

impl ClusterEvents {
    /// The next event; `None` when the stream ended (the node stopped).
    /// Lost events are counted (see [`ClusterEvents::lagged`]), not
    /// returned.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn next(&mut self) -> Option<ClusterEvent> {
        loop {
            match self.inner.next().await? {
                Ok(RemoteItem::Event(e)) => {
                    return Some(ClusterEvent {
                        origin: e.origin,
                        origin_incarnation: e.incarnation,
                        seq: e.seq,
                        list: e.event.list,
                        shard: e.event.shard,
                        at: e.event.at,
                        kind: e.event.kind,
                    });
                }
                Ok(RemoteItem::Lagged(n)) => {
                    self.lagged.fetch_add(n, Ordering::Relaxed);
                }
                Err(_) => return None,
            }
        }
    }

    /// How many events this stream lost so far.
    pub fn lagged(&self) -> u64 {
        self.lagged.load(Ordering::Relaxed)
    }
}

/// Subscribes to every node's list events.
pub(crate) async fn subscribe(shared: &Shared) -> Result<ClusterEvents, String> {
    // Two first subscriptions at once race to start the node's mirror:
    // the loser tries again and finds it.
    let mut tries = 0;
    let inner = loop {
        match shared
            .node
            .remote_event_stream(&topic(), StreamOpts::default())
            .await
        {
            Ok(s) => break s,
            Err(e) if tries < 20 => {
                tries += 1;
                tracing::debug!(target: "arbor::nats::todo", error = %e, "events subscription failed, retrying");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    Ok(ClusterEvents {
        inner,
        lagged: Arc::default(),
    })
}

/// Ends this node's subscription to the topic (its mirror), when the
/// service stops.
pub(crate) async fn close(shared: &Shared) {
    if let Ok(mirror) = shared.node.subscribe_events(&topic()).await {
        mirror.close().await;
    }
}

/// The receiver of [`Outgoing`], handed from one run of the agent to the
/// next.
pub(crate) type OutgoingRx = Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Outgoing>>>;

/// The events agent: exports this node's list events, keeps the
/// directory.
pub(crate) fn spec(shared: Arc<Shared>, rx: OutgoingRx) -> ChildSpec {
    ChildSpec::worker("todo_events", move || {
        let shared = shared.clone();
        let rx = rx.clone();
        // The subscription and the export add agents to the node's
        // supervisor: done by the process, not in this start function
        // (which the supervisor itself runs).
        async move { Ok::<_, ExitReason>(spawn_link(move |_: Ctx<()>| run(shared, rx))) }
    })
}

/// Exports a new manager (linked to the calling agent, so it ends with
/// it). The export of a previous run ends when its manager exits; until
/// then the name is taken, so this retries for a while.
async fn export(shared: &Shared) -> Result<ExportedEvents<ListEvent>, String> {
    let manager = EventManager::<ListEvent>::start_opts(StartOpts::new().link())
        .await
        .map_err(|e| e.to_string())?;
    let mut tries = 0;
    loop {
        match shared.node.export_events(&topic(), &manager).await {
            Ok(e) => return Ok(e),
            Err(EventsError::AlreadyExported(_)) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

async fn run(shared: Arc<Shared>, rx: OutgoingRx) -> ExitReason {
    let mut dir = match subscribe(&shared).await {
        Ok(d) => d,
        Err(e) => return ExitReason::custom(format!("todo events: {e}")),
    };
    let mut rx = rx.lock().await;
    let exported = match export(&shared).await {
        Ok(e) => e,
        Err(e) => return ExitReason::custom(format!("todo events: export: {e}")),
    };
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
                Some(Outgoing::Exit { list, shard, at, reason }) => Some(ListEvent { list, shard, at, kind: ListEventKind::Exit(reason) }),
                Some(Outgoing::Flush(done)) => {
                    // Every earlier event was published (sync_notify below).
                    let _ = done.send(());
                    continue;
                }
                None => return ExitReason::Normal,
            },
            e = dir.next() => {
                let Some(e) = e else { return ExitReason::custom("todo events: stream ended") };
                learn(&shared, &e);
                continue;
            }
        };
        let Some(event) = event else { continue };
        // Returns once the event is published (level `Notify`): what
        // comes after it (a flush, the next event) is ordered after it.
        if let Err(e) = exported.sync_notify(event).await {
            tracing::warn!(target: "arbor::nats::todo", error = %e, "list event not published");
        }
    }
}

async fn next_local(s: &mut Option<arbor_genevent::EventStream<TodoEvent>>) -> Option<TodoEvent> {
    match s {
        Some(s) => s.next().await.and_then(Result::ok),
        None => None,
    }
}

/// A local event as a list event (invariant 2).
fn from_local(shared: &Shared, e: TodoEvent) -> Option<ListEvent> {
    let shard = shard_of(e.name(), shared.config.shards);
    match e {
        TodoEvent::Create { name, .. } => Some(ListEvent {
            list: name,
            shard,
            at: shared.me(),
            kind: ListEventKind::Create,
        }),
        TodoEvent::Exit { name, list } => {
            if shared.silenced.lock().remove(&name) {
                return None;
            }
            let reason = list
                .exit_reason()
                .map_or(WireExitReason::NoProc, |r| WireExitReason::from(&r));
            Some(ListEvent {
                list: name,
                shard,
                at: shared.me(),
                kind: ListEventKind::Exit(reason),
            })
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
