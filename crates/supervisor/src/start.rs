//! What a child's start function is given and returns.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use arbor_process::Process;
use arbor_process::{ExitReason, Pid, ProcessHandle, ProcessRef, StartError};

/// The result of a child's start function: what it did.
///
/// A start function rarely builds one: it returns what its start call
/// returned, and [`IntoStartOutcome`] turns that into an outcome. Build one
/// for `ignore`, or to hand back a [`StartInfo`]. The supervisor reports it
/// to the caller of `start_child` / `restart_child` as a [`StartedChild`].
///
/// # OTP
///
/// | OTP | arbor |
/// |---|---|
/// | `{ok, Pid}` | `Started(handle, None)` |
/// | `{ok, Pid, Info}` | `Started(handle, Some(info))` |
/// | `ignore` | `Ignore` |
/// | `{error, Reason}` | `Error(reason)` |
///
/// A start function that panics is classified as an error with
/// [`ExitReason::Panic`], like OTP's `{'EXIT', {Reason, Stack}}`.
#[derive(Debug)]
pub enum StartOutcome {
    /// The child is running. It should be linked to the calling process
    /// (the supervisor); the supervisor links to it otherwise. The info,
    /// if any, is handed back by `start_child` and `restart_child`.
    Started(ProcessHandle, Option<StartInfo>),
    /// Nothing was started, and that is not an error.
    Ignore,
    /// The child could not be started.
    Error(ExitReason),
}

impl From<StartError> for StartOutcome {
    fn from(e: StartError) -> StartOutcome {
        StartOutcome::Error(e.into())
    }
}

impl From<ExitReason> for StartOutcome {
    fn from(r: ExitReason) -> StartOutcome {
        StartOutcome::Error(r)
    }
}

/// What a start function may return: a [`StartOutcome`], or what a start
/// call returned as it is: `Result<H, E>` for any handle `H` that is a
/// [`Process`] (a `ServerRef`, `Agent`, `SupervisorRef`, `EventManagerRef`,
/// a handle of your own) and any error `E` that converts into an
/// [`ExitReason`] (`StartError`, `SupStartError`, `ExitReason` itself), or
/// the bare handle of a spawn.
///
/// # Examples
///
/// ```
/// use arbor_process::{Agent, ExitReason};
/// use arbor_supervisor::{ChildSpec, IntoStartOutcome, StartOutcome};
///
/// // A start call's result, returned as it is.
/// let spec = ChildSpec::worker("counter", || Agent::start_link(|| 0u64));
/// # let _ = spec;
/// // Or decided by hand.
/// let failed: Result<Agent<u64>, ExitReason> = Err(ExitReason::custom("no_db"));
/// assert!(matches!(failed.into_start_outcome(), StartOutcome::Error(_)));
/// ```
///
/// # OTP
///
/// A start function's return value: `{ok, Pid}` (a handle),
/// `{error, Reason}` (an error), or a [`StartOutcome`] for `ignore` and
/// `{ok, Pid, Info}`.
pub trait IntoStartOutcome {
    /// The outcome this value stands for.
    fn into_start_outcome(self) -> StartOutcome;
}

impl IntoStartOutcome for StartOutcome {
    fn into_start_outcome(self) -> StartOutcome {
        self
    }
}

impl IntoStartOutcome for ProcessHandle {
    fn into_start_outcome(self) -> StartOutcome {
        StartOutcome::Started(self, None)
    }
}

impl<M: Send + 'static> IntoStartOutcome for ProcessRef<M> {
    fn into_start_outcome(self) -> StartOutcome {
        StartOutcome::Started(self.handle().clone(), None)
    }
}

impl<P: Process, E: Into<ExitReason>> IntoStartOutcome for Result<P, E> {
    fn into_start_outcome(self) -> StartOutcome {
        match self {
            Ok(p) => StartOutcome::Started(p.handle().clone(), None),
            Err(e) => StartOutcome::Error(e.into()),
        }
    }
}

impl<E: Into<ExitReason>> IntoStartOutcome for Result<StartOutcome, E> {
    fn into_start_outcome(self) -> StartOutcome {
        self.unwrap_or_else(|e| StartOutcome::Error(e.into()))
    }
}

/// The extra value a start function may return with
/// [`StartOutcome::Started`]. Cheap to clone; compared by identity.
#[derive(Clone)]
pub struct StartInfo(Arc<dyn Any + Send + Sync>);

impl StartInfo {
    /// Wraps a value.
    pub fn new<T: Any + Send + Sync>(value: T) -> StartInfo {
        StartInfo(Arc::new(value))
    }

    /// The value, if it is of type `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

impl PartialEq for StartInfo {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for StartInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StartInfo(..)")
    }
}

/// What a successful `start_child` / `restart_child` reports: the
/// supervisor's view of a [`StartOutcome`] that was not an error.
///
/// # OTP
///
/// | OTP | arbor |
/// |---|---|
/// | `{ok, Pid}` | `Started(pid, None)` |
/// | `{ok, Pid, Info}` | `Started(pid, Some(info))` |
/// | `{ok, undefined}` (the start returned `ignore`) | `Ignored` |
#[derive(Debug, Clone, PartialEq)]
pub enum StartedChild {
    /// The child runs as this process, with the info its start function
    /// returned, if any.
    Started(Pid, Option<StartInfo>),
    /// The start function returned [`StartOutcome::Ignore`].
    Ignored,
}

impl StartedChild {
    /// The child's pid; `None` if it was ignored.
    pub fn pid(&self) -> Option<Pid> {
        match self {
            StartedChild::Started(p, _) => Some(*p),
            StartedChild::Ignored => None,
        }
    }

    /// The info returned by the start function, if any.
    pub fn info(&self) -> Option<&StartInfo> {
        match self {
            StartedChild::Started(_, i) => i.as_ref(),
            StartedChild::Ignored => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_errors_become_error_outcomes() {
        let r: Result<ProcessHandle, StartError> = Err(StartError::Init(ExitReason::custom("x")));
        assert!(
            matches!(r.into_start_outcome(), StartOutcome::Error(e) if e == ExitReason::custom("x"))
        );
    }
}
