//! The API requests (otp-reference §2.12, §2.13): one handler per
//! request, each answering with its operation's own error.

use arbor_process::ExitReason;
use tokio::time::Instant;

use super::{Child, DynChild, Flow, Request, Server, Slot, Started, Status, report_shutdown};
use crate::backoff::BackoffState;
use crate::shutdown::shutdown_one;
use crate::template::Args;
use crate::{
    ChildCounts, ChildId, ChildInfo, ChildSelector, ChildSpec, ChildType, DeleteChildError,
    GetChildSpecError, Restart, RestartChildError, StartChildError, StartSimpleChildError,
    StartedChild, TerminateChildError, WhichChildError,
};
use arbor_process::Process;

impl Server {
    pub(super) async fn request(&mut self, req: Request) -> Flow {
        match req {
            Request::StartChild(spec, reply) => {
                let r = self.start_child(spec).await;
                reply.reply(r);
            }
            Request::StartSimpleChild(args, reply) => {
                let r = self.start_simple_child(args).await;
                reply.reply(r);
            }
            Request::TerminateChild(target, reply) => {
                let r = self.terminate_child(target).await;
                reply.reply(r);
            }
            Request::RestartChild(id, reply) => {
                let r = self.restart_child(id).await;
                reply.reply(r);
            }
            Request::DeleteChild(id, reply) => {
                reply.reply(self.delete_child(&id));
            }
            Request::WhichChildren(reply) => {
                reply.reply(self.which_children());
            }
            Request::WhichChild(target, reply) => {
                reply.reply(self.which_child(target));
            }
            Request::CountChildren(reply) => {
                reply.reply(self.count_children());
            }
            Request::GetChildspec(target, reply) => {
                reply.reply(self.get_childspec(target));
            }
            Request::TemplateType(reply) => {
                reply.reply(
                    // A static spec used as the template takes `()`.
                    self.template.as_ref().map(|t| {
                        t.template_args()
                            .map_or(std::any::TypeId::of::<()>(), |a| a.type_id)
                    }),
                );
            }
            Request::Status(reply) => {
                let children = self.children_with_restart();
                reply.reply(Status {
                    flags: self.flags,
                    name: self.name.clone(),
                    restarts_in_window: self.window.count(Instant::now()),
                    children,
                });
            }
        }
        Flow::Continue
    }

    async fn start_child(&mut self, spec: ChildSpec) -> Result<StartedChild, StartChildError> {
        if self.template.is_some() {
            return Err(StartChildError::SimpleOneForOne);
        }
        spec.validate(self.flags.auto_shutdown)?;
        if let Some(c) = self.children.iter().find(|c| c.spec.id == spec.id) {
            return Err(match &c.slot {
                Slot::Running(h) => StartChildError::AlreadyStarted(h.pid()),
                _ => StartChildError::AlreadyPresent,
            });
        }
        match self.start_spec(&spec, Args::none()).await {
            Ok(Started::Running(h, info)) => {
                let pid = h.pid();
                self.children.push(Child {
                    spec,
                    slot: Slot::Running(h),
                    backoff: BackoffState::default(),
                });
                Ok(StartedChild::Started(pid, info))
            }
            Ok(Started::Ignored) => {
                if spec.restart != Restart::Temporary {
                    self.children.push(Child {
                        spec,
                        slot: Slot::Undefined,
                        backoff: BackoffState::default(),
                    });
                }
                Ok(StartedChild::Ignored)
            }
            Err(reason) => Err(StartChildError::StartFailed(reason)),
        }
    }

