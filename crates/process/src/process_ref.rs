//! [`ProcessRef`]: a typed handle to a process, for sending it messages
//! and calling it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::Pid;
use crate::call::{DEFAULT_CALL_TIMEOUT, ReplyTo, await_reply, check_not_self};
use crate::cell::{self, ProcessCell};
use crate::error::{CallError, SendError};
use crate::handle::{Process, ProcessHandle};
use crate::mailbox::{SenderSlot, Tx};
use crate::signal::Envelope;

/// A typed handle to a process: send it messages of type `M`. Its pid,
/// liveness and exit come with [`Process`]. Cheap to clone.
pub struct ProcessRef<M> {
    pub(crate) handle: ProcessHandle,
    /// The sender, cached on first use (the first message opens the
    /// process's mailbox).
    tx: SenderSlot<M>,
}

impl<M> Clone for ProcessRef<M> {
    fn clone(&self) -> Self {
        ProcessRef {
            handle: self.handle.clone(),
            tx: self.tx.clone(),
        }
    }
}

impl<M> ProcessRef<M> {
    /// A handle to the process of `handle` with the sender slot `tx` (lazy
    /// until the first message, or ready).
    pub(crate) fn from_parts(handle: ProcessHandle, tx: SenderSlot<M>) -> ProcessRef<M> {
        ProcessRef { handle, tx }
    }
}

impl<M: Send + 'static> ProcessRef<M> {
    /// Sends a message. Messages from one sender arrive in send order.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message if the process has exited.
    ///
    /// # OTP
    ///
    /// `Pid ! Msg` (which never fails in Erlang; here the message comes back).
    pub fn send(&self, msg: M) -> Result<(), SendError<M>> {
        let Some(tx) = self.sender() else {
            return Err(SendError(msg));
        };
        tx.send(Envelope::User(msg)).map_err(|e| match e {
            Envelope::User(m) => SendError(m),
            Envelope::Sys(_) => unreachable!("only user envelopes are sent here"),
        })
    }

    /// Enqueues an envelope: `false`, the envelope dropped, if the process
    /// has exited. The one send path of calls, casts and stops.
    #[inline]
    pub(crate) fn enqueue(&self, env: Envelope<M>) -> bool {
        let Some(tx) = self.sender() else {
            return false;
        };
        // `if let`, not `is_ok()`: the success path then has no drop of
        // the send's result to call.
        if let Err(unsent) = tx.send(env) {
            drop(unsent);
            return false;
        }
        true
    }

    /// The sender to the process's mailbox, opening it on a handle's first
    /// use; `None` once the process is exiting.
    #[inline]
    fn sender(&self) -> Option<&Tx<M>> {
        match self.tx.get() {
            Some(tx) => Some(tx),
            None => self.sender_slow(),
        }
    }

    /// [`ProcessRef::sender`] for a handle without one yet: it gets one
    /// from the cell (opening the mailbox) and keeps it.
    #[cold]
    #[inline(never)]
    fn sender_slow(&self) -> Option<&Tx<M>> {
        let tx = self.handle.cell.sender::<M>()?;
        Some(self.tx.get_or_init(tx))
    }

    /// Sends a request built by `make` around a fresh [`ReplyTo`] and waits
    /// up to 5 s for the reply: the call protocol of
    /// [`ServerRef::call`](crate::ServerRef::call), for processes with their
    /// own receive loop (supervisors, event managers).
    ///
    /// # Errors
    ///
    /// As [`ProcessRef::call_timeout`].
    ///
    /// # Cancel safety
    ///
    /// As [`ProcessRef::call_timeout`].
    #[inline]
    pub fn call<R: 'static>(
        &self,
        make: impl FnOnce(ReplyTo<R>) -> M,
    ) -> impl Future<Output = Result<R, CallError>> + '_ {
        self.call_timeout(make, DEFAULT_CALL_TIMEOUT)
    }

    /// [`ProcessRef::call`] with a timeout (`Duration::MAX` = forever).
    ///
    /// # Errors
    ///
    /// [`CallError::CallingSelf`] at once if this is the calling process;
    /// [`CallError::NoProcess`] if it has exited; [`CallError::Exited`] if it
    /// exits before replying; [`CallError::Timeout`].
    ///
    /// # Cancel safety
    ///
    /// The request is queued when this is called; dropping the future
    /// leaves it queued, and the reply is dropped.
    #[inline]
    pub fn call_timeout<R: 'static>(
        &self,
        make: impl FnOnce(ReplyTo<R>) -> M,
        timeout: Duration,
    ) -> impl Future<Output = Result<R, CallError>> + '_ {
        // Queued now, not at the first poll (as `ServerRef::call_timeout`).
        let cell = &self.handle.cell;
        let sent = check_not_self(cell).and_then(|()| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            match self.enqueue(Envelope::User(make(ReplyTo(tx)))) {
                true => Ok(rx),
                false => Err(CallError::NoProcess),
            }
        });
        async move {
            let rx = sent?;
            await_reply!(rx, cell, timeout)
        }
    }

    /// A handle to the live process `pid` if its messages are of type `M`;
    /// `None` if it is dead or has another message type.
    pub fn from_pid(pid: Pid) -> Option<ProcessRef<M>> {
        Self::typed(cell::lookup(pid)?)
    }

    /// Looks up a process registered under `name` whose messages are of type
    /// `M`. `None` if the name is free or the process has another message type.
    pub fn whereis(name: &str) -> Option<ProcessRef<M>> {
        Self::typed(cell::whereis_cell(name)?)
    }

    /// A handle to `cell` if its messages are of type `M` and it is not
    /// exiting (the type is checked on the mailbox, which this opens).
    fn typed(cell: Arc<ProcessCell>) -> Option<ProcessRef<M>> {
        let tx = cell.sender::<M>()?;
        Some(ProcessRef {
            handle: ProcessHandle::new(cell),
            tx: SenderSlot::Ready(tx),
        })
    }
}

impl<M> Process for ProcessRef<M> {
    #[inline]
    fn handle(&self) -> &ProcessHandle {
        &self.handle
    }
}

impl<M> fmt::Debug for ProcessRef<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ProcessRef")
            .field(&self.handle.cell.pid)
            .finish()
    }
}
