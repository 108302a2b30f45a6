//! Signals and questions addressed by pid: [`exit`], [`kill`],
//! [`is_alive`], [`wait_exit`], and [`process_count`].

use crate::cell::{self, SignalKind};
use crate::current::current;
use crate::{ExitReason, Pid};

/// Sends an exit signal with `reason` to `pid` from the calling process
/// (or from an anonymous sender outside a process). `Kill` is untrappable:
/// the target exits with [`ExitReason::Killed`]. A non-trapping target
/// ignores `Normal` and dies with any other reason; a trapping target gets
/// [`Msg::Exit`](crate::Msg::Exit). No-op for a dead pid.
///
/// # OTP
///
/// `erlang:exit/2`.
pub fn exit(pid: Pid, reason: ExitReason) {
    if let Some(target) = cell::lookup(pid) {
        let from = current().unwrap_or(Pid::ANONYMOUS);
        target.signal_exit(from, reason, SignalKind::Exit);
    }
}

/// Kills `pid` untrappably: it exits with [`ExitReason::Killed`] at its next
/// suspension point. No-op for a dead pid.
///
/// # OTP
///
/// `erlang:exit(Pid, kill)`.
pub fn kill(pid: Pid) {
    exit(pid, ExitReason::Kill);
}

/// Whether `pid` is alive.
///
/// # OTP
///
/// `erlang:is_process_alive/1`.
pub fn is_alive(pid: Pid) -> bool {
    cell::lookup(pid).is_some_and(|c| c.is_alive())
}

/// The number of live processes in this OS process: what leak tests compare
/// before and after a tree runs.
pub fn process_count() -> usize {
    cell::live_count()
}

/// Waits until `pid` has exited and returns its reason; `NoProc` at once if
/// it is not alive.
///
/// # Cancel safety
///
/// Cancel safe.
pub async fn wait_exit(pid: Pid) -> ExitReason {
    match cell::lookup(pid) {
        Some(c) => c.wait_exit().await,
        None => ExitReason::NoProc,
    }
}
