//! Restart types, as OTP's `supervisor_SUITE` groups
//! `normal_termination`, `shutdown_termination` and `abnormal_termination`
//! (docs/otp/supervisor.md#sup-child-exit): which exits restart which children.

mod support;

use std::sync::atomic::Ordering;

use arbor_process::{ExitReason, Process, ProcessHandle};
use arbor_supervisor::{
    ChildSpec, ChildState, IntoStartOutcome, Restart, SpecError, StartOutcome, Strategy, SupFlags,
    SupStartError, Supervisor,
};
use support::*;

/// OTP `transient_normal` under simple_one_for_one: a normal exit removes the child.
#[tokio::test]
async fn simple_transient_normal_exit_removes_the_child() {
    let log = Log::default();
    let sup = simple(&log, Restart::Transient).await;
    let p = sup.start_child("x").await.unwrap().pid().unwrap();
    crash_pid(p, ExitReason::Normal).await;
    assert!(children(sup.supervisor()).await.is_empty());
    stop(sup).await;
}

/// OTP `do_not_save_start_parameters_for_temporary_children`: a temporary template's argument is used once, so it cannot be restartable.
///
/// A temporary template's argument cannot be given twice: a restart type
/// other than temporary is refused before anything starts.
#[tokio::test]
async fn temporary_template_made_restartable_is_an_invalid_spec() {
    let template = ChildSpec::temporary_template("conn", |_: tokio::net::TcpStream| async {
        StartOutcome::Ignore
    })
    .restart(Restart::Permanent);
    let err = Supervisor::simple(SupFlags::default(), template)
        .start()
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SupStartError::Spec(SpecError::TemporaryOnly("conn".into()))
    );
}

/// OTP `permanent_*`/`transient_*`/`temporary_*` cases: restart type × exit reason decides the restart.
#[tokio::test]
async fn restart_type_times_exit_reason_table() {
    let reasons = [
        ExitReason::Normal,
        ExitReason::Shutdown,
        ExitReason::shutdown_with("x"),
        boom(),
        ExitReason::Killed,
    ];
    for restart in [Restart::Permanent, Restart::Transient, Restart::Temporary] {
        for (i, reason) in reasons.iter().enumerate() {
            let log = Log::default();
            let sup = start(
                flags(Strategy::OneForOne, 10),
                vec![probe(&log, "c").restart(restart)],
            )
            .await;
            let before = pid_of(&sup, "c").await;
            if *reason == ExitReason::Killed {
                arbor_process::kill(before);
                ProcessHandle::lookup(before).unwrap().wait().await;
            } else {
                crash(&sup, "c", reason.clone()).await;
            }
            let expected: Vec<String> = match (restart, i) {
                (Restart::Permanent, _) | (Restart::Transient, 3..) => vec!["c=running".into()],
                (Restart::Transient, _) => vec!["c=undefined".into()],
                (Restart::Temporary, _) => vec![],
            };
            assert_eq!(children(&sup).await, expected, "{restart} {reason}");
            if let Some(info) = sup.which_children().await.unwrap().first() {
                assert_ne!(info.state, ChildState::Running(before), "a new process");
            }
            stop(sup).await;
        }
    }
}

/// OTP `do_restart`: a restarted registered child is found under its name again.
#[tokio::test]
async fn a_registered_child_is_reachable_by_name_again_once_restarted() {
    use arbor_process::{Agent, StartOpts};
    let spec = ChildSpec::worker("named", || async {
        Agent::start_opts(
            || 0u32,
            StartOpts::default().name("restart_rs_named").link(),
        )
        .await
    });
    let sup = start(flags(Strategy::OneForOne, 5), vec![spec]).await;
    for round in 0..3u32 {
        let agent = Agent::<u32>::whereis("restart_rs_named").unwrap();
        assert_eq!(
            agent.get(|n| *n).await.unwrap(),
            0,
            "round {round}: fresh state"
        );
        agent.update(|n| *n += 1).await.unwrap();
        arbor_process::kill(agent.pid());
        agent.wait().await;
        // The name was released before the supervisor heard of the exit,
        // and this request is served after the restart.
        let now = pid_of(&sup, "named").await;
        assert_ne!(now, agent.pid());
        assert_eq!(arbor_process::whereis("restart_rs_named"), Some(now));
    }
    stop(sup).await;
    assert_eq!(arbor_process::whereis("restart_rs_named"), None);
}

/// OTP `do_restart`: the old child's resources are released before its successor starts.
///
/// A child's state (here an exclusive "port" it holds for its life) is
/// released before the supervisor learns of its exit, so the restarted
/// child never finds it still taken — also for siblings stopped by
/// one_for_all, whose bodies are dropped by exit processing, and on worker
/// threads where the old child's teardown and the supervisor run at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_child_finds_what_its_predecessor_held_released() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize};

    use arbor_process::{Ctx, Msg, ProcessRef, spawn_link};

    struct Port(Arc<AtomicBool>);
    impl Drop for Port {
        fn drop(&mut self) {
            self.0.store(false, Ordering::SeqCst);
        }
    }

    let in_use = Arc::new(AtomicUsize::new(0));
    let specs: Vec<ChildSpec> = (0..3)
        .map(|i| {
            let port = Arc::new(AtomicBool::new(false));
            let in_use = in_use.clone();
            ChildSpec::worker(format!("c{i}"), move || {
                let port = port.clone();
                let in_use = in_use.clone();
                async move {
                    // "Bind": taken while the predecessor still holds it is
                    // the failure this test is about.
                    if port.swap(true, Ordering::SeqCst) {
                        in_use.fetch_add(1, Ordering::SeqCst);
                    }
                    let held = Port(port);
                    let child = spawn_link(move |mut ctx: Ctx<()>| async move {
                        let _held = held;
                        loop {
                            if let Msg::Message(()) = ctx.recv().await {
                                panic!("crash requested");
                            }
                        }
                    });
                    child.into_start_outcome()
                }
            })
        })
        .collect();
    let sup = start(flags(Strategy::OneForAll, 1_000_000), specs).await;
    for round in 0..300 {
        let victim = pid_of(&sup, &format!("c{}", round % 3)).await;
        let child = ProcessRef::<()>::from_pid(victim).expect("running");
        let handle = child.handle().clone();
        assert!(child.send(()).is_ok());
        handle.wait().await;
        // Wait until all three run again (a restart in progress shows as
        // not running or the old pid).
        loop {
            let infos = sup.which_children().await.unwrap();
            let pids: Vec<_> = infos.iter().filter_map(|c| c.state.pid()).collect();
            if pids.len() == 3 && !pids.contains(&victim) {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(in_use.load(Ordering::SeqCst), 0, "round {round}");
    }
    stop(sup).await;
}
