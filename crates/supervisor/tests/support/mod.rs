//! Probe children that record their lifecycle in a shared log.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use arbor_process::Process;
use arbor_process::{
    Ctx, ExitReason, ExitSignal, Msg, Pid, ProcessRef, StartOpts, spawn_link, spawn_opts,
};
use arbor_supervisor::IntoStartOutcome;
use arbor_supervisor::{
    ChildSpec, ChildTemplate, Restart, SimpleSupervisorRef, StartOutcome, Strategy, SupFlags,
    Supervisor, SupervisorRef,
};
use parking_lot::Mutex;
use tokio::sync::mpsc;

/// The lifecycle log: "start a", "stop a shutdown", "exit a boom".
#[derive(Clone, Default, Debug)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn push(&self, s: String) {
        self.0.lock().push(s);
    }
    /// Takes the entries so far.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock())
    }
}

#[derive(Debug)]
pub enum ProbeMsg {
    /// Exit by itself with this reason.
    Exit(ExitReason),
    /// Panic.
    Panic,
}

/// How a probe behaves.
#[derive(Clone, Debug)]
pub struct Probe {
    pub id: String,
    pub log: Log,
    /// Traps exits (logs "stop id reason" on the supervisor's signal).
    pub trap: bool,
    /// Time it takes to stop after the shutdown signal.
    pub stop_delay: Duration,
    /// Start attempts left that fail with `custom("start_failed")`.
    pub fail_starts: Arc<AtomicU32>,
    /// Every start fails.
    pub always_fail: bool,
    /// The start returns ignore.
    pub ignore: bool,
}

impl Probe {
    pub fn new(log: &Log, id: &str) -> Probe {
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

    pub fn no_trap(mut self) -> Probe {
        self.trap = false;
        self
    }

    pub fn stop_delay(mut self, d: Duration) -> Probe {
        self.stop_delay = d;
        self
    }

    pub fn fail_next(self, n: u32) -> Probe {
        self.fail_starts.store(n, Ordering::SeqCst);
        self
    }

    pub fn always_fail(mut self) -> Probe {
        self.always_fail = true;
        self
    }

    pub fn ignore(mut self) -> Probe {
        self.ignore = true;
        self
    }

    /// Starts the probe linked to the caller (the supervisor); a
    /// simple_one_for_one child's argument is appended to its tag.
    pub async fn start(&self, extra: Option<&'static str>) -> StartOutcome {
        let tag = match extra {
            Some(extra) => format!("{}:{extra}", self.id),
            None => self.id.clone(),
        };
        if self.always_fail
            || self
                .fail_starts
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            self.log.push(format!("failed {tag}"));
            return StartOutcome::Error(ExitReason::custom("start_failed"));
        }
        if self.ignore {
            self.log.push(format!("ignored {tag}"));
            return StartOutcome::Ignore;
        }
        let log = self.log.clone();
        let delay = self.stop_delay;
        log.push(format!("start {tag}"));
        let mut opts = StartOpts::new().link();
        opts.trap_exit = self.trap;
        spawn_opts(opts, move |mut ctx: Ctx<ProbeMsg>| async move {
            loop {
                match ctx.recv().await {
                    Msg::Message(ProbeMsg::Exit(r)) => {
                        log.push(format!("exit {tag} {r}"));
                        return r;
                    }
                    Msg::Message(ProbeMsg::Panic) => {
                        log.push(format!("panic {tag}"));
                        panic!("probe crashed");
                    }
                    Msg::Exit(ExitSignal { reason, .. }) => {
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        log.push(format!("stop {tag} {reason}"));
                        return reason;
                    }
                    Msg::Down(_) => {}
                }
            }
        })
        .into_start_outcome()
    }

    pub fn spec(self) -> ChildSpec {
        let id = self.id.clone();
        ChildSpec::worker_with(id, self, |p: Probe| async move { p.start(None).await })
    }

    /// A simple_one_for_one template: the argument is appended to the tag.
    pub fn template(self) -> ChildTemplate<&'static str> {
        let id = self.id.clone();
        ChildSpec::template(id, move |extra: &'static str| {
            let p = self.clone();
            async move { p.start(Some(extra)).await }
        })
    }

    /// A simple_one_for_one template without arguments.
    pub fn unit_template(self) -> ChildTemplate<()> {
        let id = self.id.clone();
        ChildSpec::template(id, move |()| {
            let p = self.clone();
            async move { p.start(None).await }
        })
    }
}

/// A default probe spec (permanent worker that traps exits).
pub fn probe(log: &Log, id: &str) -> ChildSpec {
    Probe::new(log, id).spec()
}

/// The pid of a running static child.
pub async fn pid_of(sup: &SupervisorRef, id: &str) -> Pid {
    sup.which_child(id)
        .await
        .expect("which_child")
        .state
        .pid()
        .expect("child running")
}

/// Makes the child exit by itself with `reason` and waits for its death
/// (after which the supervisor has the exit queued).
pub async fn crash_pid(pid: Pid, reason: ExitReason) {
    let p = ProcessRef::<ProbeMsg>::from_pid(pid).expect("probe alive");
    p.send(ProbeMsg::Exit(reason)).expect("send");
    p.wait().await;
}

