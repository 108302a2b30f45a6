//! [`Process`], what every handle to a process can do, and
//! [`ProcessHandle`], the untyped handle every other handle contains.
//!
//! arbor's handles are named by what they can address: a `*Ref`
//! ([`ProcessRef<M>`](crate::ProcessRef), [`ServerRef<S>`](crate::ServerRef),
//! a supervisor's or event manager's) is typed and sends messages of its
//! process's protocol; a [`ProcessHandle`] only knows the process's identity
//! and lifecycle. Both implement [`Process`], where `pid`, `is_alive`,
//! `wait`, `exit_reason` and `stop` are written once.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::call::check_not_self;
use crate::cell::{self, ProcessCell, SignalKind};
use crate::error::StopError;
use crate::{ExitReason, Pid};

/// An untyped handle to a process: its pid, liveness, and its exit reason
/// (kept after it exits, unlike a bare [`Pid`]). Cheap to clone.
#[derive(Clone)]
pub struct ProcessHandle {
    pub(crate) cell: Arc<ProcessCell>,
}

impl ProcessHandle {
    pub(crate) fn new(cell: Arc<ProcessCell>) -> ProcessHandle {
        ProcessHandle { cell }
    }

    /// A handle to the live process `pid`; `None` if it is not alive.
    pub fn lookup(pid: Pid) -> Option<ProcessHandle> {
        cell::lookup(pid).map(ProcessHandle::new)
    }

    /// The handle of the calling process, if the calling task is a process.
    pub fn current() -> Option<ProcessHandle> {
        crate::current::current_cell().map(ProcessHandle::new)
    }
}

/// What every handle to a process can do: ask its pid, whether it is
/// alive, its exit reason; wait for it; signal and stop it.
///
/// Implemented by [`ProcessHandle`], [`ProcessRef`](crate::ProcessRef),
/// [`ServerRef`](crate::ServerRef), [`Agent`](crate::Agent) and the handles
/// of the other arbor crates (supervisors, event managers), so that a
/// supervisor's start function can return any of them as it is.
/// Implementing it for a handle of one's own is one method: return the
/// [`ProcessHandle`] the handle wraps.
///
/// # Examples
///
/// ```
/// use arbor_process::{Agent, ExitReason, Process};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let agent = Agent::start(|| 0u32).await.unwrap();
/// assert!(agent.is_alive());
/// agent.stop().await.unwrap();
/// assert_eq!(agent.exit_reason(), Some(ExitReason::Normal));
/// # }
/// ```
pub trait Process {
    /// The untyped handle of the process.
    fn handle(&self) -> &ProcessHandle;

    /// The process's pid.
    ///
    /// # OTP
    ///
    /// The `Pid` itself.
    fn pid(&self) -> Pid {
        self.handle().cell.pid
    }

    /// Whether the process is alive.
    ///
    /// # OTP
    ///
    /// `erlang:is_process_alive/1`.
    fn is_alive(&self) -> bool {
        self.handle().cell.is_alive()
    }

    /// The exit reason, once the process has exited (and every process
    /// linked to or monitoring it has its exit signal queued).
    fn exit_reason(&self) -> Option<ExitReason> {
        self.handle().cell.exit_reason()
    }

