//! A process's mailbox: a queue (`queue.rs`) created by the first message
//! sent to the process rather than when it is spawned.
//!
//! A supervisor with 100k mostly idle children would otherwise create (and
//! later free) 100k queues that never hold a message (docs/performance.md,
//! "Design notes"). So a cell starts with a [`MailboxSlot::Unborn`] slot
//! that knows how to make the typed queue; the first sender (a typed
//! handle, a link or monitor signal, or the process asking for its own
//! handle) opens it. A process already waiting in `recv` left its waker in
//! the slot; the waker moves into the new queue, so the first message put
//! in the queue wakes the process (opening alone does not: the process
//! would wake to an empty queue), and it then takes the receiver.
//!
//! After that the message path is the same as with an eager queue: each
//! handle caches its sender, and the process owns its receiver. What the
//! first message costs extra is one lock of the cell.

use std::any::Any;
use std::sync::{Arc, OnceLock};
use std::task::Waker;

use crate::queue::{self, Shared};
use crate::signal::{Envelope, Sys};

pub(crate) type Tx<M> = queue::Tx<Envelope<M>>;
pub(crate) type Rx<M> = queue::Rx<Envelope<M>>;

/// A typed handle's sender: known when the handle was made from an open
/// mailbox (found by pid or name, or cloned from a handle that has one),
/// else filled by the handle's first send, which may open the mailbox.
///
/// Not a plain `OnceLock`: filling one (what `OnceLock::from` and cloning
/// a filled one do) runs `Once`'s state machine on every `from_pid` and
/// every clone of a handle.
pub(crate) enum SenderSlot<M> {
    Ready(Tx<M>),
    Lazy(OnceLock<Tx<M>>),
}

impl<M> SenderSlot<M> {
    /// An empty slot, for a handle made before the mailbox opens.
    pub(crate) fn lazy() -> SenderSlot<M> {
        SenderSlot::Lazy(OnceLock::new())
    }

    /// The sender, if the slot has one.
    #[inline]
    pub(crate) fn get(&self) -> Option<&Tx<M>> {
        match self {
            SenderSlot::Ready(tx) => Some(tx),
            SenderSlot::Lazy(cell) => cell.get(),
        }
    }

    /// The slot's sender, filling an empty slot with `tx`.
    pub(crate) fn get_or_init(&self, tx: Tx<M>) -> &Tx<M> {
        match self {
            SenderSlot::Ready(tx) => tx,
            SenderSlot::Lazy(cell) => cell.get_or_init(|| tx),
        }
    }
}

impl<M> Clone for SenderSlot<M> {
    fn clone(&self) -> Self {
        match self.get() {
            Some(tx) => SenderSlot::Ready(tx.clone()),
            None => SenderSlot::lazy(),
        }
    }
}

/// The type-erased queue a cell holds once the mailbox is open: system
/// messages go through it, and typed handles found by pid or name
/// downcast it to the process's message type.
pub(crate) trait SysSink: Any + Send + Sync {
    /// Enqueues a system message (dropped if the receiver is closed).
    fn push(&self, sys: Box<Sys>);
    /// Closes the queue and drops what is queued.
    fn close(&self);
    /// Messages waiting in the queue (`Shared::queued`), for sampling.
    fn depth(&self) -> usize;
}

impl<M: Send + 'static> SysSink for Shared<Envelope<M>> {
    fn push(&self, sys: Box<Sys>) {
        let _ = self.send(Envelope::Sys(sys));
    }
    fn close(&self) {
        self.close_and_drain();
    }
    fn depth(&self) -> usize {
        self.queued()
    }
}

/// Makes the typed mailbox of a process with messages `M`; `waiter` (the
/// process, waiting in `recv`) is woken by its first message.
pub(crate) fn open<M: Send + 'static>(waiter: Option<Waker>) -> Arc<dyn SysSink> {
    Shared::<Envelope<M>>::new(waiter)
}

/// The typed queue of `sink`, if the process's messages are of type `M`.
fn typed<M: Send + 'static>(sink: &Arc<dyn SysSink>) -> Option<Arc<Shared<Envelope<M>>>> {
    let any: Arc<dyn Any + Send + Sync> = sink.clone();
    any.downcast().ok()
}

/// An open mailbox: the queue, and whether the process took its receiver.
/// A queue whose receiver the process never took (it exited before asking
/// for a message) is closed and drained when the slot is dropped at exit,
/// as the process's own receiver does when its context is dropped.
pub(crate) struct Open {
    sink: Arc<dyn SysSink>,
    rx_taken: bool,
}

impl Drop for Open {
    fn drop(&mut self) {
        if !self.rx_taken {
            self.sink.close();
        }
    }
}

/// The mailbox as the cell holds it, under the cell's lock.
pub(crate) enum MailboxSlot {
    /// Nothing was sent yet. `open` makes the mailbox; `waiter` is the
    /// process's waker while it waits in `recv` for one.
    Unborn {
        open: fn(Option<Waker>) -> Arc<dyn SysSink>,
        waiter: Option<Waker>,
    },
    Open(Open),
    /// Exit processing took the mailbox: nothing is delivered any more.
    Closed,
}

impl MailboxSlot {
    /// Messages waiting in the open queue; 0 when unborn or closed.
    pub(crate) fn depth(&self) -> usize {
        match self {
            MailboxSlot::Open(open) => open.sink.depth(),
            _ => 0,
        }
    }

    /// The open mailbox, creating it if nothing was sent yet (the waiting
    /// process's waker moves into it); `None` once closed.
    pub(crate) fn open(&mut self) -> Option<&Arc<dyn SysSink>> {
        if let MailboxSlot::Unborn { open, waiter } = self {
            let sink = open(waiter.take());
            *self = MailboxSlot::Open(Open {
                sink,
                rx_taken: false,
            });
        }
        match self {
            MailboxSlot::Open(open) => Some(&open.sink),
            _ => None,
        }
    }

    /// The process's receiver if its mailbox is open and the receiver not
    /// yet taken. While the mailbox is unborn, `waiter` (when given) is
    /// kept to be woken by the first message.
    pub(crate) fn claim<M: Send + 'static>(&mut self, waiter: Option<&Waker>) -> Option<Rx<M>> {
        match self {
            MailboxSlot::Unborn { waiter: slot, .. } => {
                if let Some(w) = waiter {
                    queue::keep_waker(slot, w);
                }
                None
            }
            MailboxSlot::Open(open) if !open.rx_taken => {
                let queue = typed::<M>(&open.sink)?;
                open.rx_taken = true;
                Some(queue.receiver())
            }
            MailboxSlot::Open(_) | MailboxSlot::Closed => None,
        }
    }

    /// A sender of type `M`, creating the mailbox; `None` once closed or if
    /// the process's messages have another type.
    pub(crate) fn sender<M: Send + 'static>(&mut self) -> Option<Tx<M>> {
        typed::<M>(self.open()?).map(Shared::into_sender)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
