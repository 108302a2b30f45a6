//! Initialisation, as OTP's `supervisor_SUITE` groups `sup_start` and
//! `sup_start_map` (docs/otp/supervisor.md#sup-init): start order, start arguments,
//! ignore, rollback, validation, names.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use arbor_process::{
    Ctx, ExitReason, Myself, Process, ProcessHandle, StartOpts, scope, spawn_link,
};
use arbor_supervisor::{
    AutoShutdown, ChildSpec, FlagsError, IntoStartOutcome, Restart, SpecError, StartChildError,
    StartOutcome, Strategy, SupFlags, SupStartError, Supervisor, SupervisorRef,
};
use support::*;
use tokio::sync::mpsc;

/// OTP `sup_start_normal`: children start in list order; `which_children` lists newest first.
#[tokio::test]
async fn children_start_in_list_order_and_are_listed_newest_first() {
    let log = Log::default();
    let sup = Supervisor::new(SupFlags::default())
        .children(["a", "b", "c"].map(|id| probe(&log, id)))
        .start()
        .await
        .unwrap();
    assert_eq!(log.take(), ["start a", "start b", "start c"]);
    assert_eq!(
        children(&sup).await,
        ["c=running", "b=running", "a=running"]
    );
    sup.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
    assert_eq!(
        log.take(),
        ["stop c shutdown", "stop b shutdown", "stop a shutdown"]
    );
}

/// OTP `start_children`: a failing child aborts the start and the started ones stop in reverse.
#[tokio::test]
async fn failing_child_aborts_start_and_stops_the_started_ones_in_reverse() {
    let log = Log::default();
    let err = Supervisor::new(SupFlags::default())
        .child(probe(&log, "a"))
        .child(probe(&log, "b"))
        .child(Probe::new(&log, "c").always_fail().spec())
        .child(probe(&log, "d"))
        .start()
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SupStartError::FailedToStartChild {
            id: "c".into(),
            reason: ExitReason::custom("start_failed")
        }
    );
    assert_eq!(
        log.take(),
        [
            "start a",
            "start b",
            "failed c",
            "stop b shutdown",
            "stop a shutdown"
        ]
    );
}

/// Starting a supervisor with the one child `spec` fails with the start
/// error `Panic(message)` for that child.
async fn assert_start_panics(spec: ChildSpec, message: &str) {
    let id = spec.id.clone();
    let err = Supervisor::new(SupFlags::default())
        .child(spec)
        .start()
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SupStartError::FailedToStartChild {
            id,
            reason: ExitReason::Panic(message.into())
        }
    );
}

/// OTP `start_children`: a crashing child start fails the start (`{shutdown, {failed_to_start_child, ..}}`).
#[tokio::test]
async fn a_panicking_start_function_is_a_start_error() {
    let spec = ChildSpec::worker("p", || async {
        if true {
            panic!("no luck");
        }
        StartOutcome::Ignore
    });
    assert_start_panics(spec, "no luck").await;
}

/// OTP `start_children`: a start function that crashes before it returns is a start error too.
#[tokio::test]
async fn a_panic_before_the_start_future_is_returned_is_a_start_error() {
    let spec = ChildSpec::worker("p", || {
        if true {
            panic!("before the future");
        }
        async { StartOutcome::Ignore }
    });
    assert_start_panics(spec, "before the future").await;
}

/// A `worker_sync` child that waits for messages forever.
fn idle_sync(id: &str) -> ChildSpec {
    ChildSpec::worker_sync(id, || {
        IntoStartOutcome::into_start_outcome(spawn_link(|mut ctx: Ctx<()>| async move {
            loop {
                ctx.recv().await;
            }
        }))
    })
}

/// OTP `sup_start_normal`/`sup_start_ignore_child`/`sup_start_fail` with a synchronous start.
#[tokio::test]
async fn a_sync_start_function_starts_ignores_and_fails_like_an_async_one() {
    let sup = Supervisor::new(SupFlags::default())
        .child(idle_sync("run"))
        .child(ChildSpec::worker_sync("skip", || StartOutcome::Ignore))
        .start()
        .await
        .unwrap();
    assert_eq!(children(&sup).await, ["skip=undefined", "run=running"]);
    let err = sup
        .start_child(ChildSpec::worker_sync("no", || {
            StartOutcome::Error(ExitReason::custom("refused"))
        }))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StartChildError::StartFailed(ExitReason::custom("refused"))
    );
    let err = sup
        .start_child(ChildSpec::worker_sync("bang", || -> StartOutcome {
            panic!("sync start")
        }))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StartChildError::StartFailed(ExitReason::Panic("sync start".into()))
    );
    assert_eq!(children(&sup).await, ["skip=undefined", "run=running"]);
    sup.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
}

