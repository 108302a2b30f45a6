//! arbor: Erlang/OTP-style supervision trees for Rust on tokio.
//!
//! This crate re-exports the workspace's crates under one name:
//!
//! - [`process`]: processes, links, monitors, exit signals, the name
//!   registry, [`process::GenServer`] and [`process::Agent`];
//! - [`supervisor`]: OTP supervisors (one_for_one, one_for_all,
//!   rest_for_one, simple_one_for_one);
//! - [`genevent`]: event managers with handlers and event streams;
//! - [`todo`]: the reference todo application built on all of the above.
//!
//! Start with `docs/architecture.md` in the repository.
#![doc(test(attr(deny(warnings))))]

pub use arbor_genevent as genevent;
pub use arbor_process as process;
pub use arbor_supervisor as supervisor;
pub use arbor_todo as todo;
