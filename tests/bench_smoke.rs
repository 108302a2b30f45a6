//! Smoke test of the benchmark suite: runs every workload once in quick mode
//! on both runtimes. Each workload verifies its own result (counts, sums) and
//! panics when it is wrong; no timing is ever asserted.

#[path = "../benches/suite/mod.rs"]
#[allow(dead_code)] // the command-line entry points belong to the bench binary
mod suite;

#[test]
fn every_workload_runs_and_verifies_in_quick_mode() {
    let lines = suite::run(&suite::Options::smoke());
    for line in &lines {
        assert!(
            line.text
                .starts_with(&format!("workload={} ", line.workload))
        );
    }
    let workloads: std::collections::BTreeSet<_> = lines.iter().map(|l| l.workload).collect();
    assert!(workloads.contains("call_rtt"), "{workloads:?}");
}
