//! A request that reaches a process's mailbox while the process exits is
//! dropped, so its caller learns of the exit: a call without a timeout
//! never hangs on a dead process.
//!
//! The race is between a sender and the mailbox being closed on another
//! worker thread; it cannot be staged step by step, so this test runs it
//! many times on a multi-thread runtime. It passes on every run when the
//! mailbox is drained exactly at exit, and fails with a hang report when
//! a late request is left in the closed mailbox (found by the chaos soak,
//! `examples/chaos/`).

use std::time::Duration;

use arbor_process::Process;
use arbor_process::{CallError, Ctx, ExitReason, Msg, ReplyTo, spawn};

/// Callers per round and rounds: enough to hit the window within a few
/// thousand rounds when the drain is missing.
const CALLERS: usize = 3;
const ROUNDS: usize = 50_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_call_racing_with_the_callee_exit_returns() {
    for round in 0..ROUNDS {
        // Answers `round % 4` calls, then exits while callers keep calling.
        let answers = round % 4;
        let server = spawn(move |mut ctx: Ctx<ReplyTo<u32>>| async move {
            for _ in 0..answers {
                match ctx.recv().await {
                    Msg::Message(reply) => {
                        reply.reply(1);
                    }
                    _ => return ExitReason::custom("unexpected"),
                }
            }
            ExitReason::Normal
        });
        let mut callers = Vec::new();
        for _ in 0..CALLERS {
            let server = server.clone();
            callers.push(tokio::spawn(async move {
                loop {
                    match server.call_timeout(|r| r, Duration::MAX).await {
                        Ok(_) => continue,
                        Err(CallError::NoProcess | CallError::Exited(_)) => return,
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
            }));
        }
        for caller in callers {
            // A safety net, not a synchronisation: every caller ends as soon
            // as the server is gone.
            let done = tokio::time::timeout(Duration::from_secs(10), caller).await;
            assert!(
                done.is_ok(),
                "round {round}: a call to the exited {} never returned",
                server.pid()
            );
        }
    }
}

/// The exit drain also works when the process used up tokio's coop budget
/// in its last poll (receiving many queued messages at once): the drain
/// must not read the budget's `Pending` as "a send is in flight" and spin.
#[test]
fn a_process_exiting_with_its_coop_budget_used_up_exits() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let exited = rt.block_on(async {
        // Around tokio's budget of 128 operations per poll.
        for n in [1usize, 127, 128, 129, 255, 256, 257, 1000] {
            let p = spawn(move |mut ctx: Ctx<u32>| async move {
                let me = ctx.process_ref();
                for i in 0..n {
                    me.send(i as u32).unwrap();
                }
                for _ in 0..n {
                    ctx.recv().await;
                }
                ExitReason::Normal
            });
            // A safety net, not a synchronisation: a spinning drain never
            // lets the process finish its exit.
            let done = tokio::time::timeout(Duration::from_secs(10), p.wait()).await;
            if done != Ok(ExitReason::Normal) {
                return Err(n);
            }
        }
        Ok(())
    });
    // A spinning worker would keep a plain runtime drop waiting.
    rt.shutdown_background();
    assert_eq!(
        exited,
        Ok(()),
        "the process receiving n messages never exited"
    );
}
