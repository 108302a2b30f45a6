//! Runtimes, repetition, medians, RSS and the quiet panic hook.

use std::future::Future;
use std::sync::Once;
use std::time::{Duration, Instant};

/// The two runtime flavours every workload runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rt {
    /// Multi-thread runtime with 2 workers.
    Mt,
    /// `current_thread` runtime.
    Ct,
}

impl Rt {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Rt::Mt => "mt",
            Rt::Ct => "ct",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Rt> {
        match s {
            "mt" => Some(Rt::Mt),
            "ct" => Some(Rt::Ct),
            _ => None,
        }
    }

    fn build(self) -> tokio::runtime::Runtime {
        let mut b = match self {
            Rt::Mt => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(2);
                b
            }
            Rt::Ct => tokio::runtime::Builder::new_current_thread(),
        };
        b.enable_all()
            .build()
            .unwrap_or_else(|e| fail(&format!("cannot build the {} runtime: {e}", self.label())))
    }
}

/// Runs `fut` as a spawned task on a fresh runtime of flavour `rt` (so on the
/// multi-thread runtime the client is on a worker like every process, not on
/// the blocked main thread) and drops the runtime afterwards.
pub(crate) fn run_on<F>(rt: Rt, fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let runtime = rt.build();
    let out = runtime.block_on(async move { tokio::spawn(fut).await });
    runtime.shutdown_timeout(Duration::from_secs(10));
    match out {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => fail(&format!("workload task failed: {e}")),
    }
}

/// One measurement: named figures, the primary one first.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sample {
    pub(crate) figures: Vec<(&'static str, f64)>,
}

impl Sample {
    pub(crate) fn new() -> Sample {
        Sample::default()
    }

    pub(crate) fn with(mut self, name: &'static str, value: f64) -> Sample {
        self.figures.push((name, value));
        self
    }

    /// A sample whose primary figure is ns per operation.
    pub(crate) fn per_op(elapsed: Duration, ops: u64) -> Sample {
        Sample::new().with("ns_per_op", ns_per(elapsed, ops))
    }
}

pub(crate) fn ns_per(elapsed: Duration, ops: u64) -> f64 {
    elapsed.as_nanos() as f64 / ops.max(1) as f64
}

pub(crate) fn ms(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1e3
}

/// Per-figure median of `samples` (all samples have the same figure names).
pub(crate) fn median(samples: &[Sample]) -> Sample {
    let Some(first) = samples.first() else {
        return Sample::new();
    };
    let figures = first
        .figures
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let mut v: Vec<f64> = samples.iter().map(|s| s.figures[i].1).collect();
            v.sort_by(|a, b| a.total_cmp(b));
            let m = if v.len() % 2 == 1 {
                v[v.len() / 2]
            } else {
                (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
            };
            (*name, m)
        })
        .collect();
    Sample { figures }
}

/// Times `f` and returns the elapsed time with its output.
pub(crate) async fn timed<F: Future>(f: F) -> (Duration, F::Output) {
    let start = Instant::now();
    let out = f.await;
    (start.elapsed(), out)
}

/// Aborts the benchmark loudly: a wrong result must never report a time.
pub(crate) fn fail(what: &str) -> ! {
    panic!("arbor-bench: verification failed: {what}")
}

/// Checks a workload's result.
#[track_caller]
pub(crate) fn check_eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) {
    if got != want {
        fail(&format!("{what}: got {got:?}, expected {want:?}"));
    }
}

/// The payload of every crash the benchmark induces on purpose.
pub(crate) const CRASH: &str = "arbor-bench: induced crash";

/// Installs (once) a panic hook that stays silent for [`CRASH`] and defers to
/// the previous hook for every other panic.
pub(crate) fn install_quiet_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let msg = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            if msg != Some(CRASH) {
                previous(info);
            }
        }));
    });
}

/// `VmRSS` and `VmHWM` of this process in bytes, from /proc/self/status.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rss {
    pub(crate) current: u64,
    pub(crate) peak: u64,
}

pub(crate) fn rss() -> Rss {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kb| kb * 1024)
    };
    Rss {
        current: field("VmRSS:"),
        peak: field("VmHWM:"),
    }
}

/// A tiny deterministic PRNG (xorshift64*) for workloads that need random keys.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// Unwraps a workload step's result or aborts loudly with the error.
#[track_caller]
pub(crate) fn ok<T, E: std::fmt::Debug>(what: &str, r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => fail(&format!("{what}: {e:?}")),
    }
}
