//! The call protocol: the reply port a request carries ([`ReplyTo`]), the
//! default timeout, and the waiting half of a synchronous call, shared by
//! GenServer, Agent and [`ProcessRef::call`](crate::ProcessRef::call), with
//! the reused timer it waits with (also behind
//! [`ProcessHandle::wait_timeout`](crate::ProcessHandle::wait_timeout)).
//!
//! # Invariants
//!
//! 1. A [`CallTimer`] cached in [`SPARE_TIMER`] belongs to the runtime whose
//!    id it carries; it is only reused on that runtime (a timer of another,
//!    possibly shut-down, runtime is dropped instead).
//! 2. `DeadlineTimer::waker` is a clone of the waker the sleep was last polled
//!    with, so the sleep wakes that task when it fires. Holding the clone
//!    keeps the task's allocation alive, so `will_wake` on it identifies the
//!    same task, which runs on the same runtime (invariant 1 holds).
//! 3. `DeadlineTimer::deadline` is the sleep's deadline. A call may skip polling
//!    the sleep only while `deadline` is at most its own deadline + slack
//!    and the sleep is registered with the calling task's waker (invariant
//!    2): it then fires at most `slack` late, or early, at a deadline an
//!    earlier call left; an early fire is recognised by `deadline` being
//!    before the call's own when the sleep's poll returns `Ready` (not by
//!    an `is_elapsed` before the poll: the time driver may fire it in
//!    between), and the call then moves the sleep to its own deadline. So a call never times out before its deadline, and the
//!    sleep is moved about once per timeout, not once per call.
//! 4. A cached timer may still be registered with a deadline in the future;
//!    firing it wakes the task that last polled it, which is a spurious
//!    wake-up that every future tolerates.
//!
//! The decisions of invariant 3 ([`DeadlineTimer::poll_deadline`]) are
//! generic over the sleep ([`DeadlineSleep`]), so that the model test
//! `call/tests/loom_call.rs` can check them with a fake clock whose driver
//! fires the sleep on another thread, as tokio's time driver may.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::ops::Add;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::runtime::{self, Handle};
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};

use crate::cell::ProcessCell;
use crate::control::Control;
use crate::error::CallError;

/// The default timeout of [`ServerRef::call`](crate::ServerRef::call), as
/// in OTP.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The reply port of one call: the caller waits for exactly one `R`.
///
/// A call request carries it (the last field of a `Call` enum variant), and
/// the server replies through it, now or later, from anywhere. Dropping it
/// without replying leaves the caller waiting until its timeout, as in
/// Erlang; when the server exits first, the caller gets the exit reason.
///
/// # OTP
///
/// The `From` of `handle_call/3` and `gen_server:reply/2`.
pub struct ReplyTo<R>(pub(crate) oneshot::Sender<R>);

impl<R> ReplyTo<R> {
    /// Sends the reply. If the caller is no longer waiting (it timed out or
    /// was cancelled), the reply is dropped, never delivered late.
    ///
    /// Returns [`Control::Continue`], so that a `handle_call` clause can end
    /// with its reply, as an Erlang clause ends with `{reply, Reply, State}`.
    ///
    /// # OTP
    ///
    /// `gen_server:reply/2`, `{reply, Reply, State}`.
    #[inline]
    pub fn reply(self, reply: R) -> Control {
        let _ = self.0.send(reply);
        Control::Continue
    }

    /// Sends the reply, or gives it back if the caller is no longer waiting.
    ///
    /// # Errors
    ///
    /// `Err(reply)` when the caller timed out or was cancelled.
    #[inline]
    pub fn try_reply(self, reply: R) -> Result<(), R> {
        self.0.send(reply)
    }

    /// Whether the caller is still waiting.
    pub fn is_waiting(&self) -> bool {
        !self.0.is_closed()
    }
}

impl<R> fmt::Debug for ReplyTo<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyTo")
            .field("waiting", &self.is_waiting())
            .finish()
    }
}

/// `CallingSelf` if the calling task is the process `cell`.
#[inline]
pub(crate) fn check_not_self(cell: &ProcessCell) -> Result<(), CallError> {
    match crate::current::current() {
        Some(me) if me == cell.pid => Err(CallError::CallingSelf),
        _ => Ok(()),
    }
}

thread_local! {
    /// One call timer per thread, reused by consecutive calls.
    ///
    /// Registering a fresh tokio timer per call costs more than the rest of
    /// the call together (on the multi-thread runtime it can wake the time
    /// driver), while leaving a registered timer alone when it fires in
    /// time (invariant 3) costs nothing, and moving it when it fired early
    /// happens about once per timeout.
    ///
    /// Boxed in a `Cell`: taking it out and putting it back moves one
    /// pointer, with no `RefCell` borrow flag to check and set (every call
    /// does both).
    static SPARE_TIMER: Cell<Option<Box<CallTimer>>> = const { Cell::new(None) };
}