    async fn start_simple_child(
        &mut self,
        mut args: Args,
    ) -> Result<StartedChild, StartSimpleChildError> {
        // Borrowed, not cloned: `start_spec` only reads the supervisor.
        let Some(template) = &self.template else {
            // Invariant 1 of `template`: an unchecked typed handle to a
            // static supervisor; OTP's start fails the same way.
            return Err(StartSimpleChildError::StartFailed(ExitReason::custom(
                "badarg",
            )));
        };
        // Temporary children are never restarted: their argument is moved
        // into the start, not kept. A static spec used as the template
        // ignores its argument.
        let (start_args, kept) = match template.template_args() {
            Some(t) if template.restart != Restart::Temporary => match t.clone_args(&mut args) {
                Some(copy) => (copy, Some(args)),
                None => (args, None),
            },
            _ => (args, None),
        };
        match self.start_spec(template, start_args).await {
            Ok(Started::Running(h, info)) => {
                let pid = h.pid();
                let order = self.next_order;
                self.next_order += 1;
                self.dynamic.insert(
                    pid,
                    DynChild {
                        order,
                        slot: Slot::Running(h),
                        args: kept,
                        backoff: BackoffState::default(),
                    },
                );
                Ok(StartedChild::Started(pid, info))
            }
            Ok(Started::Ignored) => Ok(StartedChild::Ignored),
            Err(reason) => Err(StartSimpleChildError::StartFailed(reason)),
        }
    }

    async fn terminate_child(&mut self, target: ChildSelector) -> Result<(), TerminateChildError> {
        let label = self.label();
        if let Some(template) = self.template.clone() {
            let ChildSelector::Pid(pid) = target else {
                return Err(TerminateChildError::SimpleOneForOne);
            };
            let Some(child) = self.dynamic.remove(&pid) else {
                // A dead pid is fine (it may have just exited); a live
                // process that is not our child is not.
                return if arbor_process::is_alive(pid) {
                    Err(TerminateChildError::NotFound)
                } else {
                    Ok(())
                };
            };
            if let Slot::Running(h) = child.slot {
                let reason = shutdown_one(&self.ctx, &h, template.shutdown).await;
                report_shutdown(&label, &template, pid, &reason);
            }
            return Ok(());
        }
        let ChildSelector::Id(id) = target else {
            return Err(TerminateChildError::NotFound);
        };
        let Some(idx) = self.children.iter().position(|c| c.spec.id == id) else {
            return Err(TerminateChildError::NotFound);
        };
        let child = &mut self.children[idx];
        if let Slot::Running(h) = std::mem::replace(&mut child.slot, Slot::Undefined) {
            let reason = shutdown_one(&self.ctx, &h, child.spec.shutdown).await;
            report_shutdown(&label, &child.spec, h.pid(), &reason);
        }
        if child.spec.restart == Restart::Temporary {
            self.children.remove(idx);
        }
        Ok(())
    }

    async fn restart_child(&mut self, id: ChildId) -> Result<StartedChild, RestartChildError> {
        if self.template.is_some() {
            return Err(RestartChildError::SimpleOneForOne);
        }
        let Some(idx) = self.children.iter().position(|c| c.spec.id == id) else {
            return Err(RestartChildError::NotFound);
        };
        match &self.children[idx].slot {
            Slot::Running(_) => return Err(RestartChildError::Running),
            Slot::Restarting => return Err(RestartChildError::Restarting),
            Slot::Undefined => {}
        }
        let spec = self.children[idx].spec.clone();
        match self.start_spec(&spec, Args::none()).await {
            Ok(Started::Running(h, info)) => {
                let pid = h.pid();
                self.children[idx].slot = Slot::Running(h);
                Ok(StartedChild::Started(pid, info))
            }
            Ok(Started::Ignored) => Ok(StartedChild::Ignored),
            Err(reason) => Err(RestartChildError::StartFailed(reason)),
        }
    }

    fn delete_child(&mut self, id: &ChildId) -> Result<(), DeleteChildError> {
        if self.template.is_some() {
            return Err(DeleteChildError::SimpleOneForOne);
        }
        let Some(idx) = self.children.iter().position(|c| c.spec.id == *id) else {
            return Err(DeleteChildError::NotFound);
        };
        match self.children[idx].slot {
            Slot::Running(_) => Err(DeleteChildError::Running),
            Slot::Restarting => Err(DeleteChildError::Restarting),
            Slot::Undefined => {
                self.children.remove(idx);
                Ok(())
            }
        }
    }

    fn which_children(&self) -> Vec<ChildInfo> {
        self.map_children(|info, _| info)
    }

