//! Monitors and the exit processing order (OTP: erlang:monitor/2,
//! erlang:demonitor/1; arbor's "links before monitors" decision).

use arbor_process::Myself;
use arbor_process::Process;
use arbor_process::{Ctx, Down, ExitReason, Msg, kill, scope, spawn, spawn_link};

/// A process that exits with the reason it is sent.
fn exits_on_message() -> arbor_process::ProcessRef<ExitReason> {
    spawn(|mut ctx: Ctx<ExitReason>| async move {
        match ctx.recv().await {
            Msg::Message(reason) => reason,
            _ => ExitReason::custom("unexpected"),
        }
    })
}

/// The watcher gets exactly one DOWN carrying the monitor, the pid and the
/// exit reason, for every kind of reason.
#[tokio::test]
async fn monitor_reports_exit_reason_once() {
    for reason in [
        ExitReason::Normal,
        ExitReason::Shutdown,
        ExitReason::shutdown_with("x"),
        ExitReason::custom("boom"),
    ] {
        let target = exits_on_message();
        let want = reason.clone();
        let (down, extra) = scope(|mut me: Ctx<()>| async move {
            let mref = me.monitor(target.pid());
            target.send(reason).unwrap();
            let Msg::Down(down) = me.recv().await else {
                panic!("expected DOWN")
            };
            assert_eq!(down.monitor, mref);
            (down, me.try_recv().is_some())
        })
        .await
        .unwrap();
        assert_eq!(down.reason, want);
        assert!(!extra, "exactly one notification");
    }
}

/// Monitoring a dead pid gives DOWN with `noproc` at once.
#[tokio::test]
async fn monitor_of_dead_pid_reports_noproc_at_once() {
    let dead = spawn(|_: Ctx<()>| async { ExitReason::custom("gone") });
    let pid = dead.pid();
    dead.wait().await;
    let down = scope(|mut me: Ctx<()>| async move {
        let mref = me.monitor(pid);
        match me.try_recv() {
            Some(Msg::Down(d)) => (d.monitor == mref, d),
            other => panic!("expected an immediate DOWN, got {other:?}"),
        }
    })
    .await
    .unwrap();
    assert!(down.0);
    assert_eq!(down.1.pid, pid);
    assert_eq!(down.1.reason, ExitReason::NoProc);
}

/// A killed process reports `killed` to its monitors.
#[tokio::test]
async fn monitor_sees_killed() {
    let target = spawn(|_: Ctx<()>| std::future::pending::<ExitReason>());
    let reason = scope(|mut me: Ctx<()>| async move {
        me.monitor(target.pid());
        kill(target.pid());
        match me.recv().await {
            Msg::Down(Down { reason, .. }) => reason,
            other => panic!("unexpected {other:?}"),
        }
    })
    .await
    .unwrap();
    assert_eq!(reason, ExitReason::Killed);
}

/// After demonitor no DOWN arrives; demonitor reports whether it was active.
#[tokio::test]
async fn demonitor_stops_notification() {
    let target = exits_on_message();
    let out = scope(|mut me: Ctx<u8>| async move {
        let mref = me.monitor(target.pid());
        let first = me.demonitor(mref);
        let second = me.demonitor(mref);
        target.send(ExitReason::custom("bye")).unwrap();
        target.wait().await;
        // A marker sent to ourselves after the exit: had a DOWN been sent,
        // it would be queued before the marker.
        me.process_ref().send(7).unwrap();
        let next = match me.recv().await {
            Msg::Message(n) => format!("msg {n}"),
            other => format!("{other:?}"),
        };
        (first, second, next)
    })
    .await
    .unwrap();
    assert_eq!(out, (true, false, "msg 7".to_owned()));
}

/// Monitors are independent of links: unlink does not remove a monitor.
#[tokio::test]
async fn unlink_does_not_affect_monitor() {
    let reason = scope(|mut me: Ctx<()>| async move {
        let child = spawn_link(|mut ctx: Ctx<()>| async move {
            ctx.recv().await;
            ExitReason::custom("late")
        });
        me.monitor(child.pid());
        me.unlink(child.pid());
        child.send(()).unwrap();
        match me.recv().await {
            Msg::Down(d) => d.reason,
            other => panic!("unexpected {other:?}"),
        }
    })
    .await
    .unwrap();
    assert_eq!(reason, ExitReason::custom("late"));
}

/// Exit processing signals links before monitors: a watcher that forwards
/// its DOWN to a linked (trapping) process finds the EXIT already queued
/// there, so the linked process sees EXIT first, then the forwarded DOWN.
#[tokio::test]
async fn links_are_signalled_before_monitors() {
    for _ in 0..50 {
        let order = scope(|mut me: Ctx<&'static str>| async move {
            me.trap_exit(true);
            let child = spawn_link(|mut ctx: Ctx<()>| async move {
                ctx.recv().await;
                ExitReason::custom("crash")
            });
            let forward_to = me.process_ref();
            let cpid = child.pid();
            let watcher = spawn(move |mut ctx: Ctx<()>| async move {
                ctx.monitor(cpid);
                // Tell the test the monitor is in place.
                forward_to.send("monitoring").unwrap();
                if let Msg::Down(_) = ctx.recv().await {
                    forward_to.send("down seen by watcher").unwrap();
                }
                ExitReason::Normal
            });
            let Msg::Message("monitoring") = me.recv().await else {
                panic!("expected the watcher's ready message")
            };
            child.send(()).unwrap();
            let mut seen = Vec::new();
            for _ in 0..2 {
                seen.push(match me.recv().await {
                    Msg::Exit(sig) => format!("exit {}", sig.reason),
                    Msg::Message(m) => m.to_owned(),
                    Msg::Down(_) => "down".to_owned(),
                });
            }
            watcher.wait().await;
            seen
        })
        .await
        .unwrap();
        assert_eq!(order, ["exit crash", "down seen by watcher"]);
    }
}
