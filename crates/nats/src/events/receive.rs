//! The mirror agent's loop: frames in, the local mirror manager's
//! `notify` / `sync_notify` out (events invariants 2 and 3).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arbor_genevent::EventManagerRef;
use arbor_process::{CallError, Ctx, ExitReason, Process};
use async_nats::jetstream::consumer::pull;
use async_nats::{Message, Subscriber};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use super::frame::{Frame, MirrorReply};
use super::mirror::{Counters, register};
use super::order::{Order, Seen};
use super::{EventTopic, RemoteEvent};
use crate::node::Node;
use crate::wire::{NodeId, TYPE_HEADER, Wire, decode, encode};

/// What a mirror reads.
pub(crate) enum Feed {
    /// Core levels: the broadcast of every origin, this node's inbox of
    /// synchronous frames, and exporters' hellos.
    Core {
        broadcast: Subscriber,
        inbox: Subscriber,
        hello: Subscriber,
    },
    /// The node's durable consumer.
    Durable(Box<pull::Stream>),
}

/// The mirror agent.
pub(crate) struct Receiver<E> {
    node: Node,
    topic: Arc<str>,
    counters: Arc<Counters>,
    order: Order,
    _e: std::marker::PhantomData<fn() -> E>,
}

type InFlight = Option<BoxFuture<'static, ()>>;

impl<E: Wire + Clone + Sync> Receiver<E> {
    pub(crate) fn new(node: &Node, topic: &EventTopic<E>, counters: Arc<Counters>) -> Self {
        Receiver {
            node: node.clone(),
            topic: Arc::clone(&topic.name),
            counters,
            order: Order::default(),
            _e: std::marker::PhantomData,
        }
    }

    pub(crate) async fn run(
        mut self,
        mut ctx: Ctx<()>,
        feed: Feed,
        manager: EventManagerRef<RemoteEvent<E>>,
    ) -> ExitReason {
        let mut in_flight: InFlight = None;
        match feed {
            Feed::Core {
                mut broadcast,
                mut inbox,
                mut hello,
            } => loop {
                tokio::select! {
                    _ = ctx.recv() => {}
                    msg = broadcast.next() => {
                        let Some(msg) = msg else { return ExitReason::custom("event_broadcast_closed") };
                        self.notify(&msg, &manager);
                    }
                    msg = inbox.next(), if in_flight.is_none() => {
                        let Some(msg) = msg else { return ExitReason::custom("event_inbox_closed") };
                        // Invariant 3: what the origin published before this
                        // synchronous frame is in the broadcast queue already.
                        while let Some(Some(earlier)) = broadcast.next().now_or_never() {
                            self.notify(&earlier, &manager);
                        }
                        in_flight = self.sync(msg, &manager).await;
                    }
                    () = run_opt(&mut in_flight) => in_flight = None,
                    msg = hello.next() => {
                        let Some(msg) = msg else { return ExitReason::custom("event_hello_closed") };
                        if let Ok(origin) = decode::<NodeId>(&msg.payload) {
                            register(&self.node, &self.topic, &origin, None).await;
                        }
                    }
                }
                if !manager.is_alive() {
                    return ExitReason::Normal;
                }
            },
            Feed::Durable(mut messages) => loop {
                tokio::select! {
                    _ = ctx.recv() => {}
                    msg = messages.next(), if in_flight.is_none() => match msg {
                        Some(Ok(msg)) => in_flight = self.durable(msg, &manager).await,
                        Some(Err(e)) => {
                            tracing::debug!(target: "arbor::nats", topic = %self.topic, error = %e, "durable consumer");
                        }
                        None => return ExitReason::custom("event_consumer_closed"),
                    },
                    () = run_opt(&mut in_flight) => in_flight = None,
                }
                if !manager.is_alive() {
                    return ExitReason::Normal;
                }
            },
        }
    }

    /// Decodes a frame of this topic's type, counting it received.
    fn frame(&self, msg_tag: Option<&str>, payload: &[u8]) -> Result<(Frame, E), ()> {
        self.counters.received.fetch_add(1, Ordering::Relaxed);
        if msg_tag != Some(E::TAG) {
            tracing::warn!(target: "arbor::nats", topic = %self.topic, tag = ?msg_tag, expected = E::TAG, "event of another type; dropped");
            return Err(());
        }
        let frame = decode::<Frame>(payload).map_err(|_| ())?;
        let event = decode::<E>(&frame.body).map_err(|e| {
            tracing::warn!(target: "arbor::nats", topic = %self.topic, error = %e, "undecodable event; dropped");
        })?;
        Ok((frame, event))
    }

