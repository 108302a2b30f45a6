//! Exporting a local manager: [`Node::export_events`] and the export
//! agent, one process per exported manager under the node's supervisor.
//! It reads the manager's acked stream (the bridge), answers remote
//! `notify` / `sync_notify` (the responder) and keeps the subscribing
//! nodes (registrations, node events).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use arbor_genevent::{AckedEventStream, Delivery, EventManagerRef, StreamOpts};
use arbor_process::{Ctx, ExitReason, Pid, spawn_link};
use arbor_supervisor::{ChildSpec, Restart};
use async_nats::{HeaderMap, Subscriber};
use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::bridge::{Bridge, Shared};
use super::error::{EventsError, SyncNotifyError};
use super::frame::{self, Control, Inbound, InboundReply};
use super::state::{AgentKind, EventsState};
use super::{EventTopic, Level, durable};
use crate::node::{Node, NodeDownReason, NodeEvent, NodeEvents};
use crate::wire::{TYPE_HEADER, Wire, decode, encode};

/// A manager exported by this node ([`Node::export_events`]). Cheap to
/// clone. The export ends when the manager exits, on
/// [`unexport`](ExportedEvents::unexport), or when the node stops.
pub struct ExportedEvents<E: Send + 'static> {
    node: Node,
    name: Arc<str>,
    manager: EventManagerRef<E>,
    shared: Arc<Shared>,
    agent: Pid,
}

impl<E: Send + 'static> Clone for ExportedEvents<E> {
    fn clone(&self) -> Self {
        ExportedEvents {
            node: self.node.clone(),
            name: Arc::clone(&self.name),
            manager: self.manager.clone(),
            shared: Arc::clone(&self.shared),
            agent: self.agent,
        }
    }
}

impl<E: Send + 'static> fmt::Debug for ExportedEvents<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExportedEvents({} on {})", self.name, self.node.name())
    }
}

/// What an export has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExportStats {
    /// Events sent on (published, stored, or fanned out).
    pub published: u64,
    /// `notify` events dropped at the bridge's bound (each one a gap every
    /// mirror counts).
    pub dropped: u64,
    /// Synchronous events some subscribing node did not confirm.
    pub sync_failures: u64,
    /// Repeated deliveries to mirrors (with retry).
    pub retries: u64,
    /// Subscribing nodes now ([`Level::SyncNotify`]).
    pub subscribers: usize,
}

impl<E: Wire + Clone + Sync> ExportedEvents<E> {
    /// The local manager.
    pub fn manager(&self) -> &EventManagerRef<E> {
        &self.manager
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The export agent's pid (a child of the node's supervisor).
    pub fn agent(&self) -> Pid {
        self.agent
    }

    /// The counters.
    pub fn stats(&self) -> ExportStats {
        let s = &self.shared;
        ExportStats {
            published: s.published.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            sync_failures: s.sync_failures.load(Ordering::Relaxed),
            retries: s.retries.load(Ordering::Relaxed),
            subscribers: s.subscribers.lock().len(),
        }
    }

    /// The manager's `sync_notify`, telling which subscribing nodes did
    /// not confirm: returns after the local handlers ran and the topic's
    /// level holds ([`Level::SyncNotify`]: every subscribed mirror's
    /// handlers ran, or the bridge gave up on it).
    ///
    /// The failures are matched to this event because calls through this
    /// handle (and remote ones) are serialised; a `sync_notify` made on
    /// the manager directly meanwhile is not reported here.
    ///
    /// # Errors
    ///
    /// [`SyncNotifyError::Partial`] naming the nodes that did not confirm;
    /// [`SyncNotifyError::NoProcess`] if the manager is not running.
    ///
    /// # Cancel safety
    ///
    /// Once the event is queued, dropping the future does not take it back.
    pub async fn sync_notify(&self, event: E) -> Result<(), SyncNotifyError> {
        sync_via(&self.shared, &self.manager, event).await
    }

    /// Ends the export: the bridge's stream is removed from the manager,
    /// remote calls get `NoProcess`. The manager keeps running.
    pub async fn unexport(&self) {
        let _ = self
            .node
            .supervisor()
            .terminate_child(child_id(&self.name).as_str())
            .await;
    }
}

async fn sync_via<E: Send + 'static>(
    shared: &Shared,
    manager: &EventManagerRef<E>,
    event: E,
) -> Result<(), SyncNotifyError> {
    let _one_at_a_time = shared.sync_lock.lock().await;
    let (tx, rx) = oneshot::channel();
    *shared.report.lock() = Some(tx);
    let done = manager.sync_notify(event).await;
    shared.report.lock().take();
    done.map_err(|_| SyncNotifyError::NoProcess)?;
    match rx.await {
        Ok(failed) if !failed.is_empty() => Err(SyncNotifyError::Partial { failed }),
        _ => Ok(()),
    }
}

fn child_id(name: &str) -> String {
    format!("events-export:{name}")
}

/// What the agent starts with (made before it, so errors are typed).
struct Setup<E: Send + 'static> {
    stream: AckedEventStream<E>,
    inbound: Subscriber,
    control: Subscriber,
    node_events: NodeEvents,
}

