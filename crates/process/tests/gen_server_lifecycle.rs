//! GenServer lifecycle: deferred replies, terminate, parent exit, stop,
//! casts (OTP: gen_server_SUITE reply/terminate/stop cases).

use std::time::Duration;

use arbor_process::Myself;
use arbor_process::Process;
use arbor_process::{
    CallError, Control, Ctx, ExitReason, GenServer, Msg, ProcessRef, ReplyTo, ServerCtx,
    StartError, StopError, exit, scope, spawn,
};

/// Records every terminate and handle_info in a channel the test reads.
struct Recorder {
    /// `init` turns trap_exit on when set.
    trap: bool,
    log: tokio::sync::mpsc::UnboundedSender<String>,
}

enum Req {
    /// Hand the caller to this process, which replies.
    Park(ProcessRef<ReplyTo<u32>>, ReplyTo<u32>),
    Stop(ExitReason, ReplyTo<u32>),
    Panic(ReplyTo<u32>),
}

enum Cast {
    Stop(ExitReason),
}

impl GenServer for Recorder {
    type Call = Req;
    type Cast = Cast;
    type Info = ();

    async fn init(&mut self, ctx: &mut ServerCtx<Self>) -> Result<(), ExitReason> {
        ctx.trap_exit(self.trap);
        Ok(())
    }

    async fn handle_call(&mut self, req: Req, _ctx: &mut ServerCtx<Self>) -> Control {
        match req {
            Req::Park(helper, to) => {
                let _ = helper.send(to);
                Control::Continue
            }
            Req::Stop(reason, to) => {
                to.reply(0);
                Control::Stop(reason)
            }
            Req::Panic(_reply) => panic!("call panic"),
        }
    }

    async fn handle_cast(&mut self, cast: Cast, _ctx: &mut ServerCtx<Self>) -> Control {
        match cast {
            Cast::Stop(reason) => Control::Stop(reason),
        }
    }

    async fn handle_info(&mut self, info: Msg<()>, _ctx: &mut ServerCtx<Self>) -> Control {
        let line = match info {
            Msg::Message(()) => "info message".to_owned(),
            Msg::Exit(sig) => format!("info exit {}", sig.reason),
            Msg::Down(d) => format!("info down {}", d.reason),
        };
        let _ = self.log.send(line);
        Control::Continue
    }

    async fn terminate(&mut self, reason: &ExitReason, _ctx: &mut ServerCtx<Self>) {
        let _ = self.log.send(format!("terminate {reason}"));
    }
}

fn log() -> (
    tokio::sync::mpsc::UnboundedSender<String>,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    tokio::sync::mpsc::unbounded_channel()
}

/// handle_call may defer the reply; another process answers it later,
/// while the server keeps serving.
#[tokio::test]
async fn reply_later_from_another_process() {
    let (tx, _rx) = log();
    let s = Recorder {
        trap: false,
        log: tx,
    }
    .start()
    .await
    .unwrap();
    let helper = spawn(|mut ctx: Ctx<ReplyTo<u32>>| async move {
        if let Msg::Message(to) = ctx.recv().await {
            assert!(to.is_waiting());
            to.reply(42);
        }
        ExitReason::Normal
    });
    assert_eq!(s.call(|r| Req::Park(helper.clone(), r)).await, Ok(42));
    assert_eq!(helper.wait().await, ExitReason::Normal);
    assert_eq!(s.call(|r| Req::Stop(ExitReason::Normal, r)).await, Ok(0));
}

/// Stop from handle_call replies first, then terminate runs with the reason.
#[tokio::test]
async fn stop_from_call_replies_then_terminates() {
    let (tx, mut rx) = log();
    let s = Recorder {
        trap: false,
        log: tx,
    }
    .start()
    .await
    .unwrap();
    assert_eq!(s.call(|r| Req::Stop(ExitReason::Shutdown, r)).await, Ok(0));
    assert_eq!(s.wait().await, ExitReason::Shutdown);
    assert_eq!(rx.recv().await.as_deref(), Some("terminate shutdown"));
}

/// A panic in a callback runs terminate with the panic reason.
#[tokio::test]
async fn panic_runs_terminate_with_panic_reason() {
    let (tx, mut rx) = log();
    let s = Recorder {
        trap: false,
        log: tx,
    }
    .start()
    .await
    .unwrap();
    let r = s.call(Req::Panic).await;
    let want = ExitReason::Panic("call panic".into());
    assert_eq!(r, Err(CallError::Exited(want.clone())));
    assert_eq!(rx.recv().await, Some(format!("terminate {want}")));
}

