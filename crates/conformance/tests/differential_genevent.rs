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

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use proptest::test_runner::{Config, TestCaseError, TestRunner};

fn oracle_path() -> PathBuf {
    match std::env::var_os("ARBOR_GENEVENT_ORACLE") {
        Some(p) => PathBuf::from(p),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/genevent-oracle/oracle")
        }
    }
}

fn erl_on_path() -> bool {
    Command::new("erl")
        .args(["-noshell", "-eval", "halt()."])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// What a runner produced: exit code and either the trace or the error line
/// (without the program's name) plus the partial trace.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    code: i32,
    text: String,
}

fn oracle(path: &PathBuf, scenario: &str) -> Outcome {
    let mut child = Command::new(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the oracle");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(scenario.as_bytes())
        .expect("write scenario");
    let out = child.wait_with_output().expect("oracle output");
    let code = out.status.code().unwrap_or(-1);
    let text = if code == 0 {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        String::from_utf8_lossy(&out.stderr).replace("oracle: ", "")
    };
    Outcome { code, text }
}

fn arbor(scenario: &str) -> Outcome {
    match arbor_conformance::genevent::run_text(scenario) {
        Ok(trace) => Outcome {
            code: 0,
            text: trace,
        },
        Err(e) => Outcome {
            code: i32::from(e.code),
            text: match &e.partial_trace {
                Some(p) => format!("partial trace:\n{p}{e}\n"),
                None => format!("{e}\n"),
            },
        },
    }
}

#[test]
fn arbor_matches_otp_on_generated_genevent_scenarios() {
    let path = oracle_path();
    if !path.exists() || !erl_on_path() {
        let why = format!(
            "gen_event differential test SKIPPED: no comparison with OTP was made; it needs `erl` on PATH \
             and the oracle at {} (ARBOR_GENEVENT_ORACLE)",
            path.display()
        );
        // Straight to the stderr stream: the test harness captures
        // `eprintln!`, and this must be seen.
        let _ = std::io::stderr().write_all(format!("\n!!!!! {why} !!!!!\n\n").as_bytes());
        return;
    }
    let cases: u32 = std::env::var("ARBOR_CONFORMANCE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..Config::default()
    });
    let out_dir = std::env::var_os("ARBOR_CONFORMANCE_OUT").map(PathBuf::from);
    if let Some(d) = &out_dir {
        std::fs::create_dir_all(d).expect("create ARBOR_CONFORMANCE_OUT");
    }
    // (runs, ran to the end on OTP, mismatches written to out_dir)
    let stats = std::sync::Mutex::new((0u32, 0u32, 0u32));
    let result = runner.run(&generator::raw(), |raw| {
        let scenario = generator::render(&raw);
        let want = oracle(&path, &scenario);
        if want.code == 3 {
            // The oracle itself gave up (a scenario the generator should not
            // make): not a conformance verdict.
            return Err(TestCaseError::reject(format!(
                "oracle exit 3: {}",
                want.text
            )));
        }
        let got = arbor(&scenario);
        {
            let mut s = stats.lock().unwrap();
            s.0 += 1;
            if want.code == 0 {
                s.1 += 1;
            }
        }
        if want != got
            && let Some(d) = &out_dir
        {
            let n = {
                let mut s = stats.lock().unwrap();
                s.2 += 1;
                s.2
            };
            std::fs::write(d.join(format!("m{n:04}.txt")), &scenario).unwrap();
            std::fs::write(
                d.join(format!("m{n:04}.otp")),
                format!("exit {}\n{}", want.code, want.text),
            )
            .unwrap();
            std::fs::write(
                d.join(format!("m{n:04}.arbor")),
                format!("exit {}\n{}", got.code, got.text),
            )
            .unwrap();
            return Ok(());
        }
        if want != got {
            let diff = arbor_conformance::line_diff(&want.text, &got.text)
                .unwrap_or_else(|| "(same text)".to_owned());
            return Err(TestCaseError::fail(format!(
                "scenario:\n{scenario}\noracle exit {} / arbor exit {}\n{diff}",
                want.code, got.code
            )));
        }
        Ok(())
    });
    let (run, full, mismatches) = *stats.lock().unwrap();
    println!(
        "gen_event differential: {run} scenario runs compared, {full} ran to the end on OTP, {mismatches} mismatches written"
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    assert_eq!(
        mismatches, 0,
        "mismatching scenarios are in ARBOR_CONFORMANCE_OUT"
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
