//! Other messages, exits and ordering (docs/otp/gen_event.md#ev-info), and the
//! self-call rule.

mod support;

use arbor_genevent::{EventHandler, EventManager, HandlerCtx, HandlerError, Step};
use arbor_process::Myself;
use arbor_process::Process;
use arbor_process::StartOpts;
use arbor_process::{Ctx, ExitReason};
use support::{Ev, Probe, drain, id, log};

/// A non-protocol message goes to every handler's handle_info, in order.
#[tokio::test]
async fn info_reaches_every_handler_in_order() {
    let (log, mut rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    for name in ["a", "b"] {
        mgr.add_handler(id(name), Probe::new(name, &log))
            .await
            .unwrap();
    }
    drain(&mut rx);
    mgr.send_info("tick");
    mgr.sync_notify(Ev::N(1)).await.unwrap();
    assert_eq!(
        drain(&mut rx),
        ["a:info:tick", "b:info:tick", "a:N(1)", "b:N(1)"]
    );
}

/// An exit signal from a linked process that is not the parent is forwarded
/// as info; the manager stays alive.
#[tokio::test]
async fn linked_non_parent_exit_is_info() {
    let (log, mut rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    let mgr_pid = mgr.pid();
    let linked = arbor_process::spawn(move |ctx: Ctx<()>| async move {
        ctx.link(mgr_pid);
        ExitReason::custom("linked_death")
    });
    linked.wait().await;
    assert_eq!(rx.recv().await.unwrap(), "a:init");
    assert_eq!(rx.recv().await.unwrap(), "a:info:exit:linked_death");
    assert!(mgr.is_alive());
}

/// The parent's exit signal stops the manager (terminate `stop`), even a
/// `normal` one when it is an explicit exit signal.
#[tokio::test]
async fn parent_exit_signal_stops_with_reason() {
    let (log, mut rx) = log();
    let (tx, got) = tokio::sync::oneshot::channel();
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    let parent = arbor_process::spawn(move |_: Ctx<()>| async move {
        let mgr = EventManager::<Ev>::start_opts(StartOpts::new().link())
            .await
            .unwrap();
        mgr.add_handler(id("a"), Probe::new("a", &log))
            .await
            .unwrap();
        let _ = tx.send(mgr);
        let _ = wait.await;
        ExitReason::Shutdown
    });
    let mgr = got.await.unwrap();
    go.send(()).unwrap();
    assert_eq!(parent.wait().await, ExitReason::Shutdown);
    assert_eq!(mgr.wait().await, ExitReason::Shutdown);
    assert_eq!(drain(&mut rx), ["a:init", "a:terminate:stop"]);
}

/// Messages from one sender are processed in send order, each event fully
/// dispatched before the next.
#[tokio::test]
async fn one_sender_order_kept() {
    let (log, mut rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    for name in ["a", "b"] {
        mgr.add_handler(id(name), Probe::new(name, &log))
            .await
            .unwrap();
    }
    drain(&mut rx);
    for n in 0..50 {
        mgr.notify(Ev::N(n));
    }
    mgr.sync_notify(Ev::N(50)).await.unwrap();
    let expected: Vec<String> = (0..=50)
        .flat_map(|n| [format!("a:N({n})"), format!("b:N({n})")])
        .collect();
    assert_eq!(drain(&mut rx), expected);
}

/// A handler calling its own manager synchronously gets `calling_self` at
/// once, not a deadlock; `notify` from a handler is safe.
struct SelfCaller {
    log: support::Log,
}

impl EventHandler<Ev> for SelfCaller {
    fn handle_event(
        &mut self,
        ev: &Ev,
        ctx: &HandlerCtx<'_, Ev>,
    ) -> Result<Step<Ev>, HandlerError> {
        if *ev == Ev::N(1) {
            let mgr = ctx.manager();
            let which = futures::executor::block_on(mgr.which_handlers());
            let sync = futures::executor::block_on(mgr.sync_notify(Ev::N(99)));
            let stop = futures::executor::block_on(mgr.stop());
            let _ = self.log.send(format!("{which:?} {sync:?} {stop:?}"));
            mgr.notify(Ev::N(2));
        } else {
            let _ = self.log.send(format!("{ev:?}"));
        }
        Ok(Step::Keep)
    }
}

#[tokio::test]
async fn self_call_fails_with_calling_self() {
    let (log, mut rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    mgr.add_handler(id("self"), SelfCaller { log })
        .await
        .unwrap();
    mgr.sync_notify(Ev::N(1)).await.unwrap();
    mgr.sync_notify(Ev::N(3)).await.unwrap();
    assert_eq!(
        drain(&mut rx),
        [
            "Err(CallingSelf) Err(CallingSelf) Err(CallingSelf)",
            "N(2)",
            "N(3)"
        ]
    );
}

/// OTP 25 `gen_event` (oracle 15, `exit_signal mgr shutdown` after
/// `start link=false`): an exit signal from a process other than the parent,
/// `shutdown` included, is an info message to every handler and the manager
/// keeps running.
#[tokio::test]
async fn non_parent_shutdown_signal_is_info_manager_keeps_running() {
    let (log, mut rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    for name in ["a", "b"] {
        mgr.add_handler(id(name), Probe::new(name, &log))
            .await
            .unwrap();
    }
    arbor_process::exit(mgr.pid(), ExitReason::Shutdown);
    arbor_process::exit(mgr.pid(), ExitReason::shutdown_with("done"));
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("a"), id("b")]);
    assert!(mgr.is_alive());
    assert_eq!(
        drain(&mut rx),
        [
            "a:init",
            "b:init",
            "a:info:exit:shutdown",
            "b:info:exit:shutdown",
            "a:info:exit:{shutdown,done}",
            "b:info:exit:{shutdown,done}",
        ]
    );
    mgr.stop().await.unwrap();
}

/// Any other exit signal from a non-parent is info; `kill` is untrappable.
#[tokio::test]
async fn other_exit_signal_is_info_kill_kills() {
    let (log, mut rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    arbor_process::exit(mgr.pid(), ExitReason::custom("noise"));
    mgr.sync_notify(Ev::N(1)).await.unwrap();
    arbor_process::kill(mgr.pid());
    assert_eq!(mgr.wait().await, ExitReason::Killed);
    // A killed manager runs no terminate.
    assert_eq!(drain(&mut rx), ["a:init", "a:info:exit:noise", "a:N(1)"]);
}
