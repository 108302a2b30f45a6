//! arbor's benchmark suite: workloads W1–W9 of `docs/performance.md#workloads`, each
//! measured next to a hand-written raw-tokio version in the same run.
//!
//! ```sh
//! cargo bench --bench workloads                 # everything, 5 repeats, medians
//! cargo bench --bench workloads -- --quick      # small sizes, seconds
//! cargo bench --bench workloads -- w1 w3        # only some workloads
//! ARBOR_BENCH_REPEATS=3 ARBOR_BENCH_RT=mt cargo bench --bench workloads
//! ```
//!
//! See docs/performance.md for the measured ratios and what dominates each.
//!
//! Built with `--features metrics`, `ARBOR_BENCH_RECORDER=prometheus` (or
//! `noop`) installs that recorder first; unset, none is installed
//! (docs/metrics.md, "Cost").

mod suite;

fn main() {
    #[cfg(feature = "metrics")]
    install_recorder();
    suite::main();
}

/// The global recorder `ARBOR_BENCH_RECORDER` names, if any.
#[cfg(feature = "metrics")]
fn install_recorder() {
    match std::env::var("ARBOR_BENCH_RECORDER").as_deref() {
        Ok("prometheus") => {
            let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
                .install_recorder()
                .expect("no recorder installed yet");
            // Kept for the whole run, as a scraping program would.
            std::mem::forget(handle);
        }
        Ok("noop") => {
            metrics::set_global_recorder(metrics::NoopRecorder).expect("no recorder installed yet")
        }
        Ok(other) => panic!("ARBOR_BENCH_RECORDER={other}: expected prometheus or noop"),
        Err(_) => {}
    }
    eprintln!(
        "# arbor-bench: recorder={:?}",
        std::env::var("ARBOR_BENCH_RECORDER").ok()
    );
}
