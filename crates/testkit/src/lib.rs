//! Test tools for arbor supervision trees: a probe child that records its
//! lifecycle, the shared lifecycle log, proptest generators for crash
//! sequences, helpers to assert a tree's shape and restart history, and a
//! pure reference [`model`] of supervisor semantics.
//!
//! Property-testing a user-defined tree (here: whatever the crashes, a
//! `one_for_all` tree with a generous intensity ends with every child
//! running, and each crash restarted all three):
//!
//! ```
//! use std::time::Duration;
//! use arbor_supervisor::{Strategy, SupFlags, Supervisor};
//! use arbor_testkit::{LifecycleLog, Probe, assert_shape, crash_sequence, run_paused};
//! use proptest::prelude::*;
//!
//! proptest!(ProptestConfig::with_cases(8), |(crashes in crash_sequence(3, 1..6))| {
//!     run_paused(async {
//!         let log = LifecycleLog::new();
//!         let ids = ["db", "cache", "web"];
//!         let flags = SupFlags::new(Strategy::OneForAll).intensity(10).period(Duration::from_secs(1));
//!         let sup = Supervisor::new(flags)
//!             .children(ids.map(|id| Probe::new(&log, id).spec()))
//!             .start()
//!             .await
//!             .unwrap();
//!         for (i, crash) in &crashes {
//!             crash.inflict_pid(log.last_pid(ids[*i]).unwrap()).await.unwrap();
//!             sup.which_children().await.unwrap(); // the restart is done
//!         }
//!         assert_shape(&sup, &["web=running", "cache=running", "db=running"]).await;
//!         for id in ids {
//!             assert_eq!(log.starts(id), 1 + crashes.len()); // one_for_all restarts everyone
//!         }
//!     });
//! });
//! ```
//!
//! # Which tool do I need?
//!
//! - A child that logs and dies on command: [`Probe`] (`.spec()` gives a
//!   [`ChildSpec`](arbor_supervisor::ChildSpec)); kill it with a [`Crash`].
//! - What happened, in order: [`LifecycleLog`] (`lines()`, `last_pid`,
//!   `starts`).
//! - Generators: [`crash`], [`crash_sequence`], [`restart_type`],
//!   [`static_strategy`], [`any_strategy`], [`sup_flags`], [`pause`].
//! - Shape assertions: [`shape`], [`assert_shape`], [`tree_shape`].
//! - An async body inside a synchronous `proptest!`: [`run_paused`].
//! - Queueing exits and requests at a blocked supervisor: [`hold`].
//! - Predicting what a supervisor must do: [`model::TreeModel`].
//!
//! # Model-based tests and long runs
//!
//! `tests/model_supervisor.rs` drives a real tree (all four strategies, all
//! restart types, a nested supervisor) and the model through the same
//! generated operations with `proptest-state-machine`: crashes with every
//! [`Crash`] reason, the child API, simple_one_for_one starts and stops by
//! pid, failing starts and calls that meet a child left restarting,
//! paused-clock advances, killing the nested supervisor. After each step it compares `which_children`,
//! `count_children`, restart windows, the lifecycle log and every API
//! result. CI runs 32 cases; set `ARBOR_MODEL_CASES` for long runs (the
//! event manager's model test, `crates/genevent/tests/event_model.rs`,
//! reads the same variable):
//!
//! ```text
//! ARBOR_MODEL_CASES=10000 cargo test --release -p arbor-testkit --test model_supervisor
//! ```
//!
//! # Guarantees
//!
//! - Probe events are logged in causal order: `start` is logged before the
//!   supervisor can see the child, `stop`/`exit`/`panic` before the probe
//!   exits, so after a supervisor call returns, everything it did is in
//!   the log.
//! - [`Crash::inflict`] returns `Ok` only after the process died with the
//!   asked reason, when its exit is already queued at its supervisor;
//!   otherwise a typed [`InflictError`] (survived, no process, other
//!   reason), never a pretended crash.

#![doc(test(attr(deny(warnings))))]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod crash;
mod driver;
mod hold;
mod log;
pub mod model;
mod probe;
mod runtime;
mod shape;
mod strategies;

pub use crash::{Crash, InflictError, PANIC_MESSAGE};
pub use driver::{TreeCheckError, TreeDriver, check_tree, model_cases};
pub use hold::{Held, hold};
pub use log::{Event, EventKind, LifecycleLog};
pub use probe::{Probe, ProbeCmd, quiet_probe_panics};
pub use runtime::{paused_runtime, run_paused};
pub use shape::{assert_shape, child_line, shape, tree_shape};
pub use strategies::{
    any_strategy, crash, crash_sequence, pause, restart_type, static_strategy, sup_flags, tree_op,
    tree_ops,
};