    fn children_with_restart(&self) -> Vec<(ChildInfo, Restart)> {
        self.map_children(|info, restart| (info, restart))
    }

    /// `f` of every child's info and restart type, newest first; dynamic
    /// children by descending start order. One list, built in place.
    fn map_children<T>(&self, f: impl Fn(ChildInfo, Restart) -> T) -> Vec<T> {
        if let Some(t) = &self.template {
            let mut newest_first: Vec<&DynChild> = self.dynamic.values().collect();
            newest_first.sort_unstable_by_key(|c| std::cmp::Reverse(c.order));
            return newest_first
                .into_iter()
                .map(|c| {
                    let info = ChildInfo {
                        id: None,
                        state: c.slot.state(),
                        child_type: t.child_type,
                    };
                    f(info, t.restart)
                })
                .collect();
        }
        self.children
            .iter()
            .rev()
            .map(|c| {
                let info = ChildInfo {
                    id: Some(c.spec.id.clone()),
                    state: c.slot.state(),
                    child_type: c.spec.child_type,
                };
                f(info, c.spec.restart)
            })
            .collect()
    }

    fn which_child(&self, target: ChildSelector) -> Result<ChildInfo, WhichChildError> {
        match (&self.template, target) {
            (Some(t), ChildSelector::Pid(pid)) => {
                let c = self.dynamic.get(&pid).ok_or(WhichChildError::NotFound)?;
                Ok(ChildInfo {
                    id: None,
                    state: c.slot.state(),
                    child_type: t.child_type,
                })
            }
            (Some(_), ChildSelector::Id(_)) => Err(WhichChildError::SimpleOneForOne),
            (None, ChildSelector::Pid(_)) => Err(WhichChildError::NotFound),
            (None, ChildSelector::Id(id)) => {
                let c = self
                    .children
                    .iter()
                    .find(|c| c.spec.id == id)
                    .ok_or(WhichChildError::NotFound)?;
                Ok(ChildInfo {
                    id: Some(id),
                    state: c.slot.state(),
                    child_type: c.spec.child_type,
                })
            }
        }
    }

    fn count_children(&self) -> ChildCounts {
        if let Some(t) = &self.template {
            let n = self.dynamic.len();
            let restarting = self
                .dynamic
                .values()
                .filter(|c| matches!(c.slot, Slot::Restarting))
                .count();
            let (supervisors, workers) = match t.child_type {
                ChildType::Supervisor => (n, 0),
                ChildType::Worker => (0, n),
            };
            return ChildCounts {
                specs: 1,
                active: n - restarting,
                supervisors,
                workers,
            };
        }
        let mut counts = ChildCounts {
            specs: self.children.len(),
            ..ChildCounts::default()
        };
        for c in &self.children {
            if let Slot::Running(h) = &c.slot
                && h.is_alive()
            {
                counts.active += 1;
            }
            match c.spec.child_type {
                ChildType::Supervisor => counts.supervisors += 1,
                ChildType::Worker => counts.workers += 1,
            }
        }
        counts
    }

    fn get_childspec(&self, target: ChildSelector) -> Result<ChildSpec, GetChildSpecError> {
        match (&self.template, target) {
            // OTP answers with the template for a current child and for any
            // dead pid (as terminate_child answers ok for one).
            (Some(t), ChildSelector::Pid(pid))
                if self.dynamic.contains_key(&pid) || !arbor_process::is_alive(pid) =>
            {
                Ok(t.clone())
            }
            (Some(_), ChildSelector::Pid(_)) => Err(GetChildSpecError::NotFound),
            // OTP looks an id up among the specs, where the template is
            // stored under its own id (oracle scenario 04).
            (Some(t), ChildSelector::Id(id)) if t.id == id => Ok(t.clone()),
            (Some(_), ChildSelector::Id(_)) => Err(GetChildSpecError::NotFound),
            (None, ChildSelector::Pid(_)) => Err(GetChildSpecError::NotFound),
            (None, ChildSelector::Id(id)) => self
                .children
                .iter()
                .find(|c| c.spec.id == id)
                .map(|c| c.spec.clone())
                .ok_or(GetChildSpecError::NotFound),
        }
    }
}
