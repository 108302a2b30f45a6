//! The differential harness both oracles share: find the oracle, run a
//! scenario on it and on arbor, compare generated scenarios case by case,
//! and write mismatches to `ARBOR_CONFORMANCE_OUT` for triage.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use arbor_conformance::RunError;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// The oracle at `$env`, else at `default` relative to this crate.
pub(crate) fn oracle_path(env: &str, default: &str) -> PathBuf {
    match std::env::var_os(env) {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(default),
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

/// Whether the oracle can run here; if not, says so LOUDLY on stderr
/// (straight to the stream: the test harness captures `eprintln!`).
pub(crate) fn oracle_available(path: &Path, label: &str, env: &str) -> bool {
    if path.exists() && erl_on_path() {
        return true;
    }
    let why = format!(
        "{label} test SKIPPED: no comparison with OTP was made; it needs `erl` on PATH \
         and the oracle at {} ({env})",
        path.display()
    );
    let _ = std::io::stderr().write_all(format!("\n!!!!! {why} !!!!!\n\n").as_bytes());
    false
}

/// What a runner produced: exit code and either the trace or the error line
/// (without the program's name) plus the partial trace.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) code: i32,
    pub(crate) text: String,
}

impl Outcome {
    /// Arbor's result in the oracle's shape.
    pub(crate) fn of_arbor(result: Result<String, RunError>) -> Outcome {
        match result {
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
}

fn oracle(path: &Path, scenario: &str) -> Outcome {
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

/// Runs `ARBOR_CONFORMANCE_CASES` (default 16) generated scenarios on the
/// oracle at `path` and on arbor and fails on the first difference (shrunk),
/// or, with `ARBOR_CONFORMANCE_OUT=<dir>`, writes every mismatching
/// scenario and both outputs there and fails at the end with the count.
pub(crate) fn compare<S: Strategy>(
    label: &str,
    path: &Path,
    strategy: S,
    render: impl Fn(&S::Value) -> String,
    arbor: impl Fn(&str) -> Outcome,
) {
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
    let result = runner.run(&strategy, |raw| {
        let scenario = render(&raw);
        let want = oracle(path, &scenario);
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
        "{label}: {run} scenario runs compared, {full} ran to the end on OTP, {mismatches} mismatches written"
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    assert_eq!(
        mismatches, 0,
        "mismatching scenarios are in ARBOR_CONFORMANCE_OUT"
    );
}
