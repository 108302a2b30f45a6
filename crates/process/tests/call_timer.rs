//! Call timeouts with the per-thread reused call timer (`src/call.rs`,
//! invariants 1–4): whatever an earlier call left in the timer, a call
//! times out at its own deadline, never earlier and at most the slack
//! (timeout / 16, at most 1 ms, rounded up to tokio's 1 ms) later.
//! Paused time: the elapsed times below are the virtual clock's, exact.

use std::time::Duration;

use arbor_process::Process;
use arbor_process::{CallError, Ctx, ExitReason, Msg, ProcessRef, ReplyTo, spawn};
use tokio::time::Instant;

/// `Some(n)` is answered with `n`; `None` is kept unanswered (a slow server).
type Req = (Option<u32>, ReplyTo<u32>);

fn server() -> ProcessRef<Req> {
    spawn(|mut ctx: Ctx<Req>| async move {
        let mut held = Vec::new();
        while let Msg::Message((answer, reply)) = ctx.recv().await {
            match answer {
                Some(n) => {
                    reply.reply(n);
                }
                None => held.push(reply),
            }
        }
        ExitReason::Normal
    })
}

async fn call(
    s: &ProcessRef<Req>,
    answer: Option<u32>,
    timeout: Duration,
) -> Result<u32, CallError> {
    s.call_timeout(|r| (answer, r), timeout).await
}

/// Asserts that `elapsed` lies in `[timeout, timeout + 2 ms]`.
fn assert_fired_on_time(what: &str, elapsed: Duration, timeout: Duration) {
    assert!(
        elapsed >= timeout && elapsed <= timeout + Duration::from_millis(2),
        "{what}: timed out after {elapsed:?}, timeout {timeout:?}"
    );
}

/// After a call with a long timeout left the timer far in the future, a
/// call with a short timeout still times out at its own deadline.
#[tokio::test(start_paused = true)]
async fn a_short_timeout_after_a_long_one_fires_at_its_own_deadline() {
    let s = server();
    assert_eq!(call(&s, Some(1), Duration::from_secs(5)).await, Ok(1));
    let start = Instant::now();
    let timeout = Duration::from_millis(100);
    assert_eq!(call(&s, None, timeout).await, Err(CallError::Timeout));
    assert_fired_on_time("short after long", start.elapsed(), timeout);
}

/// After a call with a short timeout, a call with a long timeout is not cut
/// short by the timer's earlier deadline.
#[tokio::test(start_paused = true)]
async fn a_long_timeout_after_a_short_one_waits_its_full_timeout() {
    let s = server();
    assert_eq!(call(&s, Some(1), Duration::from_millis(10)).await, Ok(1));
    let start = Instant::now();
    let timeout = Duration::from_secs(1);
    assert_eq!(call(&s, None, timeout).await, Err(CallError::Timeout));
    assert_fired_on_time("long after short", start.elapsed(), timeout);
}

/// Many answered calls in a row, then one that times out: the deadline is
/// still the last call's.
#[tokio::test(start_paused = true)]
async fn a_timeout_after_many_answered_calls_fires_on_time() {
    let s = server();
    for i in 0..100 {
        assert_eq!(call(&s, Some(i), Duration::from_millis(50)).await, Ok(i));
        tokio::time::advance(Duration::from_millis(3)).await;
    }
    let start = Instant::now();
    let timeout = Duration::from_millis(50);
    assert_eq!(call(&s, None, timeout).await, Err(CallError::Timeout));
    assert_fired_on_time("after many calls", start.elapsed(), timeout);
}

/// Two calls waiting at once in one task (only one can hold the spare
/// timer) each time out at their own deadline.
#[tokio::test(start_paused = true)]
async fn concurrent_calls_in_one_task_time_out_at_their_own_deadlines() {
    let s = server();
    let start = Instant::now();
    let (short, long) = (Duration::from_millis(300), Duration::from_secs(2));
    let timed = |timeout| {
        let s = s.clone();
        async move {
            let r = call(&s, None, timeout).await;
            (r, start.elapsed())
        }
    };
    let ((r1, e1), (r2, e2)) = tokio::join!(timed(long), timed(short));
    assert_eq!((r1, r2), (Err(CallError::Timeout), Err(CallError::Timeout)));
    assert_fired_on_time("long, concurrent", e1, long);
    assert_fired_on_time("short, concurrent", e2, short);
}

