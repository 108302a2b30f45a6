//! The GenServer behaviour: a process that owns a state and serves calls
//! (request → reply), casts (fire and forget) and info messages (exit
//! signals, monitor notifications, timers, plain messages).
//!
//! Implement [`GenServer`] for the state type, start it with
//! [`GenServer::start`] or [`GenServer::start_link`], talk to it through
//! the returned [`ServerRef`].

mod ctx;
mod server;
mod server_ref;

use std::future::Future;
use std::time::Duration;

pub use ctx::{ReplyTo, ServerCtx};
pub use server::StartOpts;
pub use server_ref::ServerRef;

pub(crate) use server::ServerMsg;

use crate::ExitReason;
use crate::error::StartError;
use crate::signal::{Down, ExitSignal};

/// The default timeout of [`ServerRef::call`], as in OTP.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What `handle_call` decides.
#[derive(Debug)]
pub enum CallReply<R> {
    /// Reply now and keep running.
    Reply(R),
    /// Do not reply now: the handler took the caller with
    /// [`ServerCtx::reply_later`] and answers later, from anywhere. If the
    /// handle is dropped without replying, the caller times out.
    NoReply,
    /// Stop the server with `reason`, replying first if `reply` is given.
    Stop {
        /// The exit reason.
        reason: ExitReason,
        /// The reply to send before `terminate` runs.
        reply: Option<R>,
    },
}

/// What `handle_cast` and `handle_info` decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Keep running.
    Continue,
    /// Run `terminate` and exit with this reason.
    Stop(ExitReason),
}

/// Messages that are not calls or casts, in mailbox order.
#[derive(Debug)]
pub enum Info<I> {
    /// A message sent with [`ServerRef::send_info`] or a timer from
    /// [`ServerCtx::send_after`].
    Message(I),
    /// An exit signal from a linked process that is not the parent (the
    /// server traps exits). The parent's exit signal never arrives here: it
    /// stops the server.
    Exit(ExitSignal),
    /// A monitored process terminated.
    Down(Down),
}

/// A server process's behaviour. The implementing type is the server's
/// state: [`GenServer::init`] builds it, the callbacks get `&mut self`.
///
/// A panic in a callback is a crash: `terminate` runs with
/// [`ExitReason::Panic`] and the process exits with that reason.
///
/// # Examples
///
/// ```
/// use arbor_process::{CallReply, ExitReason, GenServer, ServerCtx};
///
/// struct Counter(u64);
///
/// impl GenServer for Counter {
///     type Args = u64;
///     type Call = ();
///     type Reply = u64;
///     type Cast = u64;
///     type Info = ();
///
///     async fn init(start: u64, _ctx: &mut ServerCtx<Self>) -> Result<Self, ExitReason> {
///         Ok(Counter(start))
///     }
///     async fn handle_call(&mut self, _req: (), _ctx: &mut ServerCtx<Self>) -> CallReply<u64> {
///         CallReply::Reply(self.0)
///     }
///     async fn handle_cast(&mut self, n: u64, _ctx: &mut ServerCtx<Self>) -> arbor_process::Control {
///         self.0 += n;
///         arbor_process::Control::Continue
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let counter = Counter::start(40).await.unwrap();
/// counter.cast(2);
/// assert_eq!(counter.call(()).await, Ok(42));
/// # }
/// ```
///
/// # OTP
///
/// `gen_server`. Differences: init failure returns the error with no exit
/// signal to the caller (OTP 26+); a call to self fails at once with
/// [`CallError::CallingSelf`](crate::CallError::CallingSelf).
pub trait GenServer: Sized + Send + 'static {
    /// What `init` is given.
    type Args: Send + 'static;
    /// Call requests.
    type Call: Send + 'static;
    /// Call replies.
    type Reply: Send + 'static;
    /// Cast messages.
    type Cast: Send + 'static;
    /// Plain messages ([`Info::Message`]) and timer payloads.
    type Info: Send + 'static;

    /// Builds the state. Runs inside the new process before `start` returns.
    /// An `Err` (or a panic) makes `start` return [`StartError::Init`] and
    /// leaves no process behind.
    fn init(
        args: Self::Args,
        ctx: &mut ServerCtx<Self>,
    ) -> impl Future<Output = Result<Self, ExitReason>> + Send;

    /// Handles a call. The default stops the server with reason `bad_call`,
    /// as an Erlang server without a matching clause would crash.
    fn handle_call(
        &mut self,
        request: Self::Call,
        ctx: &mut ServerCtx<Self>,
    ) -> impl Future<Output = CallReply<Self::Reply>> + Send {
        let _ = (request, ctx);
        async {
            CallReply::Stop {
                reason: ExitReason::custom("bad_call"),
                reply: None,
            }
        }
    }

    /// Handles a cast. The default stops the server with reason `bad_cast`.
    fn handle_cast(
        &mut self,
        message: Self::Cast,
        ctx: &mut ServerCtx<Self>,
    ) -> impl Future<Output = Control> + Send {
        let _ = (message, ctx);
        async { Control::Stop(ExitReason::custom("bad_cast")) }
    }

    /// Handles everything else. The default ignores the message (logged at
    /// debug level), as `gen_server`'s default `handle_info` does.
    fn handle_info(
        &mut self,
        info: Info<Self::Info>,
        ctx: &mut ServerCtx<Self>,
    ) -> impl Future<Output = Control> + Send {
        let _ = ctx;
        let kind = match &info {
            Info::Message(_) => "message",
            Info::Exit(_) => "exit",
            Info::Down(_) => "down",
        };
        tracing::debug!(kind, "gen_server: unhandled info");
        async { Control::Continue }
    }

    /// Runs when the server stops: after a callback returns `Stop`, after a
    /// callback panics, on [`ServerRef::stop`], and on the parent's exit
    /// signal when the server traps exits. It does **not** run when the
    /// process is killed, or dies from an exit signal it does not trap.
    fn terminate(
        &mut self,
        reason: &ExitReason,
        ctx: &mut ServerCtx<Self>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (reason, ctx);
        async {}
    }

    /// Starts the server, not linked to the caller.
    ///
    /// # Errors
    ///
    /// See [`StartError`].
    ///
    /// # OTP
    ///
    /// `gen_server:start/3`.
    fn start(args: Self::Args) -> impl Future<Output = Result<ServerRef<Self>, StartError>> + Send {
        server::start(args, StartOpts::default())
    }

    /// Starts the server linked to the calling process, which becomes its
    /// parent: the parent's exit signal stops the server.
    ///
    /// # Errors
    ///
    /// See [`StartError`]. On error no exit signal reaches the caller.
    ///
    /// # OTP
    ///
    /// `gen_server:start_link/3` (OTP 26+ failure semantics).
    fn start_link(
        args: Self::Args,
    ) -> impl Future<Output = Result<ServerRef<Self>, StartError>> + Send {
        server::start(args, StartOpts::default().link())
    }

    /// Starts the server with options (name, link).
    ///
    /// # Errors
    ///
    /// See [`StartError`]; a taken name gives
    /// [`StartError::AlreadyStarted`] with the holder's pid.
    fn start_opts(
        args: Self::Args,
        opts: StartOpts,
    ) -> impl Future<Output = Result<ServerRef<Self>, StartError>> + Send {
        server::start(args, opts)
    }
}
