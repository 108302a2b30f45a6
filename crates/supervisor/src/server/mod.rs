//! The supervisor process: its state record, its one ordered mailbox
//! (API requests, child exits, restart retries) and the main loop.
//!
//! # Invariants
//!
//! 1. **Static children are kept in start order** ([`Children::Static`];
//!    OTP keeps them reversed). A new child is pushed at the end, removals
//!    keep the others' order, and a restart refills a slot in place.
//!    Termination walks the list backwards, so children stop in reverse
//!    start order; one_for_all and rest_for_one stop the concerned ones
//!    backwards and start them forwards.
//! 2. **Exactly one of static or simple storage, fixed at init**: the
//!    strategy picks the [`Children`] variant in [`run`] and nothing
//!    replaces it. simple_one_for_one always has its template (validated
//!    by `Supervisor::validate` before the process is spawned).
//! 3. **A slot is restarting iff a retry for it is queued or pending on a
//!    timer.** Only `Server::mark_restarting` sets [`Slot::Restarting`],
//!    and it queues exactly one `SupMsg::Retry` with it. A retry that
//!    finds its slot no longer restarting (terminated, deleted, or
//!    restarted by its strategy meanwhile) is stale and dropped. A static
//!    slot that leaves the restarting state and enters it again before
//!    its old retry arrives has two queued; the first to arrive acts, as
//!    OTP's `try_again_restart` does (it too checks only `restarting`).
//! 4. **One intensity check per exit**: a child exit that leads to a
//!    restart records one restart in the window before anything else;
//!    its backoff-delayed retry (`RetryCause::Exit`) is not counted
//!    again, while the retry of a failed restart
//!    (`RetryCause::FailedRestart`, OTP `try_again_restart`) counts as a
//!    restart of its own.
//!
//! # Layout
//!
//! - `message.rs`: what the process receives;
//! - `children.rs`: the storage ([`Children`], [`Slot`]);
//! - `restart.rs`: exits, the intensity check, strategies and retries;
//! - `requests.rs`: the API requests;
//! - `report.rs`: the progress and supervisor reports (`tracing`).

use std::sync::Arc;
use std::time::Duration;

use arbor_process::{
    Ctx, ExitReason, ExitSignal, Msg, Myself, Pid, Process, ProcessHandle, StopError, register,
};
use tokio::sync::oneshot;

use crate::args::Args;
use crate::shutdown::{shutdown_many, shutdown_one};
use crate::{ChildSpec, Restart, RestartWindow, StartInfo, StartOutcome, SupFlags, SupStartError};

mod children;
mod message;
#[cfg(feature = "metrics")]
mod metrics;
mod report;
mod requests;
mod restart;

use children::{Child, Children, Slot};
pub(crate) use message::{Request, Status, SupMsg};

/// How a step of the loop ends.
enum Flow {
    Continue,
    /// Children are already terminated; exit with this reason.
    Exit(ExitReason),
}

/// The result of running a start function.
enum Started {
    Running(ProcessHandle, Option<StartInfo>),
    Ignored,
}

/// The state record (OTP `#state{}`).
pub(crate) struct Server {
    ctx: Ctx<SupMsg>,
    flags: SupFlags,
    name: Option<Arc<str>>,
    parent: Option<Pid>,
    window: RestartWindow,
    /// Invariants 1 and 2.
    children: Children,
    #[cfg(feature = "metrics")]
    metrics: metrics::SupMetrics,
}

/// The supervisor process body: init (name, children in order), reply
/// to the starter, then the loop.
pub(crate) async fn run(
    ctx: Ctx<SupMsg>,
    flags: SupFlags,
    specs: Vec<ChildSpec>,
    name: Option<String>,
    parent: Option<Pid>,
    started: oneshot::Sender<Result<(), SupStartError>>,
) -> ExitReason {
    // Invariant 2: the storage is chosen here, once.
    let (children, to_start) = Children::new(flags.strategy, specs);
    let name: Option<Arc<str>> = name.map(Arc::from);
    let mut server = Server {
        window: RestartWindow::new(flags.intensity, flags.period),
        ctx,
        flags,
        #[cfg(feature = "metrics")]
        metrics: metrics::SupMetrics::new(name.as_ref()),
        name,
        parent,
        children,
    };
    match server.init(to_start).await {
        Ok(()) => {
            let _ = started.send(Ok(()));
            server.main_loop().await
        }
        Err(e) => {
            // OTP 26+: the starter gets the error and no exit signal.
            if let Some(parent) = server.parent {
                server.ctx.unlink(parent);
            }
            let _ = started.send(Err(e));
            ExitReason::shutdown_with("failed_to_start")
        }
    }
}

// ===== impl Server =====

impl Server {
    fn label(&self) -> report::Label {
        report::Label {
            name: self.name.clone(),
            pid: self.ctx.pid(),
        }
    }

