//! The waiting half of a synchronous call, shared by GenServer and Agent.
//!
//! # Invariants
//!
//! 1. A [`CallTimer`] cached in [`SPARE_TIMER`] belongs to the runtime whose
//!    id it carries; it is only reused on that runtime (a timer of another,
//!    possibly shut-down, runtime is dropped instead).
//! 2. A cached timer may still be registered with a deadline in the future;
//!    firing it wakes whichever task last polled it, which is a spurious
//!    wake-up that every future tolerates.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::runtime::{self, Handle};
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};

use crate::cell::ProcessCell;
use crate::error::CallError;

/// `CallingSelf` if the calling task is the process `cell`.
pub(crate) fn check_not_self(cell: &ProcessCell) -> Result<(), CallError> {
    match crate::process::current() {
        Some(me) if me == cell.pid => Err(CallError::CallingSelf),
        _ => Ok(()),
    }
}

thread_local! {
    /// One call timer per thread, reused by consecutive calls.
    ///
    /// Registering a fresh tokio timer per call costs more than the rest of
    /// the call together (on the multi-thread runtime it can wake the time
    /// driver), while moving the deadline of a registered timer *later* is a
    /// single atomic update. Calls with the same timeout move it later every
    /// time, so a reused timer almost never touches the timer wheel.
    static SPARE_TIMER: RefCell<Option<CallTimer>> = const { RefCell::new(None) };
}

/// A call's timeout, taken from [`SPARE_TIMER`] (see [`SpareOnDrop`]).
struct CallTimer {
    runtime: runtime::Id,
    sleep: Pin<Box<Sleep>>,
}

impl CallTimer {
    /// A timer for `deadline` on the current runtime (invariant 1).
    fn take(deadline: Instant) -> CallTimer {
        let runtime = Handle::current().id();
        let spare = SPARE_TIMER
            .try_with(|s| s.borrow_mut().take())
            .ok()
            .flatten();
        match spare {
            Some(mut t) if t.runtime == runtime => {
                t.sleep.as_mut().reset(deadline);
                t
            }
            _ => CallTimer {
                runtime,
                sleep: Box::pin(tokio::time::sleep_until(deadline)),
            },
        }
    }
}

/// Gives the timer back to [`SPARE_TIMER`] when the call ends, also when
/// the call future is dropped.
struct SpareOnDrop(Option<CallTimer>);

impl SpareOnDrop {
    /// Runs `fut` until it completes (`Some`) or the deadline passes (`None`).
    async fn run<F: Future>(&mut self, fut: F) -> Option<F::Output> {
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                return Poll::Ready(Some(v));
            }
            match self.0.as_mut() {
                Some(t) => t.sleep.as_mut().poll(cx).map(|()| None),
                // Only after drop; never seen while running.
                None => Poll::Pending,
            }
        })
        .await
    }
}

impl Drop for SpareOnDrop {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            // During thread teardown the slot is gone; the timer just drops.
            let _ = SPARE_TIMER.try_with(|s| s.borrow_mut().replace(t));
        }
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
    let mut timer = SpareOnDrop(Some(CallTimer::take(deadline)));
    match timer.run(rx).await {
        Some(Ok(r)) => Ok(r),
        Some(Err(_)) => match timer.run(cell.wait_exit()).await {
            Some(reason) => Err(CallError::Exited(reason)),
            None => Err(CallError::Timeout),
        },
        None => Err(CallError::Timeout),
    }
}
