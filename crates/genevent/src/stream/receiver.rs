//! The consumer half shared by both stream kinds: the channel, the lag
//! report, the per-item timeout, the end, and unsubscribing on drop.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arbor_process::{ExitReason, Process, ProcessHandle};
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio::time::{Instant, Sleep};

use super::bound::Bound;
use super::delivery::{Ack, Delivery};
use super::{Feed, StreamError};
use crate::manager::message::ManagerMsg;
use crate::{EventManagerRef, HandlerId, RemoveReason};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Subscribed,
    /// The manager removed the subscription (it sent `End`) or is gone.
    Unsubscribed,
    /// The stream yielded its end; it stays subscribed until dropped only if
    /// it ended by timeout.
    Done,
}

pub(super) struct Receiver<E: Send + 'static> {
    pub(super) rx: mpsc::UnboundedReceiver<Feed<E>>,
    pub(super) bound: Option<Arc<Bound>>,
    pub(super) manager: EventManagerRef<E>,
    pub(super) process: ProcessHandle,
    pub(super) id: HandlerId,
    pub(super) timeout: Option<Duration>,
    pub(super) sleep: Option<Pin<Box<Sleep>>>,
    pub(super) armed: bool,
    pub(super) state: State,
}

type Item<E> = Option<Result<Delivery<E>, StreamError>>;

impl<E: Send + 'static> Receiver<E> {
    pub(super) fn dropped(&self) -> u64 {
        self.bound.as_ref().map_or(0, |b| b.dropped())
    }

    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Item<E>> {
        if self.state != State::Subscribed {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(feed)) => Poll::Ready(self.feed(feed)),
            Poll::Ready(None) => {
                // Closed and empty: nothing more can be sent, so drops not
                // yet reported came last (a killed manager sends no `End`).
                if let Some(lagged) = self.take_lag() {
                    return Poll::Ready(Some(Ok(lagged)));
                }
                Poll::Ready(self.gone())
            }
            Poll::Pending => {
                if let Some(bound) = &self.bound
                    && bound.lagging(cx.waker())
                {
                    let bound = Arc::clone(bound);
                    // Bound invariant 2: under the lock, an empty channel
                    // means the drops came after everything received.
                    let lag = bound.lag();
                    match self.rx.try_recv() {
                        Ok(feed) => return Poll::Ready(self.feed(feed)),
                        Err(TryRecvError::Empty | TryRecvError::Disconnected) => {
                            let dropped = lag.take();
                            if dropped > 0 {
                                self.armed = false;
                                return Poll::Ready(Some(Ok(Delivery::Lagged(dropped))));
                            }
                        }
                    }
                }
                self.poll_timeout(cx)
            }
        }
    }

    fn feed(&mut self, feed: Feed<E>) -> Item<E> {
        match feed {
            Feed::Event(event, ack) => {
                self.armed = false;
                Some(Ok(match ack {
                    Some(ack) => Delivery::Sync(event, Ack(ack)),
                    None => {
                        if let Some(bound) = &self.bound {
                            bound.taken();
                        }
                        Delivery::Notify(event)
                    }
                }))
            }
            Feed::Lagged(dropped) => {
                self.armed = false;
                Some(Ok(Delivery::Lagged(dropped)))
            }
            Feed::End(reason) => {
                self.state = State::Unsubscribed;
                match reason {
                    RemoveReason::Deleted | RemoveReason::Removed | RemoveReason::Stop => None,
                    other => Some(Err(StreamError::Removed(other))),
                }
            }
        }
    }

    fn take_lag(&mut self) -> Option<Delivery<E>> {
        let dropped = self.bound.as_ref()?.lag().take();
        (dropped > 0).then_some(Delivery::Lagged(dropped))
    }

    /// The manager is gone without an orderly stop; its exit reason is
    /// published before its state (our sender) is dropped.
    fn gone(&mut self) -> Item<E> {
        self.state = State::Unsubscribed;
        let reason = self.process.exit_reason().unwrap_or(ExitReason::NoProc);
        Some(Err(StreamError::ManagerExited(reason)))
    }

    fn poll_timeout(&mut self, cx: &mut Context<'_>) -> Poll<Item<E>> {
        let Some(timeout) = self.timeout else {
            return Poll::Pending;
        };
        let deadline = Instant::now() + timeout;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.armed {
            sleep.as_mut().reset(deadline);
            self.armed = true;
        }
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.state = State::Done;
                Poll::Ready(Some(Err(StreamError::Timeout)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<E: Send + 'static> Drop for Receiver<E> {
    fn drop(&mut self) {
        if self.state != State::Unsubscribed {
            // Stream invariant 1. A dead manager drops the message, which is
            // fine. Queued acks are dropped with `rx` (invariant 2).
            let _ = self
                .manager
                .inner
                .send(ManagerMsg::Unsubscribe(Box::new(self.id.clone())));
        }
    }
}
