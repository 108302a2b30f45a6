//! What an [`AckedEventStream`](crate::AckedEventStream) yields:
//! [`Delivery`], and the [`Ack`] of a synchronous event.

use std::fmt;

use tokio::sync::oneshot;

/// One item of an [`AckedEventStream`](crate::AckedEventStream).
///
/// # Examples
///
/// ```
/// use arbor_genevent::{Delivery, EventManager, StreamOpts};
/// use futures::StreamExt;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let mgr = EventManager::<u32>::start().await.unwrap();
/// let mut events = mgr.acked_stream(StreamOpts::default()).await.unwrap();
/// mgr.notify(1);
/// let synced = tokio::spawn({
///     let mgr = mgr.clone();
///     async move { mgr.sync_notify(2).await }
/// });
/// let Some(Ok(Delivery::Notify(1))) = events.next().await else { panic!() };
/// let Some(Ok(Delivery::Sync(2, ack))) = events.next().await else { panic!() };
/// ack.fire(); // only now can the manager's sync_notify(2) return
/// synced.await.unwrap().unwrap();
/// # }
/// ```
#[derive(Debug)]
pub enum Delivery<E> {
    /// An event sent with `notify`: nobody waits for it.
    Notify(E),
    /// An event sent with `sync_notify`: the manager (and so the caller of
    /// `sync_notify`) waits until the [`Ack`] is fired or dropped, and
    /// dispatches nothing else meanwhile.
    Sync(E, Ack),
    /// This many `notify` events were dropped here at the stream's
    /// [`notify_bound`](crate::StreamOpts::notify_bound): they came after
    /// the items before this one and before the items after it.
    Lagged(u64),
}

impl<E> Delivery<E> {
    /// The event, if this is one (`None` for `Lagged`).
    pub fn event(&self) -> Option<&E> {
        match self {
            Delivery::Notify(e) | Delivery::Sync(e, _) => Some(e),
            Delivery::Lagged(_) => None,
        }
    }
}

/// The acknowledgement a synchronous event waits for: firing it, or
/// dropping it, tells the manager this consumer processed the event.
///
/// An `Ack` is independent of its stream: it can be moved to another task
/// and fired later, also after the stream was dropped. Dropping counts as
/// processed so that a consumer that panics or is cancelled cannot wedge
/// the manager; fire explicitly to say so.
#[must_use = "the manager waits until the ack is fired or dropped; dropping it at once acknowledges immediately"]
pub struct Ack(pub(super) oneshot::Sender<()>);

impl Ack {
    /// Acknowledges the event: the manager goes on with its other streams
    /// and then returns from `sync_notify`. Never blocks.
    pub fn fire(self) {
        let _ = self.0.send(());
    }

    /// Whether the manager still waits for this ack (`false` once the
    /// manager was killed, for example).
    pub fn is_awaited(&self) -> bool {
        !self.0.is_closed()
    }
}

impl fmt::Debug for Ack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ack")
            .field("awaited", &self.is_awaited())
            .finish()
    }
}
