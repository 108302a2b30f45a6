//! Differential fuzzing of the gen_event runner: random valid gen_event
//! scenarios (generated around arbor's documented differences, see
//! `support/genevent_generator.rs`) run on the gen_event oracle (real OTP
//! 25) and on arbor's event manager; the traces (or the exit-2 errors) must
//! be identical.
//!
//! Needs `erl` on PATH and the oracle (default
//! `../shared/genevent-oracle/oracle` next to the repository, or
//! `ARBOR_GENEVENT_ORACLE=/path/to/oracle`); without them the test prints
//! LOUDLY to stderr that the comparison was skipped and passes, as the
//! supervisor's differential test does: the oracle lives outside the
//! repository, so a clean checkout has none. Cases: `ARBOR_CONFORMANCE_CASES`
//! (default 16). A failure prints the shrunk scenario, ready to be copied
//! into `tests/golden/` with the oracle's trace. With
//! `ARBOR_CONFORMANCE_OUT=<dir>` the test does not stop at the first
//! mismatch: it writes every mismatching scenario and both outputs to
//! `<dir>` and fails at the end with the count (for long triage runs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/genevent_generator.rs"]
mod generator;
#[path = "support/differential.rs"]
mod support;

use proptest::test_runner::{Config, TestCaseError, TestRunner};
use support::Outcome;

fn arbor(scenario: &str) -> Outcome {
    Outcome::of_arbor(arbor_conformance::genevent::run_text(scenario))
}

#[test]
fn arbor_matches_otp_on_generated_genevent_scenarios() {
    let path = support::oracle_path(
        "ARBOR_GENEVENT_ORACLE",
        "../../../shared/genevent-oracle/oracle",
    );
    if !support::oracle_available(&path, "gen_event differential", "ARBOR_GENEVENT_ORACLE") {
        return;
    }
    support::compare(
        "gen_event differential",
        &path,
        generator::raw(),
        generator::render,
        arbor,
    );
}

/// Without Erlang: every generated scenario parses, and arbor runs it to
/// the end.
#[test]
fn generated_genevent_scenarios_are_valid_and_run_on_arbor() {
    let mut runner = TestRunner::new(Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&generator::raw(), |raw| {
            let scenario = generator::render(&raw);
            if let Err(e) = arbor_conformance::genevent::parse(&scenario) {
                return Err(TestCaseError::fail(format!("{e}\n{scenario}")));
            }
            // The generator never makes an op impossible in the state it
            // reaches: every scenario runs to the end.
            let got = arbor(&scenario);
            if got.code != 0 {
                return Err(TestCaseError::fail(format!("{}\n{scenario}", got.text)));
            }
            Ok(())
        })
        .unwrap();
}
