//! GenServer semantics (OTP: gen_server_SUITE call/cast/start/stop cases).

use std::time::Duration;

use arbor_process::{
    CallError, CallReply, Control, Ctx, ExitReason, GenServer, ServerCtx, ServerRef, StartError,
    StartOpts, scope, whereis,
};

struct Echo {
    me: Option<ServerRef<Echo>>,
}

enum Req {
    Ping(u32),
    CallSelf,
    Slow(Duration),
    Crash,
}

impl GenServer for Echo {
    type Args = bool;
    type Call = Req;
    type Reply = Result<u32, CallError>;
    type Cast = ();
    type Info = ();

    async fn init(fail: bool, ctx: &mut ServerCtx<Self>) -> Result<Self, ExitReason> {
        if fail {
            return Err(ExitReason::custom("init_failed"));
        }
        Ok(Echo {
            me: Some(ctx.handle()),
        })
    }

    async fn handle_call(
        &mut self,
        req: Req,
        _ctx: &mut ServerCtx<Self>,
    ) -> CallReply<Self::Reply> {
        match req {
            Req::Ping(n) => CallReply::Reply(Ok(n + 1)),
            Req::CallSelf => {
                let me = self.me.clone().expect("set in init");
                CallReply::Reply(me.call(Req::Ping(0)).await.and_then(|r| r))
            }
            Req::Slow(d) => {
                tokio::time::sleep(d).await;
                CallReply::Reply(Ok(0))
            }
            Req::Crash => panic!("crash in call"),
        }
    }

    async fn handle_cast(&mut self, _: (), _ctx: &mut ServerCtx<Self>) -> Control {
        Control::Continue
    }
}

#[tokio::test]
async fn call_replies() {
    let s = Echo::start(false).await.unwrap();
    assert_eq!(s.call(Req::Ping(41)).await, Ok(Ok(42)));
}

/// A server calling itself gets `calling_self` at once (OTP 25+), no deadlock.
#[tokio::test]
async fn calling_self_errors_immediately() {
    let s = Echo::start(false).await.unwrap();
    assert_eq!(s.call(Req::CallSelf).await, Ok(Err(CallError::CallingSelf)));
}

/// A call that times out returns Timeout; the late reply is dropped and the
/// server keeps serving.
#[tokio::test(start_paused = true)]
async fn call_timeout_drops_late_reply() {
    let s = Echo::start(false).await.unwrap();
    let r = s
        .call_timeout(Req::Slow(Duration::from_secs(10)), Duration::from_secs(1))
        .await;
    assert_eq!(r, Err(CallError::Timeout));
    // The server is still sleeping; this call waits behind the slow one.
    let r = s.call_timeout(Req::Ping(1), Duration::from_secs(60)).await;
    assert_eq!(r, Ok(Ok(2)));
}

/// The callee crashing while handling the call: the caller gets the exit reason.
#[tokio::test]
async fn call_to_crashing_server_returns_exit_reason() {
    let s = Echo::start(false).await.unwrap();
    let r = s.call(Req::Crash).await;
    assert_eq!(
        r,
        Err(CallError::Exited(ExitReason::Panic("crash in call".into())))
    );
    assert_eq!(s.call(Req::Ping(1)).await, Err(CallError::NoProcess));
}

/// init failure: start returns the error, no process is left, and a linked
/// caller gets no exit signal (OTP 26+).
#[tokio::test]
async fn init_failure_leaves_nothing_and_sends_no_exit() {
    let out = scope(|mut me: Ctx<()>| async move {
        me.trap_exit(true);
        let r = Echo::start_opts(true, StartOpts::default().link().name("echo_fail")).await;
        (r, me.try_recv().is_none())
    })
    .await
    .unwrap();
    assert_eq!(
        out.0,
        Err(StartError::Init(ExitReason::custom("init_failed")))
    );
    assert!(out.1, "no exit message after a failed start_link");
    assert_eq!(whereis("echo_fail"), None);
}
