//! [`EventStream`]: the events alone, each synchronous one acknowledged
//! when the consumer asks for the next item (stream invariant 2).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;

use super::StreamError;
use super::delivery::{Ack, Delivery};
use super::receiver::{Receiver, State};
use crate::HandlerId;

/// A stream of a manager's events; see [`EventManagerRef::stream`](crate::EventManagerRef::stream).
///
/// Items are `Ok(event)`; an abnormal end yields one `Err` and then `None`.
/// A synchronous event is acknowledged when the consumer asks for the next
/// item or drops the stream; to acknowledge it elsewhere, use an
/// [`AckedEventStream`](crate::AckedEventStream).
#[must_use = "an event stream yields nothing unless polled, and dropping it removes its handler"]
pub struct EventStream<E: Send + 'static> {
    pub(super) recv: Receiver<E>,
    pub(super) pending_ack: Option<Ack>,
}

impl<E: Send + 'static> EventStream<E> {
    /// The subscription handler's id, as listed by `which_handlers`.
    pub fn id(&self) -> &HandlerId {
        &self.recv.id
    }

    /// `notify` events dropped at [`StreamOpts::notify_bound`](crate::StreamOpts::notify_bound)
    /// since the stream was created (always 0 without a bound). This stream
    /// yields events only; the drops are seen here.
    pub fn dropped(&self) -> u64 {
        self.recv.dropped()
    }
}

impl<E: Send + 'static> Stream for EventStream<E> {
    type Item = Result<E, StreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        // Invariant 2: asking for the next item acknowledges the previous one.
        if let Some(ack) = this.pending_ack.take() {
            ack.fire();
        }
        loop {
            return match this.recv.poll_next(cx) {
                Poll::Ready(Some(Ok(Delivery::Notify(event)))) => Poll::Ready(Some(Ok(event))),
                Poll::Ready(Some(Ok(Delivery::Sync(event, ack)))) => {
                    this.pending_ack = Some(ack);
                    Poll::Ready(Some(Ok(event)))
                }
                Poll::Ready(Some(Ok(Delivery::Lagged(_)))) => continue,
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

impl<E: Send + 'static> futures::stream::FusedStream for EventStream<E> {
    fn is_terminated(&self) -> bool {
        self.recv.state != State::Subscribed && self.pending_ack.is_none()
    }
}

impl<E: Send + 'static> fmt::Debug for EventStream<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("id", &self.recv.id)
            .field("state", &self.recv.state)
            .finish()
    }
}
