//! The supervisor API on dynamic children and its exact error values, as
//! OTP's `supervisor_SUITE` cases `child_adm`, `child_adm_simple`,
//! `count_children` and `simple_one_for_one*` (docs/otp/supervisor.md#sup-api,
//! docs/otp/supervisor.md#sup-simple).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use arbor_process::{Agent, CallError, Ctx, ExitReason, Process, ProcessHandle, spawn, spawn_link};
use arbor_supervisor::{
    ChildCounts, ChildSpec, ChildState, ChildType, DeleteChildError, GetChildSpecError,
    IntoSimpleError, Restart, RestartChildError, Shutdown, SimpleSupervisorRef, SpecError,
    StartChildError, StartInfo, StartOutcome, StartSimpleChildError, StartedChild, Strategy,
    SupFlags, Supervisor, TerminateChildError, WhichChildError,
};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// OTP `child_adm`: `start_child` appends the child to the start order.
#[tokio::test]
async fn start_child_goes_to_the_end_of_the_start_order() {
    let log = Log::default();
    let sup = sup_with(&log, &["a", "b", "c"]).await;
    let started = sup.start_child(probe(&log, "d")).await.unwrap();
    assert_eq!(started.pid(), Some(pid_of(&sup, "d").await));
    assert_eq!(
        children(&sup).await,
        ["d=running", "c=running", "b=running", "a=running"]
    );
    log.take();
    stop(sup).await;
    assert_eq!(
        log.take(),
        [
            "stop d shutdown",
            "stop c shutdown",
            "stop b shutdown",
            "stop a shutdown"
        ]
    );
}

/// OTP `child_adm`: `start_child` errors `already_started`, `already_present`, bad spec, failed start.
#[tokio::test]
async fn start_child_errors() {
    let log = Log::default();
    let sup = sup_with(&log, &["a"]).await;
    let a = pid_of(&sup, "a").await;
    assert_eq!(
        sup.start_child(probe(&log, "a")).await,
        Err(StartChildError::AlreadyStarted(a))
    );
    sup.terminate_child("a").await.unwrap();
    assert_eq!(
        sup.start_child(probe(&log, "a")).await,
        Err(StartChildError::AlreadyPresent)
    );
    assert_eq!(
        sup.start_child(probe(&log, "")).await,
        Err(StartChildError::InvalidSpec(SpecError::MissingId))
    );
    assert_eq!(
        sup.start_child(Probe::new(&log, "x").always_fail().spec())
            .await,
        Err(StartChildError::StartFailed(ExitReason::custom(
            "start_failed"
        )))
    );
    assert_eq!(
        children(&sup).await,
        ["a=undefined"],
        "a failed spec is not kept"
    );
    stop(sup).await;
}

/// OTP `sup_start_ignore_temporary_child_start_child`: ignore keeps the spec unless temporary.
#[tokio::test]
async fn start_child_ignore_keeps_the_spec_unless_temporary_and_info_is_returned() {
    let log = Log::default();
    let sup = sup_with(&log, &[]).await;
    assert_eq!(
        sup.start_child(Probe::new(&log, "i").ignore().spec()).await,
        Ok(StartedChild::Ignored)
    );
    assert_eq!(
        sup.start_child(
            Probe::new(&log, "ti")
                .ignore()
                .spec()
                .restart(Restart::Temporary)
        )
        .await,
        Ok(StartedChild::Ignored)
    );
    let info = StartInfo::new(7u32);
    let given = info.clone();
    let with_info = ChildSpec::worker("info", move || {
        let info = given.clone();
        async move {
            let agent = Agent::start_link(|| ()).await.unwrap();
            StartOutcome::Started(agent.handle().clone(), Some(info))
        }
    });
    let started = sup.start_child(with_info).await.unwrap();
    assert_eq!(started.info(), Some(&info));
    assert_eq!(started.info().and_then(|i| i.get::<u32>()), Some(&7));
    assert_eq!(children(&sup).await, ["info=running", "i=undefined"]);
    stop(sup).await;
}

