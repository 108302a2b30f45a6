//! Restart intensity and escalation, as OTP's `supervisor_SUITE` cases
//! `multiple_restarts`, `sup_flags`, `*_escalation` and
//! `hanging_restart_loop` (docs/otp/supervisor.md#sup-strategies, docs/otp/supervisor.md#sup-restarting): when a supervisor
//! gives up and who learns of it.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use arbor_process::{ExitReason, Process};
use arbor_supervisor::{Restart, Strategy, Supervisor, SupervisorRef};
use support::*;

/// OTP `multiple_restarts`: more than MaxR restarts in MaxT stop all children in reverse and exit `shutdown`.
#[tokio::test]
async fn more_than_intensity_restarts_stop_all_children_in_reverse_and_exit_shutdown() {
    let log = Log::default();
    let sup = start(
        flags(Strategy::OneForOne, 1),
        ["a", "b", "c"].map(|i| probe(&log, i)).to_vec(),
    )
    .await;
    log.take();
    crash(&sup, "b", boom()).await;
    crash(&sup, "b", boom()).await;
    assert_eq!(sup.wait().await, ExitReason::Shutdown);
    assert_eq!(
        log.take(),
        [
            "exit b boom",
            "start b",
            "exit b boom",
            "stop c shutdown",
            "stop a shutdown"
        ]
    );
}

/// OTP `sup_flags` intensity 0: the first restartable exit shuts the supervisor down.
#[tokio::test]
async fn intensity_zero_gives_up_at_the_first_restartable_exit() {
    let log = Log::default();
    let sup = start(flags(Strategy::OneForOne, 0), vec![probe(&log, "a")]).await;
    crash(&sup, "a", boom()).await;
    assert_eq!(sup.wait().await, ExitReason::Shutdown);
}

/// OTP `add_restart`: restarts older than the period leave the window, at exact durations.
#[tokio::test(start_paused = true)]
async fn the_window_slides_with_exact_durations() {
    let log = Log::default();
    let sup = start(flags(Strategy::OneForOne, 1), vec![probe(&log, "a")]).await;
    crash(&sup, "a", boom()).await;
    tokio::time::advance(Duration::from_millis(5001)).await;
    crash(&sup, "a", boom()).await;
    assert_eq!(
        children(&sup).await,
        ["a=running"],
        "first restart left the window"
    );
    tokio::time::advance(Duration::from_secs(5)).await;
    crash(&sup, "a", boom()).await;
    assert_eq!(
        sup.wait().await,
        ExitReason::Shutdown,
        "two restarts within 5 s"
    );
}

/// OTP `restart/3`: a one_for_all or rest_for_one restart counts as one restart.
#[tokio::test]
async fn a_multi_child_restart_counts_once() {
    let log = Log::default();
    let sup = start(
        flags(Strategy::OneForAll, 1),
        ["a", "b", "c"].map(|i| probe(&log, i)).to_vec(),
    )
    .await;
    crash(&sup, "a", boom()).await;
    assert_eq!(
        children(&sup).await.len(),
        3,
        "3 children restarted, 1 restart counted"
    );
    crash(&sup, "a", boom()).await;
    assert_eq!(sup.wait().await, ExitReason::Shutdown);
}

/// OTP `add_restart`: exits that cause no restart do not count toward the intensity.
#[tokio::test]
async fn exits_that_are_not_restarted_do_not_count() {
    let log = Log::default();
    let sup = start(
        flags(Strategy::OneForOne, 1),
        vec![
            probe(&log, "tr").restart(Restart::Transient),
            probe(&log, "tmp").restart(Restart::Temporary),
            probe(&log, "p"),
        ],
    )
    .await;
    crash(&sup, "tr", ExitReason::Normal).await;
    crash(&sup, "tmp", boom()).await;
    sup.terminate_child("p").await.unwrap();
    sup.restart_child("p").await.unwrap();
    crash(&sup, "p", boom()).await; // the first counted restart
    assert_eq!(children(&sup).await, ["p=running", "tr=undefined"]);
    stop(sup).await;
}

/// OTP `one_for_one_escalation`: a child supervisor that gives up is restarted by its parent.
#[tokio::test]
async fn escalation_reaches_the_parent_which_restarts_a_permanent_child_supervisor() {
    let log = Log::default();
    let inner = Supervisor::new(flags(Strategy::OneForOne, 0)).child(probe(&log, "w"));
    let root = start(
        flags(Strategy::OneForOne, 5),
        vec![probe(&log, "first"), inner.into_child_spec("inner")],
    )
    .await;
    let inner_pid = pid_of(&root, "inner").await;
    let inner_ref = SupervisorRef::from_pid(inner_pid).unwrap();
    log.take();
    crash(&inner_ref, "w", boom()).await;
    assert_eq!(inner_ref.wait().await, ExitReason::Shutdown);
    assert_ne!(pid_of(&root, "inner").await, inner_pid, "inner restarted");
    assert_eq!(log.take(), ["exit w boom", "start w"]);
    stop(root).await;
}