/// A call cancelled while waiting gives the timer back; the next call
/// times out at its own deadline.
#[tokio::test(start_paused = true)]
async fn a_call_after_a_cancelled_one_times_out_on_time() {
    let s = server();
    let cancelled = tokio::time::timeout(
        Duration::from_millis(10),
        call(&s, None, Duration::from_secs(3)),
    )
    .await;
    assert!(cancelled.is_err(), "the outer timeout cancels the call");
    let start = Instant::now();
    let timeout = Duration::from_millis(200);
    assert_eq!(call(&s, None, timeout).await, Err(CallError::Timeout));
    assert_fired_on_time("after a cancelled call", start.elapsed(), timeout);
}

// ===== ProcessHandle::wait_timeout: the same timer, no slack =====

/// A process that never exits by itself (until killed).
fn idle() -> ProcessRef<()> {
    spawn(|mut ctx: Ctx<()>| async move {
        loop {
            ctx.recv().await;
        }
    })
}

/// Exits with `custom("done")` after `after`.
fn exits_after(after: Duration) -> ProcessRef<()> {
    spawn(move |_ctx: Ctx<()>| async move {
        tokio::time::sleep(after).await;
        ExitReason::custom("done")
    })
}

/// A process that exits in time: its reason, when it exits.
#[tokio::test(start_paused = true)]
async fn wait_timeout_returns_the_reason_when_the_process_exits_in_time() {
    let p = exits_after(Duration::from_millis(100)).handle().clone();
    let start = Instant::now();
    let reason = p.wait_timeout(Duration::from_secs(1)).await;
    assert_eq!(reason, Some(ExitReason::custom("done")));
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    // Already exited: at once.
    assert_eq!(
        p.wait_timeout(Duration::ZERO).await,
        Some(ExitReason::custom("done"))
    );
}

/// A process still running at the deadline: `None` exactly then (no
/// slack: a supervisor's shutdown timeout is exact), the process untouched.
#[tokio::test(start_paused = true)]
async fn wait_timeout_gives_none_exactly_at_the_deadline() {
    let p = idle().handle().clone();
    let start = Instant::now();
    assert_eq!(p.wait_timeout(Duration::from_millis(250)).await, None);
    assert_eq!(start.elapsed(), Duration::from_millis(250));
    assert!(p.is_alive());
    p.exit(ExitReason::Kill);
    assert_eq!(p.wait().await, ExitReason::Killed);
}

/// Whatever a call left in the thread's timer (a deadline 5 s ahead), and
/// with waits one after the other (each deadline later than the last, the
/// timer moved, not re-registered), each wait ends at its own deadline.
#[tokio::test(start_paused = true)]
async fn wait_timeouts_after_a_call_and_each_other_end_at_their_own_deadlines() {
    let s = server();
    assert_eq!(call(&s, Some(1), Duration::from_secs(5)).await, Ok(1));
    let p = idle().handle().clone();
    for ms in [10, 300, 20, 20, 4000] {
        let start = Instant::now();
        let timeout = Duration::from_millis(ms);
        assert_eq!(p.wait_timeout(timeout).await, None);
        assert_eq!(start.elapsed(), timeout, "a wait of {ms} ms");
    }
    p.exit(ExitReason::Kill);
}

/// A wait that ended early (the process exited) leaves the timer armed at
/// its deadline; a longer wait after it is woken then and must go on to its
/// own deadline, not report a timeout at the earlier one.
#[tokio::test(start_paused = true)]
async fn a_long_wait_after_a_short_one_that_ended_early_waits_its_full_timeout() {
    let done = exits_after(Duration::from_millis(5)).handle().clone();
    assert_eq!(
        done.wait_timeout(Duration::from_millis(20)).await,
        Some(ExitReason::custom("done"))
    );
    let p = idle().handle().clone();
    for ms in [300, 40, 1000] {
        let start = Instant::now();
        let timeout = Duration::from_millis(ms);
        assert_eq!(p.wait_timeout(timeout).await, None);
        assert_eq!(start.elapsed(), timeout, "a wait of {ms} ms");
        // A short wait that ends early again, before the next long one.
        let quick = exits_after(Duration::from_millis(1)).handle().clone();
        assert!(
            quick
                .wait_timeout(Duration::from_millis(30))
                .await
                .is_some()
        );
    }
    p.exit(ExitReason::Kill);
}

/// `Duration::MAX` waits until the process exits.
#[tokio::test(start_paused = true)]
async fn wait_timeout_without_a_deadline_waits_for_the_exit() {
    let p = exits_after(Duration::from_secs(3600)).handle().clone();
    assert_eq!(
        p.wait_timeout(Duration::MAX).await,
        Some(ExitReason::custom("done"))
    );
}
