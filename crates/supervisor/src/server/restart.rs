//! The restart machinery (docs/otp/supervisor.md#sup-init to docs/otp/supervisor.md#sup-restarting, docs/otp/supervisor.md#sup-auto-shutdown): what a child's exit does,
//! the intensity check (invariant 4), the strategies, and the retries of
//! restarts that wait for a backoff or failed. [`Server::mark_restarting`]
//! is the one place a child becomes restarting (invariant 3).

use arbor_process::{Ctx, ExitReason, Pid, Process};
use tokio::time::Instant;

use super::children::{Child, Children, Slot};
use super::message::{Key, RetryCause, SupMsg};
use super::{Flow, Server, Started, report, start_spec};
use crate::args::Args;
use crate::shutdown::shutdown_one;
use crate::{AutoShutdown, ExitAction, Restart, Strategy, exit_action};

impl Server {
    /// A child's exit signal (OTP `handle_info({'EXIT', ..})` and
    /// `do_restart/3`): the exit report, then keep, remove or restart the
    /// child by its restart type and the reason (docs/otp/supervisor.md#sup-child-exit).
    pub(super) async fn child_exited(&mut self, pid: Pid, reason: ExitReason) -> Flow {
        let label = self.label();
        #[cfg(feature = "metrics")]
        let child_id;
        let (key, action, significant) = match &mut self.children {
            Children::Static(list) => {
                let Some(idx) = list.iter().position(|c| c.slot.pid() == Some(pid)) else {
                    report::non_child_exit(&label, pid, &reason);
                    return Flow::Continue;
                };
                let child = &mut list[idx];
                child.slot = Slot::Undefined;
                report::exited(&label, &child.spec.id, pid, &reason);
                #[cfg(feature = "metrics")]
                {
                    child_id = child.spec.id.clone();
                }
                let action = exit_action(child.spec.restart, &reason);
                let significant = child.spec.significant;
                let key = Key::Static(child.spec.id.clone());
                if action == ExitAction::Remove {
                    // Invariant 1: removing keeps the others in order.
                    list.remove(idx);
                }
                (key, action, significant)
            }
            Children::Simple(s) => {
                let Some(child) = s.by_pid.get_mut(&pid) else {
                    report::non_child_exit(&label, pid, &reason);
                    return Flow::Continue;
                };
                child.slot = Slot::Undefined;
                report::exited(&label, &s.template.id, pid, &reason);
                #[cfg(feature = "metrics")]
                {
                    child_id = s.template.id.clone();
                }
                let action = exit_action(s.template.restart, &reason);
                if action != ExitAction::Restart {
                    s.by_pid.remove(&pid);
                }
                (Key::Dynamic(pid), action, s.template.significant)
            }
        };
        match action {
            ExitAction::Keep | ExitAction::Remove => self.auto_shutdown_check(significant).await,
            ExitAction::Restart => {
                // Invariant 4: the one intensity check for this exit.
                if let Some(flow) = self.intensity_check().await {
                    return flow;
                }
                #[cfg(feature = "metrics")]
                self.metrics.restart(&child_id);
                if self.has_backoff(&key) {
                    self.mark_restarting(key, RetryCause::Exit);
                } else {
                    self.restart(key).await;
                }
                Flow::Continue
            }
        }
    }

    /// A queued retry (OTP `try_again_restart`): restarts the child if it
    /// is still restarting; a failed restart's retry first makes its own
    /// intensity check (invariant 4).
    pub(super) async fn retry(&mut self, key: Key, cause: RetryCause) -> Flow {
        // Invariant 3: a child no longer restarting was terminated,
        // deleted or restarted by its strategy since; the retry is stale.
        let still_restarting = self
            .children
            .retry_entry(&key)
            .is_some_and(|e| e.slot.is_restarting());
        if !still_restarting {
            return Flow::Continue;
        }
        match cause {
            // Invariant 4: counted when the exit arrived.
            RetryCause::Exit => {}
            RetryCause::FailedRestart => {
                if let Some(flow) = self.intensity_check().await {
                    return flow;
                }
                // Counted as the intensity window counts it.
                #[cfg(feature = "metrics")]
                if let Some(id) = self.children.metrics_id(&key) {
                    self.metrics.restart(&id);
                }
            }
        }
        self.restart(key).await;
        Flow::Continue
    }

    /// Records a restart; on too many, terminates everything and returns
    /// the exit flow (docs/otp/supervisor.md#sup-intensity, OTP `add_restart/1`).
    async fn intensity_check(&mut self) -> Option<Flow> {
        if let Err(e) = self.window.record(Instant::now()) {
            report::max_intensity(&self.label(), e.restarts, &self.flags);
            #[cfg(feature = "metrics")]
            self.metrics.escalation();
            self.terminate_children().await;
            return Some(Flow::Exit(ExitReason::Shutdown));
        }
        None
    }

    fn has_backoff(&mut self, key: &Key) -> bool {
        self.children
            .retry_entry(key)
            .is_some_and(|e| e.backoff.is_some())
    }

    /// The one place a child becomes restarting (invariant 3): marks it
    /// and queues its retry, after its backoff's delay if it has one,
    /// else at once, behind the requests already waiting (docs/otp/supervisor.md#sup-restarting: never
    /// block the mailbox on retries).
    fn mark_restarting(&mut self, key: Key, cause: RetryCause) {
        let Some(entry) = self.children.retry_entry(&key) else {
            return;
        };
        *entry.slot = Slot::Restarting;
        let delay = entry
            .backoff
            .map(|b| entry.state.next_delay(&b, Instant::now()));
        match (cause, delay) {
            (RetryCause::Exit, Some(delay)) => {
                report::restart_delayed(&self.label(), &key, delay);
                self.ctx.send_after(delay, SupMsg::Retry { key, cause });
            }
            (RetryCause::FailedRestart, Some(delay)) if !delay.is_zero() => {
                self.ctx.send_after(delay, SupMsg::Retry { key, cause });
            }
            _ => {
                let _ = self.ctx.process_ref().send(SupMsg::Retry { key, cause });
            }
        }
    }

