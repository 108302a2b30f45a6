//! `process_info`: links, monitors both ways, name, mailbox length and
//! trap_exit of a live process, and `None` once it exited (OTP:
//! erlang:process_info/2).

use arbor_process::{
    Ctx, ExitReason, Msg, Myself, Pid, Process, ProcessInfo, process_info, register, scope, spawn,
};
use tokio::sync::oneshot;

/// A process that waits for `go` without reading its mailbox, then exits.
fn parked(go: oneshot::Receiver<()>) -> arbor_process::ProcessRef<u32> {
    spawn(|_: Ctx<u32>| async move {
        let _ = go.await;
        ExitReason::Normal
    })
}

#[tokio::test]
async fn process_info_reports_links_monitors_name_and_queue() {
    let (go, wait) = oneshot::channel();
    let target = parked(wait);
    let t = target.pid();
    let (me_pid, info) = scope(|me: Ctx<()>| async move {
        me.trap_exit(true);
        me.link(t);
        me.monitor(t);
        me.monitor(t);
        let info = process_info(me.pid()).unwrap();
        assert_eq!(info.links, vec![t]);
        assert_eq!(info.monitors, vec![t, t], "one entry per monitor");
        assert!(info.monitored_by.is_empty());
        assert!(info.trap_exit);
        (me.pid(), process_info(t).unwrap())
    })
    .await
    .unwrap();
    assert_eq!(
        info,
        ProcessInfo {
            pid: t,
            registered_name: None,
            links: vec![me_pid],
            monitors: vec![],
            monitored_by: vec![me_pid, me_pid],
            message_queue_len: 0,
            trap_exit: false,
        }
    );
    // The scope exited: its link and monitors are gone.
    let info = process_info(t).unwrap();
    assert!(
        info.links.is_empty() && info.monitored_by.is_empty(),
        "{info:?}"
    );

    register("process_info_target", t).unwrap();
    for n in 0..3 {
        target.send(n).unwrap();
    }
    let info = process_info(t).unwrap();
    assert_eq!(info.message_queue_len, 3);
    assert_eq!(
        info.registered_name.as_ref().map(|n| n.as_str()),
        Some("process_info_target")
    );

    go.send(()).unwrap();
    assert_eq!(target.wait().await, ExitReason::Normal);
    assert_eq!(process_info(t), None);
}

#[tokio::test]
async fn process_info_of_a_pid_never_alive_is_none() {
    let forged: Pid = "<0.18446744073709551615>".parse().unwrap();
    assert_eq!(process_info(forged), None);
    assert_eq!(process_info(Pid::ANONYMOUS), None);
}

#[tokio::test]
async fn process_info_sees_a_queue_drained_by_the_process() {
    let echo = spawn(|mut ctx: Ctx<oneshot::Sender<usize>>| async move {
        while let Msg::Message(reply) = ctx.recv().await {
            let _ = reply.send(0);
        }
        ExitReason::Normal
    });
    let (tx, rx) = oneshot::channel();
    echo.send(tx).unwrap();
    rx.await.unwrap();
    assert_eq!(process_info(echo.pid()).unwrap().message_queue_len, 0);
    echo.kill();
    echo.wait().await;
}
