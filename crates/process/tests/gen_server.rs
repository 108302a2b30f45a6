//! GenServer semantics (OTP: gen_server_SUITE call/cast/start/stop cases).

use std::time::Duration;

use arbor_process::Myself;
use arbor_process::{
    CallError, Control, Ctx, ExitReason, GenServer, ReplyTo, ServerCtx, ServerRef, StartError,
    StartOpts, scope, whereis,
};

struct Echo {
    /// `init` fails when set.
    fail: bool,
    me: Option<ServerRef<Echo>>,
}

fn echo(fail: bool) -> Echo {
    Echo { fail, me: None }
}

/// Each request carries the reply port of its own reply type.
enum Req {
    Ping(u32, ReplyTo<u32>),
    CallSelf(ReplyTo<Result<u32, CallError>>),
    Slow(Duration, ReplyTo<u32>),
    Crash(ReplyTo<u32>),
    /// Replies later, from another task.
    Later(u32, ReplyTo<String>),
    /// Drops its port without replying.
    Drop(ReplyTo<u32>),
}

impl GenServer for Echo {
    type Call = Req;
    type Cast = ();
    type Info = ();

    async fn init(&mut self, ctx: &mut ServerCtx<Self>) -> Result<(), ExitReason> {
        if self.fail {
            return Err(ExitReason::custom("init_failed"));
        }
        self.me = Some(ctx.server_ref());
        Ok(())
    }

    async fn handle_call(&mut self, req: Req, _ctx: &mut ServerCtx<Self>) -> Control {
        match req {
            Req::Ping(n, r) => r.reply(n + 1),
            Req::CallSelf(r) => {
                let me = self.me.clone().expect("set in init");
                r.reply(me.call(|r| Req::Ping(0, r)).await)
            }
            Req::Slow(d, r) => {
                tokio::time::sleep(d).await;
                r.reply(0)
            }
            Req::Crash(_reply) => panic!("crash in call"),
            Req::Later(n, r) => {
                tokio::spawn(async move { r.reply(format!("later {n}")) });
                Control::Continue
            }
            Req::Drop(r) => {
                drop(r);
                Control::Continue
            }
        }
    }

    async fn handle_cast(&mut self, _: (), _ctx: &mut ServerCtx<Self>) -> Control {
        Control::Continue
    }
}

#[tokio::test]
async fn call_replies() {
    let s = echo(false).start().await.unwrap();
    let n: u32 = s.call(|r| Req::Ping(41, r)).await.unwrap();
    assert_eq!(n, 42);
}

/// A request's reply type is its own: a `String` for `Later`, a `u32` for
/// `Ping`, on the same server; a reply sent later from another task reaches
/// the caller (OTP: `{noreply, S}` and `gen_server:reply/2`).
#[tokio::test]
async fn each_request_has_its_own_reply_type_and_may_be_answered_later() {
    let s = echo(false).start().await.unwrap();
    let later: String = s.call(|r| Req::Later(7, r)).await.unwrap();
    assert_eq!(later, "later 7");
    assert_eq!(s.call(|r| Req::Ping(1, r)).await, Ok(2));
}

/// A server that drops a call's reply port without replying leaves the
/// caller waiting until its timeout, as an Erlang server that never replies.
#[tokio::test(start_paused = true)]
async fn a_dropped_reply_port_times_the_caller_out() {
    let s = echo(false).start().await.unwrap();
    let r = s.call_timeout(Req::Drop, Duration::from_secs(2)).await;
    assert_eq!(r, Err(CallError::Timeout));
    assert_eq!(s.call(|r| Req::Ping(1, r)).await, Ok(2));
}

/// A server calling itself gets `calling_self` at once (OTP 25+), no deadlock.
#[tokio::test]
async fn calling_self_errors_immediately() {
    let s = echo(false).start().await.unwrap();
    assert_eq!(s.call(Req::CallSelf).await, Ok(Err(CallError::CallingSelf)));
}

/// A call that times out returns Timeout; the late reply is dropped and the
/// server keeps serving.
#[tokio::test(start_paused = true)]
async fn call_timeout_drops_late_reply() {
    let s = echo(false).start().await.unwrap();
    let r = s
        .call_timeout(
            |r| Req::Slow(Duration::from_secs(10), r),
            Duration::from_secs(1),
        )
        .await;
    assert_eq!(r, Err(CallError::Timeout));
    // The server is still sleeping; this call waits behind the slow one.
    let r = s
        .call_timeout(|r| Req::Ping(1, r), Duration::from_secs(60))
        .await;
    assert_eq!(r, Ok(2));
}

/// The callee crashing while handling the call: the caller gets the exit reason.
#[tokio::test]
async fn call_to_crashing_server_returns_exit_reason() {
    let s = echo(false).start().await.unwrap();
    let r = s.call(Req::Crash).await;
    assert_eq!(
        r,
        Err(CallError::Exited(ExitReason::Panic("crash in call".into())))
    );
    assert_eq!(s.call(|r| Req::Ping(1, r)).await, Err(CallError::NoProcess));
}

/// init failure: start returns the error, no process is left, and a linked
/// caller gets no exit signal (OTP 26+).
#[tokio::test]
async fn init_failure_leaves_nothing_and_sends_no_exit() {
    let out = scope(|mut me: Ctx<()>| async move {
        me.trap_exit(true);
        let r = echo(true)
            .start_opts(StartOpts::default().link().name("echo_fail"))
            .await;
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
