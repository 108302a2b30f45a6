//! The GenServer behaviour: a process that owns a state and serves calls
//! (request → reply), casts (fire and forget) and info messages (exit
//! signals, monitor notifications, timers, plain messages).
//!
//! Implement [`GenServer`] for the state type, start it with
//! [`GenServer::start`] or [`GenServer::start_link`], talk to it through
//! the returned [`ServerRef`].
//!
//! Each call request carries its own reply port, [`ReplyTo<R>`], typed by
//! what that request answers: the server's `Call` type is an enum whose
//! variants end in a `ReplyTo`, and a variant's constructor is the request
//! (`server.call(Call::Get)`), so the compiler checks every reply against
//! its request and no call site matches replies it cannot get.

mod ctx;
mod message;
mod server;
mod server_ref;

use std::future::Future;

pub use crate::call::{DEFAULT_CALL_TIMEOUT, ReplyTo};
pub use crate::control::Control;
pub use ctx::ServerCtx;
pub use server_ref::ServerRef;

pub(crate) use message::ServerMsg;

use crate::ExitReason;
use crate::error::StartError;
use crate::signal::Msg;
use crate::start_opts::StartOpts;

/// A server process's behaviour. The implementing type is the server's
/// state: [`GenServer::init`] builds it, the callbacks get `&mut self`.
///
/// A panic in a callback is a crash: `terminate` runs with
/// [`ExitReason::Panic`] and the process exits with that reason.
///
/// # Examples
///
/// ```
/// use arbor_process::{Control, GenServer, ReplyTo, ServerCtx};
///
/// struct Counter(u64);
///
/// enum Call {
///     Get(ReplyTo<u64>),
///     Add(u64, ReplyTo<u64>),
/// }
///
/// impl GenServer for Counter {
///     type Call = Call;
///     type Cast = u64;
///     type Info = ();
///
///     async fn handle_call(&mut self, call: Call, _ctx: &mut ServerCtx<Self>) -> Control {
///         match call {
///             Call::Get(reply) => reply.reply(self.0),
///             Call::Add(n, reply) => {
///                 self.0 += n;
///                 reply.reply(self.0)
///             }
///         }
///     }
///     async fn handle_cast(&mut self, n: u64, _ctx: &mut ServerCtx<Self>) -> Control {
///         self.0 += n;
///         Control::Continue
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let counter = Counter(40).start().await.unwrap();
/// counter.cast(1);
/// let n: u64 = counter.call(|r| Call::Add(1, r)).await.unwrap();
/// assert_eq!(n, 42);
/// assert_eq!(counter.call(Call::Get).await, Ok(42));
/// # }
/// ```
///
/// # OTP
///
/// `gen_server`. Differences: init failure returns the error with no exit
/// signal to the caller (OTP 26+); a call to self fails at once with
/// [`CallError::CallingSelf`](crate::CallError::CallingSelf).
pub trait GenServer: Sized + Send + 'static {
    /// Call requests: usually an enum whose variants each end in the
    /// [`ReplyTo`] of their own reply type.
    type Call: Send + 'static;
    /// Cast messages.
    type Cast: Send + 'static;
    /// Plain messages ([`Msg::Message`] in `handle_info`) and timer payloads.
    type Info: Send + 'static;

    /// Runs inside the new process before `start` returns, with the state
    /// the server was started with: the place to open what the state needs
    /// from inside the process (monitors, trap_exit, timers, resources).
    /// An `Err` (or a panic) makes `start` return [`StartError::Init`] and
    /// leaves no process behind. The default does nothing.
    ///
    /// # OTP
    ///
    /// `init/1`, with the state built by the caller (the value `start` is
    /// called on) instead of from `Args`: a restart calls the start
    /// function again, which builds a fresh value.
    fn init(
        &mut self,
        ctx: &mut ServerCtx<Self>,
    ) -> impl Future<Output = Result<(), ExitReason>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Handles a call: reply through the request's [`ReplyTo`], now (before
    /// returning) or later (keep the `ReplyTo`, reply from anywhere). Stopping
    /// without replying makes the caller's call fail with the exit reason.
    /// The default stops the server with reason `bad_call`, as an Erlang
    /// server without a matching clause would crash.
    fn handle_call(
        &mut self,
        request: Self::Call,
        ctx: &mut ServerCtx<Self>,
    ) -> impl Future<Output = Control> + Send {
        let _ = (request, ctx);
        async { Control::Stop(ExitReason::custom("bad_call")) }
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

    /// Handles everything else, in mailbox order: plain messages sent with
    /// [`ServerRef::send_info`] and timers from [`ServerCtx::send_after`]
    /// ([`Msg::Message`]), exit signals from linked processes other than the
    /// parent when the server traps exits ([`Msg::Exit`]; the parent's stops
    /// the server), monitor notifications ([`Msg::Down`]). The default
    /// ignores the message (logged at debug level), as `gen_server`'s
    /// default `handle_info` does.
    fn handle_info(
        &mut self,
        info: Msg<Self::Info>,
        ctx: &mut ServerCtx<Self>,
    ) -> impl Future<Output = Control> + Send {
        let _ = ctx;
        let kind = match &info {
            Msg::Message(_) => "message",
            Msg::Exit(_) => "exit",
            Msg::Down(_) => "down",
        };
        tracing::debug!(kind, "gen_server: unhandled info");
        async { Control::Continue }
    }

    /// Runs when the server stops: after a callback returns `Stop`, after a
    /// callback panics, on [`stop`](crate::Process::stop), and on the parent's exit
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

    /// Starts a server process with this value as its state, not linked
    /// to the caller.
    ///
    /// # Errors
    ///
    /// See [`StartError`].
    ///
    /// # OTP
    ///
    /// `gen_server:start/3`.
    fn start(self) -> impl Future<Output = Result<ServerRef<Self>, StartError>> + Send {
        server::start(self, StartOpts::new())
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
    fn start_link(self) -> impl Future<Output = Result<ServerRef<Self>, StartError>> + Send {
        server::start(self, StartOpts::new().link())
    }

    /// Starts the server with options (name, link, trap_exit).
    ///
    /// # Errors
    ///
    /// See [`StartError`]; a taken name gives
    /// [`StartError::AlreadyStarted`] with the holder's pid.
    fn start_opts(
        self,
        opts: StartOpts,
    ) -> impl Future<Output = Result<ServerRef<Self>, StartError>> + Send {
        server::start(self, opts)
    }
}
