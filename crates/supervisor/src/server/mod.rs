//! The supervisor process: its state, its one ordered mailbox (API
//! requests, child exits, restart retries) and the restart machinery.

use std::collections::HashMap;
use std::time::Duration;

use arbor_process::{
    Ctx, ExitReason, ExitSignal, IdBuildHasher, Msg, Myself, Pid, Process, ProcessHandle,
    StopError, register,
};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use crate::backoff::BackoffState;
use crate::shutdown::{acceptable, shutdown_many, shutdown_one};
use crate::template::Args;
use crate::{
    AutoShutdown, ChildId, ChildSpec, ChildState, ExitAction, Restart, RestartWindow, StartInfo,
    StartOutcome, Strategy, SupFlags, SupStartError, exit_action,
};

mod message;
mod requests;

pub(crate) use message::{Key, Request, RetryCause, Status, SupMsg};

/// The run state of one child (`pid | undefined | restarting`).
#[derive(Debug)]
enum Slot {
    Running(ProcessHandle),
    Undefined,
    Restarting,
}

impl Slot {
    fn pid(&self) -> Option<Pid> {
        match self {
            Slot::Running(h) => Some(h.pid()),
            _ => None,
        }
    }

    fn state(&self) -> ChildState {
        match self {
            Slot::Running(h) => ChildState::Running(h.pid()),
            Slot::Undefined => ChildState::Undefined,
            Slot::Restarting => ChildState::Restarting,
        }
    }
}

#[derive(Debug)]
struct Child {
    spec: ChildSpec,
    slot: Slot,
    backoff: BackoffState,
}

/// A simple_one_for_one child, keyed by its current pid, or its last one
/// while restarting (so `terminate_child(pid)` still finds it).
#[derive(Debug)]
struct DynChild {
    /// Start order: a restarted child keeps its place.
    order: u64,
    slot: Slot,
    /// Kept for restarts; `None` for temporary children (never restarted,
    /// their argument moved into the only start).
    args: Option<Args>,
    backoff: BackoffState,
}

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