/// OTP escalation: a transient child supervisor exiting `shutdown` is not restarted.
#[tokio::test]
async fn a_transient_child_supervisor_that_gives_up_is_not_restarted() {
    let log = Log::default();
    let inner = Supervisor::new(flags(Strategy::OneForOne, 0)).child(probe(&log, "w"));
    let root = start(
        flags(Strategy::OneForOne, 5),
        vec![inner.into_child_spec("inner").restart(Restart::Transient)],
    )
    .await;
    let inner_ref = SupervisorRef::from_pid(pid_of(&root, "inner").await).unwrap();
    crash(&inner_ref, "w", boom()).await;
    inner_ref.wait().await;
    assert_eq!(children(&root).await, ["inner=undefined"]);
    stop(root).await;
}

/// OTP `one_for_all_escalation`: giving up escalates through two supervisor levels.
#[tokio::test]
async fn escalation_through_two_levels() {
    let log = Log::default();
    let leaf = Supervisor::new(flags(Strategy::OneForOne, 0)).child(probe(&log, "w"));
    let mid = Supervisor::new(flags(Strategy::OneForOne, 0)).child(leaf.into_child_spec("leaf"));
    let root = start(
        flags(Strategy::OneForOne, 5),
        vec![mid.into_child_spec("mid")],
    )
    .await;
    let mid_ref = SupervisorRef::from_pid(pid_of(&root, "mid").await).unwrap();
    let leaf_ref = SupervisorRef::from_pid(pid_of(&mid_ref, "leaf").await).unwrap();
    log.take();
    crash(&leaf_ref, "w", boom()).await;
    assert_eq!(leaf_ref.wait().await, ExitReason::Shutdown);
    assert_eq!(mid_ref.wait().await, ExitReason::Shutdown);
    assert_eq!(children(&root).await, ["mid=running"]);
    assert_eq!(log.take(), ["exit w boom", "start w"]);
    stop(root).await;
}

/// OTP `hanging_restart_loop`: every restart retry counts toward the intensity.
#[tokio::test]
async fn every_retry_passes_the_intensity_check() {
    let log = Log::default();
    let never = Probe::new(&log, "n");
    let sup = start(flags(Strategy::OneForOne, 3), vec![never.clone().spec()]).await;
    never.fail_starts.store(u32::MAX, Ordering::SeqCst);
    log.take();
    crash(&sup, "n", boom()).await;
    assert_eq!(sup.wait().await, ExitReason::Shutdown);
    assert_eq!(
        log.take(),
        ["exit n boom", "failed n", "failed n", "failed n"]
    );
}

/// No OTP case (arbor's backoff): the restart waits, the child is `restarting` meanwhile.
#[tokio::test(start_paused = true)]
async fn backoff_delays_the_restart_and_the_child_is_restarting_meanwhile() {
    let log = Log::default();
    let spec = probe(&log, "b").backoff(arbor_supervisor::Backoff::exponential(
        Duration::from_secs(1),
        Duration::from_secs(8),
    ));
    let sup = start(flags(Strategy::OneForOne, 10), vec![spec]).await;
    log.take();
    crash(&sup, "b", boom()).await;
    assert_eq!(children(&sup).await, ["b=restarting"]);
    tokio::time::advance(Duration::from_millis(999)).await;
    assert_eq!(children(&sup).await, ["b=restarting"]);
    tokio::time::advance(Duration::from_millis(1)).await;
    tokio::task::yield_now().await;
    assert_eq!(children(&sup).await, ["b=running"]);
    crash(&sup, "b", boom()).await;
    tokio::time::advance(Duration::from_millis(1999)).await;
    assert_eq!(
        children(&sup).await,
        ["b=restarting"],
        "second delay doubles"
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    tokio::task::yield_now().await;
    assert_eq!(children(&sup).await, ["b=running"]);
    assert_eq!(
        log.take(),
        ["exit b boom", "start b", "exit b boom", "start b"]
    );
    stop(sup).await;
}

/// OTP `sup_flags` defaults: intensity 1 within 5 s.
///
/// OTP's default flags: intensity 1 within 5 s.
#[tokio::test(start_paused = true)]
async fn strategy_shortcuts_have_otp_default_intensity() {
    let sup = Supervisor::one_for_one();
    assert_eq!(
        (sup.flags().intensity, sup.flags().period),
        (1, Duration::from_secs(5))
    );
    let log = support::Log::default();
    let sup = sup.child(support::probe(&log, "a")).start().await.unwrap();
    crash_pid(pid_of(&sup, "a").await, boom()).await;
    crash_pid(pid_of(&sup, "a").await, boom()).await;
    assert_eq!(
        sup.wait().await,
        ExitReason::Shutdown,
        "second restart escalates"
    );
}
