//! Erlang-style processes on tokio: the runtime arbor's behaviours stand on.
//!
//! A **process** is a tokio task with a typed mailbox and a [`Pid`]. It
//! exits with an [`ExitReason`]; a panic inside it becomes its exit reason
//! and the rest of the program keeps running. Processes **link** (a crash
//! propagates both ways), **monitor** (one notification), **trap exits**
//! (exit signals become messages) and register under **names**.
//!
//! ```
//! use arbor_process::{scope, spawn_link, Ctx, ExitReason, Msg, Myself, Process};
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! scope(|mut me: Ctx<()>| async move {
//!     me.trap_exit(true);
//!     let worker = spawn_link(|_: Ctx<()>| async { panic!("boom") });
//!     let Msg::Exit(sig) = me.recv().await else { unreachable!() };
//!     assert_eq!(sig.from, worker.pid());
//!     assert_eq!(sig.reason, ExitReason::Panic("boom".into()));
//! }).await.unwrap();
//! # }
//! ```
//!
//! # Which type do I need?
//!
//! - A long-lived service with calls and casts: implement [`GenServer`],
//!   talk to it with [`ServerRef`].
//! - Just a state behind closures: [`Agent`].
//! - A hand-written receive loop: [`spawn`] / [`spawn_link`] with [`Ctx`],
//!   talk to it with [`ProcessRef`].
//! - The test or `main` task as a process: [`scope`].
//! - A name, a link or `trap_exit` from the start on: [`StartOpts`], taken
//!   by [`spawn_opts`] and by every `start_opts` in arbor.
//! - What every handle can do (`pid`, `is_alive`, `exit_reason`, `wait`,
//!   `exit`, `kill`, `stop`, `stop_with`, `handle`): the trait
//!   [`Process`]; the untyped handle is [`ProcessHandle`].
//! - What a process can do to itself (`pid`, `trap_exit`, `link`,
//!   `monitor`, ...): the trait [`Myself`], on [`Ctx`] and [`ServerCtx`].
//! - Signals by pid: [`exit`], [`kill`], [`is_alive`], [`wait_exit`];
//!   names: [`register`], [`whereis`]; a live process's links, monitors
//!   and mailbox length: [`process_info`].
//!
//! # Guarantees
//!
//! 1. Messages from one sender arrive in send order. Exit messages and
//!    monitor notifications share the receiver's one ordered queue.
//! 2. When a process exits, its name is released first, then its state
//!    (everything its body owned) is dropped, then linked processes are
//!    signalled, then monitors fire, and last `wait()` / [`wait_exit`]
//!    return: nobody learns of a death before the dead process's resources
//!    are released (a restarted child finds its predecessor's port free),
//!    and a process that observed a death through a monitor or `wait()`
//!    and then messages a linked supervisor finds the death already queued
//!    there.
//! 3. [`kill`] is untrappable and takes effect at the target's next
//!    suspension point, whatever it awaits. A non-trapping process dies from
//!    a non-`normal` exit signal the same way.
//! 4. An exited process leaves no link, monitor, name or timer behind; its
//!    pending callers get [`CallError::Exited`] with its reason.
//! 5. A call to oneself fails at once with [`CallError::CallingSelf`]; a
//!    reply after the caller's timeout is dropped.
//!
//! # Cost on the message path
//!
//! A cast is one append to the process's mailbox queue under a short lock
//! (no allocation of its own: the queue's buffers are reused), and the
//! process takes everything queued in one swap. The queue is created by
//! the first message a process is sent, so a process that never gets one
//! does not pay for it. A call adds one
//! `oneshot` channel (one allocation), as the hand-written tokio version
//! does. System messages (exits, monitor notifications) are boxed so the
//! mailbox slot stays the size of the user's message.
#![doc(test(attr(deny(warnings))))]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod agent;
mod by_pid;
mod call;
mod catch_unwind;
mod cell;
mod control;
#[cfg(test)]
mod counting_waker;
mod ctx;
mod current;
mod error;
mod exit_reason;
pub mod gen_server;
mod handle;
mod id_hash;
mod mailbox;
#[cfg(feature = "metrics")]
pub mod metrics;
mod myself;
mod name;
mod pid;
mod process_info;
mod process_ref;
mod queue;
mod registry;
mod scope;
mod signal;
mod spawn;
mod start_opts;
mod sync;

pub use agent::Agent;
pub use by_pid::{exit, is_alive, kill, process_count, wait_exit};
pub use ctx::{Ctx, TimerRef};
pub use current::current;
pub use error::{CallError, RegisterError, SendError, StartError, StopError};
pub use exit_reason::ExitReason;
pub use gen_server::{Control, DEFAULT_CALL_TIMEOUT, GenServer, ReplyTo, ServerCtx, ServerRef};
#[doc(hidden)]
pub use handle::await_stopped;
pub use handle::{Process, ProcessHandle, ProcessWrapper};
pub use id_hash::{IdBuildHasher, IdHasher};
pub use myself::Myself;
pub use name::Name;
pub use pid::{MonitorRef, ParsePidError, Pid};
pub use process_info::{ProcessInfo, process_info};
pub use process_ref::ProcessRef;
pub use registry::{register, registered, unregister, whereis};
pub use scope::scope;
pub use signal::{Down, ExitSignal, Msg};
pub use spawn::{spawn, spawn_link, spawn_opts};
pub use start_opts::StartOpts;
