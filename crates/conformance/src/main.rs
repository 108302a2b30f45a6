//! `arbor-conformance [scenario.txt]`: parse a scenario (stdin when no file).
use std::io::Read as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
                "arbor-conformance: usage: arbor-conformance [scenario.txt]   (or the scenario on stdin)"
            );
            return ExitCode::from(2);
        }
    };
    match arbor_conformance::parse(&text) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arbor-conformance: {e}");
            ExitCode::from(2)
        }
    }
}
