//! The API requests (docs/otp/supervisor.md#sup-api, docs/otp/supervisor.md#sup-simple): one handler per
//! request, each answering with its operation's own error, and each one
//! `match` on the children storage (invariant 2).

use arbor_process::{ExitReason, Process};
use tokio::time::Instant;

use super::children::{Child, Children, DynChild, Slot};
use super::message::{Request, Status};
use super::{Flow, Server, Started, report, start_spec};
use crate::args::Args;
use crate::backoff::BackoffState;
use crate::shutdown::shutdown_one;
use crate::{
    ChildCounts, ChildId, ChildInfo, ChildSelector, ChildSpec, ChildType, DeleteChildError,
    GetChildSpecError, Restart, RestartChildError, StartChildError, StartSimpleChildError,
    StartedChild, TerminateChildError, WhichChildError,
};

impl Server {
    pub(super) async fn request(&mut self, req: Request) -> Flow {
        match req {
            Request::StartChild(spec, reply) => {
                let r = self.start_child(*spec).await;
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
                reply.reply(match &self.children {
                    Children::Static(_) => None,
                    // A static spec used as the template takes `()`.
                    Children::Simple(s) => Some(
                        s.template
                            .template_args()
                            .map_or(std::any::TypeId::of::<()>(), |a| a.type_id),
                    ),
                });
            }
            Request::Status(reply) => {
                let children = self.children_with_restart();
                reply.reply(Status {
                    flags: self.flags,
                    name: self.name.as_deref().map(str::to_owned),
                    restarts_in_window: self.window.count(Instant::now()),
                    children,
                });
            }
        }
        Flow::Continue
    }

