//! The handler half of a stream, living in the manager: clones each event
//! into the consumer's channel, or drops a `notify` one at the bound.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::Feed;
use super::bound::Bound;
use crate::manager::handler::{Acks, Slot};
use crate::{HandlerCtx, HandlerError, HandlerInfo, HandlerReply, Payload, RemoveReason, Step};

pub(super) struct Subscription<E> {
    pub(super) tx: mpsc::UnboundedSender<Feed<E>>,
    pub(super) bound: Option<Arc<Bound>>,
    /// A drop happened since the last send: the next send goes through the
    /// lag lock and reports it (bound invariant 2). Only with a bound.
    pub(super) lagging: bool,
}

impl<E> Subscription<E> {
    /// Sends `feed`, first reporting the drops before it; `false` if the
    /// consumer is gone.
    fn send(&mut self, feed: Feed<E>) -> bool {
        match &self.bound {
            Some(bound) if self.lagging => {
                self.lagging = false;
                let lag = bound.lag();
                let dropped = lag.take();
                if dropped > 0 {
                    let _ = self.tx.send(Feed::Lagged(dropped));
                }
                self.tx.send(feed).is_ok()
            }
            _ => self.tx.send(feed).is_ok(),
        }
    }
}

impl<E: Clone + Send + 'static> Slot<E> for Subscription<E> {
    fn init(
        &mut self,
        _: Option<Option<Result<Payload, Arc<str>>>>,
        _: &HandlerCtx<'_, E>,
    ) -> Result<(), HandlerError> {
        Ok(())
    }

    fn event(
        &mut self,
        event: &E,
        acks: Option<&mut Acks>,
        _: &HandlerCtx<'_, E>,
    ) -> Result<Step<E>, HandlerError> {
        let sent = match acks {
            None => match &self.bound {
                None => self.tx.send(Feed::Event(event.clone(), None)).is_ok(),
                Some(bound) if bound.reserve() => self.send(Feed::Event(event.clone(), None)),
                Some(bound) => {
                    // Stream invariant 4: dropped uncloned, counted.
                    bound.drop_one();
                    self.lagging = true;
                    !self.tx.is_closed()
                }
            },
            Some(acks) => {
                // Stream invariant 4: synchronous items are never dropped.
                let (ack, done) = oneshot::channel();
                let sent = self.send(Feed::Event(event.clone(), Some(ack)));
                if sent {
                    acks.push(done);
                }
                sent
            }
        };
        // Stream invariant 1: a consumer that is gone is unsubscribed here too.
        Ok(if sent { Step::Keep } else { Step::Remove })
    }

    fn call(&mut self, _: Payload, _: &HandlerCtx<'_, E>) -> Result<HandlerReply<E>, HandlerError> {
        Err(HandlerError::msg("bad_call"))
    }

    fn info(&mut self, _: &HandlerInfo, _: &HandlerCtx<'_, E>) -> Result<Step<E>, HandlerError> {
        Ok(Step::Keep)
    }

    fn terminate(&mut self, reason: &RemoveReason, _: &HandlerCtx<'_, E>) -> Payload {
        // Drops before the end are reported before it (stream invariant 5).
        let _ = self.send(Feed::End(reason.clone()));
        Payload::unit()
    }
}
