//! [`RemoteEventManagerRef`]: `notify` and `sync_notify` to a manager
//! another node exported.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use async_nats::{HeaderMap, RequestErrorKind};
use bytes::Bytes;

use super::error::SyncNotifyError;
use super::frame::{self, Inbound, InboundReply};
use super::outbox::Outbox;
use crate::node::Node;
use crate::peers::Peers;
use crate::wire::{NodeId, TYPE_HEADER, Wire, decode, encode};

/// A handle to the event manager exported as `name` on node `origin`
/// ([`Node::export_events`](crate::Node::export_events)). Cheap to clone.
///
/// # OTP
///
/// `gen_event:notify({Name, Node}, Event)` and `sync_notify/2` to a
/// remote manager.
pub struct RemoteEventManagerRef<E> {
    node: Node,
    origin: NodeId,
    subject: String,
    _e: PhantomData<fn(E)>,
}

impl<E> Clone for RemoteEventManagerRef<E> {
    fn clone(&self) -> Self {
        RemoteEventManagerRef {
            node: self.node.clone(),
            origin: self.origin.clone(),
            subject: self.subject.clone(),
            _e: PhantomData,
        }
    }
}

impl<E> fmt::Debug for RemoteEventManagerRef<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RemoteEventManagerRef({})", self.subject)
    }
}

impl Node {
    /// A handle to the manager exported as `name` on `origin` (this node
    /// too). Nothing is checked until it is used.
    pub fn remote_event_manager<E: Wire>(
        &self,
        name: &str,
        origin: &NodeId,
    ) -> RemoteEventManagerRef<E> {
        RemoteEventManagerRef {
            node: self.clone(),
            origin: origin.clone(),
            subject: frame::inbound(self, name, origin),
            _e: PhantomData,
        }
    }
}

impl<E: Wire> RemoteEventManagerRef<E> {
    /// The origin node.
    pub fn node(&self) -> &NodeId {
        &self.origin
    }

    /// Sends `event` to the manager and returns at once: never blocks,
    /// never fails. Events from one node arrive in the order they were
    /// sent; an event is lost if the origin is unreachable (as a remote
    /// `notify` in OTP), and dropped (counted in
    /// [`dropped_notifies`](Self::dropped_notifies)) if it does not encode
    /// or the node's outbox is full.
    pub fn notify(&self, event: E) {
        let Some((headers, body)) = self.encode(false, &event) else {
            self.node.extension::<Outbox>().count_drop();
            return;
        };
        self.node
            .extension::<Outbox>()
            .send(self.subject.clone(), headers, body);
    }

    /// Remote `notify`s this node dropped so far (all handles together):
    /// outbox full, node stopped, or an event that did not encode.
    pub fn dropped_notifies(&self) -> u64 {
        self.node.extension::<Outbox>().dropped()
    }

    /// Sends `event` and returns once every handler of the manager ran
    /// (and, for a [`Level::SyncNotify`](crate::Level::SyncNotify) export,
    /// every subscribed mirror's handlers), waiting at most the node's
    /// `call_timeout`.
    ///
    /// # Errors
    ///
    /// As [`sync_notify_timeout`](Self::sync_notify_timeout).
    ///
    /// # Cancel safety
    ///
    /// The event is sent at the first poll; dropping the future later
    /// does not take it back.
    pub async fn sync_notify(&self, event: E) -> Result<(), SyncNotifyError> {
        self.sync_notify_timeout(event, self.node.config().call_timeout)
            .await
    }

    /// [`sync_notify`](Self::sync_notify) waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`SyncNotifyError::NoConnection`] (the origin is not up, or went
    /// down meanwhile), [`SyncNotifyError::NoProcess`] (nothing exported
    /// under that name there, or the manager is gone),
    /// [`SyncNotifyError::Timeout`] (it may have been handled),
    /// [`SyncNotifyError::Partial`] (the origin's handlers ran; the named
    /// subscribing nodes did not confirm), [`SyncNotifyError::Decode`],
    /// [`SyncNotifyError::Encode`], [`SyncNotifyError::PayloadTooLarge`].
    ///
    /// # Cancel safety
    ///
    /// As [`sync_notify`](Self::sync_notify).
    pub async fn sync_notify_timeout(
        &self,
        event: E,
        timeout: Duration,
    ) -> Result<(), SyncNotifyError> {
        let body = encode(&Inbound {
            sync: true,
            body: encode(&event).map_err(SyncNotifyError::Encode)?,
        })
        .map_err(SyncNotifyError::Encode)?;
        let max = self.node.client().max_payload();
        if body.len() + 128 > max {
            return Err(SyncNotifyError::PayloadTooLarge {
                size: body.len(),
                max,
            });
        }
        let no_conn = || SyncNotifyError::NoConnection {
            node: self.origin.clone(),
        };
        let local = self.origin == *self.node.name();
        let peer = self.node.extension::<Peers>().get(&self.origin);
        if self.node.is_stopped() || (!local && peer.is_none()) {
            return Err(no_conn());
        }
        // This node's earlier `notify`s leave first (order per sender).
        self.node.extension::<Outbox>().barrier().await;
        let mut headers = HeaderMap::new();
        headers.insert(TYPE_HEADER, E::TAG);
        let request = async_nats::Request::new()
            .headers(headers)
            .payload(Bytes::from(body))
            .timeout(Some(timeout));
        let send = self
            .node
            .client()
            .send_request(self.subject.clone(), request);
        let result = match peer {
            Some(peer) => tokio::select! {
                r = send => r,
                () = peer.down.cancelled() => return Err(no_conn()),
            },
            None => send.await,
        };
        let msg = result.map_err(|e| match e.kind() {
            RequestErrorKind::TimedOut => SyncNotifyError::Timeout,
            RequestErrorKind::NoResponders => SyncNotifyError::NoProcess,
            _ => no_conn(),
        })?;
        match decode::<InboundReply>(&msg.payload) {
            Ok(InboundReply::Ok) => Ok(()),
            Ok(InboundReply::NoProcess) => Err(SyncNotifyError::NoProcess),
            Ok(InboundReply::Partial(failed)) => Err(SyncNotifyError::Partial { failed }),
            Ok(InboundReply::Decode { expected, got }) => {
                Err(SyncNotifyError::Decode { expected, got })
            }
            Err(e) => Err(SyncNotifyError::Decode {
                expected: "arbor event reply".into(),
                got: format!("undecodable reply: {e}"),
            }),
        }
    }

    fn encode(&self, sync: bool, event: &E) -> Option<(HeaderMap, Bytes)> {
        let body = encode(&Inbound {
            sync,
            body: encode(event).ok()?,
        })
        .ok()?;
        let mut headers = HeaderMap::new();
        headers.insert(TYPE_HEADER, E::TAG);
        Some((headers, Bytes::from(body)))
    }
}
