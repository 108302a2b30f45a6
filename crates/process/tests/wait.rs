//! Waiting for a process's exit (`ProcessHandle::wait`, `wait_exit`, the
//! wait behind a supervisor's shutdown): every waiter learns the reason,
//! however its wait races with the exit on another worker, and a wait given
//! up (a timeout) does not stop later waits from being woken.
//!
//! The race cannot be staged step by step, so the first test runs it many
//! times on a multi-thread runtime; a lost wake-up shows as a waiter that
//! never returns (reported by the safety-net timeout).

use std::time::Duration;

use arbor_process::Process;
use arbor_process::{Ctx, ExitReason, Msg, ProcessRef, spawn, wait_exit};

const ROUNDS: usize = 5_000;
const WAITERS: usize = 3;

/// A process that exits with `custom("done")` on its first message.
fn exits_on_message() -> ProcessRef<()> {
    spawn(|mut ctx: Ctx<()>| async move {
        match ctx.recv().await {
            Msg::Message(()) => ExitReason::custom("done"),
            _ => ExitReason::custom("unexpected"),
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn waiters_racing_with_the_exit_all_see_the_reason() {
    for round in 0..ROUNDS {
        let p = exits_on_message();
        let mut waiters = Vec::new();
        for i in 0..WAITERS {
            let handle = p.handle().clone();
            let pid = p.pid();
            waiters.push(tokio::spawn(async move {
                // Both ways of waiting: by handle and by pid.
                if i % 2 == 0 {
                    handle.wait().await
                } else {
                    wait_exit(pid).await
                }
            }));
        }
        // Sent while the waiters are starting on other workers.
        assert!(p.send(()).is_ok(), "round {round}: the process is alive");
        for waiter in waiters {
            // A safety net, not a synchronisation: a waiter ends as soon as
            // the process has exited.
            let got = tokio::time::timeout(Duration::from_secs(10), waiter).await;
            let reason = got.unwrap_or_else(|_| panic!("round {round}: a wait never returned"));
            let reason = reason.unwrap_or_else(|e| panic!("round {round}: waiter failed: {e}"));
            // A pid wait that starts after the exit finds no process: noproc.
            assert!(
                reason == ExitReason::custom("done") || reason == ExitReason::NoProc,
                "round {round}: {reason}"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_wait_that_timed_out_does_not_stop_a_later_wait_from_waking() {
    let p = exits_on_message();
    let handle = p.handle().clone();
    for _ in 0..10 {
        let timed_out = tokio::time::timeout(Duration::from_millis(5), handle.wait()).await;
        assert!(timed_out.is_err(), "the process is still running");
    }
    let late = tokio::spawn({
        let handle = handle.clone();
        async move { handle.wait().await }
    });
    tokio::task::yield_now().await;
    assert!(p.send(()).is_ok());
    assert_eq!(late.await.ok(), Some(ExitReason::custom("done")));
    assert_eq!(handle.wait().await, ExitReason::custom("done"));
}

#[tokio::test]
async fn a_wait_on_an_exited_process_returns_its_reason_at_once() {
    let p = exits_on_message();
    let handle = p.handle().clone();
    assert!(p.send(()).is_ok());
    assert_eq!(handle.wait().await, ExitReason::custom("done"));
    // Later waits, also after the process left the table.
    assert_eq!(handle.wait().await, ExitReason::custom("done"));
    assert_eq!(wait_exit(p.pid()).await, ExitReason::NoProc);
}
