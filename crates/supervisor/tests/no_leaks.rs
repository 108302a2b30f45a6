//! Stopping a tree leaves no process, task or registered name behind. One
//! test in this binary: it counts every live process.

mod support;

use std::time::Duration;

use arbor_process::Process;
use arbor_process::{ExitReason, StartOpts, process_count, registered};
use arbor_supervisor::{SupFlags, Supervisor};
use support::{Log, Probe, boom, crash, probe};

/// OTP `sup_stop_*`: a stopped nested tree leaves no process or registered name behind.
#[tokio::test]
async fn a_stopped_nested_tree_leaves_no_process_or_name_behind() {
    let baseline = process_count();
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline_tasks = metrics.num_alive_tasks();
    let log = Log::default();
    let dynamic = Supervisor::simple(SupFlags::default(), Probe::new(&log, "d").unit_template());
    let inner = Supervisor::one_for_all()
        .intensity(10)
        .child(probe(&log, "w1"))
        .child(dynamic.into_child_spec_opts("dyn", StartOpts::default().name("leak_dyn")))
        .child(probe(&log, "w2"));
    let root = Supervisor::one_for_one()
        .intensity(10)
        .child(probe(&log, "top"))
        .child(inner.into_child_spec_opts("inner", StartOpts::default().name("leak_inner")))
        .start_opts(StartOpts::default().name("leak_root"))
        .await
        .unwrap();
    let dyn_sup = arbor_supervisor::SupervisorRef::whereis("leak_dyn")
        .unwrap()
        .into_simple::<()>()
        .await
        .unwrap();
    for _ in 0..50 {
        dyn_sup.start_child(()).await.unwrap();
    }
    let inner_ref = arbor_supervisor::SupervisorRef::whereis("leak_inner").unwrap();
    crash(&inner_ref, "w1", boom()).await; // one_for_all restart: dyn children gone
    crash(&root, "top", boom()).await;
    assert!(process_count() > baseline);
    root.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
    assert_eq!(process_count(), baseline);
    // A process's task ends right after its exit processing; let the last
    // ones return (bounded, no sleeping).
    for _ in 0..10_000 {
        if metrics.num_alive_tasks() <= baseline_tasks {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        metrics.num_alive_tasks(),
        baseline_tasks,
        "no task left behind"
    );
    assert!(registered().is_empty(), "{:?}", registered());
}
