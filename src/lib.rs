//! arbor: Erlang/OTP-style supervision trees for Rust on tokio.
//!
//! This crate re-exports the workspace's crates under one name:
//!
//! - [`process`]: processes, links, monitors, exit signals, the name
//!   registry, [`process::GenServer`] and [`process::Agent`];
//! - [`supervisor`]: OTP supervisors (one_for_one, one_for_all,
//!   rest_for_one, simple_one_for_one);
//! - [`genevent`]: event managers with handlers and event streams;
//! - [`todo`](mod@todo): the reference todo application built on all of the above.
//!
//! A worker under a supervisor, found by name after it crashed:
//!
//! ```
//! use arbor::process::{Agent, StartOpts, kill, wait_exit};
//! use arbor::supervisor::{ChildSpec, Supervisor};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let counter = ChildSpec::worker("counter", || {
//!     Agent::start_opts(|| 0u64, StartOpts::default().link().name("counter"))
//! });
//! let sup = Supervisor::one_for_one().intensity(3).child(counter).start().await.unwrap();
//!
//! let first = Agent::<u64>::whereis("counter").unwrap();
//! first.update(|n| *n += 1).await.unwrap();
//! kill(first.pid());
//! wait_exit(first.pid()).await;
//! sup.which_children().await.unwrap(); // answered after the restart
//!
//! let second = Agent::<u64>::whereis("counter").unwrap();
//! assert_ne!(second.pid(), first.pid());
//! assert_eq!(second.get(|n| *n).await.unwrap(), 0); // a restart starts afresh
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
//! - A stopped tree leaves no process, task, timer or registered name.
//!
//! Start with `docs/architecture.md` in the repository; differences from
//! OTP are listed in docs/supervisor.md, docs/genevent.md and
//! docs/conformance.md.
#![doc(test(attr(deny(warnings))))]

pub use arbor_genevent as genevent;
pub use arbor_process as process;
pub use arbor_supervisor as supervisor;
pub use arbor_todo as todo;
