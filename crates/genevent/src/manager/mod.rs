//! The event manager: [`EventManagerRef`] (talking to one, here),
//! [`EventManager`] and [`ManagerOpts`] (starting one, `start.rs`), the
//! process loop (`server.rs`), its mailbox (`message.rs`), the notify
//! bound (`gate.rs`) and the handlers it runs ([`EventHandler`],
//! `handler.rs`: the callbacks see the manager through
//! [`HandlerCtx`](crate::HandlerCtx), and
//! the manager installs them, so the two live in one module).

mod gate;
pub(crate) mod handler;
pub(crate) mod message;
#[cfg(feature = "metrics")]
mod metrics;
mod server;
mod start;

pub use start::{EventManager, ManagerOpts};

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use arbor_process::{
    CallError, DEFAULT_CALL_TIMEOUT, ExitReason, ProcessHandle, ProcessRef, ReplyTo, StopError,
};
use tokio::sync::oneshot;

use self::gate::Gate;
use self::handler::{Slot, User};
use self::message::{Admin, ManagerMsg};
use crate::{
    AddError, AddOpts, EventHandler, HandlerCallError, HandlerId, Payload, RemoveError, SwapError,
};
use arbor_process::Process;

/// A handle to a running event manager for events of type `E`: cheap to
/// clone, `Send + Sync`.
///
/// # OTP
///
/// The pid or name passed to every `gen_event` function.
#[must_use = "an unnamed event manager is reached only through its handle"]
pub struct EventManagerRef<E> {
    pub(crate) inner: ProcessRef<ManagerMsg<E>>,
    pub(crate) gate: Option<Arc<Gate>>,
}

impl<E> Clone for EventManagerRef<E> {
    fn clone(&self) -> Self {
        EventManagerRef {
            inner: self.inner.clone(),
            gate: self.gate.clone(),
        }
    }
}

impl<E> fmt::Debug for EventManagerRef<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `ProcessRef`'s Debug prints the pid without bounds on `E`.
        f.debug_tuple("EventManagerRef").field(&self.inner).finish()
    }
}

