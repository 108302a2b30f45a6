//! The manager process: owns the handlers and dispatches to them.
//!
//! Invariants:
//! 1. `entries` is in registration order (oldest first); ids are unique.
//!    Dispatch walks it by index: a handler removed during a dispatch is
//!    taken out at its index (the walk stays there), a handler swapped in
//!    takes the old one's index and does not see the current event.
//! 2. Every entry with an owner holds exactly one monitor on it; the monitor
//!    is removed with the entry.
//! 3. Every removed handler goes through [`Manager::finish`]: `terminate`
//!    once, one report, the owner told (unless the owner's own death is the
//!    reason).
//! 4. The dispatch path allocates nothing: handlers see `&E`; `acks` is
//!    reused and only filled by event streams on synchronous events.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use arbor_process::{Ctx, ExitReason, MonitorRef, Msg, Myself, Name, Pid, Process, StartError};
use tokio::sync::oneshot;

use super::gate::Gate;
use super::handler::{Acks, Slot};
use super::message::{Admin, ManagerMsg};
use crate::reason::panic_message;
use crate::{
    AddError, EventManagerRef, HandlerCallError, HandlerCtx, HandlerError, HandlerExit, HandlerId,
    HandlerInfo, HandlerReply, Owner, Payload, RemoveError, RemoveReason, Step, Swap, SwapError,
};

const TARGET: &str = "arbor::genevent";

struct Entry<E> {
    id: HandlerId,
    slot: Box<dyn Slot<E>>,
    owner: Option<Owned>,
}

struct Owned {
    owner: Owner,
    monitor: MonitorRef,
}

struct Manager<E> {
    entries: Vec<Entry<E>>,
    me: EventManagerRef<E>,
    acks: Acks,
    #[cfg(feature = "metrics")]
    metrics: super::metrics::ManagerMetrics,
}

/// Runs a callback, turning an error or a panic into the removal reason.
#[inline]
fn guard<T>(f: impl FnOnce() -> Result<T, HandlerError>) -> Result<T, RemoveReason> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(RemoveReason::Failed(e)),
        Err(panic) => Err(RemoveReason::Panicked(panic_message(&*panic))),
    }
}