/// OTP `permanent_abnormal` with a synchronous start function.
#[tokio::test]
async fn a_sync_start_function_restarts_its_child() {
    let sup = Supervisor::new(SupFlags::default())
        .child(idle_sync("w"))
        .start()
        .await
        .unwrap();
    let first = support::pid_of(&sup, "w").await;
    let child = ProcessHandle::lookup(first).unwrap();
    child.exit(ExitReason::Kill);
    assert_eq!(child.wait().await, ExitReason::Killed);
    let second = support::pid_of(&sup, "w").await;
    assert_ne!(second, first);
    sup.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
}

/// OTP `sup_start_ignore_child`/`sup_start_ignore_temporary_child`: ignore at init.
#[tokio::test]
async fn ignore_keeps_the_spec_undefined_but_drops_a_temporary_one() {
    let log = Log::default();
    let sup = Supervisor::new(SupFlags::default())
        .child(Probe::new(&log, "perm").ignore().spec())
        .child(
            Probe::new(&log, "temp")
                .ignore()
                .spec()
                .restart(Restart::Temporary),
        )
        .child(probe(&log, "c"))
        .start()
        .await
        .unwrap();
    assert_eq!(children(&sup).await, ["c=running", "perm=undefined"]);
    sup.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
}

/// OTP `sup_flags`: invalid flags are rejected before any child starts.
#[tokio::test]
async fn invalid_flags_are_rejected_before_anything_starts() {
    let log = Log::default();
    let err = Supervisor::new(SupFlags::default().period(Duration::ZERO))
        .child(probe(&log, "a"))
        .start()
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SupStartError::Flags(FlagsError::InvalidPeriod(Duration::ZERO))
    );
    let err = Supervisor::new(
        SupFlags::new(Strategy::SimpleOneForOne).auto_shutdown(AutoShutdown::AnySignificant),
    )
    .child(probe(&log, "t"))
    .start()
    .await
    .unwrap_err();
    assert!(matches!(
        err,
        SupStartError::Flags(FlagsError::BadCombination { .. })
    ));
    assert!(log.take().is_empty());
}

/// OTP `child_specs`/`sup_start_map_faulty_specs`: invalid specs are `start_spec` errors.
#[tokio::test]
async fn invalid_specs_are_rejected_with_start_spec_errors() {
    let log = Log::default();
    let dup = Supervisor::new(SupFlags::default())
        .child(probe(&log, "a"))
        .child(probe(&log, "a"))
        .start()
        .await
        .unwrap_err();
    assert_eq!(
        dup,
        SupStartError::Spec(SpecError::DuplicateChildName("a".into()))
    );
    let sig = Supervisor::new(SupFlags::default())
        .child(
            probe(&log, "s")
                .restart(Restart::Transient)
                .significant(true),
        )
        .start()
        .await
        .unwrap_err();
    assert_eq!(
        sig,
        SupStartError::Spec(SpecError::SignificantWithoutAutoShutdown("s".into()))
    );
    let perm = Supervisor::new(SupFlags::default().auto_shutdown(AutoShutdown::AnySignificant))
        .child(probe(&log, "s").significant(true))
        .start()
        .await
        .unwrap_err();
    assert_eq!(
        perm,
        SupStartError::Spec(SpecError::SignificantPermanent("s".into()))
    );
    assert!(log.take().is_empty());
}

/// OTP `simple_one_for_one`: exactly one spec, no child started at init.
#[tokio::test]
async fn simple_one_for_one_needs_exactly_one_spec_and_starts_nothing() {
    let log = Log::default();
    let err = Supervisor::new(SupFlags::new(Strategy::SimpleOneForOne))
        .child(probe(&log, "a"))
        .child(probe(&log, "b"))
        .start()
        .await
        .unwrap_err();
    assert_eq!(err, SupStartError::BadStartSpec(2));
    let sup = Supervisor::simple(SupFlags::default(), Probe::new(&log, "t").unit_template())
        .start()
        .await
        .unwrap();
    assert!(children(sup.supervisor()).await.is_empty());
    assert!(log.take().is_empty());
    sup.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
}

/// OTP `sup_start_normal` with a name: `{error, {already_started, Pid}}` the second time.
#[tokio::test]
async fn a_registered_name_is_found_and_a_second_start_is_already_started() {
    let sup = Supervisor::one_for_one()
        .start_opts(StartOpts::default().name("start_rs_named"))
        .await
        .unwrap();
    assert_eq!(
        SupervisorRef::whereis("start_rs_named").map(|s| s.pid()),
        Some(sup.pid())
    );
    let err = Supervisor::one_for_one()
        .start_opts(StartOpts::default().name("start_rs_named"))
        .await
        .unwrap_err();
    assert_eq!(err, SupStartError::AlreadyStarted(sup.pid()));
    sup.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
    assert!(SupervisorRef::whereis("start_rs_named").is_none());
}

