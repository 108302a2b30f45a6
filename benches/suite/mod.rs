//! The W1–W9 workloads of `shared/benchmarks.md`, each next to a
//! hand-written raw-tokio version, and the driver that runs them.
//!
//! Used by the `workloads` bench binary and by the `bench_smoke` test (quick
//! mode, numbers never judged).

pub(crate) mod harness;
mod w1_call_rtt;

use harness::{Rt, Sample, median, run_on};

/// Problem sizes of one run.
#[derive(Debug, Clone)]
pub(crate) struct Sizes {
    pub(crate) call_n: u64,
    pub(crate) cast_n: u64,
}

impl Sizes {
    fn full() -> Sizes {
        Sizes {
            call_n: 200_000,
            cast_n: 1_000_000,
        }
    }

    fn quick() -> Sizes {
        Sizes {
            call_n: 2_000,
            cast_n: 20_000,
        }
    }
}

/// What to run and how often.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) quick: bool,
    pub(crate) repeats: usize,
    /// Workload ids (`w3`) or name fragments (`event`); empty = all.
    pub(crate) filters: Vec<String>,
    pub(crate) rts: Vec<Rt>,
    /// Measure W5 in fresh child processes (re-executing this binary).
    #[allow(dead_code)] // read by W5, which waits for the supervisor crate
    pub(crate) w5_subprocess: bool,
    pub(crate) sizes: Sizes,
}

impl Options {
    /// Options from the command line and the environment:
    /// `--quick` / `ARBOR_BENCH_QUICK=1`, `ARBOR_BENCH_REPEATS=n`,
    /// `--rt mt|ct` / `ARBOR_BENCH_RT`, filters as free arguments or
    /// `ARBOR_BENCH_FILTER=w1,w3`.
    pub(crate) fn from_env_and_args(args: &[String]) -> Options {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut quick = env("ARBOR_BENCH_QUICK").is_some_and(|v| v != "0");
        let mut filters: Vec<String> = env("ARBOR_BENCH_FILTER")
            .map(|v| v.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        let mut rt_arg = env("ARBOR_BENCH_RT");
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--quick" => quick = true,
                "--rt" => rt_arg = it.next().cloned(),
                // `cargo bench` passes `--bench`; ignore other flags too.
                s if s.starts_with("--") => {}
                s => filters.push(s.to_owned()),
            }
        }
        let repeats = env("ARBOR_BENCH_REPEATS")
            .and_then(|v| v.parse().ok())
            .unwrap_or(if quick { 1 } else { 5 });
        let rts = match rt_arg.as_deref().and_then(Rt::parse) {
            Some(rt) => vec![rt],
            None => vec![Rt::Mt, Rt::Ct],
        };
        Options {
            quick,
            repeats: usize::max(repeats, 1),
            filters,
            rts,
            w5_subprocess: true,
            sizes: if quick { Sizes::quick() } else { Sizes::full() },
        }
    }

    #[allow(dead_code)] // used by tests/bench_smoke.rs
    /// The smoke test's options: every workload once, small sizes, in-process.
    pub(crate) fn smoke() -> Options {
        Options {
            quick: true,
            repeats: 1,
            filters: Vec::new(),
            rts: vec![Rt::Mt, Rt::Ct],
            w5_subprocess: false,
            sizes: Sizes::quick(),
        }
    }

    fn selected(&self, id: &str, name: &str) -> bool {
        self.filters.is_empty()
            || self
                .filters
                .iter()
                .any(|f| f == id || name.contains(f.as_str()))
    }
}

/// One configuration's result line.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) workload: &'static str,
    pub(crate) text: String,
}

fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        "nan".to_owned()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Runs arbor's and raw's version `repeats` times each (alternating which
/// goes first), takes per-figure medians and formats the line.
fn compare(
    opts: &Options,
    workload: &'static str,
    rt: Rt,
    n: u64,
    keys: &[(&str, String)],
    arbor: impl Fn() -> Sample,
    raw: Option<&dyn Fn() -> Sample>,
) -> Line {
    let mut a = Vec::new();
    let mut r = Vec::new();
    for i in 0..opts.repeats {
        if i % 2 == 1 {
            if let Some(raw) = raw {
                r.push(raw());
            }
            a.push(arbor());
        } else {
            a.push(arbor());
            if let Some(raw) = raw {
                r.push(raw());
            }
        }
    }
    let a = median(&a);
    let r = raw.map(|_| median(&r));
    let mut text = format!("workload={workload} impl=arbor rt={} n={n}", rt.label());
    for (k, v) in keys {
        text.push_str(&format!(" {k}={v}"));
    }
    for (i, (name, value)) in a.figures.iter().enumerate() {
        text.push_str(&format!(" {name}={}", fmt_num(*value)));
        if let Some(r) = &r {
            let rv = r.figures[i].1;
            text.push_str(&format!(" raw_{name}={}", fmt_num(rv)));
            if i == 0 {
                text.push_str(&format!(" ratio={:.2}", value / rv));
            }
        }
    }
    println!("{text}");
    Line { workload, text }
}

/// Runs every selected workload on every selected runtime; returns the lines
/// it printed.
pub(crate) fn run(opts: &Options) -> Vec<Line> {
    harness::install_quiet_panic_hook();
    let s = opts.sizes.clone();
    let mut lines = Vec::new();
    for &rt in &opts.rts {
        if opts.selected("w1", "call_rtt") {
            let n = s.call_n;
            lines.push(compare(
                opts,
                "call_rtt",
                rt,
                n,
                &[],
                || run_on(rt, w1_call_rtt::call_rtt_arbor(n)),
                Some(&|| run_on(rt, w1_call_rtt::call_rtt_raw(n))),
            ));
        }
        if opts.selected("w2", "cast_throughput") {
            let n = s.cast_n;
            lines.push(compare(
                opts,
                "cast_throughput",
                rt,
                n,
                &[],
                || run_on(rt, w1_call_rtt::cast_arbor(n)),
                Some(&|| run_on(rt, w1_call_rtt::cast_raw(n))),
            ));
        }
    }
    lines
}

/// The bench binary's entry point.
pub(crate) fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = Options::from_env_and_args(&args);
    eprintln!(
        "# arbor-bench: quick={} repeats={} rts={:?} filters={:?}",
        opts.quick,
        opts.repeats,
        opts.rts.iter().map(|r| r.label()).collect::<Vec<_>>(),
        opts.filters
    );
    let lines = run(&opts);
    let workloads: std::collections::BTreeSet<_> = lines.iter().map(|l| l.workload).collect();
    eprintln!(
        "# arbor-bench: {} configurations, {} workloads",
        lines.iter().filter(|l| !l.text.is_empty()).count(),
        workloads.len()
    );
}
