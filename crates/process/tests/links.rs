//! Links, exit signals and trap_exit (OTP: erlang:link/1, exit/2, process_flag(trap_exit)).

use arbor_process::Myself;
use arbor_process::Process;
use arbor_process::{
    Ctx, ExitReason, ExitSignal, Msg, Pid, StartOpts, exit, is_alive, kill, scope, spawn,
    spawn_link, spawn_opts, wait_exit,
};

/// A process that waits forever (until a signal ends it).
fn idle(trap: bool) -> arbor_process::ProcessRef<()> {
    spawn(move |mut ctx: Ctx<()>| async move {
        ctx.trap_exit(trap);
        loop {
            ctx.recv().await;
        }
    })
}

fn reasons() -> Vec<ExitReason> {
    vec![
        ExitReason::Normal,
        ExitReason::Shutdown,
        ExitReason::shutdown_with("x"),
        ExitReason::custom("boom"),
        ExitReason::Kill,
        ExitReason::Killed,
        ExitReason::Panic("p".into()),
    ]
}

/// A linked process exiting with reason R: a non-trapping receiver ignores
/// `normal` and dies with R otherwise (including the trappable `kill`).
#[tokio::test]
async fn link_propagation_non_trapping_receiver() {
    for reason in reasons() {
        let receiver = idle(false);
        let r = reason.clone();
        let rpid = receiver.pid();
        let sender = spawn(move |ctx: Ctx<()>| async move {
            ctx.link(rpid);
            r
        });
        assert_eq!(sender.wait().await, reason);
        if reason.is_normal() {
            assert!(receiver.is_alive(), "normal must be ignored");
            kill(rpid);
            assert_eq!(receiver.wait().await, ExitReason::Killed);
        } else {
            assert_eq!(
                receiver.wait().await,
                reason,
                "receiver dies with the same reason"
            );
        }
    }
}

/// With trap_exit every reason (even normal) arrives as a message.
#[tokio::test]
async fn link_propagation_trapping_receiver() {
    for reason in reasons() {
        let r = reason.clone();
        let got = scope(|mut me: Ctx<()>| async move {
            me.trap_exit(true);
            let child = spawn_link(move |_: Ctx<()>| async move { r });
            match me.recv().await {
                Msg::Exit(sig) => (sig.from == child.pid(), sig.reason),
                other => panic!("unexpected {other:?}"),
            }
        })
        .await
        .expect("scope survives");
        assert_eq!(got, (true, reason));
    }
}

/// exit(Pid, kill) is untrappable: the target dies with `killed`, and its
/// links receive `killed` (trappable).
#[tokio::test]
async fn kill_is_untrappable_and_links_see_killed() {
    let got = scope(|mut me: Ctx<()>| async move {
        me.trap_exit(true);
        let child = spawn_link(|mut ctx: Ctx<()>| async move {
            ctx.trap_exit(true);
            loop {
                ctx.recv().await;
            }
        });
        kill(child.pid());
        let Msg::Exit(sig) = me.recv().await else {
            panic!("expected exit")
        };
        (child.wait().await, sig.reason)
    })
    .await
    .unwrap();
    assert_eq!(got, (ExitReason::Killed, ExitReason::Killed));
}

/// kill works even while the target is blocked in an await that never ends.
#[tokio::test]
async fn kill_interrupts_a_blocked_process() {
    let p = spawn(|_: Ctx<()>| async move {
        std::future::pending::<()>().await;
        ExitReason::Normal
    });
    kill(p.pid());
    assert_eq!(p.wait().await, ExitReason::Killed);
}

/// exit(Pid, normal) to a non-trapping process is ignored; to a trapping
/// process it is a message; other reasons kill a non-trapping process.
#[tokio::test]
async fn exit_signal_without_link() {
    let p = idle(false);
    exit(p.pid(), ExitReason::Normal);
    exit(p.pid(), ExitReason::custom("bye"));
    assert_eq!(p.wait().await, ExitReason::custom("bye"));

    let sender_and_reason = scope(|me: Ctx<()>| async move {
        let opts = StartOpts::new().trap_exit();
        let target = spawn_opts(opts, |mut ctx: Ctx<Pid>| async move {
            let Msg::Message(reply_to) = ctx.recv().await else {
                return ExitReason::custom("bad");
            };
            match ctx.recv().await {
                Msg::Exit(ExitSignal { from, reason }) if from == reply_to => reason,
                _ => ExitReason::custom("bad"),
            }
        })
        .unwrap();
        target.send(me.pid()).unwrap();
        exit(target.pid(), ExitReason::Normal);
        me.trap_exit(false);
        target.wait().await
    })
    .await
    .unwrap();
    assert_eq!(sender_and_reason, ExitReason::Normal);
}

