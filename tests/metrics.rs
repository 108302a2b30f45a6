//! The metrics of docs/metrics.md (feature `metrics`), read back from a
//! `metrics-util` `DebuggingRecorder` installed for the test's thread: a
//! `current_thread` runtime runs every process on that thread, so every
//! counter handle arbor registers lands in that recorder. Exact values
//! after known sequences, no sleeps.
//!
//! `cargo test -p arbor --features metrics --test metrics`

use std::sync::Mutex;

use arbor::genevent::{EventHandler, EventManager, Handled, HandlerCtx, HandlerError, Step};
use arbor::prelude::{Control, GenServer, ServerCtx};
use arbor::process::{ExitReason, Process, StartOpts, kill, spawn, wait_exit};
use arbor::supervisor::{ChildSpec, Supervisor};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// The process totals are global: one test at a time, so that no other
/// test's processes exit between two samples.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `body` on a `current_thread` runtime with a fresh recorder in
/// force for this thread; returns the recorder's snapshotter.
fn with_recorder<F: Future<Output = ()>>(body: impl FnOnce(Snapshotter) -> F) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(body(snapshotter));
    });
}

/// A counter read from a snapshot: name, labels, value.
type Read = (String, Vec<(String, String)>, u64);

/// The value of counter `name` with exactly `labels` in `snap` (0 if absent).
fn counter(snap: &[Read], name: &str, labels: &[(&str, &str)]) -> u64 {
    snap.iter()
        .find(|(n, l, _)| {
            n == name
                && l.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map_or(0, |(_, _, v)| *v)
}

/// The counters of one snapshot (values since the previous snapshot).
fn counters(s: &Snapshotter) -> Vec<Read> {
    s.snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(ck, _, _, v)| match v {
            DebugValue::Counter(n) => {
                let key = ck.key();
                let labels = key
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect();
                Some((key.name().to_owned(), labels, n))
            }
            _ => None,
        })
        .collect()
}

struct Worker;

impl GenServer for Worker {
    type Call = ();
    type Cast = ();
    type Info = ();
    async fn handle_cast(&mut self, (): (), _: &mut ServerCtx<Self>) -> Control {
        Control::Continue
    }
}

fn worker_spec() -> ChildSpec {
    ChildSpec::worker("worker", || Worker.start_link())
}

/// The pid of the supervisor's one child.
async fn child_pid(sup: &arbor::supervisor::SupervisorRef) -> arbor::process::Pid {
    let children = sup.which_children().await.unwrap();
    children[0].state.pid().expect("the child runs")
}

#[test]
fn three_crashes_of_a_permanent_child_are_three_restarts() {
    with_recorder(|snap| async move {
        let sup = Supervisor::one_for_one()
            .intensity(10)
            .child(worker_spec())
            .start_opts(StartOpts::new().name("metrics_sup"))
            .await
            .unwrap();
        for _ in 0..3 {
            let pid = child_pid(&sup).await;
            kill(pid);
            // The exit is queued at the supervisor when this returns, so
            // the next call finds the child restarted.
            wait_exit(pid).await;
        }
        let _ = child_pid(&sup).await;
        let c = counters(&snap);
        let labels = [("supervisor", "metrics_sup"), ("child", "worker")];
        assert_eq!(counter(&c, "arbor_supervisor_restarts_total", &labels), 3);
        assert_eq!(
            counter(
                &c,
                "arbor_supervisor_escalations_total",
                &[("supervisor", "metrics_sup")]
            ),
            0
        );
        sup.stop().await.unwrap();
    });
}

/// A restart that fails is retried, and each retry is one more restart
/// in the intensity window: the counter counts what the window counts.
#[test]
fn retried_restarts_are_counted_as_the_intensity_window_counts_them() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    with_recorder(|snap| async move {
        let starts = Arc::new(AtomicUsize::new(0));
        let n = starts.clone();
        // Starts 1 and 4 succeed; the restarts 2 and 3 fail.
        let spec = ChildSpec::worker_with("flaky", n, |n| async move {
            match n.fetch_add(1, Ordering::SeqCst) {
                1 | 2 => Err(arbor::process::StartError::Init(ExitReason::custom("no"))),
                _ => Worker.start_link().await,
            }
        });
        let sup = Supervisor::one_for_one()
            .intensity(10)
            .child(spec)
            .start_opts(StartOpts::new().name("metrics_retry_sup"))
            .await
            .unwrap();
        let pid = child_pid(&sup).await;
        kill(pid);
        wait_exit(pid).await;
        // Each retry is queued behind this call's predecessor: ask until
        // the child runs again.
        let again = loop {
            let children = sup.which_children().await.unwrap();
            if let Some(p) = children[0].state.pid() {
                break p;
            }
        };
        assert_ne!(again, pid);
        assert_eq!(starts.load(Ordering::SeqCst), 4);
        let window = sup.tree().await.unwrap().restarts_in_window.unwrap();
        assert_eq!(window, 3, "one exit and two failed restarts");
        let c = counters(&snap);
        let labels = [("supervisor", "metrics_retry_sup"), ("child", "flaky")];
        assert_eq!(counter(&c, "arbor_supervisor_restarts_total", &labels), 3);
        sup.stop().await.unwrap();
    });
}

