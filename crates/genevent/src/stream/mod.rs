//! Event streams: [`EventStream`] (events alone) and [`AckedEventStream`]
//! (each [`Delivery`] says `notify` or `sync_notify`, the latter with its
//! [`Ack`]), their [`StreamOpts`] and [`StreamError`].
//!
//! A stream is a subscription handler inside the manager
//! (`subscription.rs`) plus a channel to the consumer (`receiver.rs`, read
//! by `plain.rs` and `acked.rs`), with an optional bound shared by both
//! halves (`bound.rs`). Invariants:
//! 1. The subscription is removed exactly once: by the manager (stop, swap,
//!    `remove_handler`, failed send), which then sends [`Feed::End`], or by
//!    the stream's `Drop` (unless it saw `End`).
//! 2. A synchronous event carries an ack sender, and the manager's
//!    `sync_notify` waits until it is fired or dropped. An [`EventStream`]
//!    fires it when the consumer asks for the next item (or drops the
//!    stream); an [`AckedEventStream`] hands it to the consumer as an
//!    [`Ack`], to fire or drop whenever and wherever it likes, also after
//!    dropping the stream. Acks still queued are dropped with the stream.
//! 3. `Subscription::init` always succeeds and no owner is given, so adding
//!    a subscription fails only with `AlreadyPresent` or `Manager`.
//! 4. With [`StreamOpts::notify_bound`]`(n)`, at most `n` `notify` items are
//!    queued (sent by the manager, not yet yielded to the consumer); a
//!    `notify` event that finds `n` queued is dropped (never cloned) and
//!    counted. Synchronous items are never dropped and do not count.
//! 5. Every dropped event is counted once in `dropped()` and reported once
//!    in a [`Delivery::Lagged`] item, placed after every item queued before
//!    the drop and before every item queued after it (so before the next
//!    event, or before the end). An [`EventStream`] skips `Lagged` items.
//! 6. Without a bound the subscription does what it always did (one clone
//!    and one channel send per event); a manager without streams does no
//!    stream work at all.

mod acked;
mod bound;
mod delivery;
mod plain;
mod receiver;
mod subscription;

pub use acked::AckedEventStream;
pub use delivery::{Ack, Delivery};
pub use plain::EventStream;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arbor_process::{CallError, ExitReason};
use tokio::sync::{mpsc, oneshot};

use self::bound::Bound;
use self::receiver::{Receiver, State};
use self::subscription::Subscription;
use crate::{AddError, EventManagerRef, HandlerId, RemoveReason};
use arbor_process::Process;

/// Options of [`EventManagerRef::stream`] and
/// [`EventManagerRef::acked_stream`].
#[derive(Debug, Clone, Default)]
pub struct StreamOpts {
    /// Give up when no event arrives within this time after the consumer
    /// asks for one: the stream yields [`StreamError::Timeout`] and ends.
    /// `None` (the default): wait forever.
    pub timeout: Option<Duration>,
    /// At most this many `notify` events wait for the consumer; more are
    /// dropped and counted (see [`notify_bound`](StreamOpts::notify_bound)).
    /// `None` (the default): unbounded.
    pub notify_bound: Option<usize>,
}

