//! [`AckedEventStream`]: events told apart by how they were sent, each
//! synchronous one with its [`Ack`](crate::Ack), and the drops at the bound.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;

use super::StreamError;
use super::delivery::Delivery;
use super::receiver::{Receiver, State};
use crate::HandlerId;

/// A stream of a manager's events that hands each synchronous event's
/// acknowledgement to the consumer; see
/// [`EventManagerRef::acked_stream`](crate::EventManagerRef::acked_stream).
///
/// Items are `Ok(`[`Delivery`]`)`; an abnormal end yields one `Err` and
/// then `None`. Asking for the next item acknowledges nothing.
#[must_use = "an event stream yields nothing unless polled, and dropping it removes its handler"]
pub struct AckedEventStream<E: Send + 'static> {
    pub(super) recv: Receiver<E>,
}

impl<E: Send + 'static> AckedEventStream<E> {
    /// The subscription handler's id, as listed by `which_handlers`.
    pub fn id(&self) -> &HandlerId {
        &self.recv.id
    }

    /// `notify` events dropped at [`StreamOpts::notify_bound`](crate::StreamOpts::notify_bound)
    /// since the stream was created, reported or not yet (always 0 without
    /// a bound). The `Lagged` items add up to this once they are all taken.
    pub fn dropped(&self) -> u64 {
        self.recv.dropped()
    }
}

impl<E: Send + 'static> Stream for AckedEventStream<E> {
    type Item = Result<Delivery<E>, StreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().recv.poll_next(cx)
    }
}

impl<E: Send + 'static> futures::stream::FusedStream for AckedEventStream<E> {
    fn is_terminated(&self) -> bool {
        self.recv.state != State::Subscribed
    }
}

impl<E: Send + 'static> fmt::Debug for AckedEventStream<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckedEventStream")
            .field("id", &self.recv.id)
            .field("state", &self.recv.state)
            .field("dropped", &self.dropped())
            .finish()
    }
}
