//! Typed errors of the supervisor API.

use std::time::Duration;

use arbor_process::{CallError, ExitReason, Pid};
use thiserror::Error;

use crate::{AutoShutdown, ChildId, Strategy};

/// Invalid supervisor flags.
///
/// # OTP
///
/// `{error, {supervisor_data, E}}` from `start_link`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FlagsError {
    /// The period is zero.
    #[error("invalid period {0:?}: must be greater than zero")]
    InvalidPeriod(Duration),
    /// auto_shutdown other than never with simple_one_for_one.
    #[error("bad combination: auto_shutdown {auto_shutdown} with strategy {strategy}")]
    BadCombination {
        /// The auto-shutdown flag.
        auto_shutdown: AutoShutdown,
        /// The strategy.
        strategy: Strategy,
    },
}

/// An invalid child specification.
///
/// # OTP
///
/// The errors of `supervisor:check_childspecs/2` that Rust's types do not
/// already rule out.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SpecError {
    /// The id is empty.
    #[error("missing id")]
    MissingId,
    /// Two specs in a start list share an id.
    #[error("duplicate child name {0}")]
    DuplicateChildName(ChildId),
    /// `significant` with auto_shutdown never.
    #[error("bad combination: child {0} is significant but auto_shutdown is never")]
    SignificantWithoutAutoShutdown(ChildId),
    /// `significant` on a permanent child.
    #[error("bad combination: child {0} is significant and permanent")]
    SignificantPermanent(ChildId),
    /// A backoff with `multiplier < 1` or `initial > max`.
    #[error("invalid backoff for child {0}")]
    InvalidBackoff(ChildId),
}

/// Why a supervisor did not start.
///
/// # OTP
///
/// The `{error, E}` results of `supervisor:start_link/2,3`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SupStartError {
    /// The flags are invalid (`{supervisor_data, E}`).
    #[error("invalid supervisor flags: {0}")]
    Flags(#[from] FlagsError),
    /// A child spec is invalid (`{start_spec, E}`).
    #[error("invalid child spec: {0}")]
    Spec(#[from] SpecError),
    /// simple_one_for_one needs exactly one spec (`{bad_start_spec, Specs}`);
    /// holds the number given.
    #[error("simple_one_for_one needs exactly one child spec, got {0}")]
    BadStartSpec(usize),
    /// A child failed to start; the children started before it were
    /// stopped in reverse order (`{shutdown, {failed_to_start_child, Id, R}}`).
    #[error("failed to start child {id}: {reason}")]
    FailedToStartChild {
        /// The child that failed.
        id: ChildId,
        /// Its start error.
        reason: ExitReason,
    },
    /// The name is taken by this process (`{already_started, Pid}`).
    #[error("already started as {0}")]
    AlreadyStarted(Pid),
    /// The supervisor was killed while starting its children.
    #[error("supervisor exited while starting: {0}")]
    Exited(ExitReason),
}

/// The error of a supervisor API call.
///
/// # OTP
///
/// The `{error, E}` results of §2.12 and §2.13; a call to a dead
/// supervisor is [`SupError::Call`] instead of an exit of the caller.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SupError {
    /// No child with this id or pid (`not_found`).
    #[error("not found")]
    NotFound,
    /// The child is running (`running`).
    #[error("running")]
    Running,
    /// The child is waiting for a restart retry (`restarting`).
    #[error("restarting")]
    Restarting,
    /// A child with this id runs already (`{already_started, Pid}`).
    #[error("already started as {0}")]
    AlreadyStarted(Pid),
    /// A child with this id exists but is not running (`already_present`).
    #[error("already present")]
    AlreadyPresent,
    /// The operation is not available for simple_one_for_one, or it needs a
    /// pid there (`simple_one_for_one`).
    #[error("not supported by simple_one_for_one")]
    SimpleOneForOne,
    /// `start_child_with` on a supervisor that is not simple_one_for_one.
    #[error("only supported by simple_one_for_one")]
    NotSimpleOneForOne,
    /// The spec given to `start_child` is invalid.
    #[error("invalid child spec: {0}")]
    InvalidSpec(#[from] SpecError),
    /// The child's start function failed (`{error, R}`).
    #[error("start failed: {0}")]
    StartFailed(ExitReason),
    /// The supervisor could not be called: dead, timed out, or the caller
    /// is the supervisor itself.
    #[error("supervisor call failed: {0}")]
    Call(#[from] CallError),
}
