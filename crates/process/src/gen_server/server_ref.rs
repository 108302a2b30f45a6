use std::fmt;
use std::time::Duration;

use tokio::sync::oneshot;

use super::GenServer;
use super::message::ServerMsg;
use crate::ExitReason;
use crate::call::{DEFAULT_CALL_TIMEOUT, ReplyTo, await_reply, check_not_self};
use crate::error::{CallError, StopError};
use crate::handle::{Process, ProcessHandle, await_stopped};
use crate::process_ref::ProcessRef;
use crate::signal::Envelope;

/// A typed handle to a running [`GenServer`]: calls, casts, info messages.
/// Its pid, liveness, exit and stop come with [`Process`]. Cheap to clone;
/// holds no server state.
pub struct ServerRef<S: GenServer> {
    pub(crate) inner: ProcessRef<ServerMsg<S>>,
}

impl<S: GenServer> Clone for ServerRef<S> {
    fn clone(&self) -> Self {
        ServerRef {
            inner: self.inner.clone(),
        }
    }
}

impl<S: GenServer> ServerRef<S> {
    /// Calls the server with the default 5 s timeout. `request` builds the
    /// request around its reply port: usually a variant of the server's
    /// `Call` enum, such as `Call::Get` (a tuple variant is a function from
    /// its fields), or a closure `|r| Call::Add(5, r)`. The reply's type is
    /// the port's.
    ///
    /// # Errors
    ///
    /// [`CallError::Timeout`], [`CallError::NoProcess`],
    /// [`CallError::Exited`] (the server exited before replying),
    /// [`CallError::CallingSelf`] (returned at once, never a deadlock).
    ///
    /// # Cancel safety
    ///
    /// The request is queued when `call` is called, before the future is
    /// first polled. Dropping the future leaves the request in the server's
    /// mailbox; the server handles it and its reply is dropped.
    ///
    /// # OTP
    ///
    /// `gen_server:call/2`, errors as values instead of caller exits.
    #[inline]
    pub fn call<R: Send + 'static>(
        &self,
        request: impl FnOnce(ReplyTo<R>) -> S::Call,
    ) -> impl Future<Output = Result<R, CallError>> + Send + '_ {
        // Not an `async fn`: the call is `call_timeout`'s future itself, one
        // state machine fewer to build and poll on every call.
        self.call_timeout(request, DEFAULT_CALL_TIMEOUT)
    }

    /// Calls the server; `Duration::MAX` waits forever.
    ///
    /// # Errors
    ///
    /// As [`ServerRef::call`]. After a timeout the server still handles the
    /// request; its late reply is dropped, never delivered as a message.
    ///
    /// # Cancel safety
    ///
    /// As [`ServerRef::call`].
    ///
    /// # OTP
    ///
    /// `gen_server:call/3`.
    #[inline]
    pub fn call_timeout<R: Send + 'static>(
        &self,
        request: impl FnOnce(ReplyTo<R>) -> S::Call,
        timeout: Duration,
    ) -> impl Future<Output = Result<R, CallError>> + Send + '_ {
        // The request is queued now, not at the first poll: the future
        // then holds only the receiver, not the request's builder.
        let cell = &self.inner.handle.cell;
        let sent = check_not_self(cell).and_then(|()| {
            let (tx, rx) = oneshot::channel();
            let call = ServerMsg::Call(request(ReplyTo(tx)));
            match self.inner.enqueue(Envelope::User(call)) {
                true => Ok(rx),
                false => Err(CallError::NoProcess),
            }
        });
        async move {
            let rx = sent?;
            await_reply!(rx, cell, timeout)
        }
    }

    /// Sends a cast. Never blocks and never fails; a cast to a dead server
    /// is dropped.
    ///
    /// # OTP
    ///
    /// `gen_server:cast/2`.
    pub fn cast(&self, message: S::Cast) {
        self.inner.enqueue(Envelope::User(ServerMsg::Cast(message)));
    }

    /// Sends a plain message, handled by `handle_info` as
    /// [`Msg::Message`](crate::Msg::Message). Dropped if the server is dead.
    ///
    /// # OTP
    ///
    /// `Pid ! Msg`.
    pub fn send_info(&self, message: S::Info) {
        self.inner.enqueue(Envelope::User(ServerMsg::Info(message)));
    }

    /// The server registered under `name`, if it is a server of type `S`.
    ///
    /// # OTP
    ///
    /// Addressing a `gen_server` by a locally registered name.
    pub fn whereis(name: &str) -> Option<ServerRef<S>> {
        ProcessRef::whereis(name).map(|inner| ServerRef { inner })
    }
}

impl<S: GenServer> Process for ServerRef<S> {
    #[inline]
    fn handle(&self) -> &ProcessHandle {
        &self.inner.handle
    }

    /// Asks the server to stop: its `terminate` runs with `reason`.
    ///
    /// # Errors
    ///
    /// As [`Process::stop_with`].
    ///
    /// # OTP
    ///
    /// `gen_server:stop/3`.
    async fn stop_with(&self, reason: ExitReason, timeout: Duration) -> Result<(), StopError> {
        if check_not_self(&self.inner.handle.cell).is_err() {
            return Err(StopError::CallingSelf);
        }
        let msg = Envelope::User(ServerMsg::Stop(Box::new(reason.clone())));
        if !self.inner.enqueue(msg) {
            return Err(StopError::NoProcess);
        }
        await_stopped(&self.inner.handle, reason, timeout).await
    }
}

impl<S: GenServer> fmt::Debug for ServerRef<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ServerRef").field(&self.pid()).finish()
    }
}

impl<S: GenServer> PartialEq for ServerRef<S> {
    fn eq(&self, other: &Self) -> bool {
        self.pid() == other.pid()
    }
}

impl<S: GenServer> Eq for ServerRef<S> {}
