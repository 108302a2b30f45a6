//! Command-line options: `--duration`, `--rate`, `--seed`, `--clients`.

use std::time::Duration;

/// The run's settings, from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) duration: Duration,
    pub(crate) rate: f64,
    pub(crate) seed: u64,
    pub(crate) clients: usize,
}

/// `10s`, `500ms`, `10m`, `1h`; a bare number is seconds.
fn parse_duration(s: &str) -> Option<Duration> {
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

/// The options of this process; `Err` carries the message to print (the
/// usage line for `--help`).
pub(crate) fn parse_args() -> Result<Config, String> {
    let mut cfg = Config {
        duration: Duration::from_secs(10),
        rate: 5.0,
        seed: 1,
        clients: 4,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--duration" => {
                let v = value()?;
                cfg.duration = parse_duration(&v).ok_or(format!("bad duration {v:?}"))?;
            }
            "--rate" => {
                let v = value()?;
                cfg.rate = v.parse().map_err(|_| format!("bad rate {v:?}"))?;
                if !(cfg.rate > 0.0 && cfg.rate.is_finite()) {
                    return Err("--rate must be positive".into());
                }
            }
            "--seed" => {
                let v = value()?;
                cfg.seed = v.parse().map_err(|_| format!("bad seed {v:?}"))?;
            }
            "--clients" => {
                let v = value()?;
                cfg.clients = v.parse().map_err(|_| format!("bad client count {v:?}"))?;
            }
            "-h" | "--help" => {
                return Err(
                    "usage: chaos [--duration 10s|10m] [--rate crashes/s] [--seed N] [--clients N]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(cfg)
}
