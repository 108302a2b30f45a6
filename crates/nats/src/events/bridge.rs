//! The sending half of an export: numbers every event of the manager's
//! acked stream and sends it at the topic's level (events invariants 1
//! and 4).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arbor_genevent::Ack;
use async_nats::{HeaderMap, RequestErrorKind};
use bytes::Bytes;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::error::{MirrorError, MirrorFailure};
use super::frame::{self, Frame, MirrorReply};
use super::subscribers::Subscribers;
use super::{EventTopic, Level, durable};
use crate::node::Node;
use crate::peers::Peers;
use crate::wire::{NodeId, TYPE_HEADER, Wire, decode, encode};

/// What the export agent, its bridge and the export handle share.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) subscribers: Mutex<Subscribers>,
    /// The failures of the next synchronous event go here (set by
    /// `ExportedEvents::sync_notify` while it holds `sync_lock`).
    pub(crate) report: Mutex<Option<oneshot::Sender<Vec<MirrorFailure>>>>,
    pub(crate) sync_lock: tokio::sync::Mutex<()>,
    pub(crate) published: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) sync_failures: AtomicU64,
    pub(crate) retries: AtomicU64,
}

/// The bridge's settings and counter.
pub(crate) struct Bridge {
    node: Node,
    topic: Arc<str>,
    level: Level,
    tag: &'static str,
    seq: u64,
    shared: Arc<Shared>,
    sync_timeout: Duration,
    retry_for: Option<Duration>,
    forget_after: Duration,
    broadcast: String,
    durable: String,
}

impl Bridge {
    pub(crate) fn new<E: Wire + Clone + Sync>(
        node: &Node,
        topic: &EventTopic<E>,
        shared: Arc<Shared>,
    ) -> Bridge {
        Bridge {
            node: node.clone(),
            topic: Arc::clone(&topic.name),
            level: topic.level,
            tag: E::TAG,
            seq: 0,
            shared,
            sync_timeout: topic.sync_timeout,
            retry_for: topic.retry_for,
            forget_after: topic.forget_after,
            broadcast: frame::broadcast(node, &topic.name),
            durable: frame::durable(node, &topic.name, node.name()),
        }
    }

    /// `k` events were dropped at the bound: they take `seq` numbers, so
    /// every receiver sees the gap (invariant 1).
    pub(crate) fn lagged(&mut self, k: u64) {
        self.seq += k;
        self.shared.dropped.fetch_add(k, Ordering::Relaxed);
        tracing::debug!(target: "arbor::nats", topic = %self.topic, dropped = k, "event bridge dropped notify events at its bound");
    }