pub(crate) async fn run<E: Send + 'static>(
    mut ctx: Ctx<ManagerMsg<E>>,
    name: Option<Name>,
    parent: Option<Pid>,
    gate: Option<Arc<Gate>>,
    ack: oneshot::Sender<Result<(), StartError>>,
) -> ExitReason {
    let pid = ctx.pid();
    #[cfg(feature = "metrics")]
    let metrics = super::metrics::ManagerMetrics::new(name.as_ref().map(Name::as_str));
    if let Some(g) = &gate {
        Gate::publish(pid, g);
    }
    if let Some(name) = name
        && let Err(e) = arbor_process::register(name, pid)
    {
        let holder = match e {
            arbor_process::RegisterError::AlreadyRegistered(p) => p,
            _ => pid,
        };
        // Fail the start without an exit signal to the parent (OTP 26+).
        if let Some(p) = parent {
            ctx.unlink(p);
        }
        Gate::unpublish(pid);
        let _ = ack.send(Err(StartError::AlreadyStarted(holder)));
        return ExitReason::Normal;
    }
    let mut m = Manager {
        entries: Vec::new(),
        me: EventManagerRef {
            inner: ctx.process_ref(),
            gate: gate.clone(),
        },
        acks: Vec::new(),
        #[cfg(feature = "metrics")]
        metrics,
    };
    if ack.send(Ok(())).is_err() {
        // The starter was cancelled: nobody holds a handle to us.
        Gate::unpublish(pid);
        return ExitReason::Normal;
    }
    tracing::info!(target: TARGET, manager = %pid, "event manager started");
    let reason = loop {
        match ctx.recv().await {
            Msg::Message(ManagerMsg::Notify(event)) => {
                if let Some(g) = &gate {
                    g.taken();
                }
                #[cfg(feature = "metrics")]
                m.metrics.notified.increment(1);
                m.dispatch(&ctx, &event, false);
            }
            Msg::Message(ManagerMsg::SyncNotify(event, reply)) => {
                #[cfg(feature = "metrics")]
                m.metrics.sync_notified.increment(1);
                m.dispatch(&ctx, &event, true);
                for ack in m.acks.drain(..) {
                    // Err: the stream was dropped, which counts as processed.
                    let _ = ack.await;
                }
                let _ = reply.send(());
            }
            Msg::Message(ManagerMsg::Admin(admin)) => m.admin(&ctx, *admin),
            Msg::Message(ManagerMsg::Info(payload)) => {
                m.dispatch_info(&ctx, &HandlerInfo::Message(payload));
            }
            Msg::Message(ManagerMsg::Unsubscribe(id)) => {
                if let Some(i) = m.position(&id) {
                    let _ = m.remove_at(&ctx, i, RemoveReason::Deleted);
                }
            }
            Msg::Message(ManagerMsg::Stop(reason)) => break *reason,
            // The parent's exit stops in order; every other trapped exit,
            // `shutdown` included, is info (docs/otp/gen_event.md#ev-info).
            Msg::Exit(sig) if Some(sig.from) == parent => break sig.reason,
            Msg::Exit(sig) => m.dispatch_info(&ctx, &HandlerInfo::Exit(sig)),
            // Only owners are monitored (handlers cannot monitor), so an
            // unmatched notification is a stale one for a handler removed
            // meanwhile: dropped.
            Msg::Down(down) => m.owner_down(&ctx, down.monitor, &down.reason),
        }
    };
    m.stop_all(&ctx);
    Gate::unpublish(pid);
    tracing::info!(target: TARGET, manager = %pid, reason = %reason, "event manager stopped");
    reason
}

// ===== impl Manager =====