impl StreamOpts {
    /// Per-item timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Bounds the `notify` events waiting for this stream's consumer: when
    /// `bound` of them were sent to the stream and not yet yielded, the
    /// manager drops further `notify` events for this stream (other
    /// handlers and streams still get them) and counts them. `sync_notify`
    /// events are never dropped: they make the manager wait, as without a
    /// bound. A bound of 0 drops every `notify` event.
    ///
    /// The drops are seen in `dropped()` on both stream kinds, and in order
    /// as [`Delivery::Lagged`] items on an [`AckedEventStream`].
    ///
    /// # Examples
    ///
    /// ```
    /// use arbor_genevent::{Delivery, EventManager, StreamOpts};
    /// use arbor_process::Process;
    /// use futures::StreamExt;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mgr = EventManager::<u32>::start().await.unwrap();
    /// let opts = StreamOpts::default().notify_bound(2);
    /// let events = mgr.acked_stream(opts).await.unwrap();
    /// for n in 1..=5 {
    ///     mgr.notify(n);
    /// }
    /// mgr.stop().await.unwrap(); // the consumer read nothing meanwhile
    /// let got: Vec<_> = events.map(|d| d.unwrap()).collect().await;
    /// assert!(matches!(
    ///     got[..],
    ///     [Delivery::Notify(1), Delivery::Notify(2), Delivery::Lagged(3)]
    /// ));
    /// # }
    /// ```
    pub fn notify_bound(mut self, bound: usize) -> Self {
        self.notify_bound = Some(bound);
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
    /// Invariant 5: this many `notify` events were dropped here.
    Lagged(u64),
    End(RemoveReason),
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
        Ok(EventStream {
            recv: self.subscribe(opts).await?,
            pending_ack: None,
        })
    }

    /// Subscribes like [`stream`](EventManagerRef::stream), but each item
    /// says how the event was sent: [`Delivery::Notify`], or
    /// [`Delivery::Sync`] with the [`Ack`] the manager's `sync_notify`
    /// waits for. Asking for the next item acknowledges nothing, so a
    /// consumer can pass `notify` events on without waiting and hold an
    /// ack until the work the event started is done (a bridge to other
    /// nodes fires it when every remote handler ran). While an ack is held
    /// the manager dispatches nothing else, so this stream's next item
    /// waits for it. With [`StreamOpts::notify_bound`] drops arrive as
    /// [`Delivery::Lagged`] items in order.
    ///
    /// # Errors
    ///
    /// As [`stream`](EventManagerRef::stream).
    ///
    /// # Cancel safety
    ///
    /// As [`stream`](EventManagerRef::stream).
    ///
    /// # Examples
    ///
    /// ```
    /// use arbor_genevent::{Delivery, EventManager, StreamOpts};
    /// use futures::StreamExt;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mgr = EventManager::<&str>::start().await.unwrap();
    /// let mut events = mgr.acked_stream(StreamOpts::default()).await.unwrap();
    /// mgr.notify("typed");
    /// let synced = tokio::spawn({
    ///     let mgr = mgr.clone();
    ///     async move { mgr.sync_notify("saved").await }
    /// });
    /// let Some(Ok(Delivery::Notify("typed"))) = events.next().await else { panic!() };
    /// let Some(Ok(Delivery::Sync("saved", ack))) = events.next().await else { panic!() };
    /// tokio::task::yield_now().await;
    /// assert!(!synced.is_finished()); // the manager waits for the ack
    /// ack.fire();
    /// synced.await.unwrap().unwrap();
    /// # }
    /// ```
    ///
    /// # OTP
    ///
    /// None: Elixir's stream acknowledges when the consumer asks for the
    /// next item, which [`stream`](EventManagerRef::stream) keeps.
    pub async fn acked_stream(&self, opts: StreamOpts) -> Result<AckedEventStream<E>, CallError> {
        Ok(AckedEventStream {
            recv: self.subscribe(opts).await?,
        })
    }

    async fn subscribe(&self, opts: StreamOpts) -> Result<Receiver<E>, CallError> {
        let bound = opts.notify_bound.map(|n| Arc::new(Bound::new(n)));
        // A user may have installed a handler under a stream id: take the
        // next number then.
        let (id, rx) = loop {
            let n = NEXT_STREAM.fetch_add(1, Ordering::Relaxed);
            let id = HandlerId::new("EventStream").tag(n.to_string());
            let (tx, rx) = mpsc::unbounded_channel();
            let subscription = Subscription {
                tx,
                bound: bound.clone(),
                lagging: false,
            };
            match self
                .add_slot(id.clone(), Box::new(subscription), None)
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
        Ok(Receiver {
            rx,
            bound,
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
