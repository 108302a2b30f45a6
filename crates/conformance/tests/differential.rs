//! Differential fuzzing: random valid scenarios run on the OTP oracle and on
//! arbor; the traces (or the exit-2 errors) must be identical.
//!
//! Needs `erl` on PATH and the oracle (default `../shared/otp-oracle/oracle`
//! next to the repository, or `ARBOR_ORACLE=/path/to/oracle`); without them
//! the test prints LOUDLY to stderr that it was skipped and passes. Cases: `ARBOR_CONFORMANCE_CASES`
//! (default 16). A failure prints the shrunk scenario, ready to be copied
//! into `tests/golden/` with the oracle's trace. With
//! `ARBOR_CONFORMANCE_OUT=<dir>` the test does not stop at the first
//! mismatch: it writes every mismatching scenario and both outputs to
//! `<dir>` and fails at the end with the count (for long triage runs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/generator.rs"]
mod generator;
#[path = "support/differential.rs"]
mod support;

use proptest::test_runner::{Config, TestCaseError, TestRunner};
use support::Outcome;

fn arbor(scenario: &str) -> Outcome {
    Outcome::of_arbor(arbor_conformance::run_text(scenario))
}

#[test]
fn arbor_matches_otp_on_generated_scenarios() {
    let path = support::oracle_path("ARBOR_ORACLE", "../../../shared/otp-oracle/oracle");
    if !support::oracle_available(&path, "differential", "ARBOR_ORACLE") {
        return;
    }
    support::compare(
        "differential",
        &path,
        generator::raw(),
        generator::render,
        arbor,
    );
}

/// Without Erlang: every generated scenario parses, and arbor runs it to a
/// trace or to an exit-2 error (never an internal error).
#[test]
fn generated_scenarios_are_valid_and_run_on_arbor() {
    let mut runner = TestRunner::new(Config {
        cases: 32,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&generator::raw(), |raw| {
            let scenario = generator::render(&raw);
            if let Err(e) = arbor_conformance::parse(&scenario) {
                return Err(TestCaseError::fail(format!("{e}\n{scenario}")));
            }
            let got = arbor(&scenario);
            if got.code == 3 {
                return Err(TestCaseError::fail(format!("{}\n{scenario}", got.text)));
            }
            Ok(())
        })
        .unwrap();
}
