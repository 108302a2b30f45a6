//! The node's event outbox: an agent that publishes remote `notify`s in
//! the order they were made, so that `notify` itself never waits (the
//! client's publish is async and may wait for room in its queue).
//!
//! # Invariants
//!
//! 1. Publications from one node leave in the order `send` was called, and
//!    before a request made after a [`Outbox::barrier`].
//! 2. At most [`BOUND`] wait; more are dropped and counted, never silent.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use arbor_process::{Ctx, ExitReason, spawn_link};
use arbor_supervisor::ChildSpec;
use async_nats::HeaderMap;
use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use crate::node::Node;

/// Publications waiting at most (invariant 2).
pub(crate) const BOUND: usize = 65_536;

enum Item {
    Publish(String, HeaderMap, Bytes),
    /// Fired once everything queued before it was handed to the client.
    Barrier(oneshot::Sender<()>),
}

/// The outbox (a node extension).
#[derive(Default)]
pub(crate) struct Outbox {
    tx: Mutex<Option<mpsc::UnboundedSender<Item>>>,
    queued: AtomicUsize,
    dropped: AtomicU64,
}

impl Outbox {
    /// Queues a publication; `false` (counted) at the bound or when the
    /// node is stopped.
    pub(crate) fn send(&self, subject: String, headers: HeaderMap, payload: Bytes) -> bool {
        if self.queued.fetch_add(1, Ordering::SeqCst) >= BOUND {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let sent = self
            .tx
            .lock()
            .as_ref()
            .is_some_and(|tx| tx.send(Item::Publish(subject, headers, payload)).is_ok());
        if !sent {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// Waits until every publication queued before this call was handed
    /// to the client, so a request sent next leaves after them.
    pub(crate) async fn barrier(&self) {
        let (tx, rx) = oneshot::channel();
        let queued = self
            .tx
            .lock()
            .as_ref()
            .is_some_and(|q| q.send(Item::Barrier(tx)).is_ok());
        if queued {
            let _ = rx.await;
        }
    }

    /// Counts a publication dropped before it reached the outbox.
    pub(crate) fn count_drop(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Publications dropped so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The outbox agent's child spec.
pub(crate) fn outbox_spec(node: &Node) -> ChildSpec {
    let node = node.clone();
    ChildSpec::worker("event-outbox", move || {
        let node = node.clone();
        async move {
            let outbox: Arc<Outbox> = node.extension::<Outbox>();
            let (tx, mut rx) = mpsc::unbounded_channel::<Item>();
            // A restarted outbox starts empty: what the last one held is gone.
            outbox.queued.store(0, Ordering::SeqCst);
            *outbox.tx.lock() = Some(tx);
            Ok::<_, ExitReason>(spawn_link(move |mut ctx: Ctx<()>| async move {
                loop {
                    tokio::select! {
                        _ = ctx.recv() => {}
                        item = rx.recv() => {
                            let (subject, headers, payload) = match item {
                                None => return ExitReason::Normal,
                                Some(Item::Barrier(done)) => {
                                    let _ = done.send(());
                                    continue;
                                }
                                Some(Item::Publish(s, h, p)) => (s, h, p),
                            };
                            outbox.queued.fetch_sub(1, Ordering::SeqCst);
                            if let Err(e) = node.client().publish_with_headers(subject, headers, payload).await {
                                outbox.dropped.fetch_add(1, Ordering::Relaxed);
                                tracing::debug!(target: "arbor::nats", error = %e, "event outbox publish failed");
                            }
                        }
                    }
                }
            }))
        }
    })
}