pub async fn crash(sup: &SupervisorRef, id: &str, reason: ExitReason) {
    crash_pid(pid_of(sup, id).await, reason).await;
}

/// Ids of which_children, newest first, with state as text.
pub async fn children(sup: &SupervisorRef) -> Vec<String> {
    sup.which_children()
        .await
        .expect("which_children")
        .into_iter()
        .map(|c| {
            let id = c.id.map(|i| i.to_string()).unwrap_or_else(|| "-".into());
            let state = match c.state {
                arbor_supervisor::ChildState::Running(_) => "running".to_string(),
                other => other.to_string(),
            };
            format!("{id}={state}")
        })
        .collect()
}

pub fn boom() -> ExitReason {
    ExitReason::custom("boom")
}

/// A supervisor blocked inside a `start_child` call, so that tests can
/// queue exits and requests behind each other deterministically.
pub struct Held {
    gate: tokio::sync::oneshot::Sender<()>,
    call: std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<
                        arbor_supervisor::StartedChild,
                        arbor_supervisor::StartChildError,
                    >,
                > + Send,
        >,
    >,
}

/// Blocks `sup` until [`Held::release`]; returns once it is blocked.
pub async fn hold(sup: &SupervisorRef) -> Held {
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
    let (gate_tx, gate_rx) = tokio::sync::oneshot::channel::<()>();
    let slot = Arc::new(Mutex::new(Some((entered_tx, gate_rx))));
    let spec = ChildSpec::worker("held", move || {
        let pair = slot.lock().take();
        async move {
            if let Some((entered, gate)) = pair {
                let _ = entered.send(());
                let _ = gate.await;
            }
            StartOutcome::Ignore
        }
    })
    .restart(arbor_supervisor::Restart::Temporary);
    let sup = sup.clone();
    let mut call: Held = Held {
        gate: gate_tx,
        call: Box::pin(async move { sup.start_child(spec).await }),
    };
    assert!(futures::poll!(call.call.as_mut()).is_pending());
    entered_rx
        .await
        .expect("supervisor entered the start function");
    call
}

impl Held {
    /// Lets the supervisor go on with its mailbox.
    pub async fn release(self) {
        let _ = self.gate.send(());
        self.call.await.expect("held start_child");
    }
}

/// Sends the request of `fut` (its first poll) without waiting for the
/// reply.
pub async fn queue<F: std::future::Future + Unpin>(fut: &mut F) {
    assert!(futures::poll!(fut).is_pending(), "request queued");
}

// ===== shared by the strategy, restart-type and intensity tests =====

pub fn flags(strategy: Strategy, intensity: u32) -> SupFlags {
    SupFlags::new(strategy)
        .intensity(intensity)
        .period(Duration::from_secs(5))
}

pub async fn start(flags: SupFlags, specs: Vec<ChildSpec>) -> SupervisorRef {
    Supervisor::new(flags)
        .children(specs)
        .start()
        .await
        .unwrap()
}

pub async fn stop(sup: impl Into<SupervisorRef>) {
    sup.into()
        .stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
}

/// An argument that counts its clones and reports each start.
#[derive(Debug)]
pub struct Counted {
    pub tag: &'static str,
    pub clones: Arc<AtomicUsize>,
    pub starts: mpsc::UnboundedSender<&'static str>,
}

impl Clone for Counted {
    fn clone(&self) -> Self {
        self.clones.fetch_add(1, Ordering::SeqCst);
        Counted {
            tag: self.tag,
            clones: self.clones.clone(),
            starts: self.starts.clone(),
        }
    }
}

/// A child that waits for an exit request and exits with it.
pub fn crashable(
    ctx_tag: &'static str,
    starts: &mpsc::UnboundedSender<&'static str>,
) -> StartOutcome {
    let _ = starts.send(ctx_tag);
    spawn_link(|mut ctx: Ctx<ExitReason>| async move {
        loop {
            if let Msg::Message(r) = ctx.recv().await {
                return r;
            }
        }
    })
    .into_start_outcome()
}

/// Sends a `ProcessRef<ExitReason>` child the reason to exit with and
/// waits for its exit.
pub async fn send_exit(pid: arbor_process::Pid, reason: ExitReason) {
    let p = ProcessRef::<ExitReason>::from_pid(pid).unwrap();
    p.send(reason).unwrap();
    p.wait().await;
}

/// A one_for_one supervisor (intensity 10) of probes with these ids.
pub async fn sup_with(log: &Log, ids: &[&str]) -> SupervisorRef {
    Supervisor::new(SupFlags::default().intensity(10))
        .children(ids.iter().map(|id| probe(log, id)))
        .start()
        .await
        .unwrap()
}

/// A simple_one_for_one supervisor (intensity 10) of probe `t` children.
pub async fn simple(log: &Log, restart: Restart) -> SimpleSupervisorRef<&'static str> {
    Supervisor::simple(
        SupFlags::default().intensity(10),
        Probe::new(log, "t").template().restart(restart),
    )
    .start()
    .await
    .unwrap()
}