/// OTP `child_adm`: `terminate_child` keeps the spec (not a temporary one) and is idempotent.
#[tokio::test]
async fn terminate_child_keeps_the_spec_deletes_temporary_and_is_idempotent() {
    let log = Log::default();
    let sup = sup_with(&log, &["a"]).await;
    sup.start_child(probe(&log, "t").restart(Restart::Temporary))
        .await
        .unwrap();
    log.take();
    assert_eq!(sup.terminate_child("a").await, Ok(()));
    assert_eq!(sup.terminate_child("a").await, Ok(()));
    assert_eq!(sup.terminate_child("t").await, Ok(()));
    assert_eq!(children(&sup).await, ["a=undefined"]);
    assert_eq!(log.take(), ["stop a shutdown", "stop t shutdown"]);
    assert_eq!(
        sup.terminate_child("nope").await,
        Err(TerminateChildError::NotFound)
    );
    let some_pid = spawn(|_: arbor_process::Ctx<()>| async { ExitReason::Normal }).pid();
    assert_eq!(
        sup.terminate_child(some_pid).await,
        Err(TerminateChildError::NotFound)
    );
    stop(sup).await;
}

/// OTP `child_adm`: `restart_child`/`delete_child` errors `running`, `not_found`.
#[tokio::test]
async fn restart_child_and_delete_child_errors() {
    let log = Log::default();
    let sup = sup_with(&log, &["a"]).await;
    assert_eq!(
        sup.restart_child("a").await,
        Err(RestartChildError::Running)
    );
    assert_eq!(sup.delete_child("a").await, Err(DeleteChildError::Running));
    assert_eq!(
        sup.restart_child("x").await,
        Err(RestartChildError::NotFound)
    );
    assert_eq!(sup.delete_child("x").await, Err(DeleteChildError::NotFound));
    sup.terminate_child("a").await.unwrap();
    let again = sup.restart_child("a").await.unwrap();
    assert_eq!(again.pid(), Some(pid_of(&sup, "a").await));
    sup.terminate_child("a").await.unwrap();
    assert_eq!(sup.delete_child("a").await, Ok(()));
    assert!(children(&sup).await.is_empty());
    stop(sup).await;
}

/// OTP `restart_child/2`: a failed start returns `{error, Reason}` unwrapped.
#[tokio::test]
async fn restart_child_reports_the_start_error_unwrapped() {
    let log = Log::default();
    let flaky = Probe::new(&log, "f");
    let sup = Supervisor::new(SupFlags::default())
        .child(flaky.clone().spec())
        .start()
        .await
        .unwrap();
    sup.terminate_child("f").await.unwrap();
    flaky
        .fail_starts
        .store(1, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        sup.restart_child("f").await,
        Err(RestartChildError::StartFailed(ExitReason::custom(
            "start_failed"
        )))
    );
    assert_eq!(children(&sup).await, ["f=undefined"]);
    stop(sup).await;
}

/// OTP `count_children`: specs, active, supervisors and workers.
#[tokio::test]
async fn count_children_counts_specs_active_and_types() {
    let log = Log::default();
    let sup = sup_with(&log, &["a", "b"]).await;
    sup.start_child(Supervisor::new(SupFlags::default()).into_child_spec("s"))
        .await
        .unwrap();
    sup.terminate_child("b").await.unwrap();
    assert_eq!(
        sup.count_children().await.unwrap(),
        ChildCounts {
            specs: 3,
            active: 2,
            supervisors: 1,
            workers: 2
        }
    );
    stop(sup).await;
}

/// OTP `get_childspec/2`: the spec with its defaults filled in.
#[tokio::test]
async fn get_childspec_returns_the_defaulted_spec() {
    let log = Log::default();
    let sup = sup_with(&log, &["a"]).await;
    sup.start_child(Supervisor::new(SupFlags::default()).into_child_spec("s"))
        .await
        .unwrap();
    let a = sup.get_childspec("a").await.unwrap();
    assert_eq!(
        (a.id.as_str(), a.restart, a.shutdown, a.child_type),
        (
            "a",
            Restart::Permanent,
            Shutdown::Timeout(Duration::from_secs(5)),
            ChildType::Worker
        )
    );
    let s = sup.get_childspec("s").await.unwrap();
    assert_eq!(
        (s.shutdown, s.child_type),
        (Shutdown::Infinity, ChildType::Supervisor)
    );
    assert_eq!(
        sup.get_childspec("x").await.err(),
        Some(GetChildSpecError::NotFound)
    );
    stop(sup).await;
}