impl Node {
    /// Exports the local `manager` under `topic`'s name: other nodes can
    /// then `notify` / `sync_notify` it
    /// ([`Node::remote_event_manager`]) and subscribe to its events
    /// ([`Node::subscribe_events`]), at the topic's [`Level`].
    ///
    /// The export is a process under the node's supervisor (not
    /// restarted: if it fails, the export ends and is logged); it ends
    /// when the manager exits. Mirrors that subscribed before the export
    /// register with it when they hear its hello, shortly after.
    ///
    /// # Errors
    ///
    /// [`EventsError::InvalidName`], [`EventsError::AlreadyExported`],
    /// [`EventsError::Manager`] (the manager is not running),
    /// [`EventsError::Nats`], [`EventsError::JetStream`] (durable: the
    /// stream could not be created), [`EventsError::Supervisor`],
    /// [`EventsError::Stopped`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use arbor_genevent::EventManager;
    /// use arbor_nats::{EventTopic, Level, Node, NodeConfig};
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let n1 = Node::start(NodeConfig::new("n1", ["nats://127.0.0.1:4222"])).await?;
    /// let n2 = Node::start(NodeConfig::new("n2", ["nats://127.0.0.1:4222"])).await?;
    /// let topic = EventTopic::<String>::new("log").level(Level::SyncNotify);
    /// let mgr = EventManager::<String>::start().await?;
    /// let export = n1.export_events(&topic, &mgr).await?;
    /// let mirror = n2.subscribe_events(&topic).await?; // add handlers to mirror.manager()
    /// export.sync_notify("hello".into()).await?;        // n2's handlers ran
    /// # let _ = mirror; Ok(()) }
    /// ```
    pub async fn export_events<E: Wire + Clone + Sync>(
        &self,
        topic: &EventTopic<E>,
        manager: &EventManagerRef<E>,
    ) -> Result<ExportedEvents<E>, EventsError> {
        topic.validate()?;
        if self.is_stopped() {
            return Err(EventsError::Stopped);
        }
        let state = self.extension::<EventsState>();
        if state
            .exports
            .lock()
            .insert(Arc::clone(&topic.name), ())
            .is_some()
        {
            return Err(EventsError::AlreadyExported(topic.name.to_string()));
        }
        match self.start_export(topic, manager, &state).await {
            Ok(export) => Ok(export),
            Err(e) => {
                state.exports.lock().remove(&topic.name);
                Err(e)
            }
        }
    }

    async fn start_export<E: Wire + Clone + Sync>(
        &self,
        topic: &EventTopic<E>,
        manager: &EventManagerRef<E>,
        state: &Arc<EventsState>,
    ) -> Result<ExportedEvents<E>, EventsError> {
        let nats = |e: async_nats::SubscribeError| EventsError::Nats(e.to_string());
        if topic.level == Level::Durable {
            durable::stream(self, &topic.name).await?;
        }
        let mut opts = StreamOpts::default();
        if topic.level != Level::Durable {
            opts = opts.notify_bound(topic.notify_bound);
        }
        let setup = Setup {
            stream: manager
                .acked_stream(opts)
                .await
                .map_err(EventsError::Manager)?,
            inbound: self
                .client()
                .subscribe(frame::inbound(self, &topic.name, self.name()))
                .await
                .map_err(nats)?,
            control: self
                .client()
                .subscribe(frame::control(self, &topic.name, self.name()))
                .await
                .map_err(nats)?,
            node_events: self.events().subscribe(),
        };
        let shared = Arc::new(Shared::default());
        let agent = Agent {
            node: self.clone(),
            name: Arc::clone(&topic.name),
            manager: manager.clone(),
            shared: Arc::clone(&shared),
            bridge: Bridge::new(self, topic, Arc::clone(&shared)),
        };
        let slot = Arc::new(Mutex::new(Some((setup, agent))));
        let guard_state = Arc::clone(state);
        let spec = ChildSpec::worker(child_id(&topic.name), move || {
            let taken = slot.lock().take();
            let guard_state = Arc::clone(&guard_state);
            async move {
                let (setup, agent) =
                    taken.ok_or_else(|| ExitReason::custom("an export is not restarted"))?;
                let guard = guard_state.guard(Arc::clone(&agent.name), AgentKind::Export);
                Ok::<_, ExitReason>(spawn_link(move |ctx: Ctx<()>| async move {
                    let _guard = guard;
                    agent.run(ctx, setup).await
                }))
            }
        })
        .restart(Restart::Temporary);
        let pid = self
            .add_agent(spec)
            .await
            .map_err(|e| EventsError::Supervisor(e.to_string()))?;
        // Mirrors that are already there register now.
        let _ = self
            .client()
            .publish(
                frame::hello(self, &topic.name),
                Bytes::from(encode(self.name()).unwrap_or_default()),
            )
            .await;
        Ok(ExportedEvents {
            node: self.clone(),
            name: Arc::clone(&topic.name),
            manager: manager.clone(),
            shared,
            agent: pid,
        })
    }
}