    /// Restarts the child now, by the strategy for a static child.
    async fn restart(&mut self, key: Key) {
        match key {
            Key::Static(id) => {
                let idx = match &self.children {
                    Children::Static(list) => list.iter().position(|c| c.spec.id == id),
                    Children::Simple(_) => None,
                };
                if let Some(idx) = idx {
                    self.restart_static(idx).await;
                }
            }
            Key::Dynamic(pid) => self.restart_dynamic(pid).await,
        }
    }

    /// The strategy's restart for static child `idx` (already not
    /// running); OTP `restart/3`. one_for_all and rest_for_one stop the
    /// children from the first one concerned in reverse order, then start
    /// them in order; a failed start stops the pass and queues a retry.
    async fn restart_static(&mut self, idx: usize) {
        let label = self.label();
        let strategy = self.flags.strategy;
        let Children::Static(list) = &mut self.children else {
            return;
        };
        let first = match strategy {
            Strategy::OneForOne => idx,
            Strategy::OneForAll => {
                terminate_for_restart(&self.ctx, &label, list, 0).await;
                // Indices shifted if temporary children before idx went.
                0
            }
            Strategy::RestForOne => {
                terminate_for_restart(&self.ctx, &label, list, idx + 1).await;
                idx
            }
            // Invariant 2: static storage means another strategy.
            Strategy::SimpleOneForOne => return,
        };
        let last = match strategy {
            Strategy::OneForOne => idx + 1,
            _ => list.len(),
        };
        for i in first..last.min(list.len()) {
            if list[i].slot.is_running() {
                continue;
            }
            let spec = &list[i].spec;
            report::restarting(&label, &spec.id);
            match start_spec(&self.ctx, &label, spec, Args::none()).await {
                Ok(Started::Running(h, _)) => list[i].slot = Slot::Running(h),
                Ok(Started::Ignored) => list[i].slot = Slot::Undefined,
                Err(reason) => {
                    report::restart_failed(&label, &spec.id, &reason);
                    let key = Key::Static(spec.id.clone());
                    self.mark_restarting(key, RetryCause::FailedRestart);
                    return;
                }
            }
        }
    }

    /// Restarts the dynamic child last seen as `pid`, with a copy of its
    /// argument; the entry moves to the new pid.
    async fn restart_dynamic(&mut self, pid: Pid) {
        let label = self.label();
        let Children::Simple(s) = &mut self.children else {
            return;
        };
        // Validation guarantees a clonable argument for a restartable
        // template; without one the child cannot start again.
        let args = s
            .by_pid
            .get_mut(&pid)
            .and_then(|c| match s.template.template_args() {
                Some(t) => t.clone_args(c.args.as_mut()?),
                None => Some(Args::none()),
            });
        let Some(args) = args else {
            s.by_pid.remove(&pid);
            return;
        };
        report::restarting(&label, &s.template.id);
        match start_spec(&self.ctx, &label, &s.template, args).await {
            Ok(Started::Running(h, _)) => {
                if let Some(mut c) = s.by_pid.remove(&pid) {
                    let new_pid = h.pid();
                    c.slot = Slot::Running(h);
                    s.by_pid.insert(new_pid, c);
                }
            }
            Ok(Started::Ignored) => {
                // Newest OTP drops the child (OTP 25 kept a bogus entry).
                s.by_pid.remove(&pid);
            }
            Err(_) => self.mark_restarting(Key::Dynamic(pid), RetryCause::FailedRestart),
        }
    }

    /// docs/otp/supervisor.md#sup-auto-shutdown: after a significant child terminated by itself and was not
    /// restarted.
    async fn auto_shutdown_check(&mut self, significant: bool) -> Flow {
        if !significant {
            return Flow::Continue;
        }
        let shut = match self.flags.auto_shutdown {
            AutoShutdown::Never => false,
            AutoShutdown::AnySignificant => true,
            AutoShutdown::AllSignificant => match &self.children {
                Children::Static(list) => !list
                    .iter()
                    .any(|c| c.spec.significant && c.slot.is_running()),
                // Unreachable: SupFlags::validate keeps auto_shutdown
                // `never` with simple_one_for_one.
                Children::Simple(s) => {
                    !(s.template.significant && s.by_pid.values().any(|c| c.slot.is_running()))
                }
            },
        };
        if !shut {
            return Flow::Continue;
        }
        report::auto_shutdown(&self.label(), self.flags.auto_shutdown);
        self.terminate_children().await;
        Flow::Exit(ExitReason::Shutdown)
    }
}

/// Terminates the running static children at `from..` in reverse start
/// order and drops the temporary ones among them (one_for_all,
/// rest_for_one; invariant 1: the rest keep their order).
async fn terminate_for_restart(
    ctx: &Ctx<SupMsg>,
    sup: &report::Label,
    list: &mut Vec<Child>,
    from: usize,
) {
    for child in list.iter_mut().skip(from).rev() {
        if let Slot::Running(h) = std::mem::replace(&mut child.slot, Slot::Undefined) {
            let reason = shutdown_one(ctx, &h, child.spec.shutdown).await;
            report::shutdown(sup, &child.spec, h.pid(), &reason);
        }
    }
    let mut i = from;
    while i < list.len() {
        if list[i].spec.restart == Restart::Temporary {
            list.remove(i);
        } else {
            i += 1;
        }
    }
}
