//! The W1–W9 workloads of `docs/performance.md#workloads`, each next to a
//! hand-written raw-tokio version, and the driver that runs them.
//!
//! Used by the `workloads` bench binary and by the `bench_smoke` test (quick
//! mode, numbers never judged).

mod child;
pub(crate) mod harness;
mod w1_call_rtt;
mod w3_events;
mod w5_spawn;
mod w6_restart;
mod w9_todo;

use harness::{Rt, Sample, median, run_on};

/// Problem sizes of one run.
#[derive(Debug, Clone)]
pub(crate) struct Sizes {
    pub(crate) call_n: u64,
    pub(crate) cast_n: u64,
    pub(crate) event_sync_n: u64,
    pub(crate) event_n: u64,
    pub(crate) handlers: Vec<u64>,
    pub(crate) spawn_n: u64,
    pub(crate) restart_k: u64,
    pub(crate) ofa_m: u64,
    pub(crate) ofa_k: u64,
    pub(crate) shutdown_n: u64,
    pub(crate) todo_lists: u64,
    pub(crate) todo_lookups: u64,
    pub(crate) todo_kills: u64,
}

impl Sizes {
    fn full() -> Sizes {
        Sizes {
            call_n: 200_000,
            cast_n: 1_000_000,
            event_sync_n: 100_000,
            event_n: 200_000,
            handlers: vec![1, 10, 100],
            spawn_n: 100_000,
            restart_k: 10_000,
            ofa_m: 100,
            ofa_k: 1_000,
            shutdown_n: 10_000,
            todo_lists: 10_000,
            todo_lookups: 100_000,
            todo_kills: 1_000,
        }
    }