/// Every metric of docs/metrics.md reaches the recorder with a description
/// (a Prometheus scrape's `# HELP` line).
#[test]
fn every_metric_is_described_to_the_recorder() {
    with_recorder(|snap| async move {
        let sup = Supervisor::one_for_one()
            .child(worker_spec())
            .start()
            .await
            .unwrap();
        let mgr = EventManager::<u64>::start().await.unwrap();
        mgr.sync_notify(1).await.unwrap();
        arbor::metrics::sample();
        let described: Vec<String> = snap
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(_, _, desc, _)| desc.as_ref().is_some_and(|d| !d.is_empty()))
            .map(|(ck, _, _, _)| ck.key().name().to_owned())
            .collect();
        for name in [
            "arbor_processes_spawned_total",
            "arbor_process_exits_total",
            "arbor_processes_alive",
            "arbor_mailbox_depth_max",
            "arbor_mailbox_depth_total",
            "arbor_supervisor_escalations_total",
            "arbor_events_sync_notified_total",
        ] {
            assert!(
                described.iter().any(|n| n == name),
                "{name} has no description: {described:?}"
            );
        }
        mgr.stop().await.unwrap();
        sup.stop().await.unwrap();
    });
}

#[test]
fn too_many_restarts_is_one_escalation_of_an_anonymous_supervisor() {
    with_recorder(|snap| async move {
        let sup = Supervisor::one_for_one()
            .intensity(0)
            .child(worker_spec())
            .start()
            .await
            .unwrap();
        kill(child_pid(&sup).await);
        assert_eq!(sup.wait().await, ExitReason::Shutdown);
        let c = counters(&snap);
        assert_eq!(
            counter(
                &c,
                "arbor_supervisor_escalations_total",
                &[("supervisor", "anonymous")]
            ),
            1
        );
        let labels = [("supervisor", "anonymous"), ("child", "worker")];
        assert_eq!(counter(&c, "arbor_supervisor_restarts_total", &labels), 0);
    });
}

#[test]
fn exits_are_counted_by_reason_class() {
    with_recorder(|snap| async move {
        arbor::metrics::sample();
        let before = counters(&snap);
        let reasons = [
            ExitReason::Normal,
            ExitReason::Shutdown,
            ExitReason::shutdown_with("x"),
            ExitReason::Panic("p".into()),
            ExitReason::error(std::fmt::Error),
            ExitReason::custom("boom"),
        ];
        for r in reasons {
            let p = spawn(move |_: arbor::process::Ctx<()>| async move { r });
            p.wait().await;
        }
        let panicking = spawn(|_: arbor::process::Ctx<()>| async { panic!("metrics test") });
        panicking.wait().await;
        let killed = spawn(|_: arbor::process::Ctx<()>| std::future::pending());
        killed.kill();
        killed.wait().await;
        arbor::metrics::sample();
        let after = counters(&snap);
        let delta = |labels: &[(&str, &str)], name: &str| {
            counter(&after, name, labels) - counter(&before, name, labels)
        };
        assert_eq!(delta(&[], "arbor_processes_spawned_total"), 8);
        let exits = "arbor_process_exits_total";
        for (class, n) in [
            ("normal", 1),
            ("shutdown", 2),
            ("killed", 1),
            ("panic", 2),
            ("error", 1),
            ("other", 1),
        ] {
            assert_eq!(delta(&[("reason_class", class)], exits), n, "{class}");
        }
    });
}

struct Sum;

impl EventHandler<u64> for Sum {
    fn handle_event(&mut self, n: &u64, _: &HandlerCtx<'_, u64>) -> Handled<u64> {
        if *n == 0 {
            return Err(HandlerError::msg("zero"));
        }
        Ok(Step::Keep)
    }
}

#[test]
fn events_and_handler_crashes_are_counted_per_manager() {
    with_recorder(|snap| async move {
        let mgr = EventManager::<u64>::start_opts(StartOpts::new().name("metrics_events"))
            .await
            .unwrap();
        mgr.add(Sum).await.unwrap();
        for n in 1..=4 {
            mgr.notify(n);
        }
        mgr.sync_notify(5).await.unwrap();
        mgr.sync_notify(0).await.unwrap(); // Sum fails and is removed
        let c = counters(&snap);
        let m = [("manager", "metrics_events")];
        assert_eq!(counter(&c, "arbor_events_notified_total", &m), 4);
        assert_eq!(counter(&c, "arbor_events_sync_notified_total", &m), 2);
        let crash = [("manager", "metrics_events"), ("handler", "Sum")];
        assert_eq!(counter(&c, "arbor_handler_crashes_total", &crash), 1);
        mgr.stop().await.unwrap();
    });
}

#[test]
fn sample_reports_live_processes_and_mailbox_depth() {
    with_recorder(|snap| async move {
        // A process that never reads its mailbox, sent three messages.
        let idle = spawn(|_: arbor::process::Ctx<u32>| std::future::pending());
        for n in 0..3 {
            idle.send(n).unwrap();
        }
        arbor::metrics::sample();
        let gauges: Vec<(String, f64)> = snap
            .snapshot()
            .into_vec()
            .into_iter()
            .filter_map(|(ck, _, _, v)| match v {
                DebugValue::Gauge(g) => Some((ck.key().name().to_owned(), g.into_inner())),
                _ => None,
            })
            .collect();
        let gauge = |name: &str| gauges.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
        assert!(gauge("arbor_processes_alive").unwrap() >= 1.0);
        assert!(gauge("arbor_mailbox_depth_max").unwrap() >= 3.0);
        assert!(gauge("arbor_mailbox_depth_total").unwrap() >= 3.0);
        idle.kill();
        idle.wait().await;
    });
}
