//! The mailbox opened by the first message (crates/process/src/mailbox.rs):
//! whatever sends first (a handle, a handle found by pid, an exit signal, a
//! monitor, the process itself), the process receives everything once, in
//! order, and a process that exits before receiving behaves as one with an
//! eager mailbox.

use std::time::Duration;

use arbor_process::Myself;
use arbor_process::Process;
use arbor_process::{
    CallError, Ctx, ExitReason, Msg, ProcessRef, ReplyTo, SendError, exit, scope, spawn,
    spawn_link, wait_exit,
};
use tokio::sync::oneshot;

const LONG: Duration = Duration::from_secs(60);

/// A process that reports `ready`, then forwards the `n` messages it
/// receives (user messages as `Some`, signals as `None`).
fn collector(
    n: usize,
    trap: bool,
) -> (
    ProcessRef<u32>,
    oneshot::Receiver<()>,
    oneshot::Receiver<Vec<Option<u32>>>,
) {
    let (ready_tx, ready) = oneshot::channel();
    let (done_tx, done) = oneshot::channel();
    let p = spawn(move |mut ctx: Ctx<u32>| async move {
        ctx.trap_exit(trap);
        let _ = ready_tx.send(());
        let mut got = Vec::new();
        while got.len() < n {
            got.push(match ctx.recv().await {
                Msg::Message(m) => Some(m),
                Msg::Exit(_) | Msg::Down(_) => None,
            });
        }
        let _ = done_tx.send(got);
        ExitReason::Normal
    });
    (p, ready, done)
}

#[tokio::test]
async fn a_process_waiting_for_its_first_message_is_woken_by_it() {
    let (p, ready, done) = collector(1, false);
    // On current_thread the process is now parked in `recv` with no mailbox.
    ready.await.unwrap();
    p.send(7).unwrap();
    assert_eq!(done.await.unwrap(), [Some(7)]);
    assert_eq!(p.wait().await, ExitReason::Normal);
}

#[tokio::test]
async fn handles_made_before_and_after_the_first_message_keep_send_order() {
    let (p, ready, done) = collector(4, false);
    let early = p.clone();
    ready.await.unwrap();
    p.send(1).unwrap();
    // `early` was cloned before the mailbox existed: it finds it open.
    early.send(2).unwrap();
    ProcessRef::<u32>::from_pid(p.pid())
        .unwrap()
        .send(3)
        .unwrap();
    p.clone().send(4).unwrap();
    assert_eq!(done.await.unwrap(), [Some(1), Some(2), Some(3), Some(4)]);
}

#[tokio::test]
async fn the_first_message_can_be_an_exit_signal_or_a_monitor_notification() {
    let (p, ready, done) = collector(3, true);
    ready.await.unwrap();
    // A `normal` exit signal to a trapping process is a message: the first.
    exit(p.pid(), ExitReason::Normal);
    let linked = spawn(|_ctx: Ctx<()>| async { ExitReason::custom("x") });
    wait_exit(linked.pid()).await;
    p.send(5).unwrap();
    exit(p.pid(), ExitReason::custom("y"));
    assert_eq!(done.await.unwrap(), [None, Some(5), None]);

    // A monitor of a dead pid pushes `Down` into the monitoring process's
    // own unborn mailbox.
    let dead = linked.pid();
    let down = scope(|mut ctx: Ctx<()>| async move {
        let mref = ctx.monitor(dead);
        match ctx.recv().await {
            Msg::Down(d) => (d.monitor == mref, d.reason),
            other => panic!("unexpected {other:?}"),
        }
    })
    .await;
    assert_eq!(down, Ok((true, ExitReason::NoProc)));
}

#[tokio::test]
async fn a_linked_exit_is_the_first_message_of_a_trapping_parent() {
    let out = scope(|mut ctx: Ctx<()>| async move {
        ctx.trap_exit(true);
        assert!(ctx.try_recv().is_none());
        let child = spawn_link(|_ctx: Ctx<()>| async { ExitReason::custom("boom") });
        match ctx.recv().await {
            Msg::Exit(sig) => (sig.from == child.pid(), sig.reason),
            other => panic!("unexpected {other:?}"),
        }
    })
    .await;
    assert_eq!(out, Ok((true, ExitReason::custom("boom"))));
}

#[tokio::test]
async fn a_process_can_hand_out_its_own_handle_before_any_message() {
    let out = scope(|mut ctx: Ctx<&'static str>| async move {
        assert!(ctx.try_recv().is_none(), "nothing sent yet");
        let me = ctx.process_ref();
        me.send("hello").unwrap();
        let first = match ctx.try_recv() {
            Some(Msg::Message(m)) => m,
            other => panic!("unexpected {other:?}"),
        };
        me.send("again").unwrap();
        let second = match ctx.recv().await {
            Msg::Message(m) => m,
            other => panic!("unexpected {other:?}"),
        };
        (first, second)
    })
    .await;
    assert_eq!(out, Ok(("hello", "again")));
}

#[tokio::test]
async fn a_handle_of_another_message_type_is_refused_before_the_first_message() {
    let (p, ready, done) = collector(1, false);
    ready.await.unwrap();
    assert!(ProcessRef::<String>::from_pid(p.pid()).is_none());
    ProcessRef::<u32>::from_pid(p.pid())
        .unwrap()
        .send(9)
        .unwrap();
    assert_eq!(done.await.unwrap(), [Some(9)]);
}

#[tokio::test]
async fn sends_to_a_process_that_exited_before_receiving_fail() {
    let p = spawn(|_ctx: Ctx<u32>| async { ExitReason::custom("early") });
    let early = p.clone();
    assert_eq!(p.wait().await, ExitReason::custom("early"));
    assert!(matches!(early.send(3), Err(SendError(3))));
    let called = early.call_timeout(|_r: ReplyTo<()>| 4, LONG).await;
    assert_eq!(called, Err(CallError::NoProcess));
    assert!(ProcessRef::<u32>::from_pid(p.pid()).is_none());
}

/// A call queued in a mailbox the process never read: the process exits,
/// the queued request is dropped with the mailbox, and the caller learns of
/// the exit instead of waiting for ever.
#[tokio::test]
async fn a_call_queued_before_the_process_ever_receives_fails_when_it_exits() {
    let (go_tx, go) = oneshot::channel::<()>();
    let p = spawn(move |_ctx: Ctx<ReplyTo<u32>>| async move {
        let _ = go.await;
        ExitReason::custom("never read")
    });
    let call = p.call_timeout(|r| r, Duration::MAX);
    let mut call = std::pin::pin!(call);
    // One poll queues the request (opening the mailbox) and waits.
    assert!(futures::poll!(call.as_mut()).is_pending());
    go_tx.send(()).unwrap();
    assert_eq!(
        call.await,
        Err(CallError::Exited(ExitReason::custom("never read")))
    );
}

/// The waiter registration and the first send race on two workers: every
/// process gets its message (a lost wake-up would hang here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_messages_racing_with_the_first_receive_are_never_lost() {
    let mut procs = Vec::new();
    for _ in 0..2_000 {
        let (p, _ready, done) = collector(1, false);
        procs.push((p, done));
    }
    let senders: Vec<ProcessRef<u32>> = procs.iter().map(|(p, _)| p.clone()).collect();
    let sending = tokio::spawn(async move {
        for (i, p) in senders.iter().enumerate() {
            p.send(i as u32).unwrap();
        }
    });
    for (i, (_, done)) in procs.into_iter().enumerate() {
        assert_eq!(done.await.unwrap(), [Some(i as u32)]);
    }
    sending.await.unwrap();
}
