//! [`RemoteEventStream`]: a topic's events as a `futures::Stream`, with
//! every loss reported in place as [`RemoteItem::Lagged`].

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use arbor_genevent::{Ack, AckedEventStream, Delivery, StreamError, StreamOpts};
use futures::Stream;

use super::error::EventsError;
use super::mirror::Mirror;
use super::order::{Order, Seen};
use super::{EventTopic, RemoteEvent};
use crate::node::Node;
use crate::wire::Wire;

/// One item of a [`RemoteEventStream`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteItem<E> {
    /// An event.
    Event(RemoteEvent<E>),
    /// This many events were lost just here: dropped by an origin's
    /// bridge, by the network (core NATS drops for a slow subscriber), or
    /// at this stream's `notify_bound`.
    Lagged(u64),
}

/// A stream of a topic's events on this node, read from the node's
/// mirror. Items are `Ok(RemoteItem)`; an abnormal end yields one `Err`.
///
/// On the core levels nothing waits for the consumer: a consumer that
/// falls behind its `notify_bound` loses events and is told so with
/// [`RemoteItem::Lagged`] before the next event. On
/// [`Level::Durable`](crate::Level::Durable) every event waits until the consumer asks for
/// the next one, and the node's durable consumer takes no more than
/// `max_ack_pending` meanwhile: real backpressure up to JetStream.
#[must_use = "a stream yields nothing unless polled, and dropping it unsubscribes"]
pub struct RemoteEventStream<E: Send + 'static> {
    inner: AckedEventStream<RemoteEvent<E>>,
    pending_ack: Option<Ack>,
    held: Option<(RemoteEvent<E>, Option<Ack>)>,
    order: Order,
    /// Drops reported by the local stream whose gaps have not yet shown in
    /// an event's `seq` (so they are not reported twice).
    credit: u64,
}

// Nothing is pinned structurally: the inner stream is polled through
// `Pin::new`, and events are moved in and out of `held` by value.
impl<E: Send + 'static> Unpin for RemoteEventStream<E> {}

impl<E: Send + 'static> fmt::Debug for RemoteEventStream<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteEventStream")
            .field("id", self.inner.id())
            .finish()
    }
}

impl<E: Wire + Clone + Sync> Mirror<E> {
    /// A stream of this mirror's events (a subscription handler on its
    /// manager). `opts.notify_bound` bounds what waits for the consumer on
    /// the core levels.
    ///
    /// # Errors
    ///
    /// [`EventsError::Manager`] if the mirror has ended.
    pub async fn stream(&self, opts: StreamOpts) -> Result<RemoteEventStream<E>, EventsError> {
        let inner = self
            .manager()
            .acked_stream(opts)
            .await
            .map_err(EventsError::Manager)?;
        Ok(RemoteEventStream {
            inner,
            pending_ack: None,
            held: None,
            order: Order::default(),
            credit: 0,
        })
    }
}

impl Node {
    /// A stream of `topic`'s events, from this node's mirror (subscribing
    /// if needed; see [`Node::subscribe_events`]).
    ///
    /// # Errors
    ///
    /// As [`Node::subscribe_events`] and [`Mirror::stream`].
    pub async fn remote_event_stream<E: Wire + Clone + Sync>(
        &self,
        topic: &EventTopic<E>,
        opts: StreamOpts,
    ) -> Result<RemoteEventStream<E>, EventsError> {
        self.subscribe_events(topic).await?.stream(opts).await
    }
}

impl<E: Send + 'static> RemoteEventStream<E> {
    /// An event, or first the loss its `seq` reveals.
    fn event(&mut self, event: RemoteEvent<E>, ack: Option<Ack>) -> Option<RemoteItem<E>> {
        let lost = match self
            .order
            .accept(&event.origin, event.incarnation, event.seq)
        {
            Seen::New { lost } => lost,
            Seen::Duplicate => return None,
        };
        let known = lost.min(self.credit);
        self.credit -= known;
        let lagged = lost - known;
        if lagged > 0 {
            self.held = Some((event, ack));
            return Some(RemoteItem::Lagged(lagged));
        }
        self.pending_ack = ack;
        Some(RemoteItem::Event(event))
    }
}

impl<E: Send + 'static> Stream for RemoteEventStream<E> {
    type Item = Result<RemoteItem<E>, StreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        // Asking for the next item acknowledges the previous one.
        if let Some(ack) = this.pending_ack.take() {
            ack.fire();
        }
        if let Some((event, ack)) = this.held.take() {
            this.pending_ack = ack;
            return Poll::Ready(Some(Ok(RemoteItem::Event(event))));
        }
        loop {
            let item = match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(d))) => d,
            };
            let out = match item {
                Delivery::Notify(e) => this.event(e, None),
                Delivery::Sync(e, ack) => this.event(e, Some(ack)),
                Delivery::Lagged(k) => {
                    this.credit += k;
                    Some(RemoteItem::Lagged(k))
                }
            };
            if let Some(out) = out {
                return Poll::Ready(Some(Ok(out)));
            }
        }
    }
}
