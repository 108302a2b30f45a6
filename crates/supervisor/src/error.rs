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
    /// A [`temporary_template`](crate::ChildSpec::temporary_template)
    /// with another restart type: its argument cannot be cloned, so its
    /// children cannot be restarted.
    #[error(
        "bad combination: child {0} takes an argument that cannot be cloned but is not temporary"
    )]
    TemporaryOnly(ChildId),
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

/// Why [`SupervisorRef::start_child`](crate::SupervisorRef::start_child)
/// failed.
///
/// # OTP
///
/// The `{error, E}` results of `supervisor:start_child/2` with a child
/// spec; a call to a dead supervisor is [`StartChildError::Call`] instead
/// of an exit of the caller.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum StartChildError {
    /// The spec is invalid (`{error, E}` of `check_childspecs`).
    #[error("invalid child spec: {0}")]
    InvalidSpec(#[from] SpecError),
    /// A child with this id runs already.
    #[error("{{already_started, {0}}}")]
    AlreadyStarted(Pid),
    /// A child with this id exists but is not running.
    #[error("already_present")]
    AlreadyPresent,
    /// The start function failed (`{error, R}`); the spec is not kept.
    #[error("start failed: {0}")]
    StartFailed(ExitReason),
    /// The supervisor is simple_one_for_one: its children start from the
    /// template, through
    /// [`SimpleSupervisorRef::start_child`](crate::SimpleSupervisorRef::start_child).
    #[error("simple_one_for_one")]
    SimpleOneForOne,
    /// The supervisor could not be called.
    #[error("supervisor call failed: {0}")]
    Call(#[from] CallError),
}

/// Why
/// [`SimpleSupervisorRef::start_child`](crate::SimpleSupervisorRef::start_child)
/// failed.
///
/// # OTP
///
/// The `{error, E}` results of `supervisor:start_child/2` with extra
/// arguments.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum StartSimpleChildError {
    /// The template's start function failed (`{error, R}`, not wrapped).
    #[error("start failed: {0}")]
    StartFailed(ExitReason),
    /// The supervisor could not be called.
    #[error("supervisor call failed: {0}")]
    Call(#[from] CallError),
}

/// Why [`SupervisorRef::terminate_child`](crate::SupervisorRef::terminate_child)
/// failed.
///
/// # OTP
///
/// The `{error, E}` results of `supervisor:terminate_child/2`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TerminateChildError {
    /// No child with this id; a pid given to a static supervisor; a live
    /// pid that is not a simple_one_for_one child.
    #[error("not_found")]
    NotFound,
    /// An id given to a simple_one_for_one supervisor (it needs a pid).
    #[error("simple_one_for_one")]
    SimpleOneForOne,
    /// The supervisor could not be called.
    #[error("supervisor call failed: {0}")]
    Call(#[from] CallError),
}

/// Why [`SupervisorRef::restart_child`](crate::SupervisorRef::restart_child)
/// failed.
///
/// # OTP
///
/// The `{error, E}` results of `supervisor:restart_child/2`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RestartChildError {
    /// No child with this id.
    #[error("not_found")]
    NotFound,
    /// The child is running.
    #[error("running")]
    Running,
    /// The child is waiting for a restart retry.
    #[error("restarting")]
    Restarting,
    /// The start function failed (`{error, R}`, not wrapped).
    #[error("start failed: {0}")]
    StartFailed(ExitReason),
    /// The supervisor is simple_one_for_one.
    #[error("simple_one_for_one")]
    SimpleOneForOne,
    /// The supervisor could not be called.
    #[error("supervisor call failed: {0}")]
    Call(#[from] CallError),
}

/// Why [`SupervisorRef::delete_child`](crate::SupervisorRef::delete_child)
/// failed.
///
/// # OTP
///
/// The `{error, E}` results of `supervisor:delete_child/2`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DeleteChildError {
    /// No child with this id.
    #[error("not_found")]
    NotFound,
    /// The child is running.
    #[error("running")]
    Running,
    /// The child is waiting for a restart retry.
    #[error("restarting")]
    Restarting,
    /// The supervisor is simple_one_for_one.
    #[error("simple_one_for_one")]
    SimpleOneForOne,
    /// The supervisor could not be called.
    #[error("supervisor call failed: {0}")]
    Call(#[from] CallError),
}

/// Why [`SupervisorRef::which_child`](crate::SupervisorRef::which_child)
/// failed.
///
/// # OTP
///
/// The `{error, E}` results of `supervisor:which_child/2`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum WhichChildError {
    /// No child with this id or pid (a pid given to a static supervisor
    /// is not found either).
    #[error("not_found")]
    NotFound,
    /// An id given to a simple_one_for_one supervisor (it needs a pid).
    #[error("simple_one_for_one")]
    SimpleOneForOne,
    /// The supervisor could not be called.
    #[error("supervisor call failed: {0}")]
    Call(#[from] CallError),
}

/// Why [`SupervisorRef::get_childspec`](crate::SupervisorRef::get_childspec)
/// failed.
///
/// # OTP
///
/// The `{error, not_found}` of `supervisor:get_childspec/2`. A
/// simple_one_for_one supervisor answers an id with its template's spec
/// when the id is the template's, so there is no `simple_one_for_one`
/// error.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum GetChildSpecError {
    /// No child with this id or pid.
    #[error("not_found")]
    NotFound,
    /// The supervisor could not be called.
    #[error("supervisor call failed: {0}")]
    Call(#[from] CallError),
}

/// Why [`SupervisorRef::into_simple`](crate::SupervisorRef::into_simple)
/// refused a typed handle.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum IntoSimpleError {
    /// The supervisor is not simple_one_for_one.
    #[error("not simple_one_for_one")]
    NotSimpleOneForOne,
    /// Its template takes another argument type.
    #[error("the template takes another argument type")]
    ArgumentType,
    /// The supervisor could not be called.
    #[error("supervisor call failed: {0}")]
    Call(#[from] CallError),
}
