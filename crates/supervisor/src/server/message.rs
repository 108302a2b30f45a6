//! The messages the supervisor process receives: API requests, queued
//! restart retries and `stop`. Exit signals from children and the parent
//! arrive through the process mailbox as [`Msg::Exit`](arbor_process::Msg).

use arbor_process::{ExitReason, Pid, ReplyTo};

use crate::args::Args;
use crate::{
    ChildCounts, ChildId, ChildInfo, ChildSelector, ChildSpec, DeleteChildError, GetChildSpecError,
    Restart, RestartChildError, StartChildError, StartSimpleChildError, StartedChild, SupFlags,
    TerminateChildError, WhichChildError,
};

/// A message to the supervisor process.
#[derive(Debug)]
pub(crate) enum SupMsg {
    Req(Request),
    /// A queued restart attempt for a child in the restarting state
    /// (invariant 3: the one retry for it).
    Retry {
        key: Key,
        cause: RetryCause,
    },
    /// `stop(reason)`: terminate the children, then exit with the reason.
    Stop(ExitReason),
}

/// Why a retry was queued, which decides whether it still owes the
/// intensity check (invariant 4: one check per exit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryCause {
    /// The child exited and its restart was delayed by a backoff: the
    /// intensity check was made when the exit arrived.
    Exit,
    /// A restart attempt failed (OTP `try_again_restart`): the retry
    /// counts as a restart of its own.
    FailedRestart,
}

/// The API requests (docs/otp/supervisor.md#sup-api, docs/otp/supervisor.md#sup-simple), each with its reply channel.
#[derive(Debug)]
pub(crate) enum Request {
    /// Boxed: a spec is five times the size of every other request, and
    /// the mailbox slot is as large as the largest message.
    StartChild(
        Box<ChildSpec>,
        ReplyTo<Result<StartedChild, StartChildError>>,
    ),
    /// simple_one_for_one: the template's argument (invariant 1 of
    /// `template`: of the template's type).
    StartSimpleChild(Args, ReplyTo<Result<StartedChild, StartSimpleChildError>>),
    TerminateChild(ChildSelector, ReplyTo<Result<(), TerminateChildError>>),
    RestartChild(ChildId, ReplyTo<Result<StartedChild, RestartChildError>>),
    DeleteChild(ChildId, ReplyTo<Result<(), DeleteChildError>>),
    WhichChildren(ReplyTo<Vec<ChildInfo>>),
    WhichChild(ChildSelector, ReplyTo<Result<ChildInfo, WhichChildError>>),
    CountChildren(ReplyTo<ChildCounts>),
    GetChildspec(ChildSelector, ReplyTo<Result<ChildSpec, GetChildSpecError>>),
    /// The template's argument type; `None` if not simple_one_for_one.
    TemplateType(ReplyTo<Option<std::any::TypeId>>),
    Status(ReplyTo<Status>),
}

/// What the tree snapshot needs from one supervisor.
#[derive(Debug, Clone)]
pub(crate) struct Status {
    pub(crate) flags: SupFlags,
    pub(crate) name: Option<String>,
    pub(crate) restarts_in_window: usize,
    /// Newest first, with each child's restart type.
    pub(crate) children: Vec<(ChildInfo, Restart)>,
}

/// Which child a retry is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    Static(ChildId),
    /// A simple_one_for_one child by its last pid.
    Dynamic(Pid),
}
