//! Significant children and `auto_shutdown`, as OTP's `supervisor_SUITE`
//! `significant_*` cases (docs/otp/supervisor.md#sup-auto-shutdown).

mod support;

use arbor_process::{ExitReason, Process};
use arbor_supervisor::{AutoShutdown, Restart, Strategy};
use support::*;

/// OTP `auto_shutdown => any_significant`: a significant child exiting by itself stops the supervisor.
#[tokio::test]
async fn any_significant_child_exiting_shuts_the_supervisor_down() {
    let log = Log::default();
    let sup = start(
        flags(Strategy::OneForOne, 5).auto_shutdown(AutoShutdown::AnySignificant),
        vec![
            probe(&log, "a"),
            probe(&log, "s")
                .restart(Restart::Transient)
                .significant(true),
        ],
    )
    .await;
    log.take();
    crash(&sup, "s", ExitReason::Normal).await;
    assert_eq!(sup.wait().await, ExitReason::Shutdown);
    assert_eq!(log.take(), ["exit s normal", "stop a shutdown"]);
}

/// OTP `auto_shutdown => all_significant`: the supervisor stops when the last significant child is gone.
#[tokio::test]
async fn all_significant_waits_for_the_last_significant_child() {
    let log = Log::default();
    let sup = start(
        flags(Strategy::OneForOne, 5).auto_shutdown(AutoShutdown::AllSignificant),
        vec![
            probe(&log, "s1")
                .restart(Restart::Temporary)
                .significant(true),
            probe(&log, "s2")
                .restart(Restart::Transient)
                .significant(true),
        ],
    )
    .await;
    crash(&sup, "s1", boom()).await;
    assert_eq!(children(&sup).await, ["s2=running"]);
    crash(&sup, "s2", ExitReason::Shutdown).await;
    assert_eq!(sup.wait().await, ExitReason::Shutdown);
}

/// OTP `significant_*`: `terminate_child` and restarts of a significant child trigger no auto shutdown.
#[tokio::test]
async fn terminating_a_significant_child_or_restarting_it_does_not_auto_shutdown() {
    let log = Log::default();
    let sup = start(
        flags(Strategy::OneForOne, 5).auto_shutdown(AutoShutdown::AnySignificant),
        vec![
            probe(&log, "s")
                .restart(Restart::Transient)
                .significant(true),
            probe(&log, "t")
                .restart(Restart::Transient)
                .significant(true),
        ],
    )
    .await;
    sup.terminate_child("s").await.unwrap();
    crash(&sup, "t", boom()).await; // abnormal: restarted, not a trigger
    assert_eq!(children(&sup).await, ["t=running", "s=undefined"]);
    stop(sup).await;
}
