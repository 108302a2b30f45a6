//! `arbor-conformance [scenario.txt]`: run an OTP oracle scenario (stdin
//! when no file is given) on arbor's supervisor and print its trace.
//! `arbor-conformance genevent [scenario.txt]`: the same for a gen_event
//! oracle scenario, on arbor's event manager.
//!
//! Exit status as the oracle's: 0 trace printed, 2 malformed or impossible
//! scenario (`arbor-conformance: line N: <what>` on stderr, with the partial
//! trace for runtime problems), 3 internal error.
use std::io::{Read as _, Write as _};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let genevent = args.first().is_some_and(|a| a == "genevent");
    if genevent {
        args.remove(0);
    }
    let text = match args.as_slice() {
        [] => {
            let mut s = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut s) {
                eprintln!("arbor-conformance: cannot read stdin: {e}");
                return ExitCode::from(2);
            }
            s
        }
        [file] => match std::fs::read_to_string(file) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("arbor-conformance: cannot read {file}: {e}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!(
                "arbor-conformance: usage: arbor-conformance [genevent] [scenario.txt]   (or the scenario on stdin)"
            );
            return ExitCode::from(2);
        }
    };
    let run = if genevent {
        arbor_conformance::genevent::run_text(&text)
    } else {
        arbor_conformance::run_text(&text)
    };
    match run {
        Ok(trace) => {
            let mut out = std::io::stdout().lock();
            if out
                .write_all(trace.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                return ExitCode::from(3);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if let Some(partial) = &e.partial_trace {
                eprint!("partial trace:\n{partial}");
            }
            eprintln!("arbor-conformance: {e}");
            ExitCode::from(e.code)
        }
    }
}