/// `ProcessHandle::exit` is `exit/2` by handle: the same rules (normal
/// ignored unless trapping, kill untrappable, the sender's pid in the
/// signal) and a no-op on an exited process.
#[tokio::test]
async fn exit_by_handle_follows_exit_2() {
    let p = idle(false).handle().clone();
    p.exit(ExitReason::Normal);
    p.exit(ExitReason::custom("bye"));
    assert_eq!(p.wait().await, ExitReason::custom("bye"));
    p.exit(ExitReason::Kill); // already dead: nothing happens
    assert_eq!(p.exit_reason(), Some(ExitReason::custom("bye")));

    let trapping = idle(true).handle().clone();
    trapping.exit(ExitReason::Kill);
    assert_eq!(trapping.wait().await, ExitReason::Killed);

    let (sender, got) = scope(|me: Ctx<()>| async move {
        let opts = StartOpts::new().trap_exit();
        let target = spawn_opts(opts, |mut ctx: Ctx<()>| async move {
            match ctx.recv().await {
                Msg::Exit(ExitSignal { from, reason }) => {
                    ExitReason::custom(format!("{from} {reason}"))
                }
                _ => ExitReason::custom("bad"),
            }
        })
        .unwrap();
        target.handle().clone().exit(ExitReason::Shutdown);
        (me.pid(), target.wait().await)
    })
    .await
    .unwrap();
    assert_eq!(got, ExitReason::custom(format!("{sender} shutdown")));
}

/// Links are a set, as in Erlang: linking twice gives one link (one exit
/// signal when the peer dies), and one unlink removes it. Links are
/// signalled before monitors, so the monitor's `Down` marks the end.
#[tokio::test]
async fn link_twice_is_one_link() {
    let order = scope(|mut me: Ctx<()>| async move {
        me.trap_exit(true);
        let mut seen = Vec::new();
        for unlink in [false, true] {
            let peer = idle(false);
            me.monitor(peer.pid());
            me.link(peer.pid());
            me.link(peer.pid());
            if unlink {
                me.unlink(peer.pid());
            }
            exit(peer.pid(), ExitReason::custom("bye"));
            loop {
                match me.recv().await {
                    Msg::Exit(sig) => seen.push(format!("exit {}", sig.reason)),
                    Msg::Down(down) => {
                        seen.push(format!("down {}", down.reason));
                        break;
                    }
                    Msg::Message(()) => seen.push("message".to_owned()),
                }
            }
        }
        seen
    })
    .await
    .unwrap();
    assert_eq!(order, ["exit bye", "down bye", "down bye"]);
}

/// Linking to a dead process delivers `noproc` at once.
#[tokio::test]
async fn link_to_dead_process_gives_noproc() {
    let dead = spawn(|_: Ctx<()>| async { ExitReason::Normal });
    dead.wait().await;
    let got = scope(|mut me: Ctx<()>| async move {
        me.trap_exit(true);
        me.link(dead.pid());
        match me.recv().await {
            Msg::Exit(sig) => (sig.from, sig.reason),
            other => panic!("unexpected {other:?}"),
        }
    })
    .await
    .unwrap();
    assert_eq!(got.1, ExitReason::NoProc);
}

/// After unlink no exit signal arrives from that process.
#[tokio::test]
async fn unlink_stops_propagation() {
    let survivor = scope(|me: Ctx<()>| async move {
        let child = spawn_link(|mut ctx: Ctx<()>| async move {
            ctx.recv().await;
            ExitReason::custom("boom")
        });
        me.unlink(child.pid());
        child.send(()).unwrap();
        child.wait().await
    })
    .await;
    assert_eq!(survivor, Ok(ExitReason::custom("boom")));
}