/// stop(reason, timeout) runs terminate and returns Ok; a second stop finds
/// no process.
#[tokio::test]
async fn stop_runs_terminate() {
    let (tx, mut rx) = log();
    let s = Recorder {
        trap: false,
        log: tx,
    }
    .start()
    .await
    .unwrap();
    let reason = ExitReason::shutdown_with("bye");
    assert_eq!(
        s.stop_with(reason.clone(), Duration::from_secs(5)).await,
        Ok(())
    );
    assert_eq!(rx.recv().await, Some(format!("terminate {reason}")));
    assert_eq!(
        s.stop_with(ExitReason::Normal, Duration::from_secs(5))
            .await,
        Err(StopError::NoProcess)
    );
    assert_eq!(
        s.call(|r| Req::Stop(ExitReason::Normal, r)).await,
        Err(CallError::NoProcess)
    );
}

/// Casts never block and are handled in order with calls.
#[tokio::test]
async fn cast_stop_exits_with_reason() {
    let (tx, mut rx) = log();
    let s = Recorder {
        trap: false,
        log: tx,
    }
    .start()
    .await
    .unwrap();
    s.cast(Cast::Stop(ExitReason::custom("cast_stop")));
    assert_eq!(s.wait().await, ExitReason::custom("cast_stop"));
    assert_eq!(rx.recv().await.as_deref(), Some("terminate cast_stop"));
    // A cast to a dead server is dropped silently.
    s.cast(Cast::Stop(ExitReason::Normal));
}

/// A trapping server started with start_link: the parent's exit signal runs
/// terminate and the server exits with the parent's reason; an exit signal
/// from another process is handle_info.
#[tokio::test]
async fn parent_exit_runs_terminate_other_exit_is_info() {
    let (tx, mut rx) = log();
    let (server_tx, server_rx) = tokio::sync::oneshot::channel();
    let parent = spawn(move |mut ctx: Ctx<()>| async move {
        let s = Recorder {
            trap: true,
            log: tx,
        }
        .start_link()
        .await
        .unwrap();
        let _ = server_tx.send(s);
        ctx.recv().await;
        ExitReason::custom("parent_died")
    });
    let s = server_rx.await.unwrap();
    // A non-parent exit signal: a message to the trapping server.
    exit(s.pid(), ExitReason::custom("stranger"));
    assert_eq!(rx.recv().await.as_deref(), Some("info exit stranger"));
    parent.send(()).unwrap();
    assert_eq!(s.wait().await, ExitReason::custom("parent_died"));
    assert_eq!(rx.recv().await.as_deref(), Some("terminate parent_died"));
}

/// A non-trapping start_linked server dies with its parent's reason without
/// running terminate.
#[tokio::test]
async fn parent_exit_kills_non_trapping_server_without_terminate() {
    let (tx, mut rx) = log();
    let (server_tx, server_rx) = tokio::sync::oneshot::channel();
    let parent = spawn(move |mut ctx: Ctx<()>| async move {
        let s = Recorder {
            trap: false,
            log: tx,
        }
        .start_link()
        .await
        .unwrap();
        let _ = server_tx.send(s);
        ctx.recv().await;
        ExitReason::custom("parent_died")
    });
    let s = server_rx.await.unwrap();
    parent.send(()).unwrap();
    assert_eq!(s.wait().await, ExitReason::custom("parent_died"));
    assert_eq!(rx.recv().await, None, "terminate did not run");
}

/// A panicking init: start returns Init(Panic) and a linked trapping caller
/// receives no exit message.
#[tokio::test]
async fn init_panic_is_an_init_error() {
    struct Boom;
    impl GenServer for Boom {
        type Call = ();
        type Cast = ();
        type Info = ();
        async fn init(&mut self, _ctx: &mut ServerCtx<Self>) -> Result<(), ExitReason> {
            panic!("init boom")
        }
    }
    let out = scope(|mut me: Ctx<()>| async move {
        me.trap_exit(true);
        let r = Boom.start_link().await.map(|s| s.pid());
        let stray = me.try_recv().map(|m| matches!(m, Msg::Exit(_)));
        (r, stray)
    })
    .await
    .unwrap();
    assert_eq!(
        out,
        (
            Err(StartError::Init(ExitReason::Panic("init boom".into()))),
            None
        )
    );
}
