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

mod suite;

fn main() {
    suite::main();
}
