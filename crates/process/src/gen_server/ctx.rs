use std::fmt;
use std::time::Duration;

use tokio::sync::oneshot;

use super::{Control, GenServer, ServerMsg, ServerRef};
use crate::Pid;
use crate::handle::ProcessHandle;
use crate::myself::Sealed;
use crate::process::{Ctx, TimerRef};

/// A server's view of itself inside callbacks: timers, its parent, a handle
/// to itself; pid, links, monitors and `trap_exit` through
/// [`Myself`](crate::Myself).
pub struct ServerCtx<S: GenServer> {
    pub(crate) proc: Ctx<ServerMsg<S>>,
    pub(crate) parent: Option<Pid>,
}

impl<S: GenServer> ServerCtx<S> {
    /// A typed handle to this server, to give to others.
    pub fn server_ref(&self) -> ServerRef<S> {
        ServerRef {
            inner: self.proc.process_ref(),
        }
    }

    /// The parent (the process that `start_link`ed this server), if any.
    pub fn parent(&self) -> Option<Pid> {
        self.parent
    }

    /// Delivers `info` to this server as [`Msg::Message`](crate::Msg::Message)
    /// in `handle_info` after `delay`; cancelled when the server exits.
    ///
    /// # OTP
    ///
    /// `erlang:send_after/3` to self.
    pub fn send_after(&mut self, delay: Duration, info: S::Info) -> TimerRef {
        self.proc.send_after(delay, ServerMsg::Info(info))
    }

    /// Cancels a timer: its message if it had not fired, as
    /// [`Ctx::cancel_timer`].
    ///
    /// # OTP
    ///
    /// `erlang:cancel_timer/1`.
    pub fn cancel_timer(&mut self, timer: TimerRef) -> Option<S::Info> {
        match self.proc.cancel_timer(timer)? {
            ServerMsg::Info(info) => Some(info),
            _ => None,
        }
    }

    /// The untyped handle of this server, as [`Ctx::handle`].
    pub fn handle(&self) -> &ProcessHandle {
        self.proc.me()
    }
}

impl<S: GenServer> Sealed for ServerCtx<S> {
    #[inline]
    fn me(&self) -> &ProcessHandle {
        self.proc.me()
    }
}

impl<S: GenServer> fmt::Debug for ServerCtx<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerCtx")
            .field("pid", &self.proc.me().cell.pid)
            .field("parent", &self.parent)
            .finish()
    }
}

/// The reply port of one call: the caller waits for exactly one `R`.
///
/// A call request carries it (the last field of a `Call` enum variant), and
/// the server replies through it, now or later, from anywhere. Dropping it
/// without replying leaves the caller waiting until its timeout, as in
/// Erlang; when the server exits first, the caller gets the exit reason.
///
/// # OTP
///
/// The `From` of `handle_call/3` and `gen_server:reply/2`.
pub struct ReplyTo<R>(pub(crate) oneshot::Sender<R>);

impl<R> ReplyTo<R> {
    /// Sends the reply. If the caller is no longer waiting (it timed out or
    /// was cancelled), the reply is dropped, never delivered late.
    ///
    /// Returns [`Control::Continue`], so that a `handle_call` clause can end
    /// with its reply, as an Erlang clause ends with `{reply, Reply, State}`.
    ///
    /// # OTP
    ///
    /// `gen_server:reply/2`, `{reply, Reply, State}`.
    #[inline]
    pub fn reply(self, reply: R) -> Control {
        let _ = self.0.send(reply);
        Control::Continue
    }

    /// Sends the reply, or gives it back if the caller is no longer waiting.
    ///
    /// # Errors
    ///
    /// `Err(reply)` when the caller timed out or was cancelled.
    #[inline]
    pub fn try_reply(self, reply: R) -> Result<(), R> {
        self.0.send(reply)
    }

    /// Whether the caller is still waiting.
    pub fn is_waiting(&self) -> bool {
        !self.0.is_closed()
    }
}

impl<R> fmt::Debug for ReplyTo<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyTo")
            .field("waiting", &self.is_waiting())
            .finish()
    }
}