impl<E: Send + 'static> Manager<E> {
    fn position(&self, id: &HandlerId) -> Option<usize> {
        self.entries.iter().position(|e| &e.id == id)
    }

    /// Invariant 1 and 4: one pass in registration order, no allocation.
    ///
    /// One `catch_unwind` around the whole pass rather than one per
    /// handler: `i` lives outside it, so after a panic it still names the
    /// handler that panicked (every other callee on the pass catches its own
    /// panics); that handler is removed and the pass resumes at `i`.
    fn dispatch(&mut self, me: &impl Myself, event: &E, sync: bool) {
        let mut i = 0;
        loop {
            let pass = catch_unwind(AssertUnwindSafe(|| {
                self.dispatch_from(me, event, sync, &mut i)
            }));
            match pass {
                Ok(()) => return,
                Err(panic) => {
                    let reason = RemoveReason::Panicked(panic_message(&*panic));
                    let _ = self.remove_at(me, i, reason);
                }
            }
        }
    }

    #[inline]
    fn dispatch_from(&mut self, me: &impl Myself, event: &E, sync: bool, i: &mut usize) {
        loop {
            // The pass over the rest of the list iterates a slice, so the
            // loop bounds stay in registers across the handlers' calls; only
            // an outcome other than `Keep` leaves it (and `apply` changes
            // the list).
            let Manager {
                entries,
                me: mref,
                acks,
                ..
            } = self;
            let mut acks = if sync { Some(acks) } else { None };
            let mut outcome = None;
            for entry in entries[*i..].iter_mut() {
                let ctx = HandlerCtx {
                    manager: mref,
                    id: &entry.id,
                };
                match entry.slot.event(event, acks.as_deref_mut(), &ctx) {
                    Ok(Step::Keep) => *i += 1,
                    other => {
                        outcome = Some(other);
                        break;
                    }
                }
            }
            match outcome {
                None => return,
                Some(other) => *i = self.apply(me, *i, other.map_err(RemoveReason::Failed)),
            }
        }
    }

    fn dispatch_info(&mut self, me: &impl Myself, info: &HandlerInfo) {
        let mut i = 0;
        while i < self.entries.len() {
            let entry = &mut self.entries[i];
            let ctx = HandlerCtx {
                manager: &self.me,
                id: &entry.id,
            };
            let slot = &mut entry.slot;
            let step = guard(|| slot.info(info, &ctx));
            i = self.apply(me, i, step);
        }
    }

    /// Applies a callback's outcome to the handler at `i`; returns the index
    /// of the next handler to visit (invariant 1). Kept out of line: the
    /// dispatch loop handles `Keep` itself.
    #[cold]
    #[inline(never)]
    fn apply(&mut self, me: &impl Myself, i: usize, step: Result<Step<E>, RemoveReason>) -> usize {
        match step {
            Ok(Step::Keep) => i + 1,
            Ok(Step::Remove) => {
                let _ = self.remove_at(me, i, RemoveReason::Removed);
                i
            }
            Ok(Step::Swap(swap)) => self.swap_at(me, i, *swap),
            Err(reason) => {
                let _ = self.remove_at(me, i, reason);
                i
            }
        }
    }

    /// Removes the handler at `i`; returns what its `terminate` gave, which
    /// only `remove_handler` answers with (a panic was already reported).
    fn remove_at(&mut self, me: &impl Myself, i: usize, reason: RemoveReason) -> Terminated {
        let entry = self.entries.remove(i);
        self.finish(me, entry, reason)
    }

    /// Invariant 3: terminate, report, tell the owner, drop the monitor.
    fn finish(&self, me: &impl Myself, mut entry: Entry<E>, reason: RemoveReason) -> Terminated {
        let value = terminate(&self.me, &mut entry, &reason);
        report_removed(me.pid(), &entry.id, &reason);
        #[cfg(feature = "metrics")]
        if reason.is_crash() {
            self.metrics.handler_crashed(&entry.id);
        }
        if let Some(owned) = entry.owner {
            me.demonitor(owned.monitor);
            if !matches!(reason, RemoveReason::OwnerExited(_)) {
                owned.owner.tell(HandlerExit {
                    manager: me.pid(),
                    id: entry.id,
                    reason,
                });
            }
        }
        value
    }

    /// A callback asked to swap the handler at `i` (docs/otp/gen_event.md#ev-callbacks): the new handler
    /// takes its position and owner; returns the next index to visit.
    fn swap_at(&mut self, me: &impl Myself, i: usize, swap: Swap<E>) -> usize {
        let Swap { id, mut slot } = swap;
        let reason = RemoveReason::Swapped { to: id.clone() };
        let entry = &mut self.entries[i];
        let previous = terminate(&self.me, entry, &reason);
        report_removed(me.pid(), &entry.id, &reason);
        if let Some(owned) = &entry.owner {
            owned.owner.tell(HandlerExit {
                manager: me.pid(),
                id: entry.id.clone(),
                reason,
            });
        }
        let init = if id != self.entries[i].id && self.position(&id).is_some() {
            Err(RemoveReason::Failed(HandlerError::msg("already_present")))
        } else {
            let ctx = HandlerCtx {
                manager: &self.me,
                id: &id,
            };
            guard(|| slot.init(Some(Some(previous)), &ctx))
        };
        match init {
            Ok(()) => {
                let entry = &mut self.entries[i];
                entry.id = id;
                entry.slot = slot;
                report_added(me.pid(), &entry.id);
                i + 1
            }
            Err(failure) => {
                // The handler disappears; its owner, told `Swapped` above, is
                // then told the new handler crashed (OTP `{gen_event_EXIT,
                // H2, crash}`), with the init's failure as the reason.
                let entry = self.entries.remove(i);
                tracing::warn!(target: TARGET, manager = %me.pid(), handler = %id,
                    reason = %failure, "swapped-in handler failed to init");
                if let Some(owned) = entry.owner {
                    me.demonitor(owned.monitor);
                    owned.owner.tell(HandlerExit {
                        manager: me.pid(),
                        id,
                        reason: failure,
                    });
                }
                i
            }
        }
    }

    /// The owner watched through `monitor` died: removes **every** handler
    /// of that owner, in registration order (docs/otp/gen_event.md#ev-owners: one owner exit removes
    /// all its handlers in list order). Each handler holds its own monitor
    /// (invariant 2), and after a swap the inherited monitor can be older
    /// than a later-registered handler's, so the order must not follow the
    /// order in which the monitors fire; the owner's other notifications
    /// arrive later and match nothing (dropped as stale).
    fn owner_down(&mut self, me: &impl Myself, monitor: MonitorRef, reason: &ExitReason) {
        let Some(owner) = self.entries.iter().find_map(|e| {
            e.owner
                .as_ref()
                .filter(|o| o.monitor == monitor)
                .map(|o| o.owner.pid)
        }) else {
            return;
        };
        let mut i = 0;
        while i < self.entries.len() {
            if self.entries[i]
                .owner
                .as_ref()
                .is_some_and(|o| o.owner.pid == owner)
            {
                let _ = self.remove_at(me, i, RemoveReason::OwnerExited(reason.clone()));
            } else {
                i += 1;
            }
        }
    }

    /// Every handler's `terminate(Stop)`, in registration order.
    fn stop_all(&mut self, me: &impl Myself) {
        let entries = std::mem::take(&mut self.entries);
        for entry in entries {
            let _ = self.finish(me, entry, RemoveReason::Stop);
        }
    }

    fn admin(&mut self, me: &impl Myself, admin: Admin<E>) {
        match admin {
            Admin::Add {
                id,
                slot,
                owner,
                reply,
            } => {
                reply.reply(self.add(me, id, slot, owner));
            }
            Admin::Remove { id, reply } => {
                let out = match self.position(&id) {
                    Some(i) => self
                        .remove_at(me, i, RemoveReason::Deleted)
                        .map_err(RemoveError::TerminatePanicked),
                    None => Err(RemoveError::NotFound),
                };
                reply.reply(out);
            }
            Admin::Swap {
                old,
                id,
                slot,
                owner,
                reply,
            } => {
                reply.reply(self.swap(me, old, id, slot, owner));
            }
            Admin::Call { id, request, reply } => {
                reply.reply(self.call(me, &id, request));
            }
            Admin::Which(reply) => {
                reply.reply(self.entries.iter().map(|e| e.id.clone()).collect());
            }
        }
    }

    fn add(
        &mut self,
        me: &impl Myself,
        id: HandlerId,
        mut slot: Box<dyn Slot<E>>,
        owner: Option<Owner>,
    ) -> Result<(), AddError> {
        if self.position(&id).is_some() {
            return Err(AddError::AlreadyPresent(id));
        }
        let ctx = HandlerCtx {
            manager: &self.me,
            id: &id,
        };
        match guard(|| slot.init(None, &ctx)) {
            Ok(()) => {}
            Err(RemoveReason::Panicked(m)) => return Err(AddError::InitPanicked(m)),
            Err(RemoveReason::Failed(e)) => return Err(AddError::Init(e)),
            Err(other) => return Err(AddError::Init(HandlerError::msg(other.to_string()))),
        }
        let owner = owner.map(|owner| Owned {
            monitor: me.monitor(owner.pid),
            owner,
        });
        report_added(me.pid(), &id);
        self.entries.push(Entry { id, slot, owner });
        Ok(())
    }

    /// The API swap (docs/otp/gen_event.md#ev-api): the old handler is removed first and stays
    /// removed whatever happens next; the new one is appended (newest).
    fn swap(
        &mut self,
        me: &impl Myself,
        old: HandlerId,
        id: HandlerId,
        mut slot: Box<dyn Slot<E>>,
        owner: Option<Owner>,
    ) -> Result<(), SwapError> {
        let (previous, inherited) = match self.position(&old) {
            Some(i) => {
                let mut entry = self.entries.remove(i);
                let reason = RemoveReason::Swapped { to: id.clone() };
                let value = terminate(&self.me, &mut entry, &reason);
                report_removed(me.pid(), &entry.id, &reason);
                if let Some(owned) = &entry.owner {
                    owned.owner.tell(HandlerExit {
                        manager: me.pid(),
                        id: entry.id.clone(),
                        reason,
                    });
                }
                (Some(value), entry.owner)
            }
            None => (None, None),
        };
        let drop_inherited = |inherited: Option<Owned>| {
            if let Some(o) = inherited {
                me.demonitor(o.monitor);
            }
        };
        if self.position(&id).is_some() {
            drop_inherited(inherited);
            return Err(SwapError::AlreadyPresent(id));
        }
        let ctx = HandlerCtx {
            manager: &self.me,
            id: &id,
        };
        match guard(|| slot.init(Some(previous), &ctx)) {
            Ok(()) => {}
            Err(failure) => {
                drop_inherited(inherited);
                return Err(match failure {
                    RemoveReason::Panicked(m) => SwapError::InitPanicked(m),
                    RemoveReason::Failed(e) => SwapError::Init(e),
                    other => SwapError::Init(HandlerError::msg(other.to_string())),
                });
            }
        }
        let owner = match owner {
            Some(owner) => {
                drop_inherited(inherited);
                Some(Owned {
                    monitor: me.monitor(owner.pid),
                    owner,
                })
            }
            None => inherited,
        };
        report_added(me.pid(), &id);
        self.entries.push(Entry { id, slot, owner });
        Ok(())
    }

    fn call(
        &mut self,
        me: &impl Myself,
        id: &HandlerId,
        request: Payload,
    ) -> Result<Payload, HandlerCallError> {
        let i = self.position(id).ok_or(HandlerCallError::NotFound)?;
        let entry = &mut self.entries[i];
        let ctx = HandlerCtx {
            manager: &self.me,
            id: &entry.id,
        };
        let slot = &mut entry.slot;
        match guard(|| slot.call(request, &ctx)) {
            Ok(HandlerReply { reply, step }) => {
                self.apply(me, i, Ok(step));
                Ok(reply)
            }
            Err(reason) => {
                let _ = self.remove_at(me, i, reason.clone());
                Err(HandlerCallError::Failed(reason))
            }
        }
    }
}