/// How late a call may time out: a timer whose deadline is at most this much
/// after the call's own deadline is reused as is. Tokio's timers have a
/// resolution of 1 ms, so 1 ms costs no precision.
#[inline]
fn slack(timeout: Duration) -> Duration {
    const MAX: Duration = Duration::from_millis(1);
    // A comparison first: the division is only needed for timeouts under
    // 16 ms, and it showed up in every call's profile.
    if timeout >= MAX * 16 {
        MAX
    } else {
        timeout / 16
    }
}

/// A call's timeout, taken from [`SPARE_TIMER`] (see [`SpareOnDrop`]).
struct CallTimer {
    runtime: runtime::Id,
    timer: DeadlineTimer<Sleep>,
}

/// What [`DeadlineTimer`] needs of its sleep: tokio's [`Sleep`], or the
/// fake of the model test.
pub(crate) trait DeadlineSleep {
    /// A point in time of the sleep's clock.
    type Instant: Copy + Ord + Add<Duration, Output = Self::Instant>;
    /// Whether the sleep has fired since it was last reset.
    fn is_elapsed(&self) -> bool;
    /// Moves the sleep to `at`.
    fn reset(self: Pin<&mut Self>, at: Self::Instant);
    /// `Ready` once fired; else registers the task of `cx`.
    fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
}

impl DeadlineSleep for Sleep {
    type Instant = Instant;

    #[inline]
    fn is_elapsed(&self) -> bool {
        Sleep::is_elapsed(self)
    }

    #[inline]
    fn reset(self: Pin<&mut Self>, at: Instant) {
        Sleep::reset(self, at);
    }

    #[inline]
    fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Future::poll(self, cx)
    }
}

/// A sleep reused by consecutive deadlines (invariant 3): moved only when
/// it would fire too late, or fired before the current deadline.
pub(crate) struct DeadlineTimer<S: DeadlineSleep> {
    sleep: Pin<Box<S>>,
    /// The sleep's deadline (invariant 3).
    deadline: S::Instant,
    /// The waker the sleep was last polled with (invariant 2).
    waker: Option<Waker>,
}

impl CallTimer {
    /// The spare timer if it can serve the task of `cx` (invariants 1, 2),
    /// else a new one. Inline: the spare timer of the same task is the
    /// common case (every call of a client in a loop).
    #[inline]
    fn take(cx: &Context<'_>, deadline: Instant) -> Box<CallTimer> {
        match SPARE_TIMER.try_with(Cell::take).ok().flatten() {
            Some(t)
                if t.timer
                    .waker
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker())) =>
            {
                t
            }
            spare => CallTimer::take_other(spare, deadline),
        }
    }

    /// [`CallTimer::take`] when the spare timer (if any) was last polled
    /// by another task: reused if it belongs to this runtime (invariant 1).
    fn take_other(spare: Option<Box<CallTimer>>, deadline: Instant) -> Box<CallTimer> {
        if let Some(t) = spare
            && t.runtime == Handle::current().id()
        {
            return t;
        }
        Box::new(CallTimer {
            runtime: Handle::current().id(),
            timer: DeadlineTimer::new(tokio::time::sleep_until(deadline), deadline),
        })
    }
}

impl<S: DeadlineSleep> DeadlineTimer<S> {
    /// A timer on `sleep`, which is set to `deadline`.
    pub(crate) fn new(sleep: S, deadline: S::Instant) -> Self {
        DeadlineTimer {
            sleep: Box::pin(sleep),
            deadline,
            waker: None,
        }
    }

    /// `Ready` once `deadline` has passed (at most `slack` late). Inline:
    /// the common case is the first branch (invariant 3), a few compares.
    #[inline]
    fn poll_deadline(
        &mut self,
        cx: &mut Context<'_>,
        deadline: S::Instant,
        slack: Duration,
    ) -> Poll<()> {
        let latest = deadline + slack;
        let too_late = self.deadline > latest;
        let registered = self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        if !too_late && registered && !self.sleep.is_elapsed() {
            // Invariant 3: the sleep wakes this task in time (or early).
            return Poll::Pending;
        }
        self.rearm(cx, deadline, latest, registered)
    }

    /// Moves the sleep to `latest` if it would fire later, registers the
    /// task of `cx` unless `registered`, and polls the sleep. A sleep that
    /// fired for an earlier deadline (an earlier call's) is moved to
    /// `latest` and polled again. That the poll decides it, not an
    /// `is_elapsed` before it, matters: the time driver may fire the sleep
    /// on another thread in between, and the call timed out early (found
    /// by the model test `loom_call_timer_never_fires_early_and_moves_at_
    /// most_once_per_call`).
    fn rearm(
        &mut self,
        cx: &mut Context<'_>,
        deadline: S::Instant,
        latest: S::Instant,
        registered: bool,
    ) -> Poll<()> {
        if self.deadline > latest {
            self.move_to(latest);
        }
        if !registered {
            self.waker = Some(cx.waker().clone());
        }
        match self.sleep.as_mut().poll_elapsed(cx) {
            Poll::Ready(()) if self.deadline < deadline => {
                self.move_to(latest);
                self.sleep.as_mut().poll_elapsed(cx)
            }
            poll => poll,
        }
    }