/// A panic becomes the exit reason and the runtime keeps running.
#[tokio::test]
async fn panic_becomes_exit_reason() {
    let p = spawn(|_: Ctx<()>| async { panic!("kaboom") });
    assert_eq!(p.wait().await, ExitReason::Panic("kaboom".into()));
    let q = spawn(|_: Ctx<()>| async { ExitReason::Normal });
    assert_eq!(q.wait().await, ExitReason::Normal);
}

/// A non-trapping scope dies from its linked child's crash: `scope` returns
/// the reason.
#[tokio::test]
async fn scope_dies_from_linked_crash() {
    let out = scope(|_: Ctx<()>| async move {
        let child = spawn_link(|_: Ctx<()>| async { ExitReason::custom("crash") });
        child.wait().await;
        std::future::pending::<()>().await;
    })
    .await;
    assert_eq!(out, Err(ExitReason::custom("crash")));
}

/// Messages and exit signals share one ordered queue.
#[tokio::test]
async fn messages_and_exit_signals_keep_order() {
    let got = scope(|mut me: Ctx<u32>| async move {
        me.trap_exit(true);
        let this = me.process_ref();
        let _child = spawn_link(move |_: Ctx<()>| async move {
            for i in 0..3 {
                this.send(i).unwrap();
            }
            ExitReason::custom("done")
        });
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(match me.recv().await {
                Msg::Message(i) => format!("msg {i}"),
                Msg::Exit(sig) => format!("exit {}", sig.reason),
                Msg::Down(_) => "down".into(),
            });
        }
        seen
    })
    .await
    .unwrap();
    assert_eq!(got, ["msg 0", "msg 1", "msg 2", "exit done"]);
}

/// wait_exit on a dead pid reports noproc; is_alive agrees.
#[tokio::test]
async fn dead_pid_queries() {
    let p = spawn(|_: Ctx<()>| async { ExitReason::Normal });
    let pid = p.pid();
    p.wait().await;
    assert!(!is_alive(pid));
    assert_eq!(wait_exit(pid).await, ExitReason::NoProc);
}

/// spawn_link finds the calling process's own cell through a per-thread
/// cache: a process that calls it after another one did on the same thread
/// gets the link itself, also while the earlier caller is alive.
#[tokio::test]
async fn spawn_link_links_the_caller_not_an_earlier_caller_on_the_thread() {
    let (spawned_tx, spawned) = tokio::sync::oneshot::channel();
    let earlier = spawn(move |mut ctx: Ctx<()>| async move {
        ctx.trap_exit(true);
        let child = spawn_link(|mut ctx: Ctx<()>| async move {
            loop {
                ctx.recv().await;
            }
        });
        let _ = spawned_tx.send(child.pid());
        loop {
            ctx.recv().await;
        }
    });
    let earlier_child = spawned.await.unwrap();
    for round in 0..3 {
        let out = scope(|mut ctx: Ctx<()>| async move {
            ctx.trap_exit(true);
            let child = spawn_link(|_ctx: Ctx<()>| async { ExitReason::custom("bye") });
            // A guard, not a synchronisation: the signal is queued or on its
            // way; linked to another process, it never comes.
            let wait = tokio::time::timeout(std::time::Duration::from_secs(10), ctx.recv());
            let got = match wait.await {
                Ok(Msg::Exit(sig)) => sig,
                Ok(other) => panic!("unexpected {other:?}"),
                Err(_) => panic!("round {round}: the child was linked to another process"),
            };
            (got, child.pid())
        })
        .await;
        let (got, child) = out.unwrap();
        let want = ExitSignal {
            from: child,
            reason: ExitReason::custom("bye"),
        };
        assert_eq!(got, want, "round {round}");
    }
    // The earlier caller's own link still holds: killing it takes its
    // (non-trapping) child along.
    let earlier_child = arbor_process::ProcessHandle::lookup(earlier_child).unwrap();
    kill(earlier.pid());
    assert_eq!(earlier.wait().await, ExitReason::Killed);
    assert_eq!(earlier_child.wait().await, ExitReason::Killed);
}