/// OTP `which_child/2`: one child by id, `not_found` otherwise.
#[tokio::test]
async fn which_child_finds_one_child() {
    let log = Log::default();
    let sup = sup_with(&log, &["a"]).await;
    let a = pid_of(&sup, "a").await;
    let info = sup.which_child("a").await.unwrap();
    assert_eq!(info.state, ChildState::Running(a));
    assert_eq!(sup.which_child("x").await, Err(WhichChildError::NotFound));
    assert_eq!(sup.which_child(a).await, Err(WhichChildError::NotFound));
    stop(sup).await;
}

/// OTP `gen_server:call` to a dead supervisor exits `noproc`: here a typed `NoProcess`.
#[tokio::test]
async fn calls_to_a_dead_supervisor_are_typed_errors() {
    let log = Log::default();
    let sup = sup_with(&log, &[]).await;
    stop(sup.clone()).await;
    assert_eq!(sup.which_children().await, Err(CallError::NoProcess));
    assert_eq!(
        sup.stop_with(ExitReason::Shutdown, Duration::MAX).await,
        Err(arbor_process::StopError::NoProcess)
    );
}

// ===== simple_one_for_one =====

/// OTP `simple_one_for_one_extra`: extra args are passed and used again at restart.
#[tokio::test]
async fn simple_start_child_passes_extra_args_and_restarts_with_them() {
    let log = Log::default();
    let sup = simple(&log, Restart::Permanent).await;
    let p1 = sup.start_child("one").await.unwrap().pid().unwrap();
    sup.start_child("two").await.unwrap();
    assert_eq!(log.take(), ["start t:one", "start t:two"]);
    crash_pid(p1, boom()).await;
    assert_eq!(children(sup.supervisor()).await, ["-=running", "-=running"]);
    assert_eq!(log.take(), ["exit t:one boom", "start t:one"]);
    stop(sup).await;
}

/// OTP `sup_start_ignore_temporary_child_start_child_simple`: ignore stores nothing, errors are raw.
#[tokio::test]
async fn simple_ignore_stores_nothing_and_errors_are_raw() {
    let log = Log::default();
    let sup = Supervisor::simple(
        SupFlags::default(),
        Probe::new(&log, "t").ignore().unit_template(),
    )
    .start()
    .await
    .unwrap();
    assert_eq!(sup.start_child(()).await, Ok(StartedChild::Ignored));
    assert!(children(sup.supervisor()).await.is_empty());
    stop(sup).await;
    let failing = Supervisor::simple(
        SupFlags::default(),
        Probe::new(&log, "t").always_fail().unit_template(),
    )
    .start()
    .await
    .unwrap();
    assert_eq!(
        failing.start_child(()).await,
        Err(StartSimpleChildError::StartFailed(ExitReason::custom(
            "start_failed"
        )))
    );
    stop(failing.clone()).await;
    assert_eq!(
        failing.start_child(()).await,
        Err(StartSimpleChildError::Call(CallError::NoProcess))
    );
}

/// OTP `child_adm_simple`: `terminate_child` by pid under simple_one_for_one.
#[tokio::test]
async fn simple_terminate_child_by_pid() {
    let log = Log::default();
    let sup = simple(&log, Restart::Permanent).await;
    let p = sup.start_child("x").await.unwrap().pid().unwrap();
    assert_eq!(
        sup.supervisor().terminate_child("t").await,
        Err(TerminateChildError::SimpleOneForOne)
    );
    assert_eq!(sup.terminate_child(p).await, Ok(()));
    assert!(children(sup.supervisor()).await.is_empty());
    assert_eq!(sup.terminate_child(p).await, Ok(()), "a dead pid is ok");
    let stranger = arbor_process::spawn(|mut ctx: arbor_process::Ctx<()>| async move {
        ctx.recv().await;
        ExitReason::Normal
    });
    assert_eq!(
        sup.terminate_child(stranger.pid()).await,
        Err(TerminateChildError::NotFound)
    );
    stranger.send(()).unwrap();
    stop(sup).await;
}