    /// Numbers and encodes one event; `None` (a counted gap) if it does
    /// not encode.
    fn frame<E: Wire>(&mut self, event: &E, sync: bool) -> Option<(u64, Bytes, HeaderMap)> {
        self.seq += 1;
        let seq = self.seq;
        let encoded = encode(event).and_then(|body| {
            encode(&Frame {
                origin: self.node.name().clone(),
                incarnation: self.node.incarnation(),
                seq,
                sync,
                body,
            })
        });
        match encoded {
            Ok(bytes) => {
                let mut headers = HeaderMap::new();
                headers.insert(TYPE_HEADER, self.tag);
                if self.level == Level::Durable {
                    let id = durable::msg_id(self.node.name(), self.node.incarnation(), seq);
                    headers.insert("Nats-Msg-Id", id.as_str());
                }
                Some((seq, Bytes::from(bytes), headers))
            }
            Err(e) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: "arbor::nats", topic = %self.topic, error = %e, "event does not encode; dropped");
                None
            }
        }
    }

    /// Sends a `notify` event: one core publish, or (durable) stored in
    /// JetStream before the next event is taken.
    pub(crate) async fn notify<E: Wire>(&mut self, event: &E) {
        let Some((_, payload, headers)) = self.frame(event, false) else {
            return;
        };
        if self.level == Level::Durable {
            durable::publish(self.node.jetstream(), &self.durable, headers, payload).await;
        } else if let Err(e) = self
            .node
            .client()
            .publish_with_headers(self.broadcast.clone(), headers, payload)
            .await
        {
            tracing::debug!(target: "arbor::nats", topic = %self.topic, error = %e, "event publish failed");
        }
        self.shared.published.fetch_add(1, Ordering::Relaxed);
    }

    /// Sends a `sync_notify` event; the returned future fires `ack` when
    /// the level's condition holds (invariant 4) and reports the failures.
    pub(crate) fn sync<E: Wire>(&mut self, event: &E, ack: Ack) -> BoxFuture<'static, ()> {
        let framed = self.frame(event, true);
        let node = self.node.clone();
        let shared = Arc::clone(&self.shared);
        let level = self.level;
        let broadcast = self.broadcast.clone();
        let durable_subject = self.durable.clone();
        let target = MirrorTarget {
            topic: Arc::clone(&self.topic),
            timeout: self.sync_timeout,
            retry_for: self.retry_for,
        };
        let forget_after = self.forget_after;
        Box::pin(async move {
            let failures = match framed {
                None => Vec::new(),
                Some((_, payload, headers)) => match level {
                    Level::Notify => {
                        let _ = node
                            .client()
                            .publish_with_headers(broadcast, headers, payload)
                            .await;
                        Vec::new()
                    }
                    Level::Durable => {
                        durable::publish(node.jetstream(), &durable_subject, headers, payload)
                            .await;
                        Vec::new()
                    }
                    Level::SyncNotify => {
                        let who = shared
                            .subscribers
                            .lock()
                            .targets(Instant::now(), forget_after);
                        let all = who.into_iter().map(|n| {
                            target.deliver(&node, &shared, n, headers.clone(), payload.clone())
                        });
                        futures::future::join_all(all)
                            .await
                            .into_iter()
                            .flatten()
                            .collect()
                    }
                },
            };
            shared.published.fetch_add(1, Ordering::Relaxed);
            if !failures.is_empty() {
                shared.sync_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: "arbor::nats", ?failures, "sync_notify not confirmed by every subscribing node");
            }
            if let Some(tx) = shared.report.lock().take() {
                let _ = tx.send(failures);
            }
            ack.fire();
        })
    }
}

/// How a synchronous frame reaches one mirror.
struct MirrorTarget {
    topic: Arc<str>,
    timeout: Duration,
    retry_for: Option<Duration>,
}

impl MirrorTarget {
    /// Delivers to `who`'s mirror, retrying (same frame, so the same
    /// `seq`) while the topic allows and `who` is still a subscriber.
    async fn deliver(
        &self,
        node: &Node,
        shared: &Shared,
        who: NodeId,
        headers: HeaderMap,
        payload: Bytes,
    ) -> Option<MirrorFailure> {
        let subject = frame::mirror(node, &self.topic, &who);
        let deadline = self.retry_for.map(|d| Instant::now() + d);
        let mut delay = Duration::from_millis(10);
        loop {
            let reason = match self
                .attempt(node, &who, &subject, headers.clone(), payload.clone())
                .await
            {
                Ok(()) => return None,
                Err(reason) => reason,
            };
            let retry = deadline.is_some_and(|d| Instant::now() < d)
                && reason != MirrorError::TypeMismatch
                && shared.subscribers.lock().contains(&who);
            if !retry {
                return Some(MirrorFailure { node: who, reason });
            }
            shared.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(200));
        }
    }

    async fn attempt(
        &self,
        node: &Node,
        who: &NodeId,
        subject: &str,
        headers: HeaderMap,
        payload: Bytes,
    ) -> Result<(), MirrorError> {
        let request = async_nats::Request::new()
            .headers(headers)
            .payload(payload)
            .timeout(Some(self.timeout));
        let send = node.client().send_request(subject.to_owned(), request);
        let peer = node.extension::<Peers>().get(who);
        let result = match peer {
            Some(peer) => tokio::select! {
                r = send => r,
                () = peer.down.cancelled() => return Err(MirrorError::NoConnection),
            },
            None => send.await,
        };
        let msg = result.map_err(|e| match e.kind() {
            RequestErrorKind::TimedOut => MirrorError::Timeout,
            _ => MirrorError::NoConnection,
        })?;
        match decode::<MirrorReply>(&msg.payload) {
            Ok(MirrorReply::Ok) => Ok(()),
            Ok(MirrorReply::Decode { .. }) | Err(_) => Err(MirrorError::TypeMismatch),
        }
    }
}