/// OTP `sup_start_fail` (OTP 26+ `proc_lib:start_link`): the caller gets `{error, _}` and no exit signal.
#[tokio::test]
async fn failed_start_link_sends_no_exit_signal_to_the_caller() {
    let log = Log::default();
    let pending = scope(|mut ctx: Ctx<()>| async move {
        ctx.trap_exit(true);
        let err = Supervisor::new(SupFlags::default())
            .child(Probe::new(&log, "x").always_fail().spec())
            .start_link()
            .await
            .unwrap_err();
        assert!(matches!(err, SupStartError::FailedToStartChild { .. }));
        // start_link returned after the supervisor died; a link signal
        // would already be queued.
        ctx.try_recv().is_some()
    })
    .await
    .unwrap();
    assert!(!pending);
}

/// A handle of the user's own: implementing `Process` is one method.
#[derive(Clone)]
struct Worker(ProcessHandle);

impl Process for Worker {
    fn handle(&self) -> &ProcessHandle {
        &self.0
    }
}

/// OTP `extra_return`: `{ok, Pid}` and `{error, Reason}` from the start function.
///
/// Start functions return what a start call returned, as it is: a `Result`
/// of any handle (a `ServerRef`, an `Agent`, a supervisor's, one's own) and
/// an error that is an exit reason; the supervisor runs the child the handle
/// names, and an error fails the start with that reason (OTP: `{ok, Pid}` /
/// `{error, Reason}` from the start function).
#[tokio::test]
async fn any_process_handle_or_start_error_is_a_start_result() {
    let agent = ChildSpec::worker("agent", || arbor_process::Agent::start_link(|| 0u8));
    let nested = ChildSpec::supervisor("nested", || Supervisor::one_for_one().start_link());
    let own = ChildSpec::worker("own", || async {
        let p = spawn_link(|mut ctx: Ctx<()>| async move {
            loop {
                ctx.recv().await;
            }
        });
        Ok::<_, ExitReason>(Worker(p.handle().clone()))
    });
    let sup = Supervisor::one_for_one()
        .children([agent, nested, own])
        .start()
        .await
        .unwrap();
    let running = sup.which_children().await.unwrap();
    assert_eq!(running.len(), 3);
    assert!(
        running
            .iter()
            .all(|c| c.state.pid().is_some_and(arbor_process::is_alive))
    );

    let refused = ChildSpec::worker("refused", || async {
        Err::<Worker, _>(ExitReason::custom("no_db"))
    });
    assert_eq!(
        sup.start_child(refused).await,
        Err(StartChildError::StartFailed(ExitReason::custom("no_db")))
    );
    let taken = StartOpts::new().name("start_result_taken").link();
    let first = ChildSpec::worker("first", move || {
        arbor_process::Agent::start_opts(|| 0u8, taken.clone())
    });
    let second = first.clone().id("second");
    let first_pid = sup.start_child(first).await.unwrap().pid().unwrap();
    // `StartError::AlreadyStarted` becomes an error reason carrying it.
    let Err(StartChildError::StartFailed(reason)) = sup.start_child(second).await else {
        panic!("a taken name fails the start");
    };
    assert_eq!(
        reason.to_string(),
        format!("{{error,\"already started as {first_pid}\"}}")
    );
    sup.stop().await.unwrap();
}

/// OTP `{M, F, A}`: the child's arguments are given again at every restart.
///
/// `{M, F, A}`: a static child's own argument is given again, cloned, at
/// every restart; the closure never clones by hand.
#[tokio::test]
async fn worker_with_gives_a_clone_of_its_argument_at_every_start() {
    let (starts_tx, mut starts) = mpsc::unbounded_channel();
    let clones = Arc::new(AtomicUsize::new(0));
    let arg = Counted {
        tag: "db",
        clones: clones.clone(),
        starts: starts_tx,
    };
    let spec = ChildSpec::worker_with("db", arg, |arg: Counted| async move {
        crashable(arg.tag, &arg.starts)
    });
    let sup = Supervisor::one_for_one()
        .intensity(5)
        .child(spec)
        .start()
        .await
        .unwrap();
    assert_eq!(starts.recv().await, Some("db"));
    send_exit(pid_of(&sup, "db").await, ExitReason::custom("boom")).await;
    assert_eq!(starts.recv().await, Some("db"));
    assert_eq!(clones.load(Ordering::SeqCst), 2, "one clone per start");
    sup.stop().await.unwrap();
}