/// The export agent's state.
struct Agent<E: Send + 'static> {
    node: Node,
    name: Arc<str>,
    manager: EventManagerRef<E>,
    shared: Arc<Shared>,
    bridge: Bridge,
}

impl<E: Wire + Clone + Sync> Agent<E> {
    async fn run(mut self, mut ctx: Ctx<()>, setup: Setup<E>) -> ExitReason {
        let Setup {
            mut stream,
            mut inbound,
            mut control,
            mut node_events,
        } = setup;
        // At most one synchronous event in flight each way: the manager
        // waits for the bridge's, and a remote caller's is answered in order.
        let mut bridge_sync: Option<BoxFuture<'static, ()>> = None;
        let mut remote_sync: Option<BoxFuture<'static, ()>> = None;
        loop {
            tokio::select! {
                _ = ctx.recv() => {}
                item = stream.next(), if bridge_sync.is_none() => match item {
                    Some(Ok(Delivery::Notify(e))) => self.bridge.notify(&e).await,
                    Some(Ok(Delivery::Sync(e, ack))) => bridge_sync = Some(self.bridge.sync(&e, ack)),
                    Some(Ok(Delivery::Lagged(k))) => self.bridge.lagged(k),
                    Some(Err(_)) | None => {
                        tracing::info!(target: "arbor::nats", topic = %self.name, "exported event manager ended; export closed");
                        return ExitReason::Normal;
                    }
                },
                () = run_opt(&mut bridge_sync) => bridge_sync = None,
                msg = inbound.next(), if remote_sync.is_none() => {
                    let Some(msg) = msg else { return ExitReason::custom("event_inbound_closed") };
                    remote_sync = self.inbound(msg);
                }
                () = run_opt(&mut remote_sync) => remote_sync = None,
                msg = control.next() => {
                    let Some(msg) = msg else { return ExitReason::custom("event_control_closed") };
                    self.control(msg).await;
                }
                ev = node_events.recv() => match ev {
                    Some(NodeEvent::Down { node, incarnation, reason }) => {
                        let mut subs = self.shared.subscribers.lock();
                        match reason {
                            NodeDownReason::Shutdown => subs.unregister(&node, incarnation),
                            _ => subs.crashed(&node, incarnation, Instant::now()),
                        }
                    }
                    Some(NodeEvent::Up { .. }) => {}
                    None => return ExitReason::Shutdown,
                },
            }
        }
    }

    /// A remote `notify` is passed on at once; a remote `sync_notify`
    /// becomes the in-flight future that answers it.
    fn inbound(&self, msg: async_nats::Message) -> Option<BoxFuture<'static, ()>> {
        let tag = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(TYPE_HEADER))
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        let decoded = decode::<Inbound>(&msg.payload)
            .ok()
            .filter(|_| tag == E::TAG)
            .and_then(|i| decode::<E>(&i.body).ok().map(|e| (i.sync, e)));
        let reply_to = msg.reply.map(|r| r.to_string());
        match decoded {
            Some((false, event)) => {
                self.manager.notify(event);
                None
            }
            Some((true, event)) => {
                let shared = Arc::clone(&self.shared);
                let manager = self.manager.clone();
                let node = self.node.clone();
                Some(Box::pin(async move {
                    let reply = match sync_via(&shared, &manager, event).await {
                        Ok(()) => InboundReply::Ok,
                        Err(SyncNotifyError::Partial { failed }) => InboundReply::Partial(failed),
                        Err(_) => InboundReply::NoProcess,
                    };
                    if let Some(to) = reply_to {
                        answer(&node, to, &reply).await;
                    }
                }))
            }
            None => {
                tracing::warn!(target: "arbor::nats", topic = %self.name, tag, "remote event of another type or undecodable; dropped");
                let node = self.node.clone();
                let reply = InboundReply::Decode {
                    expected: E::TAG.to_owned(),
                    got: tag,
                };
                reply_to.map(|to| -> BoxFuture<'static, ()> {
                    Box::pin(async move { answer(&node, to, &reply).await })
                })
            }
        }
    }

    async fn control(&self, msg: async_nats::Message) {
        match decode::<Control>(&msg.payload) {
            Ok(Control::Register(who, inc)) => self.shared.subscribers.lock().register(&who, inc),
            Ok(Control::Unregister(who, inc)) => {
                self.shared.subscribers.lock().unregister(&who, inc);
            }
            Err(e) => {
                tracing::warn!(target: "arbor::nats", topic = %self.name, error = %e, "undecodable event registration; dropped");
                return;
            }
        }
        if let Some(to) = msg.reply {
            let _ = self.node.client().publish(to, Bytes::new()).await;
        }
    }
}

/// Awaits the in-flight future, or never.
async fn run_opt(fut: &mut Option<BoxFuture<'static, ()>>) {
    match fut {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

async fn answer(node: &Node, to: String, reply: &InboundReply) {
    let bytes = encode(reply).unwrap_or_default();
    let _ = node
        .client()
        .publish_with_headers(to, HeaderMap::new(), Bytes::from(bytes))
        .await;
}
