//! OTP supervisors on the arbor process runtime.
//!
//! A supervisor starts its children in order, watches them through links,
//! restarts them by strategy (`one_for_one`, `one_for_all`, `rest_for_one`,
//! `simple_one_for_one`) and restart type (permanent, transient,
//! temporary), and gives up — stopping every child and exiting with
//! `shutdown` — after more than `intensity` restarts within `period`, so
//! the failure escalates to its own supervisor.
//!
//! ```
//! use arbor_process::{Agent, Process, kill};
//! use arbor_supervisor::{ChildSpec, ChildState, Supervisor};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let sup = Supervisor::one_for_one()
//!     .intensity(3)
//!     .child(ChildSpec::worker("counter", || Agent::start_link(|| 0u32)))
//!     .start()
//!     .await
//!     .unwrap();
//! let before = sup.which_child("counter").await.unwrap().state.pid().unwrap();
//! kill(before);
//! arbor_process::wait_exit(before).await;
//! // The next request is served after the exit was handled: restarted.
//! let after = sup.which_child("counter").await.unwrap().state;
//! assert!(matches!(after, ChildState::Running(p) if p != before));
//! sup.stop().await.unwrap();
//! # }
//! ```
//!
//! # Which type do I need
//!
//! - [`Supervisor`]: flags and child specs (`one_for_one()`,
//!   `one_for_all()`, `rest_for_one()`, `.intensity(n)`, `.period(d)`;
//!   `new(SupFlags)` for every flag); `start`, `start_link`, `start_opts`
//!   give a [`SupervisorRef`], or [`SupStartError`].
//! - [`ChildSpec`]: one static child (`worker`, `worker_with`,
//!   `worker_sync`, `supervisor`, `supervisor_with`), its fields public.
//! - [`ChildTemplate<A>`]: the child spec of a simple_one_for_one
//!   supervisor (`ChildSpec::template`, `temporary_template`,
//!   `template_sync`; [`Supervisor::simple`] → [`SimpleSupervisor<A>`] →
//!   [`SimpleSupervisorRef<A>`], whose `start_child` takes an `A`;
//!   [`SupervisorRef::into_simple`] from an untyped handle).
//! - [`IntoStartOutcome`]: lets a start function return its start call's
//!   result as it is (`|| Agent::start_link(|| 0)`): any `Result` of a
//!   [`Process`](arbor_process::Process) handle and an error that converts
//!   into an [`ExitReason`](arbor_process::ExitReason). [`StartOutcome`]:
//!   the outcome spelled out, for `ignore` or start info.
//!   [`StartedChild`]: what `start_child` and `restart_child` report.
//! - [`ChildSelector`]: an id or a pid, naming a child in a request.
//! - One error per request: [`StartChildError`], [`StartSimpleChildError`],
//!   [`TerminateChildError`], [`RestartChildError`], [`DeleteChildError`],
//!   [`WhichChildError`], [`GetChildSpecError`], [`IntoSimpleError`]; a
//!   request that can only fail as a call returns
//!   [`CallError`](arbor_process::CallError).
//!
//! # Guarantees
//!
//! - The semantics of OTP's `supervisor` (docs/otp/supervisor.md#sup-overview), case by case:
//!   start order and reverse stop order, the restart table, strategy
//!   restarts, the restarting state with queued retries, the shutdown
//!   protocol, significant children, and the API's error values.
//! - One ordered mailbox for requests and child exits: a request sent
//!   after observing a child's death is answered after that death was
//!   handled.
//! - The intensity window uses exact durations (see [`RestartWindow`]).
//! - Start functions run inside the supervisor process and may fail or
//!   panic without taking the supervisor down.
//! - A stopped tree leaves no process behind.
//! - Reports go to `tracing` (target `arbor::supervisor`): child started,
//!   exited with reason, restarting, restart failed, intensity reached,
//!   shutdown errors.
//!
//! Differences from OTP, and why: docs/supervisor.md.

#![doc(test(attr(deny(warnings))))]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod args;
mod auto_shutdown;
mod backoff;
mod child_id;
mod decision;
mod error;
mod flags;
mod info;
mod server;
mod shutdown;
mod simple;
mod spec;
mod start;
mod strategy;
mod supervisor;
mod supervisor_ref;
mod template;
mod tree;
mod window;

pub use auto_shutdown::AutoShutdown;
pub use backoff::Backoff;
pub use child_id::ChildId;
pub use decision::{ExitAction, exit_action};
pub use error::{
    DeleteChildError, FlagsError, GetChildSpecError, IntoSimpleError, RestartChildError, SpecError,
    StartChildError, StartSimpleChildError, SupStartError, TerminateChildError, WhichChildError,
};
pub use flags::SupFlags;
pub use info::{ChildCounts, ChildInfo, ChildSelector, ChildState};
pub use simple::{SimpleSupervisor, SimpleSupervisorRef};
pub use spec::{ChildSpec, ChildType, Restart, Shutdown, StartFuture, check_specs};
pub use start::{IntoStartOutcome, StartInfo, StartOutcome, StartedChild};
pub use strategy::Strategy;
pub use supervisor::Supervisor;
pub use supervisor_ref::SupervisorRef;
pub use template::ChildTemplate;
pub use tree::TreeNode;
pub use window::{Escalate, RestartWindow};