    /// Moves the sleep to `at`.
    fn move_to(&mut self, at: S::Instant) {
        self.deadline = at;
        self.sleep.as_mut().reset(at);
    }
}

/// Gives the timer back to [`SPARE_TIMER`] when the call ends, also when
/// the call future is dropped.
struct SpareOnDrop(Option<Box<CallTimer>>);

impl Drop for SpareOnDrop {
    #[inline]
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            // During thread teardown the slot is gone; the timer just drops.
            // A timer already in the slot (a concurrent call's) is dropped.
            let _ = SPARE_TIMER.try_with(|s| s.set(Some(t)));
        }
    }
}

/// `fut`'s output, or `None` once `deadline` has passed (at most `slack`
/// late), on the thread's reused timer. The timer is taken at the first
/// `Pending` and given back when this future is dropped (`SpareOnDrop`),
/// also when it is cancelled. A call waits for its reply this way
/// (`fut` = `&mut` the reply receiver); a supervisor, for a child's exit.
pub(crate) struct OrDeadline<F> {
    fut: F,
    deadline: Instant,
    slack: Duration,
    timer: SpareOnDrop,
}

impl<F> OrDeadline<F> {
    /// Waits on `fut` until `deadline`, the deadline of a call with
    /// `timeout` (which may fire up to the call slack late).
    #[inline]
    pub(crate) fn new(fut: F, deadline: Instant, timeout: Duration) -> Self {
        OrDeadline::with_slack(fut, deadline, slack(timeout))
    }

    /// Waits on `fut` until `deadline`, firing at most `slack` late. With
    /// no slack the timer is still reused (invariant 3).
    #[inline]
    pub(crate) fn with_slack(fut: F, deadline: Instant, slack: Duration) -> Self {
        OrDeadline {
            fut,
            deadline,
            slack,
            timer: SpareOnDrop(None),
        }
    }
}

impl<F: Future + Unpin> Future for OrDeadline<F> {
    type Output = Option<F::Output>;

    /// Always inlined: its callers are the calls' `async fn`s (through
    /// [`await_reply!`]), which await nothing else on the common path.
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(r) = Pin::new(&mut this.fut).poll(cx) {
            return Poll::Ready(Some(r));
        }
        let deadline = this.deadline;
        let t = this
            .timer
            .0
            .get_or_insert_with(|| CallTimer::take(cx, deadline));
        t.timer
            .poll_deadline(cx, deadline, this.slack)
            .map(|()| None)
    }
}

/// The deadline of a call with `timeout` starting now; `None` for no
/// deadline (`Duration::MAX`, or beyond the clock's range).
#[inline]
pub(crate) fn deadline(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// A call without a deadline: the reply, or the exit reason once the
/// reply channel closed.
pub(crate) async fn reply_forever<R>(
    rx: oneshot::Receiver<R>,
    cell: &ProcessCell,
) -> Result<R, CallError> {
    match rx.await {
        Ok(r) => Ok(r),
        Err(_) => Err(CallError::Exited(cell.wait_exit().await)),
    }
}

/// A call with a deadline that got no reply: `closed` (the request was
/// dropped) → the exit reason if the process exits before the deadline,
/// else `Timeout`.
pub(crate) async fn no_reply<R>(
    closed: bool,
    deadline: Instant,
    cell: &ProcessCell,
) -> Result<R, CallError> {
    if !closed {
        return Err(CallError::Timeout);
    }
    match tokio::time::timeout_at(deadline, cell.wait_exit()).await {
        Ok(reason) => Err(CallError::Exited(reason)),
        Err(_) => Err(CallError::Timeout),
    }
}

/// `await_reply!(rx, cell, timeout)` waits for the reply to a request
/// already queued at `cell`'s process (`rx: oneshot::Receiver<R>`,
/// `cell: &ProcessCell`, `timeout: Duration`) and evaluates to
/// `Result<R, CallError>`.
///
/// A closed reply channel means the request was dropped: by the process's
/// exit (→ `Exited(reason)`), or by a handler that dropped the caller while
/// staying alive (→ `Timeout` when the deadline passes, as in Erlang).
/// `Duration::MAX` waits forever.
///
/// A macro, expanded in the calling `async fn`, rather than an `async fn`
/// of its own: on the common path (a reply before the deadline) the call
/// then resumes and drops one state machine instead of two. The rare paths
/// (no deadline, no reply) are `async fn`s awaited from the expansion.
macro_rules! await_reply {
    ($rx:expr, $cell:expr, $timeout:expr) => {{
        let mut rx = $rx;
        let cell: &$crate::cell::ProcessCell = $cell;
        let timeout: ::std::time::Duration = $timeout;
        match $crate::call::deadline(timeout) {
            None => $crate::call::reply_forever(rx, cell).await,
            Some(deadline) => {
                match $crate::call::OrDeadline::new(&mut rx, deadline, timeout).await {
                    Some(Ok(r)) => Ok(r),
                    other => $crate::call::no_reply(other.is_some(), deadline, cell).await,
                }
            }
        }
    }};
}

pub(crate) use await_reply;

#[cfg(all(test, loom))]
#[path = "call/tests/loom_call.rs"]
mod loom_call;
