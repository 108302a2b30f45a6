//! The crash injector: bursts of 1 to 3 random crashes, `--rate` per
//! second on average, each awaited, with a quiet point after each burst.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use arbor::process::{ExitReason, Pid, exit, kill};
use arbor::supervisor::SupervisorRef;
use arbor_todo::TodoApp;

use crate::DEATH_TIMEOUT;
use crate::args::Config;
use crate::checker::{Checker, check_dead_list};
use crate::rng::Rng;
use crate::rss::rss_bytes;
use crate::shared::Shared;
use arbor::process::Process;

/// What the injector crashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Target {
    List,
    Manager,
    ListSup,
    EventManager,
    Inner,
}

/// How the injector crashes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Reason {
    Kill,
    Shutdown,
    Error,
    Normal,
}

impl Reason {
    fn exit_reason(self) -> ExitReason {
        match self {
            Reason::Kill => ExitReason::Kill,
            Reason::Shutdown => ExitReason::Shutdown,
            Reason::Error => ExitReason::custom("chaos"),
            Reason::Normal => ExitReason::Normal,
        }
    }
}

/// A random target (lists most often) and reason.
fn pick_crash(rng: &mut Rng) -> (Target, Reason) {
    let target = match rng.below(20) {
        0..=6 => Target::List,
        7..=9 => Target::Manager,
        10..=12 => Target::ListSup,
        13..=16 => Target::EventManager,
        _ => Target::Inner,
    };
    let reason = match rng.below(4) {
        0 => Reason::Kill,
        1 => Reason::Shutdown,
        2 => Reason::Error,
        _ => Reason::Normal,
    };
    (target, reason)
}

/// Stops a supervisor with `reason` through its API (supervisors trap
/// exits: an exit signal from a stranger is ignored).
async fn stop_sup(sup: SupervisorRef, reason: Reason) {
    if reason == Reason::Kill {
        kill(sup.pid());
    } else {
        let _ = sup.stop_with(reason.exit_reason(), DEATH_TIMEOUT).await;
    }
}

/// Crashes `target` with `reason` and waits for its death. `false` if the
/// target was not running.
async fn inject(app: &TodoApp, target: Target, reason: Reason, pick: u64, shared: &Shared) -> bool {
    let victim = match target {
        Target::List => {
            let Ok(names) = app.list_names().await else {
                return false;
            };
            if names.is_empty() {
                return false;
            }
            let name = &names[pick as usize % names.len()];
            let Ok(Some(list)) = app.lookup(name).await else {
                return false;
            };
            match reason {
                // Lists do not trap exits: the signal is the crash.
                Reason::Kill => kill(list.pid()),
                Reason::Shutdown | Reason::Error => exit(list.pid(), reason.exit_reason()),
                Reason::Normal => {
                    let _ = list.stop_with(ExitReason::Normal, DEATH_TIMEOUT).await;
                }
            }
            check_dead_list(app, name, &list, shared).await;
            return true;
        }
        Target::Manager => {
            let Ok(m) = app.manager() else { return false };
            match reason {
                Reason::Normal => {
                    let _ = m.stop().await;
                }
                Reason::Kill => kill(m.pid()),
                _ => exit(m.pid(), reason.exit_reason()),
            }
            m.pid()
        }
        Target::EventManager => {
            let Ok(em) = app.event_manager() else {
                return false;
            };
            match reason {
                Reason::Kill => kill(em.pid()),
                // A manager traps exits: a stranger's exit signal, shutdown
                // included, is info to its handlers (as OTP's gen_event), so
                // it is stopped through its API.
                _ => {
                    let _ = em.stop_with(reason.exit_reason(), DEATH_TIMEOUT).await;
                }
            }
            em.pid()
        }
        Target::ListSup => {
            let Ok(ls) = app.list_supervisor() else {
                return false;
            };
            let pid = ls.pid();
            stop_sup(ls.supervisor().clone(), reason).await;
            pid
        }
        Target::Inner => {
            let Ok(inner) = app.inner() else { return false };
            let pid = inner.pid();
            stop_sup(inner, reason).await;
            pid
        }
    };
    tracing::debug!(target: "chaos", %victim, "waiting for the victim");
    wait_dead(victim, &format!("{target:?} ({reason:?})"), shared).await;
    true
}

/// Waits for `pid`'s death; not within [`DEATH_TIMEOUT`] is a violation.
async fn wait_dead(pid: Pid, what: &str, shared: &Shared) {
    if tokio::time::timeout(DEATH_TIMEOUT, arbor::process::wait_exit(pid))
        .await
        .is_err()
    {
        shared
            .violations
            .report(format!("{what} {pid} did not die within {DEATH_TIMEOUT:?}"));
    }
}

// ===== the injection loop =====

/// What the injector did, for the report.
#[derive(Debug)]
pub(crate) struct Injected {
    pub(crate) crashes: BTreeMap<(Target, Reason), u64>,
    /// Crashes not injected because the target was not running.
    pub(crate) skipped: u64,
    pub(crate) bursts: u64,
    pub(crate) elapsed: Duration,
    /// (time since start, RSS in bytes), about every tenth of the run.
    pub(crate) rss_samples: Vec<(Duration, u64)>,
}

/// Injects bursts of crashes for `cfg.duration`, a quiet point after each.
pub(crate) async fn run(
    cfg: &Config,
    mut rng: Rng,
    app: &TodoApp,
    shared: &Shared,
    checker: &mut Checker,
) -> Injected {
    let mut crashes: BTreeMap<(Target, Reason), u64> = BTreeMap::new();
    let mut skipped = 0u64;
    let mut bursts = 0u64;
    let start = Instant::now();
    let mut next_crash = start;
    let mut rss_samples = Vec::new();
    let mut next_sample = start;
    while start.elapsed() < cfg.duration {
        bursts += 1;
        for _ in 0..=rng.below(3) {
            next_crash += Duration::from_secs_f64(-rng.unit().ln() / cfg.rate);
            tokio::time::sleep_until(next_crash.into()).await; // pacing only
            let (target, reason) = pick_crash(&mut rng);
            tracing::debug!(target: "chaos", ?target, ?reason, "crash");
            let pick = rng.next();
            if inject(app, target, reason, pick, shared).await {
                *crashes.entry((target, reason)).or_default() += 1;
            } else {
                skipped += 1;
            }
        }
        tracing::debug!(target: "chaos", bursts, "quiet point");
        checker.quiet_point().await;
        tracing::debug!(target: "chaos", "quiet point done");
        if Instant::now() >= next_sample {
            rss_samples.push((start.elapsed(), rss_bytes()));
            next_sample += cfg.duration / 10;
        }
    }
    Injected {
        crashes,
        skipped,
        bursts,
        elapsed: start.elapsed(),
        rss_samples,
    }
}