    /// Registers the name, then starts the static children in order
    /// (invariant 1); on a failed start, stops the ones started.
    async fn init(&mut self, specs: Vec<ChildSpec>) -> Result<(), SupStartError> {
        if let Some(name) = &self.name
            && register(&**name, self.ctx.pid()).is_err()
        {
            let holder = arbor_process::whereis(name).unwrap_or(Pid::ANONYMOUS);
            return Err(SupStartError::AlreadyStarted(holder));
        }
        let label = self.label();
        // Invariant 2: a simple_one_for_one supervisor has nothing to start.
        let Children::Static(list) = &mut self.children else {
            return Ok(());
        };
        for spec in specs {
            let slot = match start_spec(&self.ctx, &label, &spec, Args::none()).await {
                Ok(Started::Running(h, _)) => Slot::Running(h),
                Ok(Started::Ignored) if spec.restart == Restart::Temporary => continue,
                Ok(Started::Ignored) => Slot::Undefined,
                Err(reason) => {
                    self.terminate_children().await;
                    return Err(SupStartError::FailedToStartChild {
                        id: spec.id.clone(),
                        reason,
                    });
                }
            };
            list.push(Child::new(spec, slot));
        }
        Ok(())
    }

    async fn main_loop(mut self) -> ExitReason {
        loop {
            let flow = match self.ctx.recv().await {
                Msg::Message(SupMsg::Req(req)) => self.request(req).await,
                Msg::Message(SupMsg::Retry { key, cause }) => self.retry(key, cause).await,
                Msg::Message(SupMsg::Stop(reason)) => {
                    self.terminate_children().await;
                    Flow::Exit(reason)
                }
                Msg::Exit(ExitSignal { from, reason }) if Some(from) == self.parent => {
                    self.terminate_children().await;
                    Flow::Exit(reason)
                }
                Msg::Exit(ExitSignal { from, reason }) => self.child_exited(from, reason).await,
                Msg::Down(down) => {
                    report::unexpected_down(&self.label(), &down);
                    Flow::Continue
                }
            };
            if let Flow::Exit(reason) = flow {
                return reason;
            }
        }
    }

    /// Supervisor termination (docs/otp/supervisor.md#sup-shutdown): static children one at a time in
    /// reverse start order (invariant 1); dynamic children all at once,
    /// signalled in reverse order of their `start_child` (OTP leaves that
    /// order unspecified). The order also matters for speed: children
    /// were allocated in start order, and walking them in hash order
    /// instead costs a cache miss per child (docs/performance.md, "Design
    /// notes").
    async fn terminate_children(&mut self) {
        let label = self.label();
        match &mut self.children {
            Children::Static(list) => {
                for child in list.iter_mut().rev() {
                    if let Slot::Running(h) = std::mem::replace(&mut child.slot, Slot::Undefined) {
                        let reason = shutdown_one(&self.ctx, &h, child.spec.shutdown).await;
                        report::shutdown(&label, &child.spec, h.pid(), &reason);
                    }
                }
            }
            Children::Simple(s) => {
                let mut running: Vec<(u64, ProcessHandle)> = s
                    .by_pid
                    .drain()
                    .filter_map(|(_, c)| match c.slot {
                        Slot::Running(h) => Some((c.order, h)),
                        _ => None,
                    })
                    .collect();
                running.sort_unstable_by_key(|&(order, _)| std::cmp::Reverse(order));
                let handles = running.into_iter().map(|(_, h)| h).collect();
                let template = &s.template;
                shutdown_many(&self.ctx, handles, template.shutdown, |h, reason| {
                    report::shutdown(&label, template, h.pid(), &reason);
                })
                .await;
            }
        }
    }
}

/// Runs a start function inside the supervisor process and classifies
/// the result (docs/otp/supervisor.md#sup-start-outcome); a panicking start function is an error. Takes the
/// context, not the server, so callers can hold a child mutably.
async fn start_spec(
    ctx: &Ctx<SupMsg>,
    sup: &report::Label,
    spec: &ChildSpec,
    args: Args,
) -> Result<Started, ExitReason> {
    let (handle, info) = match spec.call_start(args).await {
        StartOutcome::Started(h, info) => (h, info),
        StartOutcome::Ignore => {
            report::start_ignored(sup, &spec.id);
            return Ok(Started::Ignored);
        }
        StartOutcome::Error(reason) => {
            report::start_error(sup, &spec.id, &reason);
            return Err(reason);
        }
    };
    // Usually linked already by start_link; a no-op then.
    ctx.link(handle.pid());
    report::started(sup, &spec.id, handle.pid());
    Ok(Started::Running(handle, info))
}

/// `gen_server:stop/3` for a supervisor.
pub(crate) async fn stop(
    sup: &arbor_process::ProcessRef<SupMsg>,
    reason: ExitReason,
    timeout: Duration,
) -> Result<(), StopError> {
    if arbor_process::current() == Some(sup.pid()) {
        return Err(StopError::CallingSelf);
    }
    if sup.send(SupMsg::Stop(reason.clone())).is_err() {
        return Err(StopError::NoProcess);
    }
    let exited = if timeout == Duration::MAX {
        Ok(sup.wait().await)
    } else {
        tokio::time::timeout(timeout, sup.wait()).await
    };
    match exited {
        Ok(r) if r == reason => Ok(()),
        Ok(ExitReason::NoProc) => Err(StopError::NoProcess),
        Ok(r) => Err(StopError::Exited(r)),
        Err(_) => Err(StopError::Timeout),
    }
}
