//! The waiting half of a synchronous call, shared by GenServer and Agent.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::cell::ProcessCell;
use crate::error::CallError;

/// `CallingSelf` if the calling task is the process `cell`.
pub(crate) fn check_not_self(cell: &ProcessCell) -> Result<(), CallError> {
    match crate::process::current() {
        Some(me) if me == cell.pid => Err(CallError::CallingSelf),
        _ => Ok(()),
    }
}

/// Waits for the reply to a request already queued at `cell`'s process.
///
/// A closed reply channel means the request was dropped: by the process's
/// exit (→ `Exited(reason)`), or by a handler that dropped the caller while
/// staying alive (→ `Timeout` when the deadline passes, as in Erlang).
/// `Duration::MAX` waits forever.
pub(crate) async fn await_reply<R>(
    rx: oneshot::Receiver<R>,
    cell: &ProcessCell,
    timeout: Duration,
) -> Result<R, CallError> {
    let Some(deadline) = Instant::now().checked_add(timeout) else {
        return match rx.await {
            Ok(r) => Ok(r),
            Err(_) => Err(CallError::Exited(cell.wait_exit().await)),
        };
    };
    match tokio::time::timeout_at(deadline, rx).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(_)) => match tokio::time::timeout_at(deadline, cell.wait_exit()).await {
            Ok(reason) => Err(CallError::Exited(reason)),
            Err(_) => Err(CallError::Timeout),
        },
        Err(_) => Err(CallError::Timeout),
    }
}
