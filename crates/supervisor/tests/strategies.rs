//! Restart strategies, as OTP's `supervisor_SUITE` groups
//! `restart_one_for_one`, `restart_one_for_all` and `restart_rest_for_one`
//! (docs/otp/supervisor.md#sup-intensity): who is restarted, in what order, and how a failed
//! restart is retried.

mod support;

use std::sync::atomic::Ordering;

use arbor_supervisor::{Restart, Strategy};
use support::*;

/// OTP `one_for_one`: only the exited child is restarted, in its place in the start order.
#[tokio::test]
async fn one_for_one_restarts_only_the_exited_child_in_place() {
    let log = Log::default();
    let sup = start(
        flags(Strategy::OneForOne, 5),
        ["a", "b", "c"].map(|i| probe(&log, i)).to_vec(),
    )
    .await;
    log.take();
    crash(&sup, "b", boom()).await;
    assert_eq!(
        children(&sup).await,
        ["c=running", "b=running", "a=running"]
    );
    assert_eq!(log.take(), ["exit b boom", "start b"]);
    stop(sup).await;
}

/// OTP `one_for_all`: the others stop in reverse start order, then all start in order.
#[tokio::test]
async fn one_for_all_stops_the_others_in_reverse_then_starts_all_in_order() {
    let log = Log::default();
    let sup = start(
        flags(Strategy::OneForAll, 5),
        ["a", "b", "c", "d"].map(|i| probe(&log, i)).to_vec(),
    )
    .await;
    log.take();
    crash(&sup, "b", boom()).await;
    assert_eq!(children(&sup).await.len(), 4);
    assert_eq!(
        log.take(),
        [
            "exit b boom",
            "stop d shutdown",
            "stop c shutdown",
            "stop a shutdown",
            "start a",
            "start b",
            "start c",
            "start d"
        ]
    );
    stop(sup).await;
}

/// OTP `temporary_bystander`: a temporary sibling stopped by one_for_all is not restarted and its spec is dropped.
#[tokio::test]
async fn one_for_all_drops_a_temporary_bystander() {
    let log = Log::default();
    let sup = start(
        flags(Strategy::OneForAll, 5),
        vec![
            probe(&log, "a"),
            probe(&log, "t").restart(Restart::Temporary),
            probe(&log, "c"),
        ],
    )
    .await;
    log.take();
    crash(&sup, "a", boom()).await;
    assert_eq!(children(&sup).await, ["c=running", "a=running"]);
    assert_eq!(
        log.take(),
        [
            "exit a boom",
            "stop c shutdown",
            "stop t shutdown",
            "start a",
            "start c"
        ]
    );
    stop(sup).await;
}

/// OTP `one_for_all`: a child stopped through `terminate_child` is started again with the others.
#[tokio::test]
async fn one_for_all_starts_a_child_stopped_through_the_api_again() {
    let log = Log::default();
    let sup = start(
        flags(Strategy::OneForAll, 5),
        ["a", "b", "d"].map(|i| probe(&log, i)).to_vec(),
    )
    .await;
    sup.terminate_child("d").await.unwrap();
    assert_eq!(children(&sup).await[0], "d=undefined");
    log.take();
    crash(&sup, "b", boom()).await;
    assert_eq!(
        children(&sup).await,
        ["d=running", "b=running", "a=running"]
    );
    assert_eq!(
        log.take(),
        [
            "exit b boom",
            "stop a shutdown",
            "start a",
            "start b",
            "start d"
        ]
    );
    stop(sup).await;
}

/// OTP `rest_for_one`: the exited child and those started after it restart, the earlier ones keep running.
#[tokio::test]
async fn rest_for_one_restarts_the_exited_child_and_those_started_after_it() {
    let log = Log::default();
    let sup = start(
        flags(Strategy::RestForOne, 5),
        ["a", "b", "c", "d"].map(|i| probe(&log, i)).to_vec(),
    )
    .await;
    let a = pid_of(&sup, "a").await;
    log.take();
    crash(&sup, "b", boom()).await;
    assert_eq!(
        log.take(),
        [
            "exit b boom",
            "stop d shutdown",
            "stop c shutdown",
            "start b",
            "start c",
            "start d"
        ]
    );
    assert_eq!(pid_of(&sup, "a").await, a, "children before b untouched");
    stop(sup).await;
}

/// OTP `try_again_restart`: a failed restart leaves the child `restarting` and queues a retry to self.
#[tokio::test]
async fn a_failed_restart_marks_the_child_restarting_and_queues_a_retry() {
    let log = Log::default();
    let flaky = Probe::new(&log, "f");
    let sup = start(
        flags(Strategy::OneForOne, 5),
        vec![probe(&log, "a"), flaky.clone().spec()],
    )
    .await;
    flaky.fail_starts.store(1, Ordering::SeqCst);
    log.take();
    let pid = pid_of(&sup, "f").await;
    let held = hold(&sup).await;
    crash_pid(pid, boom()).await;
    let mut before_retry = Box::pin(children(&sup));
    queue(&mut before_retry).await;
    held.release().await;
    // Queued before the retry, so served before it.
    assert_eq!(before_retry.await, ["f=restarting", "a=running"]);
    assert_eq!(children(&sup).await, ["f=running", "a=running"]);
    assert_eq!(log.take(), ["exit f boom", "failed f", "start f"]);
    stop(sup).await;
}

/// An a/b/c tree of `strategy` whose child b fails its next start: `crash`
/// crashes while the supervisor is held, and a `which_children` is queued
/// behind the exit. The children that request sees (before the retry),
/// the children after the retry, and the log from the crash on.
async fn failed_restart_retried(
    strategy: Strategy,
    crash: &str,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let log = Log::default();
    let flaky = Probe::new(&log, "b");
    let sup = start(
        flags(strategy, 5),
        vec![probe(&log, "a"), flaky.clone().spec(), probe(&log, "c")],
    )
    .await;
    flaky.fail_starts.store(1, Ordering::SeqCst);
    log.take();
    let pid = pid_of(&sup, crash).await;
    let held = hold(&sup).await;
    crash_pid(pid, boom()).await;
    let mut before_retry = Box::pin(children(&sup));
    queue(&mut before_retry).await;
    held.release().await;
    let before = before_retry.await;
    let after = children(&sup).await;
    let lines = log.take();
    stop(sup).await;
    (before, after, lines)
}

/// OTP `one_for_all_other_child_fails_restart`: a retry after a failed restart restarts every child again.
#[tokio::test]
async fn one_for_all_retry_restarts_everything_again() {
    let (before, after, log) = failed_restart_retried(Strategy::OneForAll, "c").await;
    assert_eq!(before, ["c=undefined", "b=restarting", "a=running"]);
    assert_eq!(after, ["c=running", "b=running", "a=running"]);
    assert_eq!(
        log,
        [
            "exit c boom",
            "stop b shutdown",
            "stop a shutdown",
            "start a",
            "failed b",
            "stop a shutdown",
            "start a",
            "start b",
            "start c"
        ]
    );
}

/// OTP `rest_for_one_other_child_fails_restart`: the retry restarts from the child that failed to start.
#[tokio::test]
async fn rest_for_one_retry_restarts_from_the_failed_child() {
    let (before, after, log) = failed_restart_retried(Strategy::RestForOne, "b").await;
    assert_eq!(before, ["c=undefined", "b=restarting", "a=running"]);
    assert_eq!(after, ["c=running", "b=running", "a=running"]);
    assert_eq!(
        log,
        [
            "exit b boom",
            "stop c shutdown",
            "failed b",
            "start b",
            "start c"
        ]
    );
}
