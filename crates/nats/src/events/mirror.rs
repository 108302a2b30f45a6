//! Subscribing to a topic: [`Node::subscribe_events`] and the node's
//! [`Mirror`], a local event manager of [`RemoteEvent`]s fed by the mirror
//! agent (`receive.rs`).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arbor_genevent::{EventManager, EventManagerRef};
use arbor_process::{Ctx, ExitReason, Pid, spawn_link};
use arbor_supervisor::{ChildSpec, Restart};
use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::error::EventsError;
use super::frame::{self, Control};
use super::receive::{Feed, Receiver};
use super::state::{AgentKind, EventsState};
use super::{EventTopic, Level, RemoteEvent, durable};
use crate::node::Node;
use crate::wire::{NodeId, Wire, encode};

/// A node's mirror of a topic: its local manager gets every event of every
/// node that exports the topic, in order per origin. Add this node's
/// handlers (or streams) to [`manager`](Mirror::manager). Cheap to clone;
/// one mirror per topic per node.
///
/// The mirror is a process under the node's supervisor and the parent of
/// the manager; it ends on [`close`](Mirror::close) or when the node stops
/// (the manager then stops in order: every handler's `terminate` runs).
pub struct Mirror<E: Send + 'static> {
    node: Node,
    name: Arc<str>,
    level: Level,
    manager: EventManagerRef<RemoteEvent<E>>,
    counters: Arc<Counters>,
    agent: Pid,
}

impl<E: Send + 'static> Clone for Mirror<E> {
    fn clone(&self) -> Self {
        Mirror {
            node: self.node.clone(),
            name: Arc::clone(&self.name),
            level: self.level,
            manager: self.manager.clone(),
            counters: Arc::clone(&self.counters),
            agent: self.agent,
        }
    }
}

impl<E: Send + 'static> fmt::Debug for Mirror<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mirror({} on {})", self.name, self.node.name())
    }
}

/// The mirror's counters, shared with its agent.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) received: AtomicU64,
    pub(crate) dispatched: AtomicU64,
    pub(crate) lost: AtomicU64,
    pub(crate) duplicates: AtomicU64,
}

/// What a mirror has seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MirrorStats {
    /// Events that arrived.
    pub received: u64,
    /// Events given to the local manager.
    pub dispatched: u64,
    /// Events known lost: gaps in an origin's sequence (dropped by its
    /// bridge, by the network, or while this mirror was slow).
    pub lost: u64,
    /// Events that arrived again (retries, redeliveries) and were dropped.
    pub duplicates: u64,
}

