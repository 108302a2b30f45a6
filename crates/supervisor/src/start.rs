//! What a child's start function is given and returns.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use arbor_process::Process;
use arbor_process::{
    Agent, ExitReason, GenServer, Pid, ProcessHandle, ProcessRef, ServerRef, StartError,
};

/// The result of a child's start function.
///
/// Usually produced with `.into()` from what a start call returns:
/// `Result<ServerRef<S>, StartError>`, `Result<SupervisorRef, SupStartError>`,
/// a [`ProcessRef`] or a [`ProcessHandle`].
///
/// # OTP
///
/// `{ok, Pid}`, `{ok, Pid, Info}`, `ignore`, `{error, Reason}`. A start
/// function that panics is classified as an error with
/// [`ExitReason::Panic`], like OTP's `{'EXIT', {Reason, Stack}}`.
#[derive(Debug)]
pub enum StartOutcome {
    /// The child is running. It should be linked to the calling process
    /// (the supervisor); the supervisor links to it otherwise.
    Started(ProcessHandle),
    /// The child is running; `info` is handed back by
    /// [`SupervisorRef::start_child`](crate::SupervisorRef::start_child) and
    /// [`SupervisorRef::restart_child`](crate::SupervisorRef::restart_child).
    StartedInfo(ProcessHandle, StartInfo),
    /// Nothing was started, and that is not an error.
    Ignore,
    /// The child could not be started.
    Error(ExitReason),
}

impl From<ProcessHandle> for StartOutcome {
    fn from(h: ProcessHandle) -> StartOutcome {
        StartOutcome::Started(h)
    }
}

impl<M: Send + 'static> From<ProcessRef<M>> for StartOutcome {
    fn from(p: ProcessRef<M>) -> StartOutcome {
        StartOutcome::Started(p.handle().clone())
    }
}

impl<S: GenServer> From<ServerRef<S>> for StartOutcome {
    fn from(s: ServerRef<S>) -> StartOutcome {
        StartOutcome::Started(s.handle().clone())
    }
}

impl<T: Send + 'static> From<Agent<T>> for StartOutcome {
    fn from(a: Agent<T>) -> StartOutcome {
        StartOutcome::Started(a.handle().clone())
    }
}

impl From<StartError> for StartOutcome {
    fn from(e: StartError) -> StartOutcome {
        StartOutcome::Error(match e {
            StartError::Init(r) | StartError::Exited(r) => r,
            other => ExitReason::error(other),
        })
    }
}

impl From<ExitReason> for StartOutcome {
    fn from(r: ExitReason) -> StartOutcome {
        StartOutcome::Error(r)
    }
}

impl<T, E> From<Result<T, E>> for StartOutcome
where
    T: Into<StartOutcome>,
    E: Into<StartOutcome>,
{
    fn from(r: Result<T, E>) -> StartOutcome {
        match r {
            Ok(t) => t.into(),
            Err(e) => e.into(),
        }
    }
}

/// Extra arguments given to a child's start function: empty for static
/// children, the value passed to
/// [`SupervisorRef::start_child_with`](crate::SupervisorRef::start_child_with)
/// for simple_one_for_one children. A restart passes the same arguments
/// again. Cheap to clone.
///
/// # OTP
///
/// The `ExtraArgs` appended to the template's `{M, F, Args}`. Typed access
/// replaces list concatenation; the template's own arguments are whatever
/// its start closure captured.
#[derive(Clone, Default)]
pub struct StartArgs(Option<Arc<dyn Any + Send + Sync>>);

impl StartArgs {
    /// No arguments.
    pub fn none() -> StartArgs {
        StartArgs(None)
    }

    /// Wraps a value.
    pub fn new<T: Any + Send + Sync>(value: T) -> StartArgs {
        StartArgs(Some(Arc::new(value)))
    }

    /// The value, if there is one of type `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.as_deref().and_then(|v| v.downcast_ref::<T>())
    }

    /// Whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl fmt::Debug for StartArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("StartArgs(none)"),
            Some(_) => f.write_str("StartArgs(..)"),
        }
    }
}

/// The extra value a start function may return with
/// [`StartOutcome::StartedInfo`]. Cheap to clone; compared by identity.
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

/// What a successful `start_child` / `restart_child` reports.
///
/// # OTP
///
/// `{ok, Pid}`, `{ok, Pid, Info}`, `{ok, undefined}` (ignored).
#[derive(Debug, Clone, PartialEq)]
pub enum StartedChild {
    /// The child runs as this process.
    Started(Pid),
    /// The child runs, and its start function returned extra info.
    StartedInfo(Pid, StartInfo),
    /// The start function returned [`StartOutcome::Ignore`].
    Ignored,
}

impl StartedChild {
    /// The child's pid; `None` if it was ignored.
    pub fn pid(&self) -> Option<Pid> {
        match self {
            StartedChild::Started(p) | StartedChild::StartedInfo(p, _) => Some(*p),
            StartedChild::Ignored => None,
        }
    }

    /// The info returned by the start function, if any.
    pub fn info(&self) -> Option<&StartInfo> {
        match self {
            StartedChild::StartedInfo(_, i) => Some(i),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_args_are_typed() {
        let a = StartArgs::new(42u32);
        assert_eq!(a.get::<u32>(), Some(&42));
        assert_eq!(a.get::<i64>(), None);
        assert!(StartArgs::none().is_empty());
    }

    #[test]
    fn start_errors_become_error_outcomes() {
        let r: Result<ProcessHandle, StartError> = Err(StartError::Init(ExitReason::custom("x")));
        assert!(
            matches!(StartOutcome::from(r), StartOutcome::Error(e) if e == ExitReason::custom("x"))
        );
    }
}
