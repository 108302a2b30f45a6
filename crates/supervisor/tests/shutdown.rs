//! The shutdown protocol and supervisor termination, as OTP's
//! `supervisor_SUITE` group `sup_stop` (docs/otp/supervisor.md#sup-shutdown, docs/otp/supervisor.md#sup-child-exit parent
//! handling).

mod support;

use std::time::Duration;

use arbor_process::{Ctx, ExitReason, Process, ProcessHandle, exit, scope};
use arbor_supervisor::{Shutdown, SupFlags, Supervisor};
use support::*;
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

/// OTP `sup_stop_timeout`/`sup_stop_brutal_kill`: children stop in reverse, each with its shutdown.
#[tokio::test(start_paused = true)]
async fn children_stop_one_at_a_time_in_reverse_order_each_with_its_shutdown() {
    let log = Log::default();
    let sup = Supervisor::new(SupFlags::default())
        .child(
            Probe::new(&log, "slow_inf")
                .stop_delay(300 * MS)
                .spec()
                .shutdown(Shutdown::Infinity),
        )
        .child(
            Probe::new(&log, "slow_to")
                .stop_delay(2000 * MS)
                .spec()
                .shutdown(Shutdown::Timeout(200 * MS)),
        )
        .child(probe(&log, "bk").shutdown(Shutdown::BrutalKill))
        .child(
            Probe::new(&log, "notrap")
                .no_trap()
                .spec()
                .shutdown(Shutdown::Timeout(1000 * MS)),
        )
        .start()
        .await
        .unwrap();
    let handles: Vec<ProcessHandle> = {
        let mut v = Vec::new();
        for id in ["slow_inf", "slow_to", "bk", "notrap"] {
            v.push(ProcessHandle::lookup(pid_of(&sup, id).await).unwrap());
        }
        v
    };
    log.take();
    let t0 = Instant::now();
    sup.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
    let took = t0.elapsed();
    let reasons: Vec<ExitReason> = handles.iter().map(|h| h.exit_reason().unwrap()).collect();
    assert_eq!(
        reasons,
        [
            ExitReason::Shutdown,
            ExitReason::Killed,
            ExitReason::Killed,
            ExitReason::Shutdown
        ]
    );
    // Only the trapping infinity child logs: the others were killed or did
    // not trap.
    assert_eq!(log.take(), ["stop slow_inf shutdown"]);
    // 200 ms timeout for slow_to, then 300 ms for slow_inf: one at a time.
    assert_eq!(took, 500 * MS);
}

/// OTP `simple_one_for_one_shutdown`: dynamic children stop in parallel under one timer.
#[tokio::test(start_paused = true)]
async fn simple_one_for_one_children_stop_in_parallel_under_one_timer() {
    let log = Log::default();
    let sup = Supervisor::simple(
        SupFlags::default(),
        Probe::new(&log, "t")
            .stop_delay(500 * MS)
            .template()
            .shutdown(Shutdown::Timeout(1000 * MS)),
    )
    .start()
    .await
    .unwrap();
    for tag in ["one", "two"] {
        sup.start_child(tag).await.unwrap();
    }
    log.take();
    let t0 = Instant::now();
    sup.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
    assert_eq!(t0.elapsed(), 500 * MS, "in parallel, not 1000 ms");
    let mut stopped = log.take();
    stopped.sort();
    assert_eq!(stopped, ["stop t:one shutdown", "stop t:two shutdown"]);
}

/// OTP `simple_one_for_one_shutdown`: dynamic children are signalled newest first (arbor's order).
///
/// Not specified by OTP (its children live in a map); arbor signals them
/// newest first, like static children, and on current_thread each child
/// runs in the order it was signalled.
#[tokio::test(start_paused = true)]
async fn simple_one_for_one_children_are_signalled_in_reverse_start_order() {
    let log = Log::default();
    let sup = Supervisor::simple(
        SupFlags::default(),
        Probe::new(&log, "t")
            .template()
            .shutdown(Shutdown::Timeout(1000 * MS)),
    )
    .start()
    .await
    .unwrap();
    for tag in ["a", "b", "c", "d"] {
        sup.start_child(tag).await.unwrap();
    }
    // A restarted child keeps its place: "b" crashes and comes back.
    let b = sup.which_children().await.unwrap()[2].state.pid().unwrap();
    let watch = ProcessHandle::lookup(b).unwrap();
    exit(b, ExitReason::Kill);
    watch.wait().await;
    let after = sup.which_children().await.unwrap();
    assert_eq!(after.len(), 4);
    assert_ne!(
        after[2].state.pid(),
        Some(b),
        "b was restarted in its place"
    );
    log.take();
    sup.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
    assert_eq!(
        log.take(),
        [
            "stop t:d shutdown",
            "stop t:c shutdown",
            "stop t:b shutdown",
            "stop t:a shutdown"
        ]
    );
}

