use std::fmt;
use std::ops::Deref;
use std::time::Duration;

use tokio::sync::oneshot;

use super::{GenServer, ServerMsg, ServerRef};
use crate::Pid;
use crate::process::{Ctx, Myself, TimerRef};

/// A server's view of itself inside callbacks: [`Myself`] (pid, links,
/// monitors, trap_exit) through `Deref`, timers, the parent, and the caller
/// of the call being handled.
pub struct ServerCtx<S: GenServer> {
    pub(crate) proc: Ctx<ServerMsg<S>>,
    pub(crate) caller: Option<ReplyTo<S::Reply>>,
    pub(crate) parent: Option<Pid>,
}

impl<S: GenServer> ServerCtx<S> {
    /// A handle to this server.
    pub fn handle(&self) -> ServerRef<S> {
        ServerRef {
            inner: self.proc.handle(),
        }
    }

    /// The parent (the process that `start_link`ed this server), if any.
    pub fn parent(&self) -> Option<Pid> {
        self.parent
    }

    /// Takes the caller of the call being handled, to reply later (return
    /// [`CallReply::NoReply`](super::CallReply::NoReply)). `None` outside
    /// `handle_call` or if already taken.
    ///
    /// # OTP
    ///
    /// The `From` argument of `handle_call/3` with `{noreply, S}` and
    /// `gen_server:reply/2`.
    pub fn reply_later(&mut self) -> Option<ReplyTo<S::Reply>> {
        self.caller.take()
    }

    /// Delivers `info` to this server as [`Info::Message`](super::Info::Message)
    /// after `delay`; cancelled when the server exits.
    ///
    /// # OTP
    ///
    /// `erlang:send_after/3` to self.
    pub fn send_after(&mut self, delay: Duration, info: S::Info) -> TimerRef {
        self.proc.send_after(delay, ServerMsg::Info(info))
    }

    /// Cancels a timer; `true` if it had not fired.
    pub fn cancel_timer(&mut self, timer: TimerRef) -> bool {
        self.proc.cancel_timer(timer).is_some()
    }
}

impl<S: GenServer> Deref for ServerCtx<S> {
    type Target = Myself;
    fn deref(&self) -> &Myself {
        &self.proc
    }
}

impl<S: GenServer> fmt::Debug for ServerCtx<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerCtx")
            .field("pid", &self.proc.pid())
            .field("parent", &self.parent)
            .finish()
    }
}

/// The caller of a call, to reply to later (see [`ServerCtx::reply_later`]).
pub struct ReplyTo<R>(pub(crate) oneshot::Sender<R>);

impl<R> ReplyTo<R> {
    /// Sends the reply; `false` if the caller is no longer waiting (it timed
    /// out or was cancelled): the reply is dropped, never delivered late.
    ///
    /// # OTP
    ///
    /// `gen_server:reply/2`.
    #[inline]
    pub fn reply(self, reply: R) -> bool {
        self.0.send(reply).is_ok()
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