/// OTP `child_adm_simple`: restart, delete and id lookups return `simple_one_for_one`.
#[tokio::test]
async fn simple_restart_delete_and_id_lookups_are_simple_one_for_one_errors() {
    let log = Log::default();
    let sup = simple(&log, Restart::Temporary).await;
    let untyped = sup.supervisor();
    assert_eq!(
        untyped.restart_child("t").await,
        Err(RestartChildError::SimpleOneForOne)
    );
    assert_eq!(
        untyped.delete_child("t").await,
        Err(DeleteChildError::SimpleOneForOne)
    );
    assert_eq!(
        untyped.which_child("t").await,
        Err(WhichChildError::SimpleOneForOne)
    );
    assert_eq!(
        untyped.start_child(probe(&log, "x")).await,
        Err(StartChildError::SimpleOneForOne)
    );
    let p = sup.start_child("x").await.unwrap().pid().unwrap();
    assert_eq!(untyped.get_childspec(p).await.unwrap().id.as_str(), "t");
    assert_eq!(untyped.get_childspec("t").await.unwrap().id.as_str(), "t");
    assert_eq!(
        untyped.get_childspec("other").await.err(),
        Some(GetChildSpecError::NotFound)
    );
    assert_eq!(
        sup.which_child(p).await.unwrap().state,
        ChildState::Running(p)
    );
    stop(sup).await;
}

/// No OTP case (typed handles): a supervisor becomes a simple handle only with its strategy and argument type.
#[tokio::test]
async fn into_simple_checks_strategy_and_argument_type() {
    let log = Log::default();
    let sup = simple(&log, Restart::Temporary).await;
    let untyped = sup.supervisor().clone();
    assert_eq!(
        untyped.clone().into_simple::<u32>().await.err(),
        Some(IntoSimpleError::ArgumentType)
    );
    let typed = untyped.clone().into_simple::<&'static str>().await.unwrap();
    assert_eq!(typed.pid(), sup.pid());
    typed.start_child("via_pid").await.unwrap();
    assert_eq!(log.take(), ["start t:via_pid"]);
    let static_sup = sup_with(&log, &[]).await;
    assert_eq!(
        static_sup.clone().into_simple::<()>().await.err(),
        Some(IntoSimpleError::NotSimpleOneForOne)
    );
    stop(static_sup.clone()).await;
    assert_eq!(
        static_sup.into_simple::<()>().await.err(),
        Some(IntoSimpleError::Call(CallError::NoProcess))
    );
    stop(sup).await;
}

/// OTP `count_children` under simple_one_for_one: one spec, every child counted.
#[tokio::test]
async fn simple_count_children() {
    let log = Log::default();
    let sup = simple(&log, Restart::Transient).await;
    for tag in ["a", "b", "c"] {
        sup.start_child(tag).await.unwrap();
    }
    assert_eq!(
        sup.count_children().await.unwrap(),
        ChildCounts {
            specs: 1,
            active: 3,
            supervisors: 0,
            workers: 3
        }
    );
    stop(sup).await;
}

/// OTP `simple_one_for_one_extra` with wrong args: the start fails with `badarg`.
///
/// OTP: `start_child(Sup, ExtraArgs)` on a supervisor whose start
/// function does not take them fails in the start. The unchecked typed
/// handle (`whereis`) lets it happen; the start error is `badarg`.
#[tokio::test]
async fn an_unchecked_typed_handle_with_the_wrong_argument_is_a_start_error() {
    let log = Log::default();
    let sup = Supervisor::simple(SupFlags::default(), Probe::new(&log, "t").template())
        .start_opts(arbor_process::StartOpts::default().name("api_rs_sofo"))
        .await
        .unwrap();
    let wrong = SimpleSupervisorRef::<u64>::whereis("api_rs_sofo").unwrap();
    let badarg = Err(StartSimpleChildError::StartFailed(ExitReason::custom(
        "badarg",
    )));
    assert_eq!(wrong.start_child(7).await, badarg);
    assert!(children(sup.supervisor()).await.is_empty());
    let static_sup = sup_with(&log, &[]).await;
    let not_simple = SimpleSupervisorRef::<u64>::from_pid(static_sup.pid()).unwrap();
    assert_eq!(not_simple.start_child(7).await, badarg);
    stop(static_sup).await;
    stop(sup).await;
}

