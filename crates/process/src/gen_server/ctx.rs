use std::fmt;
use std::time::Duration;

use super::GenServer;
use super::message::ServerMsg;
use super::server_ref::ServerRef;
use crate::Pid;
use crate::ctx::{Ctx, TimerRef};
use crate::handle::ProcessHandle;
use crate::myself::Sealed;

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
