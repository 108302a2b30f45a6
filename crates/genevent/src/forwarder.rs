//! [`Forwarder`]: a ready handler that forwards every event.

use std::fmt;

use arbor_process::ProcessRef;
use tokio::sync::mpsc;

use crate::{EventHandler, HandlerCtx, HandlerError, Step};

type Sink<E> = Box<dyn FnMut(&E) -> bool + Send>;

/// A handler that sends a clone of every event to a process or a tokio
/// channel: the seed chapter's `Forwarder`. When the receiver is gone the
/// handler removes itself ([`Step::Remove`]).
///
/// # Examples
///
/// ```
/// use arbor_genevent::{EventManager, Forwarder, HandlerId};
/// use tokio::sync::mpsc;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let mgr = EventManager::<(&str, &str)>::start_link().await.unwrap();
/// let (tx, mut rx) = mpsc::unbounded_channel();
/// mgr.add_handler(HandlerId::of::<Forwarder<(&str, &str)>>(), Forwarder::to_channel(tx))
///     .await
///     .unwrap();
/// mgr.sync_notify(("hello", "world")).await.unwrap();
/// assert_eq!(rx.try_recv().unwrap(), ("hello", "world"));
/// # }
/// ```
///
/// # OTP
///
/// The guide's `Forwarder` (`send parent, event`).
pub struct Forwarder<E> {
    sink: Sink<E>,
}

impl<E: Clone + Send + 'static> Forwarder<E> {
    /// Forwards to the mailbox of `target` as `M::from(event)`.
    pub fn to_process<M>(target: &ProcessRef<M>) -> Forwarder<E>
    where
        M: From<E> + Send + 'static,
    {
        let target = target.clone();
        Forwarder {
            sink: Box::new(move |e: &E| target.send(M::from(e.clone())).is_ok()),
        }
    }

    /// Forwards to a tokio channel.
    pub fn to_channel(tx: mpsc::UnboundedSender<E>) -> Forwarder<E> {
        Forwarder {
            sink: Box::new(move |e: &E| tx.send(e.clone()).is_ok()),
        }
    }
}

impl<E: Clone + Send + 'static> EventHandler<E> for Forwarder<E> {
    #[inline]
    fn handle_event(&mut self, event: &E, _: &HandlerCtx<'_, E>) -> Result<Step<E>, HandlerError> {
        if (self.sink)(event) {
            Ok(Step::Keep)
        } else {
            Ok(Step::Remove)
        }
    }
}

impl<E> fmt::Debug for Forwarder<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Forwarder(..)")
    }
}