    /// Waits for the process to exit and returns its reason (at once if it
    /// already has).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # OTP
    ///
    /// A monitor and `receive {'DOWN', Ref, process, Pid, Reason}`.
    fn wait(&self) -> impl Future<Output = ExitReason> + Send + '_ {
        self.handle().cell.wait_exit()
    }

    /// Waits up to `timeout` for the process to exit: its reason, or `None`
    /// if it is still running then (with tokio's 1 ms timer resolution).
    /// `Duration::MAX` waits forever.
    ///
    /// The timer is the one calls reuse on this thread: a supervisor
    /// stopping children one after the other leaves one registered timer in
    /// place instead of registering and cancelling a timer per child.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # OTP
    ///
    /// `receive {'DOWN', ...} -> ... after Timeout -> ... end`, as
    /// `supervisor:shutdown/2` waits for a child.
    fn wait_timeout(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Option<ExitReason>> + Send + '_ {
        let cell = &*self.handle().cell;
        async move {
            if let Some(reason) = cell.exit_reason() {
                return Some(reason);
            }
            let Some(deadline) = crate::call::deadline(timeout) else {
                return Some(cell.wait_exit().await);
            };
            let exit = std::pin::pin!(cell.wait_exit());
            crate::call::OrDeadline::with_slack(exit, deadline, Duration::ZERO).await
        }
    }

    /// Sends the process an exit signal with `reason` from the calling
    /// process (or an anonymous sender outside a process), exactly as
    /// [`exit`](crate::exit)`(pid, reason)`, without a process-table
    /// lookup. `Kill` is untrappable. No-op once the process has exited.
    ///
    /// # OTP
    ///
    /// `erlang:exit(Pid, Reason)`.
    fn exit(&self, reason: ExitReason) {
        let from = crate::current::current().unwrap_or(Pid::ANONYMOUS);
        self.handle()
            .cell
            .signal_exit(from, reason, SignalKind::Exit);
    }

    /// Kills the process untrappably: it exits with
    /// [`ExitReason::Killed`] at its next suspension point.
    ///
    /// # OTP
    ///
    /// `erlang:exit(Pid, kill)`.
    fn kill(&self) {
        self.exit(ExitReason::Kill);
    }

    /// Stops the process with reason `normal`, waiting as long as it takes:
    /// `stop_with(ExitReason::Normal, Duration::MAX)`.
    ///
    /// # Errors
    ///
    /// As [`Process::stop_with`].
    ///
    /// # OTP
    ///
    /// `gen_server:stop/1`, `supervisor:stop/1`, `gen_event:stop/1`,
    /// `proc_lib:stop/1`.
    fn stop(&self) -> impl Future<Output = Result<(), StopError>> + Send + '_ {
        self.stop_with(ExitReason::Normal, Duration::MAX)
    }

    /// Stops the process with `reason` and waits up to `timeout`
    /// (`Duration::MAX`: forever) for it to exit.
    ///
    /// A behaviour (GenServer, Agent, supervisor, event manager) is asked to
    /// stop through its mailbox, so its `terminate` runs and it stops its
    /// children first. A plain process has no such protocol: it exits with
    /// `reason` at its next suspension point, as if killed, but with
    /// `reason` instead of `killed`.
    ///
    /// # Errors
    ///
    /// [`StopError::NoProcess`] if it was not alive, [`StopError::Timeout`]
    /// (it keeps running), [`StopError::Exited`] if it exited with another
    /// reason, [`StopError::CallingSelf`] from inside the process itself.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after the stop was requested does not cancel it.
    ///
    /// # OTP
    ///
    /// `gen_server:stop/3`, `proc_lib:stop/3`.
    fn stop_with(
        &self,
        reason: ExitReason,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), StopError>> + Send + '_ {
        let handle = self.handle();
        let requested = request_exit(&handle.cell, reason.clone());
        async move {
            requested?;
            await_stopped(handle, reason, timeout).await
        }
    }
}

/// Makes a plain process exit with `reason` (the default
/// [`Process::stop_with`]).
fn request_exit(cell: &ProcessCell, reason: ExitReason) -> Result<(), StopError> {
    if check_not_self(cell).is_err() {
        return Err(StopError::CallingSelf);
    }
    if !cell.is_alive() {
        return Err(StopError::NoProcess);
    }
    cell.kill_with(reason);
    Ok(())
}

/// The end of every `stop_with`: waits up to `timeout` for the exit and
/// compares its reason with the one asked for.
///
/// # Errors
///
/// As [`Process::stop_with`], after the stop was requested.
pub async fn await_stopped(
    handle: &ProcessHandle,
    reason: ExitReason,
    timeout: Duration,
) -> Result<(), StopError> {
    match handle.wait_timeout(timeout).await {
        Some(r) if r == reason => Ok(()),
        Some(other) => Err(StopError::Exited(other)),
        None => Err(StopError::Timeout),
    }
}

/// A handle that wraps another handle of the same process (a typed API
/// over a [`ServerRef`](crate::ServerRef), a supervisor's): implementing it
/// gives the wrapper [`Process`] by delegation, `stop` included, so the
/// wrapper stops the process the way its inner handle does.
///
/// # Examples
///
/// ```
/// use arbor_process::{Agent, Process, ProcessWrapper};
///
/// /// A counter with an API of its own.
/// struct Counter(Agent<u64>);
///
/// impl ProcessWrapper for Counter {
///     type Inner = Agent<u64>;
///     fn inner(&self) -> &Agent<u64> {
///         &self.0
///     }
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let counter = Counter(Agent::start(|| 0).await.unwrap());
/// assert!(counter.is_alive());
/// counter.stop().await.unwrap(); // the agent's stop: its `terminate` runs
/// # }
/// ```
pub trait ProcessWrapper {
    /// The wrapped handle's type.
    type Inner: Process;

    /// The wrapped handle.
    fn inner(&self) -> &Self::Inner;
}

impl<W: ProcessWrapper> Process for W {
    #[inline]
    fn handle(&self) -> &ProcessHandle {
        self.inner().handle()
    }

    fn stop_with(
        &self,
        reason: ExitReason,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), StopError>> + Send + '_ {
        self.inner().stop_with(reason, timeout)
    }
}

impl Process for ProcessHandle {
    #[inline]
    fn handle(&self) -> &ProcessHandle {
        self
    }
}

impl fmt::Debug for ProcessHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ProcessHandle")
            .field(&self.cell.pid)
            .finish()
    }
}

impl PartialEq for ProcessHandle {
    fn eq(&self, other: &Self) -> bool {
        self.cell.pid == other.cell.pid
    }
}

impl Eq for ProcessHandle {}
