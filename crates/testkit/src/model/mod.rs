//! A pure reference model of supervisor semantics (otp-reference §2 with
//! arbor's decisions): given flags, child specs and a sequence of
//! operations it predicts the children, every probe start and stop in
//! order, the restart window, give-up and its escalation to the parent,
//! and the result of every API call.
//!
//! The model reuses the supervisor's pure cores ([`exit_action`],
//! [`RestartWindow`]), so it checks the *process* machinery around them:
//! strategies, ordering, shutdown, nesting and the API.
//!
//! Scope: probe workers that trap exits and always start, at most one
//! level of nested static supervisors, auto_shutdown `never`, no backoff.
//!
//! The model's log lines are those of [`LifecycleLog::lines`](crate::LifecycleLog::lines).

mod sup;
mod tree;

pub use sup::{ChildModel, ChildModelState, SupModel};
pub use tree::{Action, Expect, Op, Reply, SpecConfig, SupConfig, TreeModel, match_log};