    /// Invariant 2: new, or a duplicate (counted).
    fn accept(&mut self, frame: &Frame) -> bool {
        match self
            .order
            .accept(&frame.origin, frame.incarnation, frame.seq)
        {
            Seen::New { lost } => {
                if lost > 0 {
                    self.counters.lost.fetch_add(lost, Ordering::Relaxed);
                    tracing::debug!(target: "arbor::nats", topic = %self.topic, origin = %frame.origin, lost, "events lost before this one");
                }
                self.counters.dispatched.fetch_add(1, Ordering::Relaxed);
                true
            }
            Seen::Duplicate => {
                self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    fn notify(&mut self, msg: &Message, manager: &EventManagerRef<RemoteEvent<E>>) {
        let Ok((frame, event)) = self.frame(tag(msg), &msg.payload) else {
            return;
        };
        if self.accept(&frame) {
            manager.notify(remote(frame, event, None, false));
        }
    }

    /// A synchronous frame: dispatched with the manager's `sync_notify`
    /// (queued before this returns, so later events come after it); the
    /// returned future answers the origin when the handlers ran.
    async fn sync(&mut self, msg: Message, manager: &EventManagerRef<RemoteEvent<E>>) -> InFlight {
        let node = self.node.clone();
        let reply_to = msg.reply.as_ref().map(|r| r.to_string());
        let decoded = self.frame(tag(&msg), &msg.payload);
        let (frame, event) = match decoded {
            Ok(fe) => fe,
            Err(()) => {
                let reply = MirrorReply::Decode {
                    expected: E::TAG.into(),
                    got: tag(&msg).unwrap_or("").into(),
                };
                answer(&node, reply_to, &reply).await;
                return None;
            }
        };
        if !self.accept(&frame) {
            answer(&node, reply_to, &MirrorReply::Ok).await;
            return None;
        }
        let mut dispatch = manager
            .clone()
            .sync_notify_owned(remote(frame, event, None, false));
        // The first poll queues the event in the manager's mailbox.
        if futures::poll!(dispatch.as_mut()).is_ready() {
            answer(&node, reply_to, &MirrorReply::Ok).await;
            return None;
        }
        Some(Box::pin(async move {
            let _ = dispatch.await;
            answer(&node, reply_to, &MirrorReply::Ok).await;
        }))
    }

    /// A durable message: dispatched with `sync_notify` (so a slow handler
    /// or stream holds the consumer back), acknowledged after.
    async fn durable(
        &mut self,
        msg: async_nats::jetstream::Message,
        manager: &EventManagerRef<RemoteEvent<E>>,
    ) -> InFlight {
        let (durable_seq, redelivered) = match msg.info() {
            Ok(info) => (Some(info.stream_sequence), info.delivered > 1),
            Err(_) => (None, false),
        };
        let decoded = self.frame(tag(&msg.message), &msg.message.payload);
        let Ok((frame, event)) = decoded else {
            // Not ours to handle, ever: acknowledged so it is not redelivered.
            let _ = msg.ack().await;
            return None;
        };
        if !self.accept(&frame) {
            let _ = msg.ack().await;
            return None;
        }
        let event = remote(frame, event, durable_seq, redelivered);
        let mut dispatch = manager.clone().sync_notify_owned(event);
        if futures::poll!(dispatch.as_mut()).is_ready() {
            let _ = msg.ack().await;
            return None;
        }
        Some(Box::pin(async move {
            if dispatch.await.is_ok() {
                let _ = msg.ack().await;
            }
        }))
    }
}

fn remote<E>(
    frame: Frame,
    event: E,
    durable_seq: Option<u64>,
    redelivered: bool,
) -> RemoteEvent<E> {
    RemoteEvent {
        origin: frame.origin,
        incarnation: frame.incarnation,
        seq: frame.seq,
        durable_seq,
        redelivered,
        sync: frame.sync,
        event,
    }
}

fn tag(msg: &Message) -> Option<&str> {
    msg.headers.as_ref()?.get(TYPE_HEADER).map(|v| v.as_str())
}

async fn answer(node: &Node, to: Option<String>, reply: &MirrorReply) {
    let Some(to) = to else { return };
    let bytes = encode(reply).unwrap_or_default();
    let _ = node.client().publish(to, Bytes::from(bytes)).await;
}

async fn run_opt(fut: &mut InFlight) {
    match fut {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

type Dispatch = Pin<Box<dyn Future<Output = Result<(), CallError>> + Send>>;

/// `sync_notify` on an owned handle, so the future is `'static`.
trait SyncOwned<T> {
    fn sync_notify_owned(self, event: T) -> Dispatch;
}

impl<T: Send + 'static> SyncOwned<T> for EventManagerRef<T> {
    fn sync_notify_owned(self, event: T) -> Dispatch {
        Box::pin(async move { self.sync_notify(event).await })
    }
}