impl<E: Wire + Clone + Sync> Mirror<E> {
    /// The local mirror manager.
    pub fn manager(&self) -> &EventManagerRef<RemoteEvent<E>> {
        &self.manager
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The mirror agent's pid.
    pub fn agent(&self) -> Pid {
        self.agent
    }

    /// The counters.
    pub fn stats(&self) -> MirrorStats {
        let c = &self.counters;
        MirrorStats {
            received: c.received.load(Ordering::Relaxed),
            dispatched: c.dispatched.load(Ordering::Relaxed),
            lost: c.lost.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
        }
    }

    /// Unsubscribes: the origins forget this node, the agent and the
    /// manager stop in order. A durable consumer stays on the server (the
    /// next subscription of this node resumes from it).
    pub async fn close(&self) {
        if self.level != Level::Durable {
            for origin in origins(&self.node) {
                let ctl = Control::Unregister(self.node.name().clone(), self.node.incarnation());
                if let Ok(bytes) = encode(&ctl) {
                    let subject = frame::control(&self.node, &self.name, &origin);
                    let _ = self.node.client().publish(subject, bytes.into()).await;
                }
            }
            let _ = self.node.client().flush().await;
        }
        let _ = self
            .node
            .supervisor()
            .terminate_child(child_id(&self.name).as_str())
            .await;
    }
}

fn child_id(name: &str) -> String {
    format!("events-mirror:{name}")
}

/// This node and every node up: where an exporter may be.
fn origins(node: &Node) -> Vec<NodeId> {
    let mut all: Vec<NodeId> = node.nodes().into_iter().map(|(n, _)| n).collect();
    all.push(node.name().clone());
    all
}

/// Registers this node's mirror with `origin` (no exporter there: no
/// answer, nothing to do).
pub(crate) async fn register(node: &Node, topic: &str, origin: &NodeId, wait: Option<Duration>) {
    let ctl = Control::Register(node.name().clone(), node.incarnation());
    let Ok(bytes) = encode(&ctl) else { return };
    let subject = frame::control(node, topic, origin);
    match wait {
        Some(t) => {
            let _ =
                tokio::time::timeout(t, node.client().request(subject, Bytes::from(bytes))).await;
        }
        None => {
            let _ = node.client().publish(subject, Bytes::from(bytes)).await;
        }
    }
}

impl Node {
    /// Subscribes this node to `topic`: returns its [`Mirror`], whose local
    /// manager gets the events of every node exporting the topic (from
    /// now on; [`Level::Durable`]: also those stored while this node was
    /// away, after its first subscription). Subscribing again returns the
    /// same mirror.
    ///
    /// Returns once every exporter up now has registered this node, so a
    /// `sync_notify` made after it waits for this node's handlers.
    ///
    /// # Errors
    ///
    /// [`EventsError::InvalidName`], [`EventsError::TypeMismatch`] (the
    /// topic is mirrored here with another event type),
    /// [`EventsError::Nats`], [`EventsError::JetStream`],
    /// [`EventsError::Supervisor`], [`EventsError::Stopped`].
    pub async fn subscribe_events<E: Wire + Clone + Sync>(
        &self,
        topic: &EventTopic<E>,
    ) -> Result<Mirror<E>, EventsError> {
        topic.validate()?;
        if self.is_stopped() {
            return Err(EventsError::Stopped);
        }
        let state = self.extension::<EventsState>();
        // One subscription at a time per node: the table is checked and
        // filled under this lock's successor, the agent's start.
        let existing = state.mirrors.lock().get(&topic.name).cloned();
        if let Some(any) = existing {
            return any
                .downcast::<Mirror<E>>()
                .map(|m| (*m).clone())
                .map_err(|_| EventsError::TypeMismatch(topic.name.to_string()));
        }
        let feed = self.feed(topic).await?;
        let counters = Arc::new(Counters::default());
        let (tx, rx) = oneshot::channel();
        let receiver = Receiver::<E>::new(self, topic, Arc::clone(&counters));
        let slot = Arc::new(Mutex::new(Some((feed, receiver, tx))));
        let guard_state = Arc::clone(&state);
        let name = Arc::clone(&topic.name);
        let spec = ChildSpec::worker(child_id(&topic.name), move || {
            let taken = slot.lock().take();
            let guard = guard_state.guard(Arc::clone(&name), AgentKind::Mirror);
            async move {
                let (feed, receiver, tx) =
                    taken.ok_or_else(|| ExitReason::custom("a mirror is not restarted"))?;
                Ok::<_, ExitReason>(spawn_link(move |ctx: Ctx<()>| async move {
                    let _guard = guard;
                    // Started here, so this process is its parent: the
                    // manager stops in order when the mirror ends.
                    let manager = match EventManager::<RemoteEvent<E>>::start_link().await {
                        Ok(m) => m,
                        Err(e) => return ExitReason::custom(format!("mirror manager: {e}")),
                    };
                    if tx.send(manager.clone()).is_err() {
                        return ExitReason::Normal;
                    }
                    receiver.run(ctx, feed, manager).await
                }))
            }
        })
        .restart(Restart::Temporary);
        let agent = self
            .add_agent(spec)
            .await
            .map_err(|e| EventsError::Supervisor(e.to_string()))?;
        let manager = rx
            .await
            .map_err(|_| EventsError::Supervisor("mirror did not start".into()))?;
        let mirror = Mirror {
            node: self.clone(),
            name: Arc::clone(&topic.name),
            level: topic.level,
            manager,
            counters,
            agent,
        };
        state
            .mirrors
            .lock()
            .insert(Arc::clone(&topic.name), Arc::new(mirror.clone()));
        if topic.level != Level::Durable {
            let wait = Some(self.config().call_timeout.min(Duration::from_secs(1)));
            let all = origins(self);
            futures::future::join_all(all.iter().map(|o| register(self, &topic.name, o, wait)))
                .await;
        }
        Ok(mirror)
    }

    /// Opens what the mirror reads: core subscriptions, or the node's
    /// durable consumer.
    async fn feed<E: Wire + Clone + Sync>(
        &self,
        topic: &EventTopic<E>,
    ) -> Result<Feed, EventsError> {
        let nats = |e: async_nats::SubscribeError| EventsError::Nats(e.to_string());
        if topic.level == Level::Durable {
            let stream = durable::stream(self, &topic.name).await?;
            let consumer = durable::consumer(&stream, self.name(), topic.max_ack_pending).await?;
            let messages = consumer
                .stream()
                .max_messages_per_batch(topic.max_ack_pending.clamp(1, 500) as usize)
                .heartbeat(Duration::from_secs(5))
                .expires(Duration::from_secs(30))
                .messages()
                .await
                .map_err(|e| EventsError::JetStream(e.to_string()))?;
            return Ok(Feed::Durable(Box::new(messages)));
        }
        let client = self.client();
        Ok(Feed::Core {
            broadcast: client
                .subscribe(frame::broadcast_all(self, &topic.name))
                .await
                .map_err(nats)?,
            inbox: client
                .subscribe(frame::mirror(self, &topic.name, self.name()))
                .await
                .map_err(nats)?,
            hello: client
                .subscribe(frame::hello(self, &topic.name))
                .await
                .map_err(nats)?,
        })
    }
}
