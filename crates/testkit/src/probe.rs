//! The probe child: a worker that records its lifecycle and dies on
//! command.

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use arbor_process::{Ctx, ExitReason, ExitSignal, Msg, StartOpts, spawn_opts};
use arbor_supervisor::{ChildSpec, ChildTemplate, StartOutcome};

use crate::ProbeCmd;
use crate::crash::PANIC_MESSAGE;
use crate::{EventKind, LifecycleLog};
use arbor_process::Myself;
use arbor_process::Process;
use arbor_supervisor::IntoStartOutcome;

/// A configurable child for tests: it logs `start`, `stop` (exit signal),
/// `exit` (by itself), `panic`, `failed` and `ignored` events into a
/// [`LifecycleLog`], and exits or panics when told to.
///
/// By default it traps exits (so a supervisor's shutdown is logged as
/// `stop <id> shutdown`), stops at once, and always starts.
///
/// Started from its [`template`](Probe::template) with an argument (a
/// simple_one_for_one `start_child`), its tag is `id:arg`.
///
/// # Examples
///
/// ```
/// use arbor_supervisor::{Strategy, SupFlags, Supervisor};
/// use arbor_testkit::{Crash, LifecycleLog, Probe, run_paused};
///
/// run_paused(async {
///     let log = LifecycleLog::new();
///     let sup = Supervisor::new(SupFlags::new(Strategy::OneForOne))
///         .child(Probe::new(&log, "a").spec())
///         .start()
///         .await
///         .unwrap();
///     Crash::Custom.inflict_pid(log.last_pid("a").unwrap()).await.unwrap();
///     sup.which_children().await.unwrap(); // the restart is done
///     assert_eq!(log.lines(), ["start a", "exit a boom", "start a"]);
/// });
/// ```
#[derive(Debug, Clone)]
pub struct Probe {
    id: String,
    log: LifecycleLog,
    trap: bool,
    stop_delay: Duration,
    fail_starts: Arc<AtomicU32>,
    always_fail: bool,
    ignore: bool,
}

impl Probe {
    /// A probe with this id logging into `log`.
    pub fn new(log: &LifecycleLog, id: &str) -> Probe {
        Probe {
            id: id.to_string(),
            log: log.clone(),
            trap: true,
            stop_delay: Duration::ZERO,
            fail_starts: Arc::new(AtomicU32::new(0)),
            always_fail: false,
            ignore: false,
        }
    }

    /// Whether it traps exits (default `true`). A non-trapping probe dies
    /// from a shutdown signal without logging.
    pub fn trap_exits(mut self, trap: bool) -> Probe {
        self.trap = trap;
        self
    }

    /// Time it takes to stop after an exit signal (default zero); longer
    /// than the spec's shutdown timeout makes the supervisor kill it.
    pub fn stop_delay(mut self, delay: Duration) -> Probe {
        self.stop_delay = delay;
        self
    }

    /// The next `n` starts fail with the reason `start_failed`. Shared by
    /// clones, so it counts across restarts.
    pub fn fail_next(self, n: u32) -> Probe {
        self.fail_starts.store(n, Ordering::SeqCst);
        self
    }

    /// Every start fails with the reason `start_failed`.
    pub fn always_fail(mut self) -> Probe {
        self.always_fail = true;
        self
    }

    /// Every start returns ignore.
    pub fn ignore(mut self) -> Probe {
        self.ignore = true;
        self
    }

    /// The probe's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs the start function: spawns the probe linked to the caller (the
    /// supervisor), or fails or ignores as configured.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it does not await anything before spawning.
    pub async fn start(&self, arg: Option<&(dyn Display + Sync)>) -> StartOutcome {
        let tag = match arg {
            Some(a) => format!("{}:{a}", self.id),
            None => self.id.clone(),
        };
        let failing = self.always_fail
            || self
                .fail_starts
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        if failing {
            self.log.push(&tag, None, EventKind::StartFailed);
            return StartOutcome::Error(ExitReason::custom("start_failed"));
        }
        if self.ignore {
            self.log.push(&tag, None, EventKind::Ignored);
            return StartOutcome::Ignore;
        }
        let log = self.log.clone();
        let delay = self.stop_delay;
        let mut opts = StartOpts::new().link();
        opts.trap_exit = self.trap;
        let started = log.clone();
        let started_tag = tag.clone();
        let child = spawn_opts(opts, move |mut ctx: Ctx<ProbeCmd>| async move {
            let me = Some(ctx.pid());
            loop {
                match ctx.recv().await {
                    Msg::Message(ProbeCmd::Exit(r)) => {
                        log.push(&tag, me, EventKind::Exited(r.clone()));
                        return r;
                    }
                    Msg::Message(ProbeCmd::Panic) => {
                        log.push(&tag, me, EventKind::Panicked);
                        std::panic::panic_any(PANIC_MESSAGE);
                    }
                    Msg::Exit(ExitSignal { reason, .. }) => {
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        log.push(&tag, me, EventKind::Stopped(reason.clone()));
                        return reason;
                    }
                    Msg::Down(_) => {}
                }
            }
        });
        let child = match child {
            Ok(child) => child,
            Err(e) => return e.into(),
        };
        // Logged by the starter, before the supervisor records the child:
        // the start is in the log before anything can stop the probe.
        started.push(&started_tag, Some(child.pid()), EventKind::Started);
        child.into_start_outcome()
    }

    /// A worker [`ChildSpec`] (permanent, default shutdown) that starts
    /// this probe; change restart type etc. on the returned spec.
    pub fn spec(self) -> ChildSpec {
        let id = self.id.clone();
        ChildSpec::worker_with(id, self, |p: Probe| async move { p.start(None).await })
    }

    /// A simple_one_for_one template (permanent, default shutdown) that
    /// starts this probe tagged `id:arg`.
    pub fn template<A>(self) -> ChildTemplate<A>
    where
        A: Display + Clone + Send + Sync + 'static,
    {
        let id = self.id.clone();
        ChildSpec::template(id, move |arg: A| {
            let p = self.clone();
            async move { p.start(Some(&arg)).await }
        })
    }
}

/// Installs (once) a panic hook that stays silent for probe panics
/// ([`Crash::Panic`](crate::Crash::Panic)) and reports every other panic
/// with the previous hook, so crash-heavy tests do not flood the output.
pub fn quiet_probe_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&PANIC_MESSAGE) {
                previous(info);
            }
        }));
    });
}
