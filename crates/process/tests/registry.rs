//! The local name registry (OTP: erlang:register/2, whereis/1,
//! unregister/1; `{error, {already_started, Pid}}` for behaviours).
//!
//! Every test uses its own names: tests in one binary run in parallel.

use arbor_process::Process;
use arbor_process::{
    Control, Ctx, ExitReason, GenServer, Msg, RegisterError, ReplyTo, ServerCtx, ServerRef,
    StartError, StartOpts, kill, register, registered, spawn, unregister, whereis,
};

fn idle() -> arbor_process::ProcessRef<()> {
    spawn(|mut ctx: Ctx<()>| async move {
        loop {
            ctx.recv().await;
        }
    })
}

/// register/whereis/unregister round trip.
#[tokio::test]
async fn register_whereis_unregister() {
    let p = idle();
    assert_eq!(register("reg_round_trip", p.pid()), Ok(()));
    assert_eq!(whereis("reg_round_trip"), Some(p.pid()));
    assert!(registered().iter().any(|n| n.as_str() == "reg_round_trip"));
    assert!(unregister("reg_round_trip"));
    assert!(!unregister("reg_round_trip"));
    assert_eq!(whereis("reg_round_trip"), None);
    kill(p.pid());
    p.wait().await;
}

/// A taken name reports the holder's pid; a process has at most one name;
/// a dead pid cannot be registered.
#[tokio::test]
async fn taken_name_gives_holder_pid() {
    let a = idle();
    let b = idle();
    register("reg_taken", a.pid()).unwrap();
    assert_eq!(
        register("reg_taken", b.pid()),
        Err(RegisterError::AlreadyRegistered(a.pid()))
    );
    assert_eq!(
        register("reg_taken_2", a.pid()),
        Err(RegisterError::AlreadyNamed("reg_taken".into()))
    );
    kill(b.pid());
    b.wait().await;
    assert_eq!(
        register("reg_dead", b.pid()),
        Err(RegisterError::NoProcess(b.pid()))
    );
    kill(a.pid());
    a.wait().await;
}

/// The name is released when its process exits, before its exit reason is
/// published: `wait()` returning means the name is free.
#[tokio::test]
async fn name_released_on_exit() {
    for reason in [ExitReason::Normal, ExitReason::custom("crash")] {
        let p = spawn(|mut ctx: Ctx<ExitReason>| async move {
            match ctx.recv().await {
                Msg::Message(r) => r,
                _ => ExitReason::custom("unexpected"),
            }
        });
        register("reg_released", p.pid()).unwrap();
        p.send(reason.clone()).unwrap();
        assert_eq!(p.wait().await, reason);
        assert_eq!(whereis("reg_released"), None);
        let q = idle();
        assert_eq!(register("reg_released", q.pid()), Ok(()));
        kill(q.pid());
        q.wait().await;
        assert_eq!(whereis("reg_released"), None);
    }
}

struct Named(u64);

impl GenServer for Named {
    type Call = ReplyTo<u64>;
    type Cast = u64;
    type Info = ();
    async fn handle_call(&mut self, get: ReplyTo<u64>, _ctx: &mut ServerCtx<Self>) -> Control {
        get.reply(self.0)
    }
    async fn handle_cast(&mut self, n: u64, _ctx: &mut ServerCtx<Self>) -> Control {
        self.0 += n;
        Control::Continue
    }
}

/// Call and cast by name; starting a second server under a taken name gives
/// `AlreadyStarted` with the holder's pid and leaves no second process.
#[tokio::test]
async fn call_and_cast_by_name() {
    let s = Named(0)
        .start_opts(StartOpts::default().name("reg_server"))
        .await
        .unwrap();
    let by_name: ServerRef<Named> = ServerRef::whereis("reg_server").expect("registered");
    by_name.cast(5);
    assert_eq!(by_name.call(|get| get).await, Ok(5));
    let again = Named(0)
        .start_opts(StartOpts::default().name("reg_server"))
        .await;
    assert_eq!(again, Err(StartError::AlreadyStarted(s.pid())));
    s.stop_with(ExitReason::Normal, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    assert!(ServerRef::<Named>::whereis("reg_server").is_none());
}