pub(crate) struct Server {
    ctx: Ctx<SupMsg>,
    flags: SupFlags,
    name: Option<String>,
    parent: Option<Pid>,
    window: RestartWindow,
    /// Static children in start order (OTP keeps them reversed).
    children: Vec<Child>,
    /// simple_one_for_one: the template and the dynamic children, one map
    /// keyed by pid (a restart moves the entry to the new pid), hashed
    /// with the id hasher: SipHash was the largest part of an insert on
    /// every `start_child`.
    template: Option<ChildSpec>,
    dynamic: HashMap<Pid, DynChild, IdBuildHasher>,
    next_order: u64,
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
    let mut server = Server {
        window: RestartWindow::new(flags.intensity, flags.period),
        ctx,
        flags,
        name,
        parent,
        children: Vec::new(),
        template: None,
        dynamic: HashMap::default(),
        next_order: 0,
    };
    match server.init(specs).await {
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

impl Server {
    fn label(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => self.ctx.pid().to_string(),
        }
    }

    async fn init(&mut self, specs: Vec<ChildSpec>) -> Result<(), SupStartError> {
        if let Some(name) = &self.name
            && register(name.as_str(), self.ctx.pid()).is_err()
        {
            let holder = arbor_process::whereis(name).unwrap_or(Pid::ANONYMOUS);
            return Err(SupStartError::AlreadyStarted(holder));
        }
        if self.flags.strategy == Strategy::SimpleOneForOne {
            self.template = specs.into_iter().next();
            return Ok(());
        }
        for spec in specs {
            match self.start_spec(&spec, Args::none()).await {
                Ok(Started::Running(h, _)) => self.children.push(Child {
                    spec,
                    slot: Slot::Running(h),
                    backoff: BackoffState::default(),
                }),
                Ok(Started::Ignored) if spec.restart == Restart::Temporary => {}
                Ok(Started::Ignored) => self.children.push(Child {
                    spec,
                    slot: Slot::Undefined,
                    backoff: BackoffState::default(),
                }),
                Err(reason) => {
                    self.terminate_children().await;
                    return Err(SupStartError::FailedToStartChild {
                        id: spec.id.clone(),
                        reason,
                    });
                }
            }
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
                    debug!(target: "arbor::supervisor", supervisor = %self.label(), ?down, "unexpected monitor message dropped");
                    Flow::Continue
                }
            };
            if let Flow::Exit(reason) = flow {
                return reason;
            }
        }
    }

    // ===== starting =====

    /// Runs a start function inside this process and classifies the
    /// result (§2.3). A panicking start function is an error.
    async fn start_spec(&self, spec: &ChildSpec, args: Args) -> Result<Started, ExitReason> {
        let outcome = spec.call_start(args).await;
        let (handle, info) = match outcome {
            StartOutcome::Started(h, info) => (h, info),
            StartOutcome::Ignore => {
                info!(target: "arbor::supervisor", supervisor = %self.label(), child = %spec.id, "child start ignored");
                return Ok(Started::Ignored);
            }
            StartOutcome::Error(reason) => {
                error!(target: "arbor::supervisor", supervisor = %self.label(), child = %spec.id, %reason, "child failed to start");
                return Err(reason);
            }
        };
        // Usually linked already by start_link; a no-op then.
        self.ctx.link(handle.pid());
        info!(target: "arbor::supervisor", supervisor = %self.label(), child = %spec.id, pid = %handle.pid(), "child started");
        Ok(Started::Running(handle, info))
    }

    // ===== child exits =====

    async fn child_exited(&mut self, pid: Pid, reason: ExitReason) -> Flow {
        if self.template.is_some() {
            return self.dynamic_exited(pid, reason).await;
        }
        let Some(idx) = self.children.iter().position(|c| c.slot.pid() == Some(pid)) else {
            debug!(target: "arbor::supervisor", supervisor = %self.label(), %pid, %reason, "exit signal from a non-child ignored");
            return Flow::Continue;
        };
        let label = self.label();
        let child = &mut self.children[idx];
        child.slot = Slot::Undefined;
        let id = child.spec.id.clone();
        let significant = child.spec.significant;
        report_exit(&label, &id, pid, &reason);
        match exit_action(child.spec.restart, &reason) {
            ExitAction::Keep => self.auto_shutdown_check(significant).await,
            ExitAction::Remove => {
                self.children.remove(idx);
                self.auto_shutdown_check(significant).await
            }
            ExitAction::Restart => {
                if let Some(flow) = self.intensity_check().await {
                    return flow;
                }
                let key = Key::Static(id);
                if self.delay_restart(&key) {
                    return Flow::Continue;
                }
                self.restart_static(idx).await;
                Flow::Continue
            }
        }
    }

    async fn dynamic_exited(&mut self, pid: Pid, reason: ExitReason) -> Flow {
        if !self.dynamic.contains_key(&pid) {
            debug!(target: "arbor::supervisor", supervisor = %self.label(), %pid, %reason, "exit signal from a non-child ignored");
            return Flow::Continue;
        }
        let Some(template) = self.template.clone() else {
            return Flow::Continue;
        };
        let id = template.id.clone();
        report_exit(&self.label(), &id, pid, &reason);
        match exit_action(template.restart, &reason) {
            ExitAction::Keep | ExitAction::Remove => {
                self.dynamic.remove(&pid);
                Flow::Continue
            }
            ExitAction::Restart => {
                if let Some(c) = self.dynamic.get_mut(&pid) {
                    c.slot = Slot::Restarting;
                }
                if let Some(flow) = self.intensity_check().await {
                    return flow;
                }
                if self.delay_restart(&Key::Dynamic(pid)) {
                    return Flow::Continue;
                }
                self.restart_dynamic(pid).await;
                Flow::Continue
            }
        }
    }

    /// Records a restart; on too many, terminates everything and returns
    /// the exit flow (§2.7).
    async fn intensity_check(&mut self) -> Option<Flow> {
        let now = Instant::now();
        if let Err(e) = self.window.record(now) {
            error!(
                target: "arbor::supervisor",
                supervisor = %self.label(),
                restarts = e.restarts,
                intensity = self.flags.intensity,
                period = ?self.flags.period,
                "reached_max_restart_intensity: shutting down"
            );
            self.terminate_children().await;
            return Some(Flow::Exit(ExitReason::Shutdown));
        }
        None
    }

    /// With a backoff configured, marks the child restarting and schedules
    /// the (already counted) restart; `true` if it did.
    fn delay_restart(&mut self, key: &Key) -> bool {
        let now = Instant::now();
        let (spec_backoff, state) = match key {
            Key::Static(id) => {
                let Some(c) = self.children.iter_mut().find(|c| c.spec.id == *id) else {
                    return false;
                };
                let Some(b) = c.spec.backoff else {
                    return false;
                };
                c.slot = Slot::Restarting;
                (b, &mut c.backoff)
            }
            Key::Dynamic(k) => {
                let Some(b) = self.template.as_ref().and_then(|t| t.backoff) else {
                    return false;
                };
                let Some(c) = self.dynamic.get_mut(k) else {
                    return false;
                };
                c.slot = Slot::Restarting;
                (b, &mut c.backoff)
            }
        };
        let delay = state.next_delay(&spec_backoff, now);
        info!(target: "arbor::supervisor", supervisor = %self.label(), ?key, ?delay, "restart delayed by backoff");
        self.ctx.send_after(
            delay,
            SupMsg::Retry {
                key: key.clone(),
                cause: RetryCause::Exit,
            },
        );
        true
    }

    /// Queues a retry for a child whose restart failed (§2.9), behind the
    /// requests already waiting; with a backoff, after its delay.
    fn queue_retry(&mut self, key: Key) {
        let backoff = match &key {
            Key::Static(id) => self
                .children
                .iter_mut()
                .find(|c| c.spec.id == *id)
                .and_then(|c| c.spec.backoff.map(|b| (b, &mut c.backoff))),
            Key::Dynamic(k) => {
                let b = self.template.as_ref().and_then(|t| t.backoff);
                match (b, self.dynamic.get_mut(k)) {
                    (Some(b), Some(c)) => Some((b, &mut c.backoff)),
                    _ => None,
                }
            }
        };
        let delay = match backoff {
            Some((b, state)) => state.next_delay(&b, Instant::now()),
            None => Duration::ZERO,
        };
        let msg = SupMsg::Retry {
            key,
            cause: RetryCause::FailedRestart,
        };
        if delay.is_zero() {
            let _ = self.ctx.process_ref().send(msg);
        } else {
            self.ctx.send_after(delay, msg);
        }
    }

    async fn retry(&mut self, key: Key, cause: RetryCause) -> Flow {
        let still_restarting = match &key {
            Key::Static(id) => self
                .children
                .iter()
                .any(|c| c.spec.id == *id && matches!(c.slot, Slot::Restarting)),
            Key::Dynamic(k) => self
                .dynamic
                .get(k)
                .is_some_and(|c| matches!(c.slot, Slot::Restarting)),
        };
        if !still_restarting {
            return Flow::Continue;
        }
        if cause == RetryCause::FailedRestart
            && let Some(flow) = self.intensity_check().await
        {
            return flow;
        }
        match key {
            Key::Static(id) => {
                if let Some(idx) = self.children.iter().position(|c| c.spec.id == id) {
                    self.restart_static(idx).await;
                }
            }
            Key::Dynamic(k) => self.restart_dynamic(k).await,
        }
        Flow::Continue
    }

    /// The strategy's restart for static child `idx` (already not running).
    async fn restart_static(&mut self, idx: usize) {
        let first = match self.flags.strategy {
            Strategy::OneForOne => idx,
            Strategy::OneForAll => {
                self.terminate_range_for_restart(0).await;
                // Indices shifted if temporary children before idx went.
                0
            }
            Strategy::RestForOne => {
                self.terminate_range_for_restart(idx + 1).await;
                idx
            }
            Strategy::SimpleOneForOne => return,
        };
        let last = match self.flags.strategy {
            Strategy::OneForOne => idx + 1,
            _ => self.children.len(),
        };
        let label = self.label();
        for i in first..last.min(self.children.len()) {
            if matches!(self.children[i].slot, Slot::Running(_)) {
                continue;
            }
            let spec = self.children[i].spec.clone();
            info!(target: "arbor::supervisor", supervisor = %label, child = %spec.id, "restarting child");
            match self.start_spec(&spec, Args::none()).await {
                Ok(Started::Running(h, _)) => self.children[i].slot = Slot::Running(h),
                Ok(Started::Ignored) => self.children[i].slot = Slot::Undefined,
                Err(reason) => {
                    error!(target: "arbor::supervisor", supervisor = %label, child = %spec.id, %reason, "restart failed; retry queued");
                    self.children[i].slot = Slot::Restarting;
                    self.queue_retry(Key::Static(spec.id.clone()));
                    return;
                }
            }
        }
    }

    /// Terminates the running children at `from..` in reverse start order
    /// and drops the temporary ones among them (one_for_all, rest_for_one).
    async fn terminate_range_for_restart(&mut self, from: usize) {
        let label = self.label();
        for i in (from..self.children.len()).rev() {
            let child = &mut self.children[i];
            if let Slot::Running(h) = std::mem::replace(&mut child.slot, Slot::Undefined) {
                let reason = shutdown_one(&self.ctx, &h, child.spec.shutdown).await;
                report_shutdown(&label, &child.spec, h.pid(), &reason);
            }
        }
        let mut i = from;
        while i < self.children.len() {
            if self.children[i].spec.restart == Restart::Temporary {
                self.children.remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// Restarts the dynamic child last seen as `pid`.
    async fn restart_dynamic(&mut self, pid: Pid) {
        let Some(template) = self.template.clone() else {
            return;
        };
        // Validation guarantees a clonable argument for a restartable
        // template; without one the child cannot start again.
        let args = self
            .dynamic
            .get_mut(&pid)
            .and_then(|c| match template.template_args() {
                Some(t) => t.clone_args(c.args.as_mut()?),
                None => Some(Args::none()),
            });
        let Some(args) = args else {
            self.dynamic.remove(&pid);
            return;
        };
        info!(target: "arbor::supervisor", supervisor = %self.label(), child = %template.id, "restarting child");
        match self.start_spec(&template, args).await {
            Ok(Started::Running(h, _)) => {
                if let Some(mut c) = self.dynamic.remove(&pid) {
                    let new_pid = h.pid();
                    c.slot = Slot::Running(h);
                    self.dynamic.insert(new_pid, c);
                }
            }
            Ok(Started::Ignored) => {
                // Newest OTP drops the child (OTP 25 kept a bogus entry).
                self.dynamic.remove(&pid);
            }
            Err(_) => {
                if let Some(c) = self.dynamic.get_mut(&pid) {
                    c.slot = Slot::Restarting;
                }
                self.queue_retry(Key::Dynamic(pid));
            }
        }
    }

    /// §2.11: after a significant child terminated by itself and was not
    /// restarted.
    async fn auto_shutdown_check(&mut self, significant: bool) -> Flow {
        if !significant {
            return Flow::Continue;
        }
        let shut = match self.flags.auto_shutdown {
            AutoShutdown::Never => false,
            AutoShutdown::AnySignificant => true,
            AutoShutdown::AllSignificant => !self
                .children
                .iter()
                .any(|c| c.spec.significant && matches!(c.slot, Slot::Running(_))),
        };
        if !shut {
            return Flow::Continue;
        }
        info!(target: "arbor::supervisor", supervisor = %self.label(), auto_shutdown = %self.flags.auto_shutdown, "significant child terminated: shutting down");
        self.terminate_children().await;
        Flow::Exit(ExitReason::Shutdown)
    }

    /// Supervisor termination (§2.10): static children one at a time in
    /// reverse start order; dynamic children all at once, signalled in
    /// reverse order of their `start_child` (OTP leaves that order
    /// unspecified). The order also matters for speed: children were
    /// allocated in start order, and walking them in hash order instead
    /// costs a cache and TLB miss per child (W8: 2.0–2.7× raw → 1.5–1.7×
    /// on current_thread).
    async fn terminate_children(&mut self) {
        let label = self.label();
        if let Some(template) = &self.template {
            let mut running: Vec<(u64, ProcessHandle)> = self
                .dynamic
                .drain()
                .filter_map(|(_, c)| match c.slot {
                    Slot::Running(h) => Some((c.order, h)),
                    _ => None,
                })
                .collect();
            running.sort_unstable_by_key(|&(order, _)| std::cmp::Reverse(order));
            let handles = running.into_iter().map(|(_, h)| h).collect();
            shutdown_many(&self.ctx, handles, template.shutdown, |h, reason| {
                report_shutdown(&label, template, h.pid(), &reason);
            })
            .await;
            return;
        }
        for child in self.children.iter_mut().rev() {
            if let Slot::Running(h) = std::mem::replace(&mut child.slot, Slot::Undefined) {
                let reason = shutdown_one(&self.ctx, &h, child.spec.shutdown).await;
                report_shutdown(&label, &child.spec, h.pid(), &reason);
            }
        }
    }
}

/// The crash report of a child that exited by itself.
fn report_exit(sup: &str, id: &ChildId, pid: Pid, reason: &ExitReason) {
    if reason.is_normal_for_transient() {
        info!(target: "arbor::supervisor", supervisor = %sup, child = %id, %pid, %reason, "child exited");
    } else {
        error!(target: "arbor::supervisor", supervisor = %sup, child = %id, %pid, %reason, "child terminated");
    }
}

/// Logs a child stopped by the supervisor; unexpected reasons are a
/// `shutdown_error` (§2.10 step 4).
fn report_shutdown(sup: &str, spec: &ChildSpec, pid: Pid, reason: &ExitReason) {
    if acceptable(spec, reason) {
        debug!(target: "arbor::supervisor", supervisor = %sup, child = %spec.id, %pid, %reason, "child stopped");
    } else {
        warn!(target: "arbor::supervisor", supervisor = %sup, child = %spec.id, %pid, %reason, "shutdown_error");
    }
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
