//! A pure reference model of supervisor semantics (docs/otp/supervisor.md#sup-overview with
//! arbor's decisions): given flags, child specs and a sequence of
//! operations it predicts the children, every probe start and stop in
//! order, the restart window, give-up and its escalation to the parent,
//! and the result of every API call.
//!
//! The restart table (docs/otp/supervisor.md#sup-child-exit) and the intensity window (docs/otp/supervisor.md#sup-intensity) are written
//! here again from the reference rather than taken from the supervisor's
//! pure cores, so a bug there shows up as a difference too.
//!
//! Scope: probe workers that trap exits (their starts may be made to fail:
//! a failed automatic restart leaves the child restarting with a retry
//! queued, observed by a call made right after the crash; retries then
//! run until they succeed or the supervisor gives up), at most one
//! level of nested static supervisors, auto_shutdown `never`, no backoff.
//!
//! The model's log lines are those of [`LifecycleLog::lines`](crate::LifecycleLog::lines).
//! [`check_tree`](crate::check_tree) and [`TreeDriver`](crate::TreeDriver)
//! run a real tree against it.
//!
//! Files by concept: `config.rs` (what the model starts from), `op.rs`
//! (the operations), `expect.rs` (the predicted log and replies), `sup.rs`
//! (one supervisor) and `tree.rs` (the whole tree, [`TreeModel`]).

mod config;
mod expect;
mod op;
mod sup;
mod tree;

pub use config::{SpecConfig, SupConfig};
pub use expect::{Expect, Reply, match_log};
pub use op::{Action, ApiCall, Op};
pub use sup::{ChildModel, ChildModelState, SupModel, Window};
pub use tree::TreeModel;