impl<E: Send + 'static> EventManagerRef<E> {
    /// The manager registered under `name`, if it is a manager for events
    /// of type `E`.
    ///
    /// # Examples
    ///
    /// ```
    /// use arbor_process::{Process, StartOpts};
    /// use arbor_genevent::{EventManager, EventManagerRef};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mgr = EventManager::<u32>::start_opts(StartOpts::new().name("events"))
    ///     .await
    ///     .unwrap();
    /// let found = EventManagerRef::<u32>::whereis("events").unwrap();
    /// assert_eq!(found.pid(), mgr.pid());
    /// assert!(EventManagerRef::<String>::whereis("events").is_none()); // other event type
    /// # }
    /// ```
    ///
    /// # OTP
    ///
    /// `whereis/1` on a registered manager name.
    pub fn whereis(name: &str) -> Option<EventManagerRef<E>> {
        let inner = ProcessRef::<ManagerMsg<E>>::whereis(name)?;
        let gate = Gate::lookup(inner.pid());
        Some(EventManagerRef { inner, gate })
    }

    /// Sends `event` to every handler, asynchronously: returns at once and
    /// never fails, also when the manager has exited (the event is dropped).
    /// Events from one sender are dispatched in send order, each to all
    /// handlers before the next.
    ///
    /// The mailbox is unbounded unless the manager was started with
    /// [`ManagerOpts::notify_bound`]; then an event that finds `bound`
    /// events queued is dropped and counted in
    /// [`dropped_notifies`](EventManagerRef::dropped_notifies). Use
    /// [`sync_notify`](EventManagerRef::sync_notify) for backpressure.
    ///
    /// Safe to call from inside a handler (it only enqueues).
    ///
    /// # Examples
    ///
    /// ```
    /// use arbor_genevent::{EventManager, ManagerOpts};
    /// use arbor_process::{Process, StartOpts};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let bound = ManagerOpts::default().notify_bound(1);
    /// let mgr = EventManager::<u32>::start_with(StartOpts::new(), bound).await.unwrap();
    /// mgr.notify(1); // queued
    /// mgr.notify(2); // the manager has not run yet: dropped at the bound
    /// assert_eq!(mgr.dropped_notifies(), 1);
    /// mgr.stop().await.unwrap();
    /// mgr.notify(3); // a dead manager: dropped, no error
    /// # }
    /// ```
    ///
    /// # OTP
    ///
    /// `gen_event:notify/2`.
    #[inline]
    pub fn notify(&self, event: E) {
        if let Some(gate) = &self.gate
            && !gate.admit()
        {
            return;
        }
        let _ = self.inner.send(ManagerMsg::Notify(event));
    }

    /// Events `notify` dropped at the bound (always 0 for an unbounded
    /// manager).
    pub fn dropped_notifies(&self) -> u64 {
        self.gate.as_ref().map_or(0, |g| g.dropped())
    }

    /// Sends `event` to every handler and returns once every handler has
    /// processed it (and every event stream's consumer has taken it and
    /// asked for the next one, or fired or dropped its
    /// [`Ack`](crate::Ack) on an acked stream). Everything this caller sent
    /// before is processed first. This is the backpressure path. Never
    /// bounded or dropped by a `notify_bound` (the manager's or a stream's).
    ///
    /// # Errors
    ///
    /// [`CallError::NoProcess`] / [`CallError::Exited`] if the manager is
    /// dead or dies first; [`CallError::CallingSelf`] from inside one of its
    /// handlers.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after the event was queued leaves it queued: it
    /// is still dispatched.
    ///
    /// # OTP
    ///
    /// `gen_event:sync_notify/2` (infinite timeout).
    pub async fn sync_notify(&self, event: E) -> Result<(), CallError> {
        // The call protocol of `ProcessRef::call` without its deadline
        // arithmetic: this call has no timeout.
        if arbor_process::current() == Some(self.inner.pid()) {
            return Err(CallError::CallingSelf);
        }
        let (tx, rx) = oneshot::channel();
        if self.inner.send(ManagerMsg::SyncNotify(event, tx)).is_err() {
            return Err(CallError::NoProcess);
        }
        match rx.await {
            Ok(()) => Ok(()),
            Err(_) => Err(CallError::Exited(self.inner.wait().await)),
        }
    }

    /// Installs `handler` under `id`, without an owner. Its `init` runs in
    /// the manager; the handler is dispatched to after all handlers added
    /// before it.
    ///
    /// # Errors
    ///
    /// See [`add_handler_opts`](EventManagerRef::add_handler_opts).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after the request was queued may still install
    /// the handler.
    ///
    /// # OTP
    ///
    /// `gen_event:add_handler/3`.
    pub async fn add_handler<H: EventHandler<E>>(
        &self,
        id: HandlerId,
        handler: H,
    ) -> Result<(), AddError> {
        self.add_handler_opts(id, handler, AddOpts::new()).await
    }

    /// Installs `handler` under the id of its type,
    /// [`HandlerId::of::<H>()`](HandlerId::of), without an owner: one
    /// handler of a type per manager, as OTP names a handler by its module.
    ///
    /// # Errors
    ///
    /// As [`add_handler`](EventManagerRef::add_handler);
    /// [`AddError::AlreadyPresent`](crate::AddError::AlreadyPresent) if a handler of this
    /// type is installed.
    ///
    /// # Cancel safety
    ///
    /// As [`add_handler`](EventManagerRef::add_handler).
    ///
    /// # Examples
    ///
    /// ```
    /// use arbor_genevent::{AddError, EventHandler, EventManager, HandlerCtx, HandlerError, Step};
    ///
    /// struct Log;
    /// impl EventHandler<&'static str> for Log {
    ///     fn handle_event(&mut self, e: &&'static str, _: &HandlerCtx<'_, &'static str>)
    ///     -> Result<Step<&'static str>, HandlerError> {
    ///         println!("{e}");
    ///         Ok(Step::Keep)
    ///     }
    /// }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mgr = EventManager::start().await.unwrap();
    /// mgr.add(Log).await.unwrap();
    /// assert!(matches!(mgr.add(Log).await, Err(AddError::AlreadyPresent(_))));
    /// # }
    /// ```
    ///
    /// # OTP
    ///
    /// `gen_event:add_handler(Mgr, Module, Args)`.
    pub async fn add<H: EventHandler<E>>(&self, handler: H) -> Result<(), AddError> {
        self.add_handler(HandlerId::of::<H>(), handler).await
    }

    /// Installs `handler` under `id` with options, such as an
    /// [`Owner`](crate::Owner).
    ///
    /// # Errors
    ///
    /// [`AddError::AlreadyPresent`] if `id` is installed;
    /// [`AddError::Init`] / [`AddError::InitPanicked`] if `init` failed
    /// (nothing installed, nothing monitored); [`AddError::NotAProcess`];
    /// [`AddError::Manager`] if the manager is dead or this is one of its
    /// handlers (`CallingSelf`).
    ///
    /// # Cancel safety
    ///
    /// As [`add_handler`](EventManagerRef::add_handler).
    ///
    /// # Examples
    ///
    /// ```
    /// use arbor_genevent::{AddOpts, EventManager, Forwarder, HandlerExit, HandlerId, Owner, RemoveReason};
    /// use arbor_process::{scope, Ctx, Msg};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mgr = EventManager::<u32>::start().await.unwrap();
    /// let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    /// let id = HandlerId::of::<Forwarder<u32>>();
    /// let exit = scope(|mut me: Ctx<HandlerExit>| async move {
    ///     let opts = AddOpts::new().owner(Owner::process(&me.process_ref()));
    ///     mgr.add_handler_opts(id.clone(), Forwarder::to_channel(tx), opts).await.unwrap();
    ///     mgr.remove_handler(&id).await.unwrap();
    ///     let Msg::Message(exit) = me.recv().await else { unreachable!() };
    ///     exit
    /// }).await.unwrap();
    /// assert_eq!(exit.reason, RemoveReason::Deleted);
    /// # }
    /// ```
    ///
    /// # OTP
    ///
    /// `gen_event:add_sup_handler/3` when an owner is given (Elixir 1.x
    /// `add_mon_handler`: the owner is monitored, not linked).
    pub async fn add_handler_opts<H: EventHandler<E>>(
        &self,
        id: HandlerId,
        handler: H,
        opts: AddOpts,
    ) -> Result<(), AddError> {
        let owner = opts.resolve().map_err(|()| AddError::NotAProcess)?;
        self.add_slot(id, Box::new(User(handler)), owner).await
    }

    pub(crate) async fn add_slot(
        &self,
        id: HandlerId,
        slot: Box<dyn Slot<E>>,
        owner: Option<crate::Owner>,
    ) -> Result<(), AddError> {
        let add = |reply| Admin::Add {
            id,
            slot,
            owner,
            reply,
        };
        self.admin(add, Duration::MAX, AddError::Manager).await
    }

    /// Sends the admin request `make` builds around the reply channel and
    /// waits up to `timeout` for the manager's answer; a failed call to the
    /// manager itself becomes `manager_failed(e)`.
    async fn admin<T: 'static, Er: 'static>(
        &self,
        make: impl FnOnce(ReplyTo<Result<T, Er>>) -> Admin<E>,
        timeout: Duration,
        manager_failed: impl FnOnce(CallError) -> Er,
    ) -> Result<T, Er> {
        let request = |reply| ManagerMsg::Admin(Box::new(make(reply)));
        match self.inner.call_timeout(request, timeout).await {
            Ok(answer) => answer,
            Err(e) => Err(manager_failed(e)),
        }
    }

    /// Removes the handler `id`; returns what its `terminate(Deleted)`
    /// returned. Its owner gets [`HandlerExit`](crate::HandlerExit) with
    /// [`RemoveReason::Deleted`](crate::RemoveReason::Deleted).
    ///
    /// # Errors
    ///
    /// [`RemoveError::NotFound`]; [`RemoveError::TerminatePanicked`] if
    /// `terminate` panicked (the handler is removed all the same);
    /// [`RemoveError::Manager`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after the request was queued may still remove
    /// the handler.
    ///
    /// # Examples
    ///
    /// ```
    /// use arbor_genevent::{EventHandler, EventManager, HandlerCtx, HandlerError, HandlerId, Payload, RemoveError, RemoveReason, Step};
    ///
    /// struct Count(u32);
    /// impl EventHandler<()> for Count {
    ///     fn handle_event(&mut self, _: &(), _: &HandlerCtx<'_, ()>) -> Result<Step<()>, HandlerError> {
    ///         self.0 += 1;
    ///         Ok(Step::Keep)
    ///     }
    ///     fn terminate(&mut self, _: &RemoveReason, _: &HandlerCtx<'_, ()>) -> Payload {
    ///         Payload::new(self.0)
    ///     }
    /// }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mgr = EventManager::<()>::start().await.unwrap();
    /// let id = HandlerId::of::<Count>();
    /// mgr.add_handler(id.clone(), Count(0)).await.unwrap();
    /// mgr.sync_notify(()).await.unwrap();
    /// let count = mgr.remove_handler(&id).await.unwrap();
    /// assert_eq!(count.downcast::<u32>().ok(), Some(1));
    /// assert_eq!(mgr.remove_handler(&id).await.unwrap_err(), RemoveError::NotFound);
    /// # }
    /// ```
    ///
    /// # OTP
    ///
    /// `gen_event:delete_handler/3` (there are no `Args`: `terminate` gets
    /// `Deleted`); a crashed terminate's `{'EXIT', R}` is
    /// `Err(TerminatePanicked)`.
    pub async fn remove_handler(&self, id: &HandlerId) -> Result<Payload, RemoveError> {
        let id = id.clone();
        let remove = |reply| Admin::Remove { id, reply };
        self.admin(remove, Duration::MAX, RemoveError::Manager)
            .await
    }

    /// Replaces the handler `old` by `handler` under `id`: `old`'s
    /// `terminate(Swapped { to: id })` runs, then `handler.init_swapped`
    /// with its value (`Some(Err(message))` if it panicked, `None` if `old`
    /// was not installed: `init_swapped` runs anyway). The new handler is
    /// appended (newest) and inherits `old`'s owner.
    ///
    /// # Errors
    ///
    /// See [`swap_handler_opts`](EventManagerRef::swap_handler_opts).
    ///
    /// # Cancel safety
    ///
    /// As [`remove_handler`](EventManagerRef::remove_handler).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use arbor_genevent::{EventHandler, EventManager, HandlerCtx, HandlerError, HandlerId, Payload, RemoveReason, Step};
    ///
    /// struct V1(u32);
    /// impl EventHandler<u32> for V1 {
    ///     fn handle_event(&mut self, n: &u32, _: &HandlerCtx<'_, u32>) -> Result<Step<u32>, HandlerError> {
    ///         self.0 += n;
    ///         Ok(Step::Keep)
    ///     }
    ///     fn terminate(&mut self, _: &RemoveReason, _: &HandlerCtx<'_, u32>) -> Payload {
    ///         Payload::new(self.0) // handed to the next version
    ///     }
    /// }
    /// struct V2(u32);
    /// impl EventHandler<u32> for V2 {
    ///     fn init_swapped(&mut self, previous: Option<Result<Payload, Arc<str>>>, _: &HandlerCtx<'_, u32>) -> Result<(), HandlerError> {
    ///         // V1's value; 0 if it was not installed or its terminate panicked.
    ///         self.0 = previous.and_then(|p| p.ok()?.downcast::<u32>().ok()).unwrap_or(0);
    ///         Ok(())
    ///     }
    ///     fn handle_event(&mut self, n: &u32, _: &HandlerCtx<'_, u32>) -> Result<Step<u32>, HandlerError> {
    ///         self.0 += n;
    ///         Ok(Step::Keep)
    ///     }
    ///     fn terminate(&mut self, _: &RemoveReason, _: &HandlerCtx<'_, u32>) -> Payload {
    ///         Payload::new(self.0)
    ///     }
    /// }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mgr = EventManager::<u32>::start().await.unwrap();
    /// mgr.add_handler(HandlerId::new("v1"), V1(0)).await.unwrap();
    /// mgr.sync_notify(40).await.unwrap();
    /// mgr.swap_handler(&HandlerId::new("v1"), HandlerId::new("v2"), V2(0)).await.unwrap();
    /// mgr.sync_notify(2).await.unwrap();
    /// let total = mgr.remove_handler(&HandlerId::new("v2")).await.unwrap();
    /// assert_eq!(total.downcast::<u32>().ok(), Some(42));
    /// # }
    /// ```
    ///
    /// # OTP
    ///
    /// `gen_event:swap_handler/3`.
    pub async fn swap_handler<H: EventHandler<E>>(
        &self,
        old: &HandlerId,
        id: HandlerId,
        handler: H,
    ) -> Result<(), SwapError> {
        self.swap_handler_opts(old, id, handler, AddOpts::new())
            .await
    }

    /// As [`swap_handler`](EventManagerRef::swap_handler); an owner in
    /// `opts` replaces the inherited one.
    ///
    /// # Errors
    ///
    /// The old handler stays removed in every case:
    /// [`SwapError::AlreadyPresent`] if `id` is another installed handler;
    /// [`SwapError::Init`] / [`SwapError::InitPanicked`];
    /// [`SwapError::NotAProcess`]; [`SwapError::Manager`].
    ///
    /// # Cancel safety
    ///
    /// As [`remove_handler`](EventManagerRef::remove_handler).
    ///
    /// # OTP
    ///
    /// `gen_event:swap_sup_handler/3` when an owner is given.
    pub async fn swap_handler_opts<H: EventHandler<E>>(
        &self,
        old: &HandlerId,
        id: HandlerId,
        handler: H,
        opts: AddOpts,
    ) -> Result<(), SwapError> {
        let owner = opts.resolve().map_err(|()| SwapError::NotAProcess)?;
        let old = old.clone();
        let slot: Box<dyn Slot<E>> = Box::new(User(handler));
        let swap = |reply| Admin::Swap {
            old,
            id,
            slot,
            owner,
            reply,
        };
        self.admin(swap, Duration::MAX, SwapError::Manager).await
    }

    /// Sends `request` to the handler `id` and waits up to 5 s for its
    /// reply, expected to be an `R`.
    ///
    /// # Errors
    ///
    /// See [`call_timeout`](EventManagerRef::call_timeout).
    ///
    /// # Cancel safety
    ///
    /// As `call_timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// use arbor_genevent::{EventHandler, EventManager, HandlerCallError, HandlerCtx, HandlerError, HandlerId, HandlerReply, Payload, Step};
    ///
    /// struct Last(u32);
    /// impl EventHandler<u32> for Last {
    ///     fn handle_event(&mut self, n: &u32, _: &HandlerCtx<'_, u32>) -> Result<Step<u32>, HandlerError> {
    ///         self.0 = *n;
    ///         Ok(Step::Keep)
    ///     }
    ///     fn handle_call(&mut self, req: Payload, _: &HandlerCtx<'_, u32>) -> Result<HandlerReply<u32>, HandlerError> {
    ///         match req.downcast::<&str>() {
    ///             Ok("last") => Ok(HandlerReply::keep(self.0)),
    ///             _ => Err(HandlerError::msg("unknown request")),
    ///         }
    ///     }
    /// }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mgr = EventManager::<u32>::start().await.unwrap();
    /// let id = HandlerId::of::<Last>();
    /// mgr.add_handler(id.clone(), Last(0)).await.unwrap();
    /// mgr.notify(7);
    /// assert_eq!(mgr.call::<u32>(&id, "last").await, Ok(7));
    /// assert_eq!(mgr.call::<u32>(&HandlerId::new("other"), "last").await, Err(HandlerCallError::NotFound));
    /// # }
    /// ```
    ///
    /// # OTP
    ///
    /// `gen_event:call/3`.
    pub async fn call<R: Any + Send>(
        &self,
        id: &HandlerId,
        request: impl Any + Send,
    ) -> Result<R, HandlerCallError> {
        self.call_timeout(id, request, DEFAULT_CALL_TIMEOUT).await
    }

    /// As [`call`](EventManagerRef::call) with a timeout (`Duration::MAX`:
    /// none).
    ///
    /// # Errors
    ///
    /// [`HandlerCallError::NotFound`]; [`HandlerCallError::Failed`] if the
    /// handler returned an error or panicked (it was removed);
    /// [`HandlerCallError::WrongReplyType`];
    /// [`HandlerCallError::Manager`] with `Timeout`, `NoProcess`, `Exited`
    /// or `CallingSelf` (from inside one of its handlers).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after the request was queued leaves it queued;
    /// the handler still processes it and the reply is dropped.
    ///
    /// # OTP
    ///
    /// `gen_event:call/4`; a timeout is an error value, not an exit.
    pub async fn call_timeout<R: Any + Send>(
        &self,
        id: &HandlerId,
        request: impl Any + Send,
        timeout: Duration,
    ) -> Result<R, HandlerCallError> {
        let id = id.clone();
        let request = Payload::new(request);
        let call = |reply| Admin::Call { id, request, reply };
        let reply = self.admin(call, timeout, HandlerCallError::Manager).await?;
        reply
            .downcast::<R>()
            .map_err(|_| HandlerCallError::WrongReplyType)
    }

    /// The installed handlers' ids, in registration (dispatch) order.
    ///
    /// # Errors
    ///
    /// [`CallError::NoProcess`], [`CallError::Exited`],
    /// [`CallError::CallingSelf`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (the request has no effect).
    ///
    /// # Examples
    ///
    /// ```
    /// use arbor_genevent::{EventManager, Forwarder, HandlerId};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mgr = EventManager::<u8>::start().await.unwrap();
    /// let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    /// for tag in ["first", "second"] {
    ///     let id = HandlerId::of::<Forwarder<u8>>().tag(tag);
    ///     mgr.add_handler(id, Forwarder::to_channel(tx.clone())).await.unwrap();
    /// }
    /// let ids: Vec<String> = mgr.which_handlers().await.unwrap().iter().map(|i| i.to_string()).collect();
    /// assert_eq!(ids, ["{Forwarder,first}", "{Forwarder,second}"]);
    /// # }
    /// ```
    ///
    /// # OTP
    ///
    /// `gen_event:which_handlers/1`, but oldest first (see docs/genevent.md).
    pub async fn which_handlers(&self) -> Result<Vec<HandlerId>, CallError> {
        self.inner
            .call_timeout(
                |reply| ManagerMsg::Admin(Box::new(Admin::Which(reply))),
                Duration::MAX,
            )
            .await
    }

    /// Sends `message` to every handler's
    /// [`handle_info`](EventHandler::handle_info) as
    /// [`HandlerInfo::Message`](crate::HandlerInfo::Message). Never fails.
    ///
    /// # OTP
    ///
    /// `Manager ! Msg` for a non-protocol message.
    pub fn send_info(&self, message: impl Any + Send) {
        let _ = self.inner.send(ManagerMsg::Info(Payload::new(message)));
    }
}

