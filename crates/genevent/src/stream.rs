//! Event streams: [`EventStream`], [`StreamOpts`], [`StreamError`].
//!
//! A stream is a subscription handler inside the manager plus a channel to
//! the consumer. Invariants:
//! 1. The subscription is removed exactly once: by the manager (stop, swap,
//!    `remove_handler`, failed send), which then sends [`Feed::End`], or by
//!    the stream's `Drop` (unless it saw `End`).
//! 2. A synchronous event carries an ack sender; the consumer drops or fires
//!    it when it asks for the next item (or drops the stream), which
//!    releases the manager.
//! 3. `Subscription::init` always succeeds and no owner is given, so adding
//!    a subscription fails only with `AlreadyPresent` or `Manager`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use arbor_process::{CallError, ExitReason, ProcessHandle};
use futures::Stream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, Sleep};

use crate::manager::handler::{Acks, Slot};
use crate::manager::message::ManagerMsg;
use crate::{
    AddError, EventManagerRef, HandlerCtx, HandlerError, HandlerId, HandlerInfo, HandlerReply,
    Payload, RemoveReason, Step,
};
use arbor_process::Process;

/// Options of [`EventManagerRef::stream`].
#[derive(Debug, Clone, Default)]
pub struct StreamOpts {
    /// Give up when no event arrives within this time after the consumer
    /// asks for one: the stream yields [`StreamError::Timeout`] and ends.
    /// `None` (the default): wait forever.
    pub timeout: Option<Duration>,
}

impl StreamOpts {
    /// Per-item timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// How an event stream ended abnormally. After yielding one, the stream
/// ends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// No event within [`StreamOpts::timeout`].
    #[error("no event within the stream timeout")]
    Timeout,
    /// The manager exited without stopping in order (for example killed):
    /// its exit reason.
    #[error("event manager exited: {0}")]
    ManagerExited(ExitReason),
    /// The subscription handler was removed for this reason (swapped out).
    #[error("stream handler removed: {0}")]
    Removed(RemoveReason),
}

pub(crate) enum Feed<E> {
    Event(E, Option<oneshot::Sender<()>>),
    End(RemoveReason),
}

/// The handler half of a stream, living in the manager.
struct Subscription<E> {
    tx: mpsc::UnboundedSender<Feed<E>>,
}

impl<E: Clone + Send + 'static> Slot<E> for Subscription<E> {
    fn init(
        &mut self,
        _: Option<Option<Result<Payload, std::sync::Arc<str>>>>,
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
            None => self.tx.send(Feed::Event(event.clone(), None)).is_ok(),
            Some(acks) => {
                let (ack, done) = oneshot::channel();
                let sent = self.tx.send(Feed::Event(event.clone(), Some(ack))).is_ok();
                if sent {
                    acks.push(done);
                }
                sent
            }
        };
        // Invariant 1: a consumer that is gone is unsubscribed here too.
        Ok(if sent { Step::Keep } else { Step::Remove })
    }

    fn call(&mut self, _: Payload, _: &HandlerCtx<'_, E>) -> Result<HandlerReply<E>, HandlerError> {
        Err(HandlerError::msg("bad_call"))
    }

    fn info(&mut self, _: &HandlerInfo, _: &HandlerCtx<'_, E>) -> Result<Step<E>, HandlerError> {
        Ok(Step::Keep)
    }

    fn terminate(&mut self, reason: &RemoveReason, _: &HandlerCtx<'_, E>) -> Payload {
        let _ = self.tx.send(Feed::End(reason.clone()));
        Payload::unit()
    }
}

static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

