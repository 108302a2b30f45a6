use std::fmt;
use std::time::Duration;

use tokio::sync::oneshot;

use super::{DEFAULT_CALL_TIMEOUT, GenServer, ServerMsg};
use crate::call::{await_reply, check_not_self};
use crate::error::{CallError, StopError};
use crate::process::ProcessRef;
use crate::signal::Envelope;
use crate::{ExitReason, Pid};

/// A typed handle to a running [`GenServer`]. Cheap to clone; holds no
/// server state.
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
    /// The server's pid.
    pub fn pid(&self) -> Pid {
        self.inner.pid()
    }

    /// Calls the server with the default 5 s timeout.
    ///
    /// # Errors
    ///
    /// [`CallError::Timeout`], [`CallError::NoProcess`],
    /// [`CallError::Exited`] (the server exited before replying),
    /// [`CallError::CallingSelf`] (returned at once, never a deadlock).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after the request was queued leaves the request
    /// in the server's mailbox; the server handles it and its reply is dropped.
    ///
    /// # OTP
    ///
    /// `gen_server:call/2`, errors as values instead of caller exits.
    pub fn call(
        &self,
        request: S::Call,
    ) -> impl Future<Output = Result<S::Reply, CallError>> + Send + '_ {
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
    pub async fn call_timeout(
        &self,
        request: S::Call,
        timeout: Duration,
    ) -> Result<S::Reply, CallError> {
        check_not_self(&self.inner.cell)?;
        let (tx, rx) = oneshot::channel();
        if !self
            .inner
            .enqueue(Envelope::User(ServerMsg::Call(request, tx)))
        {
            return Err(CallError::NoProcess);
        }
        await_reply!(rx, &self.inner.cell, timeout)
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
    /// [`Info::Message`](super::Info::Message). Dropped if the server is dead.
    ///
    /// # OTP
    ///
    /// `Pid ! Msg`.
    pub fn send_info(&self, message: S::Info) {
        self.inner.enqueue(Envelope::User(ServerMsg::Info(message)));
    }

    /// Stops the server with `reason` (its `terminate` runs) and waits up to
    /// `timeout` for it to exit.
    ///
    /// # Errors
    ///
    /// [`StopError::NoProcess`] if it was not alive, [`StopError::Timeout`]
    /// (it keeps running), [`StopError::Exited`] if it exited with another
    /// reason, [`StopError::CallingSelf`] from inside the server.
    ///
    /// # OTP
    ///
    /// `gen_server:stop/3`.
    pub async fn stop(&self, reason: ExitReason, timeout: Duration) -> Result<(), StopError> {
        if check_not_self(&self.inner.cell).is_err() {
            return Err(StopError::CallingSelf);
        }
        let msg = Envelope::User(ServerMsg::Stop(Box::new(reason.clone())));
        if !self.inner.enqueue(msg) {
            return Err(StopError::NoProcess);
        }
        match tokio::time::timeout(timeout, self.inner.wait()).await {
            Ok(r) if r == reason => Ok(()),
            Ok(other) => Err(StopError::Exited(other)),
            Err(_) => Err(StopError::Timeout),
        }
    }

    /// An untyped handle to the server process (e.g. for a supervisor's
    /// start function).
    pub fn process(&self) -> crate::ProcessHandle {
        self.inner.process()
    }

    /// Whether the server is alive.
    pub fn is_alive(&self) -> bool {
        self.inner.is_alive()
    }

    /// The exit reason, once the server has exited (and every process
    /// linked to or monitoring it has its exit signal queued).
    pub fn exit_reason(&self) -> Option<ExitReason> {
        self.inner.exit_reason()
    }

    /// Waits for the server to exit and returns its reason.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn wait(&self) -> ExitReason {
        self.inner.wait().await
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