/// OTP `simple_one_for_one_shutdown`: children alive at the timeout are killed together.
#[tokio::test(start_paused = true)]
async fn simple_one_for_one_survivors_of_the_timer_are_killed_together() {
    let log = Log::default();
    let sup = Supervisor::simple(
        SupFlags::default(),
        Probe::new(&log, "t")
            .stop_delay(10_000 * MS)
            .unit_template()
            .shutdown(Shutdown::Timeout(100 * MS)),
    )
    .start()
    .await
    .unwrap();
    let mut pids = Vec::new();
    for _ in 0..3 {
        let p = sup.start_child(()).await.unwrap();
        pids.push(ProcessHandle::lookup(p.pid().unwrap()).unwrap());
    }
    let t0 = Instant::now();
    sup.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
    assert_eq!(t0.elapsed(), 100 * MS);
    for h in pids {
        assert_eq!(h.exit_reason(), Some(ExitReason::Killed));
    }
}

/// OTP `sup_stop_infinity`: the parent's exit stops the children, then the supervisor with the parent's reason.
#[tokio::test]
async fn the_parent_exit_stops_children_then_the_supervisor_with_the_parent_reason() {
    let log = Log::default();
    let log2 = log.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let parent = arbor_process::spawn(move |mut ctx: Ctx<()>| async move {
        let sup = Supervisor::new(SupFlags::default())
            .children(["a", "b"].map(|id| probe(&log2, id)))
            .start_link()
            .await
            .unwrap();
        let _ = tx.send(sup);
        ctx.recv().await;
        ExitReason::custom("parent_gone")
    });
    let sup = rx.await.unwrap();
    log.take();
    parent.send(()).unwrap();
    assert_eq!(sup.wait().await, ExitReason::custom("parent_gone"));
    assert_eq!(log.take(), ["stop b shutdown", "stop a shutdown"]);
}

/// OTP `supervisor:handle_info/2`: an `EXIT` from a process that is neither parent nor child is ignored.
#[tokio::test]
async fn a_shutdown_signal_from_a_process_that_is_not_the_parent_is_ignored() {
    let log = Log::default();
    let sup = Supervisor::new(SupFlags::default())
        .child(probe(&log, "a"))
        .start()
        .await
        .unwrap();
    let sup_pid = sup.pid();
    scope(|_: Ctx<()>| async move { exit(sup_pid, ExitReason::Shutdown) })
        .await
        .unwrap();
    exit(sup_pid, ExitReason::custom("whatever"));
    // Served after both signals: still alive with its child.
    assert_eq!(children(&sup).await, ["a=running"]);
    exit(sup_pid, ExitReason::Kill);
    assert_eq!(sup.wait().await, ExitReason::Killed);
}

/// OTP links: `exit(Sup, kill)` takes the supervisor's linked children down with it.
#[tokio::test]
async fn a_killed_supervisor_takes_its_linked_children_down() {
    let log = Log::default();
    let sup = Supervisor::new(SupFlags::default())
        .child(Probe::new(&log, "a").no_trap().spec())
        .start()
        .await
        .unwrap();
    let a = ProcessHandle::lookup(pid_of(&sup, "a").await).unwrap();
    exit(sup.pid(), ExitReason::Kill);
    assert_eq!(a.wait().await, ExitReason::Killed);
}

/// OTP `shutdown/2`: a child that dies during shutdown keeps its reason and is not restarted.
#[tokio::test(start_paused = true)]
async fn a_child_dying_during_shutdown_keeps_its_reason_and_is_not_restarted() {
    let log = Log::default();
    let sup = Supervisor::new(SupFlags::default().intensity(10))
        .child(probe(&log, "a"))
        .child(Probe::new(&log, "b").stop_delay(100 * MS).spec())
        .start()
        .await
        .unwrap();
    let a = ProcessHandle::lookup(pid_of(&sup, "a").await).unwrap();
    let a_pid = a.pid();
    let crasher = tokio::spawn(async move {
        tokio::time::sleep(50 * MS).await;
        support::crash_pid(a_pid, ExitReason::custom("boom")).await;
    });
    log.take();
    sup.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
    crasher.await.unwrap();
    assert_eq!(a.exit_reason(), Some(ExitReason::custom("boom")));
    assert_eq!(log.take(), ["exit a boom", "stop b shutdown"]);
}

/// OTP `gen_server:stop/1`: the supervisor exits `normal`.
///
/// `gen_server:stop/1`: reason `normal`.
#[tokio::test]
async fn stop_exits_normal() {
    let sup = Supervisor::rest_for_one().start().await.unwrap();
    sup.stop().await.unwrap();
    assert_eq!(sup.wait().await, ExitReason::Normal);
}