impl<E: Clone + Send + 'static> EventManagerRef<E> {
    /// Subscribes to the manager's events: the returned stream yields every
    /// event dispatched after this returns, as a clone, in dispatch order.
    ///
    /// The subscription is a handler `{EventStream,N}` owned by the stream:
    /// dropping the stream removes it. `notify` only enqueues to the
    /// consumer (unbounded); `sync_notify` returns once the consumer has
    /// taken the event and asked for the next one (or dropped the stream).
    /// A normal `stop` (or `remove_handler` on the stream's id) ends the
    /// stream; a killed manager ends it with
    /// [`StreamError::ManagerExited`].
    ///
    /// # Errors
    ///
    /// [`CallError::NoProcess`] / [`CallError::Exited`] if the manager is
    /// dead; [`CallError::CallingSelf`] from inside one of its handlers.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after the request was queued leaves a
    /// subscription that removes itself at the first event.
    ///
    /// # Examples
    ///
    /// ```
    /// use arbor_genevent::{EventManager, StreamOpts};
    /// use arbor_process::Process;
    /// use futures::StreamExt;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mgr = EventManager::<u32>::start().await.unwrap();
    /// let mut events = mgr.stream(StreamOpts::default()).await.unwrap();
    /// mgr.notify(1);
    /// mgr.notify(2);
    /// assert_eq!(events.next().await, Some(Ok(1)));
    /// assert_eq!(events.next().await, Some(Ok(2)));
    /// mgr.stop().await.unwrap();
    /// assert_eq!(events.next().await, None);
    /// # }
    /// ```
    ///
    /// # OTP
    ///
    /// Elixir 1.x `GenEvent.stream/2` with `timeout:`; items are `Result`s
    /// where Elixir exits the consumer.
    pub async fn stream(&self, opts: StreamOpts) -> Result<EventStream<E>, CallError> {
        // A user may have installed a handler under a stream id: take the
        // next number then.
        let (id, rx) = loop {
            let n = NEXT_STREAM.fetch_add(1, Ordering::Relaxed);
            let id = HandlerId::new("EventStream").tag(n.to_string());
            let (tx, rx) = mpsc::unbounded_channel();
            match self
                .add_slot(id.clone(), Box::new(Subscription { tx }), None)
                .await
            {
                Ok(()) => break (id, rx),
                Err(AddError::AlreadyPresent(_)) => continue,
                Err(AddError::Manager(e)) => return Err(e),
                Err(other) => {
                    unreachable!("invariant 3: a subscription's init cannot fail: {other}")
                }
            }
        };
        Ok(EventStream {
            rx,
            pending_ack: None,
            manager: self.clone(),
            process: self.handle().clone(),
            id,
            timeout: opts.timeout,
            sleep: None,
            armed: false,
            state: State::Subscribed,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Subscribed,
    /// The manager removed the subscription (it sent `End`) or is gone.
    Unsubscribed,
    /// The stream yielded its end; it stays subscribed until dropped only if
    /// it ended by timeout.
    Done,
}

/// A stream of a manager's events; see [`EventManagerRef::stream`].
///
/// Items are `Ok(event)`; an abnormal end yields one `Err` and then `None`.
#[must_use = "an event stream yields nothing unless polled, and dropping it removes its handler"]
pub struct EventStream<E: Send + 'static> {
    rx: mpsc::UnboundedReceiver<Feed<E>>,
    pending_ack: Option<oneshot::Sender<()>>,
    manager: EventManagerRef<E>,
    process: ProcessHandle,
    id: HandlerId,
    timeout: Option<Duration>,
    sleep: Option<Pin<Box<Sleep>>>,
    armed: bool,
    state: State,
}

impl<E: Send + 'static> EventStream<E> {
    /// The subscription handler's id, as listed by `which_handlers`.
    pub fn id(&self) -> &HandlerId {
        &self.id
    }
}

impl<E: Send + 'static> Stream for EventStream<E> {
    type Item = Result<E, StreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        // Invariant 2: asking for the next item acknowledges the previous one.
        if let Some(ack) = this.pending_ack.take() {
            let _ = ack.send(());
        }
        if this.state != State::Subscribed {
            return Poll::Ready(None);
        }
        match this.rx.poll_recv(cx) {
            Poll::Ready(Some(Feed::Event(event, ack))) => {
                this.pending_ack = ack;
                this.armed = false;
                Poll::Ready(Some(Ok(event)))
            }
            Poll::Ready(Some(Feed::End(reason))) => {
                this.state = State::Unsubscribed;
                match reason {
                    RemoveReason::Deleted | RemoveReason::Removed | RemoveReason::Stop => {
                        Poll::Ready(None)
                    }
                    other => Poll::Ready(Some(Err(StreamError::Removed(other)))),
                }
            }
            Poll::Ready(None) => {
                // The manager is gone without an orderly stop; its exit
                // reason is published before its state (our sender) is dropped.
                this.state = State::Unsubscribed;
                let reason = this.process.exit_reason().unwrap_or(ExitReason::NoProc);
                Poll::Ready(Some(Err(StreamError::ManagerExited(reason))))
            }
            Poll::Pending => {
                let Some(timeout) = this.timeout else {
                    return Poll::Pending;
                };
                let deadline = Instant::now() + timeout;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if !this.armed {
                    sleep.as_mut().reset(deadline);
                    this.armed = true;
                }
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.state = State::Done;
                        Poll::Ready(Some(Err(StreamError::Timeout)))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<E: Send + 'static> futures::stream::FusedStream for EventStream<E> {
    fn is_terminated(&self) -> bool {
        self.state != State::Subscribed && self.pending_ack.is_none()
    }
}

impl<E: Send + 'static> Drop for EventStream<E> {
    fn drop(&mut self) {
        if self.state != State::Unsubscribed {
            // Invariant 1. A dead manager drops the message, which is fine.
            let _ = self
                .manager
                .inner
                .send(ManagerMsg::Unsubscribe(Box::new(self.id.clone())));
        }
    }
}

impl<E: Send + 'static> fmt::Debug for EventStream<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("id", &self.id)
            .field("state", &self.state)
            .finish()
    }
}
