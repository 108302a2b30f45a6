//! Golden tests: every scenario of the OTP oracle (copied to
//! `tests/golden/`, with the trace real OTP 25 produced) runs through the
//! runner and must match line by line. No Erlang needed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

fn golden(name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let scenario = std::fs::read_to_string(dir.join(format!("{name}.txt"))).expect("scenario");
    let expected = std::fs::read_to_string(dir.join(format!("{name}.trace"))).expect("trace");
    let actual = match arbor_conformance::run_text(&scenario) {
        Ok(trace) => trace,
        Err(e) => panic!(
            "{name}: exit {}: {e}\npartial trace:\n{}",
            e.code,
            e.partial_trace.clone().unwrap_or_default()
        ),
    };
    if let Some(diff) = arbor_conformance::line_diff(&expected, &actual) {
        panic!("{name}: {diff}");
    }
}

macro_rules! golden {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                golden($file);
            }
        )*
    };
}

golden! {
    restart_matrix => "01_restart_matrix",
    one_for_all => "02_one_for_all",
    rest_for_one => "03_rest_for_one",
    simple_one_for_one => "04_simple_one_for_one",
    sofo_parallel_shutdown => "05_sofo_parallel_shutdown",
    intensity_exceeded => "06_intensity_exceeded",
    escalation => "07_escalation",
    startup_failure => "08_startup_failure",
    ignore => "09_ignore",
    api_errors => "10_api_errors",
    which_count_children => "11_which_count_children",
    shutdown_order => "12_shutdown_order",
    nested_supervisors => "13_nested_supervisors",
    restart_failure_retry => "14_restart_failure_retry",
    kill_and_exit_signals => "15_kill_and_exit_signals",
    auto_shutdown => "16_auto_shutdown",
    period_window => "17_period_window",
    sofo_intensity => "18_sofo_intensity",
    // Shrunk counterexamples of the differential test.
    sofo_childspec_dead_pid => "19_sofo_childspec_dead_pid",
    // Hand-written scenarios, traces from the oracle.
    one_for_all_retry_parent_normal => "20_one_for_all_retry_parent_normal",
    kill_nested_during_one_for_all => "21_kill_nested_during_one_for_all",
    api_on_restart_types => "22_api_on_restart_types",
    sofo_api_several_tops => "23_sofo_api_several_tops",
    dynamic_supervisor_children => "24_dynamic_supervisor_children",
    rest_for_one_all_significant => "25_rest_for_one_all_significant",
    period_window_transient => "26_period_window_transient",
    // Shrunk by hand from a differential mismatch; trace from the oracle.
    target_of_a_failed_init => "27_target_of_a_failed_init",
    // Hand-written: malformed specs' errors as OTP's terms; trace from the oracle.
    bad_combination_terms => "28_bad_combination_terms",
    // Language v2 (shared scenarios of the oracle).
    init_and_spec_errors => "30_init_and_spec_errors",
    start_returns_and_names => "31_start_returns_and_names",
    restarting_state => "32_restarting_state",
    sofo_supervisor_template_unlink => "33_sofo_supervisor_template_unlink",
    timing_bounds => "34_timing_bounds",
    // Found by differential fuzzing of language v2 (shrunk by hand; traces
    // from the oracle).
    sofo_template_missing_id => "35_sofo_template_missing_id",
    name_held_by_supervisor_in_init => "36_name_held_by_supervisor_in_init",
}

/// Every `.txt` in the golden directory has a test above (new scenarios
/// must be added to the list).
#[test]
fn every_golden_file_has_a_test() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let n = std::fs::read_dir(dir)
        .expect("golden dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "txt"))
        })
        .count();
    assert_eq!(n, 35, "add the new golden scenario to the golden! list");
}
