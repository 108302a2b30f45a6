//! Error types of the process runtime, one small enum per operation.

use std::fmt;

use crate::name::Name;
use crate::{ExitReason, Pid};

/// A message could not be delivered because the process has exited; the
/// message is handed back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<M>(pub M);

impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<M> fmt::Display for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no process: the receiver has exited")
    }
}

impl<M> std::error::Error for SendError<M> {}

/// Why a synchronous call returned no reply.
///
/// "The callee failed" ([`CallError::Exited`]) is distinct from "the callee
/// was gone" ([`CallError::NoProcess`]).
///
/// # OTP
///
/// The exit reasons of `gen_server:call/3`: `{timeout, _}`, `{noproc, _}`,
/// `{Reason, _}` and `calling_self` — returned as values, not raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No reply within the timeout. A late reply is dropped.
    Timeout,
    /// The callee was not alive when the call was sent (or no process has
    /// the name).
    NoProcess,
    /// The callee exited with this reason before replying.
    Exited(ExitReason),
    /// The callee is the calling process itself; returned at once.
    CallingSelf,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Timeout => f.write_str("call timed out"),
            CallError::NoProcess => f.write_str("no process"),
            CallError::Exited(r) => write!(f, "callee exited with reason {r}"),
            CallError::CallingSelf => f.write_str("a process called itself"),
        }
    }
}

impl std::error::Error for CallError {}

/// Why starting a server or agent failed. The process is gone when this is
/// returned, and no exit signal reaches the caller.
///
/// # OTP
///
/// `{error, Reason}` from `gen_server:start_link/3` with OTP 26+
/// semantics: no `{'EXIT', Pid, Reason}` message to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// The name is taken by this process.
    AlreadyStarted(Pid),
    /// `init` returned this error (or panicked: [`ExitReason::Panic`]).
    Init(ExitReason),
    /// The new process was killed (or its parent died) during `init`.
    Exited(ExitReason),
}

impl StartError {
    /// The reason as an exit reason, for supervisors reporting it.
    pub fn reason(&self) -> ExitReason {
        match self {
            StartError::AlreadyStarted(p) => ExitReason::custom(format!("already_started {p}")),
            StartError::Init(r) | StartError::Exited(r) => r.clone(),
        }
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::AlreadyStarted(p) => write!(f, "already started as {p}"),
            StartError::Init(r) => write!(f, "init failed: {r}"),
            StartError::Exited(r) => write!(f, "exited during init: {r}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A failed start as an exit reason: the reason of a failed `init` or of
/// an exit during the start itself, else the error (`AlreadyStarted`) as
/// [`ExitReason::Error`]. What a supervisor reports for a child whose start
/// function returned the error.
impl From<StartError> for ExitReason {
    fn from(e: StartError) -> ExitReason {
        match e {
            StartError::Init(r) | StartError::Exited(r) => r,
            other => ExitReason::error(other),
        }
    }
}

/// Why `stop` failed.
///
/// # OTP
///
/// The exits of `gen_server:stop/3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopError {
    /// The process was not alive.
    NoProcess,
    /// It did not terminate within the timeout (it is still running).
    Timeout,
    /// It terminated, but with another reason than the one requested
    /// (for example `terminate` panicked).
    Exited(ExitReason),
    /// A process tried to stop itself (it would wait for itself forever).
    CallingSelf,
}

impl fmt::Display for StopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopError::NoProcess => f.write_str("no process"),
            StopError::Timeout => f.write_str("stop timed out"),
            StopError::Exited(r) => write!(f, "exited with another reason: {r}"),
            StopError::CallingSelf => f.write_str("a process tried to stop itself"),
        }
    }
}

impl std::error::Error for StopError {}

/// Why registering a name failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterError {
    /// The name is held by this process.
    AlreadyRegistered(Pid),
    /// The process is not alive.
    NoProcess(Pid),
    /// The process already has this name (one name per process).
    AlreadyNamed(Name),
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::AlreadyRegistered(p) => write!(f, "name already registered by {p}"),
            RegisterError::NoProcess(p) => write!(f, "no process {p}"),
            RegisterError::AlreadyNamed(n) => write!(f, "process already registered as {n}"),
        }
    }
}

impl std::error::Error for RegisterError {}