    async fn start_child(&mut self, spec: ChildSpec) -> Result<StartedChild, StartChildError> {
        let label = self.label();
        let Children::Static(list) = &mut self.children else {
            return Err(StartChildError::SimpleOneForOne);
        };
        spec.validate(self.flags.auto_shutdown)?;
        if let Some(c) = list.iter().find(|c| c.spec.id == spec.id) {
            return Err(match &c.slot {
                Slot::Running(h) => StartChildError::AlreadyStarted(h.pid()),
                _ => StartChildError::AlreadyPresent,
            });
        }
        // Invariant 1: a new child goes at the end of the start order.
        match start_spec(&self.ctx, &label, &spec, Args::none()).await {
            Ok(Started::Running(h, info)) => {
                let pid = h.pid();
                list.push(Child::new(spec, Slot::Running(h)));
                Ok(StartedChild::Started(pid, info))
            }
            Ok(Started::Ignored) => {
                if spec.restart != Restart::Temporary {
                    list.push(Child::new(spec, Slot::Undefined));
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
        let label = self.label();
        let Children::Simple(s) = &mut self.children else {
            // Invariant 1 of `template`: an unchecked typed handle to a
            // static supervisor; OTP's start fails the same way.
            return Err(StartSimpleChildError::StartFailed(ExitReason::custom(
                "badarg",
            )));
        };
        let template = &s.template;
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
        match start_spec(&self.ctx, &label, template, start_args).await {
            Ok(Started::Running(h, info)) => {
                let pid = h.pid();
                let order = s.next_order;
                s.next_order += 1;
                s.by_pid.insert(
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
        match (&mut self.children, target) {
            (Children::Static(_), ChildSelector::Pid(_)) => Err(TerminateChildError::NotFound),
            (Children::Static(list), ChildSelector::Id(id)) => {
                let Some(idx) = list.iter().position(|c| c.spec.id == id) else {
                    return Err(TerminateChildError::NotFound);
                };
                let child = &mut list[idx];
                // Invariant 3: a restarting child becomes undefined; its
                // queued retry is then stale.
                if let Slot::Running(h) = std::mem::replace(&mut child.slot, Slot::Undefined) {
                    let reason = shutdown_one(&self.ctx, &h, child.spec.shutdown).await;
                    report::shutdown(&label, &child.spec, h.pid(), &reason);
                }
                if child.spec.restart == Restart::Temporary {
                    list.remove(idx);
                }
                Ok(())
            }
            (Children::Simple(_), ChildSelector::Id(_)) => {
                Err(TerminateChildError::SimpleOneForOne)
            }
            (Children::Simple(s), ChildSelector::Pid(pid)) => {
                let Some(child) = s.by_pid.remove(&pid) else {
                    // A dead pid is fine (it may have just exited); a live
                    // process that is not our child is not.
                    return if arbor_process::is_alive(pid) {
                        Err(TerminateChildError::NotFound)
                    } else {
                        Ok(())
                    };
                };
                if let Slot::Running(h) = child.slot {
                    let reason = shutdown_one(&self.ctx, &h, s.template.shutdown).await;
                    report::shutdown(&label, &s.template, pid, &reason);
                }
                Ok(())
            }
        }
    }

    async fn restart_child(&mut self, id: ChildId) -> Result<StartedChild, RestartChildError> {
        let label = self.label();
        let Children::Static(list) = &mut self.children else {
            return Err(RestartChildError::SimpleOneForOne);
        };
        let Some(child) = list.iter_mut().find(|c| c.spec.id == id) else {
            return Err(RestartChildError::NotFound);
        };
        match &child.slot {
            Slot::Running(_) => return Err(RestartChildError::Running),
            Slot::Restarting => return Err(RestartChildError::Restarting),
            Slot::Undefined => {}
        }
        match start_spec(&self.ctx, &label, &child.spec, Args::none()).await {
            Ok(Started::Running(h, info)) => {
                let pid = h.pid();
                child.slot = Slot::Running(h);
                Ok(StartedChild::Started(pid, info))
            }
            Ok(Started::Ignored) => Ok(StartedChild::Ignored),
            Err(reason) => Err(RestartChildError::StartFailed(reason)),
        }
    }

    fn delete_child(&mut self, id: &ChildId) -> Result<(), DeleteChildError> {
        let Children::Static(list) = &mut self.children else {
            return Err(DeleteChildError::SimpleOneForOne);
        };
        let Some(idx) = list.iter().position(|c| c.spec.id == *id) else {
            return Err(DeleteChildError::NotFound);
        };
        match list[idx].slot {
            Slot::Running(_) => Err(DeleteChildError::Running),
            Slot::Restarting => Err(DeleteChildError::Restarting),
            Slot::Undefined => {
                // Invariant 1: the others keep their order.
                list.remove(idx);
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
        match &self.children {
            Children::Static(list) => list
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
                .collect(),
            Children::Simple(s) => {
                let mut newest_first: Vec<&DynChild> = s.by_pid.values().collect();
                newest_first.sort_unstable_by_key(|c| std::cmp::Reverse(c.order));
                newest_first
                    .into_iter()
                    .map(|c| {
                        let info = ChildInfo {
                            id: None,
                            state: c.slot.state(),
                            child_type: s.template.child_type,
                        };
                        f(info, s.template.restart)
                    })
                    .collect()
            }
        }
    }

    fn which_child(&self, target: ChildSelector) -> Result<ChildInfo, WhichChildError> {
        match (&self.children, target) {
            (Children::Static(_), ChildSelector::Pid(_)) => Err(WhichChildError::NotFound),
            (Children::Static(list), ChildSelector::Id(id)) => {
                let c = list
                    .iter()
                    .find(|c| c.spec.id == id)
                    .ok_or(WhichChildError::NotFound)?;
                Ok(ChildInfo {
                    id: Some(id),
                    state: c.slot.state(),
                    child_type: c.spec.child_type,
                })
            }
            (Children::Simple(_), ChildSelector::Id(_)) => Err(WhichChildError::SimpleOneForOne),
            (Children::Simple(s), ChildSelector::Pid(pid)) => {
                let c = s.by_pid.get(&pid).ok_or(WhichChildError::NotFound)?;
                Ok(ChildInfo {
                    id: None,
                    state: c.slot.state(),
                    child_type: s.template.child_type,
                })
            }
        }
    }

    fn count_children(&self) -> ChildCounts {
        match &self.children {
            Children::Static(list) => {
                let mut counts = ChildCounts {
                    specs: list.len(),
                    ..ChildCounts::default()
                };
                for c in list {
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
            Children::Simple(s) => {
                let n = s.by_pid.len();
                let restarting = s.by_pid.values().filter(|c| c.slot.is_restarting()).count();
                let (supervisors, workers) = match s.template.child_type {
                    ChildType::Supervisor => (n, 0),
                    ChildType::Worker => (0, n),
                };
                ChildCounts {
                    specs: 1,
                    active: n - restarting,
                    supervisors,
                    workers,
                }
            }
        }
    }

    fn get_childspec(&self, target: ChildSelector) -> Result<ChildSpec, GetChildSpecError> {
        match (&self.children, target) {
            (Children::Static(_), ChildSelector::Pid(_)) => Err(GetChildSpecError::NotFound),
            (Children::Static(list), ChildSelector::Id(id)) => list
                .iter()
                .find(|c| c.spec.id == id)
                .map(|c| c.spec.clone())
                .ok_or(GetChildSpecError::NotFound),
            // OTP answers with the template for a current child and for any
            // dead pid (as terminate_child answers ok for one).
            (Children::Simple(s), ChildSelector::Pid(pid))
                if s.by_pid.contains_key(&pid) || !arbor_process::is_alive(pid) =>
            {
                Ok(s.template.clone())
            }
            (Children::Simple(_), ChildSelector::Pid(_)) => Err(GetChildSpecError::NotFound),
            // OTP looks an id up among the specs, where the template is
            // stored under its own id (oracle scenario 04).
            (Children::Simple(s), ChildSelector::Id(id)) if s.template.id == id => {
                Ok(s.template.clone())
            }
            (Children::Simple(_), ChildSelector::Id(_)) => Err(GetChildSpecError::NotFound),
        }
    }
}