/// OTP `simple_one_for_one`: a plain child spec as the template, started with no extra args.
///
/// A static spec as the template of `Supervisor::new` with the
/// simple_one_for_one strategy: its children take `()`.
#[tokio::test]
async fn a_static_spec_as_template_takes_unit() {
    let log = Log::default();
    let sup = Supervisor::new(SupFlags::new(Strategy::SimpleOneForOne))
        .child(probe(&log, "t"))
        .start()
        .await
        .unwrap();
    assert_eq!(
        sup.clone().into_simple::<u32>().await.err(),
        Some(IntoSimpleError::ArgumentType)
    );
    let simple = sup.clone().into_simple::<()>().await.unwrap();
    let p = simple.start_child(()).await.unwrap().pid().unwrap();
    crash_pid(p, boom()).await;
    assert_eq!(
        log.take(),
        ["start t", "exit t boom", "start t"],
        "restarted"
    );
    stop(sup).await;
}

// ===== errors of every operation on a dead supervisor =====

/// OTP `noproc` exits of every supervisor call: each operation's `Call(NoProcess)`.
#[tokio::test]
async fn every_request_to_a_dead_supervisor_is_its_call_error() {
    let log = Log::default();
    let sup = sup_with(&log, &[]).await;
    stop(sup.clone()).await;
    let gone = CallError::NoProcess;
    assert_eq!(
        sup.start_child(probe(&log, "a")).await,
        Err(StartChildError::Call(gone.clone()))
    );
    assert_eq!(
        sup.terminate_child("a").await,
        Err(TerminateChildError::Call(gone.clone()))
    );
    assert_eq!(
        sup.restart_child("a").await,
        Err(RestartChildError::Call(gone.clone()))
    );
    assert_eq!(
        sup.delete_child("a").await,
        Err(DeleteChildError::Call(gone.clone()))
    );
    assert_eq!(
        sup.which_child("a").await,
        Err(WhichChildError::Call(gone.clone()))
    );
    assert_eq!(
        sup.get_childspec("a").await.err(),
        Some(GetChildSpecError::Call(gone.clone()))
    );
    assert_eq!(sup.which_children().await, Err(gone.clone()));
    assert_eq!(sup.count_children().await, Err(gone.clone()));
    assert_eq!(sup.tree().await.err(), Some(gone));
}

/// OTP `{error, already_present | running | restarting | not_found | ..}`: errors display as OTP terms.
#[test]
fn errors_display_in_otp_terms() {
    let pid = arbor_process::Pid::ANONYMOUS;
    assert_eq!(
        StartChildError::AlreadyStarted(pid).to_string(),
        format!("{{already_started, {pid}}}")
    );
    assert_eq!(
        StartChildError::AlreadyPresent.to_string(),
        "already_present"
    );
    assert_eq!(
        StartChildError::SimpleOneForOne.to_string(),
        "simple_one_for_one"
    );
    assert_eq!(TerminateChildError::NotFound.to_string(), "not_found");
    assert_eq!(RestartChildError::Running.to_string(), "running");
    assert_eq!(DeleteChildError::Restarting.to_string(), "restarting");
}