impl<E: Send + 'static> Process for EventManagerRef<E> {
    #[inline]
    fn handle(&self) -> &ProcessHandle {
        self.inner.handle()
    }

    /// Stops the manager with `reason`, waiting up to `timeout`
    /// (`Duration::MAX`: forever).
    ///
    /// # Errors
    ///
    /// [`StopError::NoProcess`] if it was not alive; [`StopError::Timeout`];
    /// [`StopError::Exited`] if it exited with another reason;
    /// [`StopError::CallingSelf`] from inside one of its handlers.
    ///
    /// # Cancel safety
    ///
    /// As [`Process::stop`].
    ///
    /// # OTP
    ///
    /// `gen_event:stop/3`.
    async fn stop_with(&self, reason: ExitReason, timeout: Duration) -> Result<(), StopError> {
        if arbor_process::current() == Some(self.pid()) {
            return Err(StopError::CallingSelf);
        }
        if self
            .inner
            .send(ManagerMsg::Stop(Box::new(reason.clone())))
            .is_err()
        {
            return Err(StopError::NoProcess);
        }
        let exited = if timeout == Duration::MAX {
            self.wait().await
        } else {
            match tokio::time::timeout(timeout, self.wait()).await {
                Ok(r) => r,
                Err(_) => return Err(StopError::Timeout),
            }
        };
        if exited == reason {
            Ok(())
        } else {
            Err(StopError::Exited(exited))
        }
    }
}