    fn quick() -> Sizes {
        Sizes {
            call_n: 2_000,
            cast_n: 20_000,
            event_sync_n: 2_000,
            event_n: 5_000,
            handlers: vec![1, 10],
            spawn_n: 2_000,
            restart_k: 200,
            ofa_m: 10,
            ofa_k: 20,
            shutdown_n: 500,
            todo_lists: 200,
            todo_lookups: 2_000,
            todo_kills: 20,
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
    /// Which sides to run: both (the default; the only way to get ratios),
    /// or only arbor's or only raw's, to profile one side on its own.
    pub(crate) sides: Sides,
    /// Measure W5 in fresh child processes (re-executing this binary), so
    /// that ΔRSS is not hidden by memory an earlier run left in the allocator.
    pub(crate) w5_subprocess: bool,
    pub(crate) sizes: Sizes,
}

impl Options {
    /// Options from the command line and the environment:
    /// `--quick` / `ARBOR_BENCH_QUICK=1`, `ARBOR_BENCH_REPEATS=n`,
    /// `--rt mt|ct` / `ARBOR_BENCH_RT`, `--impl arbor|raw` /
    /// `ARBOR_BENCH_IMPL` (one side only, for profiling), filters as free
    /// arguments or `ARBOR_BENCH_FILTER=w1,w3`.
    pub(crate) fn from_env_and_args(args: &[String]) -> Options {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut quick = env("ARBOR_BENCH_QUICK").is_some_and(|v| v != "0");
        let mut filters: Vec<String> = env("ARBOR_BENCH_FILTER")
            .map(|v| v.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        let mut rt_arg = env("ARBOR_BENCH_RT");
        let mut impl_arg = env("ARBOR_BENCH_IMPL");
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--quick" => quick = true,
                "--rt" => rt_arg = it.next().cloned(),
                "--impl" => impl_arg = it.next().cloned(),
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
        let sides = match impl_arg.as_deref() {
            None => Sides::Both,
            Some("arbor") => Sides::Arbor,
            Some("raw") => Sides::Raw,
            Some(other) => harness::fail(&format!("--impl {other}: expected arbor or raw")),
        };
        Options {
            quick,
            repeats: usize::max(repeats, 1),
            filters,
            rts,
            sides,
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
            sides: Sides::Both,
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

/// Which implementations a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sides {
    Both,
    Arbor,
    Raw,
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
    let run_arbor = opts.sides != Sides::Raw;
    let raw = raw.filter(|_| opts.sides != Sides::Arbor);
    let mut a = Vec::new();
    let mut r = Vec::new();
    for i in 0..opts.repeats {
        if i % 2 == 1 {
            if let Some(raw) = raw {
                r.push(raw());
            }
            if run_arbor {
                a.push(arbor());
            }
        } else {
            if run_arbor {
                a.push(arbor());
            }
            if let Some(raw) = raw {
                r.push(raw());
            }
        }
    }
    let r = raw.map(|_| median(&r));
    // Only raw measured: its figures take arbor's place in the line.
    let (label, a, r) = match (run_arbor, r) {
        (true, r) => ("arbor", median(&a), r),
        (false, r) => ("raw", r.unwrap_or_default(), None),
    };
    let mut text = format!("workload={workload} impl={label} rt={} n={n}", rt.label());
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
        for &h in &s.handlers {
            if opts.selected("w3", "event_sync_notify") {
                let n = s.event_sync_n;
                lines.push(compare(
                    opts,
                    "event_sync_notify",
                    rt,
                    n,
                    &[("h", h.to_string())],
                    || run_on(rt, w3_events::sync_notify_arbor(n, h)),
                    Some(&|| run_on(rt, w3_events::sync_notify_raw(n, h))),
                ));
            }
        }
        for &h in &s.handlers {
            if opts.selected("w4", "event_notify") {
                let n = s.event_n;
                lines.push(compare(
                    opts,
                    "event_notify",
                    rt,
                    n,
                    &[("h", h.to_string())],
                    || run_on(rt, w3_events::notify_arbor(n, h)),
                    Some(&|| run_on(rt, w3_events::notify_raw(n, h))),
                ));
            }
        }
        if opts.selected("w5", "spawn_children") {
            let n = s.spawn_n;
            let sub = opts.w5_subprocess;
            lines.push(compare(
                opts,
                "spawn_children",
                rt,
                n,
                &[],
                || w5_sample(sub, "arbor", rt, n),
                Some(&|| w5_sample(sub, "raw", rt, n)),
            ));
        }
        if opts.selected("w6", "restart_latency") {
            let k = s.restart_k;
            lines.push(compare(
                opts,
                "restart_latency",
                rt,
                k,
                &[],
                || run_on(rt, w6_restart::restart_arbor(k)),
                Some(&|| run_on(rt, w6_restart::restart_raw(k))),
            ));
        }
        if opts.selected("w7", "one_for_all_restart") {
            let (m, k) = (s.ofa_m, s.ofa_k);
            lines.push(compare(
                opts,
                "one_for_all_restart",
                rt,
                k,
                &[("m", m.to_string())],
                || run_on(rt, w6_restart::one_for_all_arbor(m, k)),
                Some(&|| run_on(rt, w6_restart::one_for_all_raw(m, k))),
            ));
            // Not a workload of benchmarks.md: the same arbor run against a
            // raw supervisor bound to OTP's one-at-a-time stop, to show how
            // much of W7's ratio is the protocol.
            lines.push(compare(
                opts,
                "one_for_all_restart_one_by_one",
                rt,
                k,
                &[("m", m.to_string())],
                || run_on(rt, w6_restart::one_for_all_arbor(m, k)),
                Some(&|| run_on(rt, w6_restart::one_for_all_raw_one_by_one(m, k))),
            ));
        }
        if opts.selected("w8", "shutdown_tree") {
            let n = s.shutdown_n;
            lines.push(compare(
                opts,
                "shutdown_tree",
                rt,
                n,
                &[],
                || run_on(rt, w5_spawn::shutdown_arbor(n)),
                Some(&|| run_on(rt, w5_spawn::shutdown_raw(n))),
            ));
        }
        if opts.selected("w9", "todo_workload") {
            let (l, k, x) = (s.todo_lists, s.todo_lookups, s.todo_kills);
            lines.push(compare(
                opts,
                "todo_workload",
                rt,
                l,
                &[("lookups", k.to_string()), ("kills", x.to_string())],
                || run_on(rt, w9_todo::todo_arbor(l, k, x)),
                None,
            ));
        }
    }
    lines
}

/// The flag that makes the bench binary run one W5 measurement and print it.
const W5_CHILD_FLAG: &str = "--w5-child";

/// One W5 measurement, in this process or in a fresh copy of this binary.
fn w5_sample(subprocess: bool, imp: &str, rt: Rt, n: u64) -> Sample {
    if !subprocess {
        return w5_in_process(imp, rt, n);
    }
    let exe = harness::ok("w5: current_exe", std::env::current_exe());
    let out = std::process::Command::new(exe)
        .args([W5_CHILD_FLAG, imp, rt.label(), &n.to_string()])
        .stderr(std::process::Stdio::inherit())
        .output();
    let out = harness::ok("w5: run the child process", out);
    if !out.status.success() {
        harness::fail(&format!("w5: child process failed: {}", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(line) = text.lines().find(|l| l.starts_with("w5-sample ")) else {
        harness::fail(&format!("w5: no sample in the child's output: {text:?}"));
    };
    let mut sample = Sample::new();
    for kv in line.split_whitespace().skip(1) {
        let Some((k, v)) = kv.split_once('=') else {
            harness::fail(&format!("w5: bad field {kv:?}"));
        };
        let name = match k {
            "us_per_child" => "us_per_child",
            "bytes_per_child" => "bytes_per_child",
            "peak_rss_mb" => "peak_rss_mb",
            other => harness::fail(&format!("w5: unknown field {other:?}")),
        };
        sample = sample.with(name, harness::ok("w5: parse", v.parse::<f64>()));
    }
    sample
}

fn w5_in_process(imp: &str, rt: Rt, n: u64) -> Sample {
    match imp {
        "arbor" => run_on(rt, w5_spawn::spawn_arbor(n)),
        _ => run_on(rt, w5_spawn::spawn_raw(n)),
    }
}

/// The child-process side of [`w5_sample`]: `--w5-child <arbor|raw> <mt|ct> <n>`.
fn w5_child(args: &[String]) {
    harness::install_quiet_panic_hook();
    let (Some(imp), Some(rt), Some(n)) = (
        args.first(),
        args.get(1).and_then(|r| Rt::parse(r)),
        args.get(2).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        harness::fail(&format!("w5: bad child arguments {args:?}"));
    };
    let sample = w5_in_process(imp, rt, n);
    let fields: Vec<String> = sample
        .figures
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!("w5-sample {}", fields.join(" "));
}

/// The bench binary's entry point.
pub(crate) fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(rest) = args.strip_prefix(&[W5_CHILD_FLAG.to_owned()]) {
        return w5_child(rest);
    }
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
