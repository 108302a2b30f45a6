//! Process timers (OTP: erlang:send_after/3, erlang:cancel_timer/1).

use std::time::Duration;

use arbor_process::Process;
use arbor_process::{Ctx, ExitReason, Msg, scope, spawn};

/// send_after fires after the delay, in paused time.
#[tokio::test(start_paused = true)]
async fn send_after_fires() {
    let got = scope(|mut me: Ctx<u32>| async move {
        me.send_after(Duration::from_secs(10), 7);
        let start = tokio::time::Instant::now();
        let Msg::Message(n) = me.recv().await else {
            panic!("expected the timer message")
        };
        (n, start.elapsed() >= Duration::from_secs(10))
    })
    .await
    .unwrap();
    assert_eq!(got, (7, true));
}

/// A cancelled timer never fires and its message comes back.
#[tokio::test(start_paused = true)]
async fn cancel_timer_returns_message_and_stops_it() {
    let got = scope(|mut me: Ctx<u32>| async move {
        let t = me.send_after(Duration::from_secs(10), 1);
        me.send_after(Duration::from_secs(20), 2);
        let cancelled = me.cancel_timer(t);
        let Msg::Message(n) = me.recv().await else {
            panic!("expected the timer message")
        };
        (cancelled, n, me.pending_timers())
    })
    .await
    .unwrap();
    assert_eq!(got, (Some(1), 2, 0));
}

/// Regression: cancelling a timer that already fired must not cancel a
/// newer timer (the old implementation reused the delay queue's slot key).
#[tokio::test(start_paused = true)]
async fn cancel_fired_timer_does_not_cancel_a_newer_one() {
    let got = scope(|mut me: Ctx<u32>| async move {
        let old = me.send_after(Duration::from_millis(1), 1);
        let Msg::Message(1) = me.recv().await else {
            panic!("expected the first timer")
        };
        me.send_after(Duration::from_secs(5), 2);
        let cancelled = me.cancel_timer(old);
        let pending = me.pending_timers();
        let Msg::Message(n) = me.recv().await else {
            panic!("expected the second timer")
        };
        (cancelled, pending, n)
    })
    .await
    .unwrap();
    assert_eq!(got, (None, 1, 2));
}

/// Timers are owned by the process: they are gone when it exits.
#[tokio::test(start_paused = true)]
async fn timers_are_cancelled_on_exit() {
    let p = spawn(|mut ctx: Ctx<()>| async move {
        ctx.send_after(Duration::from_secs(1), ());
        ctx.send_after(Duration::from_secs(3600), ());
        ctx.recv().await;
        ExitReason::Normal
    });
    assert_eq!(p.wait().await, ExitReason::Normal);
    // The remaining timer cannot fire into a dead mailbox.
    tokio::time::advance(Duration::from_secs(7200)).await;
    assert!(p.send(()).is_err());
}