/// OTP `count_restarting_children`: a `restarting` child refuses restart, delete and start but terminates.
#[tokio::test]
async fn a_restarting_child_refuses_restart_delete_and_start_but_can_be_terminated() {
    let log = Log::default();
    let flaky = Probe::new(&log, "f");
    let sup = start(flags(Strategy::OneForOne, 5), vec![flaky.clone().spec()]).await;
    flaky.fail_starts.store(1, Ordering::SeqCst);
    log.take();
    let pid = pid_of(&sup, "f").await;
    let held = hold(&sup).await;
    crash_pid(pid, boom()).await;
    let mut restart = Box::pin(sup.restart_child("f"));
    queue(&mut restart).await;
    let mut delete = Box::pin(sup.delete_child("f"));
    queue(&mut delete).await;
    let mut start_again = Box::pin(sup.start_child(probe(&log, "f")));
    queue(&mut start_again).await;
    let mut counts = Box::pin(sup.count_children());
    queue(&mut counts).await;
    let mut terminate = Box::pin(sup.terminate_child("f"));
    queue(&mut terminate).await;
    held.release().await;
    assert_eq!(restart.await, Err(RestartChildError::Restarting));
    assert_eq!(delete.await, Err(DeleteChildError::Restarting));
    assert_eq!(start_again.await, Err(StartChildError::AlreadyPresent));
    let counts = counts.await.unwrap();
    assert_eq!((counts.specs, counts.active), (1, 0));
    assert_eq!(terminate.await, Ok(()));
    // The pending retry finds the child undefined and does nothing.
    assert_eq!(children(&sup).await, ["f=undefined"]);
    assert!(!log.take().contains(&"start f".to_string()));
    stop(sup).await;
}

/// OTP `simple_one_for_one`: a child is restarted with the same arguments.
///
/// OTP: a simple_one_for_one child is restarted with the same arguments.
#[tokio::test]
async fn transient_template_restarts_with_a_clone_of_its_argument() {
    let (starts_tx, mut starts) = mpsc::unbounded_channel();
    let clones = Arc::new(AtomicUsize::new(0));
    let template = ChildSpec::template("w", |arg: Counted| async move {
        crashable(arg.tag, &arg.starts)
    })
    .restart(Restart::Transient);
    let sup = Supervisor::simple(SupFlags::default().intensity(5), template)
        .start()
        .await
        .unwrap();
    let arg = Counted {
        tag: "first",
        clones: clones.clone(),
        starts: starts_tx,
    };
    let pid = sup.start_child(arg).await.unwrap().pid().unwrap();
    assert_eq!(starts.recv().await, Some("first"));
    assert_eq!(clones.load(Ordering::SeqCst), 1, "one clone per start");
    send_exit(pid, ExitReason::custom("boom")).await;
    assert_eq!(starts.recv().await, Some("first"), "restarted with it");
    assert_eq!(clones.load(Ordering::SeqCst), 2);
    let restarted = sup.which_children().await.unwrap()[0].state.pid().unwrap();
    send_exit(restarted, ExitReason::Normal).await;
    assert!(sup.which_children().await.unwrap().is_empty());
    sup.stop().await.unwrap();
}

/// OTP `simple_one_for_one_scale_many_temporary_children`: a temporary child owns its start argument.
///
/// The connection-handler case: a temporary template takes a non-`Clone`
/// argument (a real `TcpStream`), moved into its only start.
#[tokio::test]
async fn temporary_template_child_owns_the_tcp_stream_it_is_handed() {
    let template = ChildSpec::temporary_template("conn", |mut stream: TcpStream| async move {
        spawn_link(move |_: Ctx<()>| async move {
            let mut buf = [0u8; 4];
            stream.read_exact(&mut buf).await.unwrap();
            stream.write_all(&buf).await.unwrap();
            ExitReason::Normal
        })
    });
    let sup = Supervisor::simple(SupFlags::default(), template)
        .start()
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server_side, _) = listener.accept().await.unwrap();
    let child = sup.start_child(server_side).await.unwrap().pid().unwrap();
    // Looked up before the child can finish: it waits for the client.
    let child = ProcessHandle::lookup(child).unwrap();
    client.write_all(b"ping").await.unwrap();
    let mut echo = [0u8; 4];
    client.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"ping");
    assert_eq!(child.wait().await, ExitReason::Normal);
    assert!(
        sup.which_children().await.unwrap().is_empty(),
        "not restarted"
    );
    sup.stop().await.unwrap();
}
