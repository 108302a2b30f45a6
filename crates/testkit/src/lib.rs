//! Test tools for arbor supervision trees that cannot pass by accident:
//! a reference [`model`] of supervisor semantics and a driver that runs a
//! real tree against it step by step ([`check_tree`], [`TreeDriver`]),
//! crashes that either happen as asked or say why not ([`Crash::inflict`]),
//! a probe child that records its lifecycle, proptest generators, and
//! shape assertions.
//!
//! Property-testing a tree against the model: whatever the crashes, the
//! real `rest_for_one` tree restarts exactly the children the model says,
//! logs the same exit reasons, and gives up when the model does:
//!
//! ```
//! use arbor_supervisor::{Restart::*, Strategy, SupFlags};
//! use arbor_testkit::{check_tree, crash_sequence, model::SupConfig, model_cases};
//! use proptest::prelude::*;
//!
//! proptest!(ProptestConfig::with_cases(model_cases(8)), |(crashes in crash_sequence(3, 1..12))| {
//!     let tree = SupConfig::new(SupFlags::new(Strategy::RestForOne).intensity(3))
//!         .worker("db", Permanent)
//!         .worker("cache", Transient)
//!         .worker("web", Temporary);
//!     check_tree(tree, crashes)?;
//! });
//! ```
//!
//! # Which tool do I need?
//!
//! - Does my tree's shape restart as OTP says, under any crash sequence?
//!   Describe it with [`model::SupConfig`] and run [`check_tree`] on
//!   [`crash_sequence`]s or on [`tree_ops`] (the child API, clock
//!   advances, failing starts, a nested supervisor's death too). Step by
//!   step, or under `proptest-state-machine`: [`TreeDriver`].
//! - Crash one process, any process, with a given kind of reason:
//!   [`Crash::inflict`] (or [`Crash::inflict_pid`]); it returns the exit
//!   reason or an [`InflictError`].
//! - A child that logs and dies on command: [`Probe`] (`.spec()` gives a
//!   [`ChildSpec`](arbor_supervisor::ChildSpec)).
//! - What happened, in order: [`LifecycleLog`] (`lines()`, `last_pid`,
//!   `starts`).
//! - Generators: [`crash`], [`crash_sequence`], [`tree_op`], [`tree_ops`],
//!   [`restart_type`], [`static_strategy`], [`any_strategy`],
//!   [`sup_flags`], [`pause`]; case counts: [`model_cases`].
//! - Shape assertions for a hand-written tree: [`shape`], [`assert_shape`],
//!   [`tree_shape`].
//! - An async body inside a synchronous `proptest!`: [`run_paused`].
//! - Queueing exits and requests at a blocked supervisor: [`hold`].
//! - Predicting what a supervisor must do, without running one:
//!   [`model::TreeModel`].
//!
//! # Model-based tests and long runs
//!
//! `tests/model_supervisor.rs` drives a real tree (all four strategies, all
//! restart types, a nested supervisor) through [`TreeDriver`] under
//! `proptest-state-machine`: crashes with every [`Crash`] reason, the
//! child API, simple_one_for_one starts and stops by pid, failing starts
//! and calls that meet a child left restarting, paused-clock advances,
//! killing the nested supervisor. CI runs 32 cases (doc examples 8);
//! [`model_cases`] reads `ARBOR_MODEL_CASES` for long runs (the event
//! manager's model test, `crates/genevent/tests/event_model.rs`, reads
//! the same variable):
//!
//! ```text
//! ARBOR_MODEL_CASES=10000 cargo test --release -p arbor-testkit --test model_supervisor
//! ```
//!
//! # Guarantees
//!
//! - [`check_tree`] and [`TreeDriver::step`] compare after every
//!   operation, once the tree has handled every exit it caused: the
//!   lifecycle log (each start, exit reason and stop, in order), the API
//!   result, `which_children` of the root and of a nested supervisor with
//!   pids, `count_children`, the restarts in each window, and a dead
//!   root's exit reason. A tree the model does not cover is refused
//!   ([`TreeCheckError::Unsupported`]), not half-checked.
//! - [`Crash::inflict`] returns `Ok` only after the process died with the
//!   asked reason, when its exit is already queued at its supervisor;
//!   otherwise a typed [`InflictError`] (survived, no process, other
//!   reason), never a pretended crash.
//! - Probe events are logged in causal order: `start` is logged before the
//!   supervisor can see the child, `stop`/`exit`/`panic` before the probe
//!   exits, so after a supervisor call returns, everything it did is in
//!   the log.

#![doc(test(attr(deny(warnings))))]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod crash;
mod driver;
mod hold;
mod log;
pub mod model;
mod probe;
mod probe_cmd;
mod runtime;
mod shape;
mod strategies;

pub use crash::{Crash, InflictError, PANIC_MESSAGE};
pub use driver::{TreeCheckError, TreeDriver, check_tree, model_cases};
pub use hold::{Held, hold};
pub use log::{Event, EventKind, LifecycleLog};
pub use probe::{Probe, quiet_probe_panics};
pub use probe_cmd::ProbeCmd;
pub use runtime::{paused_runtime, run_paused};
pub use shape::{assert_shape, child_line, shape, tree_shape};
pub use strategies::{
    any_strategy, crash, crash_sequence, pause, restart_type, static_strategy, sup_flags, tree_op,
    tree_ops,
};
