//! arbor: Erlang/OTP-style supervision trees for Rust on tokio.
//!
//! One crate for the framework, re-exporting its parts:
//!
//! - [`process`]: processes, links, monitors, exit signals, the name
//!   registry, [`GenServer`](process::GenServer) and [`Agent`](process::Agent);
//! - [`supervisor`]: OTP supervisors (one_for_one, one_for_all,
//!   rest_for_one, simple_one_for_one);
//! - [`genevent`]: event managers with handlers and event streams;
//! - `testkit` (feature `testkit`): probes, crash generators and the
//!   reference model, to property-test your own trees;
//! - `observer` (feature `observer`): a live web page of your supervision
//!   trees, their restarts and a timeline (docs/observer.md).
//!
//! `use arbor::prelude::*` brings what everyday code needs. A counter
//! server with a call and a cast:
//!
//! ```
//! use arbor::prelude::*;
//!
//! struct Counter(u64);
//! struct Get(ReplyTo<u64>);
//!
//! impl GenServer for Counter {
//!     type Call = Get;
//!     type Cast = u64;
//!     type Info = ();
//!     async fn handle_call(&mut self, Get(r): Get, _: &mut ServerCtx<Self>) -> Control {
//!         r.reply(self.0)
//!     }
//!     async fn handle_cast(&mut self, n: u64, _: &mut ServerCtx<Self>) -> Control {
//!         self.0 += n;
//!         Control::Continue
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let counter = Counter(40).start().await.unwrap();
//! counter.cast(2);
//! let n: u64 = counter.call(Get).await.unwrap();
//! assert_eq!(n, 42);
//! counter.stop().await.unwrap();
//! # }
//! ```
//!
//! The same counter under a supervisor, found by name after it crashed:
//!
//! ```
//! use arbor::prelude::*;
//! # struct Counter(u64);
//! # struct Get(ReplyTo<u64>);
//! # impl GenServer for Counter {
//! #     type Call = Get; type Cast = u64; type Info = ();
//! #     async fn handle_call(&mut self, Get(r): Get, _: &mut ServerCtx<Self>) -> Control {
//! #         r.reply(self.0)
//! #     }
//! # }
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let spec = ChildSpec::worker("counter", || {
//!     Counter(0).start_opts(StartOpts::new().name("counter").link())
//! });
//! let sup = Supervisor::one_for_one().child(spec).start().await.unwrap();
//!
//! let first = ServerRef::<Counter>::whereis("counter").unwrap();
//! first.kill();
//! first.wait().await;
//! sup.which_children().await.unwrap(); // answered after the restart
//! let second = ServerRef::<Counter>::whereis("counter").unwrap();
//! assert_ne!(second.pid(), first.pid());
//! assert_eq!(second.call(Get).await, Ok(0)); // a restart starts afresh
//! sup.stop().await.unwrap();
//! # }
//! ```
//!
//! # Guarantees
//!
//! Each crate's documentation lists its own; the ones everything rests on:
//!
//! - Messages from one sender arrive in order, and exit signals share that
//!   one ordered mailbox, so a request sent after observing a death is
//!   handled after the death.
//! - A panic ends only the process it happened in, with
//!   `ExitReason::Panic`; the runtime and other processes keep running.
//! - Calls fail with typed errors (timeout, no process, exited with a
//!   reason, calling self); library code does not panic on bad input.
//! - A stopped tree leaves no process, task, timer or registered name; a
//!   dropped runtime ends the processes that ran on it (reason
//!   `{shutdown, runtime_dropped}`).
//!
//! Start with `docs/architecture.md` in the repository; `docs/from-otp.md`
//! maps OTP and Elixir calls to arbor's; differences from OTP are listed in
//! docs/supervisor.md, docs/genevent.md and docs/conformance.md.
#![doc(test(attr(deny(warnings))))]

pub use arbor_genevent as genevent;
#[cfg(feature = "observer")]
pub use arbor_observer as observer;
pub use arbor_process as process;
/// Process metrics and the sampler of the `metrics` feature
/// (docs/metrics.md); the supervisor and event manager emit theirs on
/// their own.
#[cfg(feature = "metrics")]
pub use arbor_process::metrics;
pub use arbor_supervisor as supervisor;
#[cfg(feature = "testkit")]
pub use arbor_testkit as testkit;

/// The names everyday arbor code uses: `use arbor::prelude::*`.
///
/// Processes and their handles ([`Process`](crate::process::Process) for
/// every handle, [`Myself`](crate::process::Myself) for a process's own
/// context), GenServer and Agent, supervisors and child specs, event
/// managers and handlers, and the errors their calls return.
pub mod prelude {
    pub use arbor_genevent::{
        EventHandler, EventManager, EventManagerRef, FnHandler, Handled, HandlerCtx, HandlerError,
        HandlerId, Step,
    };
    pub use arbor_process::{
        Agent, CallError, Control, Ctx, ExitReason, GenServer, Msg, Myself, Pid, Process,
        ProcessHandle, ProcessRef, ReplyTo, ServerCtx, ServerRef, StartError, StartOpts, StopError,
        scope, spawn, spawn_link, spawn_opts,
    };
    pub use arbor_supervisor::{
        ChildSelector, ChildSpec, IntoStartOutcome, Restart, Shutdown, SimpleSupervisorRef,
        StartOutcome, Strategy, SupFlags, Supervisor, SupervisorRef,
    };
}