/// What a removed handler's `terminate` gave: its value, or its panic
/// message (OTP `{'EXIT', Reason}`).
type Terminated = Result<Payload, Arc<str>>;

/// Runs `terminate`; a panic in it is reported and returned as the error
/// (the handler is removed anyway).
fn terminate<E: Send + 'static>(
    me: &EventManagerRef<E>,
    entry: &mut Entry<E>,
    reason: &RemoveReason,
) -> Terminated {
    let ctx = HandlerCtx {
        manager: me,
        id: &entry.id,
    };
    let slot = &mut entry.slot;
    match catch_unwind(AssertUnwindSafe(|| slot.terminate(reason, &ctx))) {
        Ok(value) => Ok(value),
        Err(panic) => {
            let panic: Box<dyn Any + Send> = panic;
            let message = panic_message(&*panic);
            tracing::error!(target: TARGET, manager = %me.inner.pid(), handler = %entry.id,
                panic = %message, "handler terminate panicked");
            Err(message)
        }
    }
}

fn report_added(manager: Pid, id: &HandlerId) {
    tracing::info!(target: TARGET, manager = %manager, handler = %id, "handler added");
}

fn report_removed(manager: Pid, id: &HandlerId, reason: &RemoveReason) {
    if reason.is_crash() {
        tracing::error!(target: TARGET, manager = %manager, handler = %id, reason = %reason,
            "handler crashed");
    } else {
        tracing::info!(target: TARGET, manager = %manager, handler = %id, reason = %reason,
            "handler removed");
    }
}
