//! The [`EventHandler`] trait, what its callbacks return ([`Step`],
//! [`HandlerReply`]) and what they see ([`HandlerCtx`], [`HandlerInfo`]).
//!
//! Inside the crate every installed handler is a `Box<dyn Slot<E>>`: user
//! handlers through the [`User`] adapter, event streams directly (they need
//! to know whether an event is synchronous).

use std::fmt;
use std::sync::Arc;

use arbor_process::ExitSignal;
use tokio::sync::oneshot;

use crate::{EventManagerRef, HandlerError, HandlerId, Payload, RemoveReason};

/// An event handler: a value owned by the manager process, called with every
/// event in registration order.
///
/// The handler value is built by the caller of
/// [`add_handler`](EventManagerRef::add_handler) and moved into the manager,
/// where [`init`](EventHandler::init) runs; an `init` error means the handler
/// is not installed and the caller gets the error.
///
/// Every callback runs inside the manager process, one at a time. A callback
/// that returns `Err` or panics removes its handler (`terminate` runs, the
/// owner is told); the other handlers and the manager are unaffected.
///
/// # Examples
///
/// ```
/// use arbor_genevent::{EventHandler, EventManager, HandlerCtx, HandlerError, HandlerId, Step};
///
/// struct Sum(u64);
///
/// impl EventHandler<u64> for Sum {
///     fn handle_event(&mut self, n: &u64, _: &HandlerCtx<'_, u64>) -> Result<Step<u64>, HandlerError> {
///         self.0 += n;
///         Ok(Step::Keep)
///     }
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let mgr = EventManager::<u64>::start().await.unwrap();
/// mgr.add_handler(HandlerId::of::<Sum>(), Sum(0)).await.unwrap();
/// mgr.sync_notify(5).await.unwrap();
/// # }
/// ```
///
/// # OTP
///
/// The `gen_event` callback module. `init(Args)` is split in two: the
/// caller builds the value (the `Args`), `init` validates it inside the
/// manager. Calls and `terminate` values are [`Payload`]s (any type).
pub trait EventHandler<E>: Send + 'static {
    /// Runs inside the manager when the handler is added.
    ///
    /// # Errors
    ///
    /// An error (or a panic) means the handler is not installed;
    /// `add_handler` returns it.
    fn init(&mut self, ctx: &HandlerCtx<'_, E>) -> Result<(), HandlerError> {
        let _ = ctx;
        Ok(())
    }

    /// Runs instead of `init` when the handler is swapped in for another.
    /// `previous` is what became of the old handler:
    ///
    /// - `Some(Ok(value))`: its `terminate` returned `value`;
    /// - `Some(Err(message))`: its `terminate` panicked with `message`;
    /// - `None`: it was not installed (an API swap only).
    ///
    /// By default calls `init`.
    ///
    /// # Errors
    ///
    /// As `init`: the new handler is not installed (the old one stays
    /// removed).
    ///
    /// # OTP
    ///
    /// `Module2:init({Args2, Term})` of `swap_handler`, where `Term` is
    /// terminate's value, `{'EXIT', Reason}` if it crashed, or `error` if
    /// `Module1` was not installed.
    fn init_swapped(
        &mut self,
        previous: Option<Result<Payload, Arc<str>>>,
        ctx: &HandlerCtx<'_, E>,
    ) -> Result<(), HandlerError> {
        let _ = previous;
        self.init(ctx)
    }

    /// Handles one event. The event is borrowed: the manager does not clone
    /// it per handler.
    ///
    /// # Errors
    ///
    /// An error removes the handler with [`RemoveReason::Failed`].
    fn handle_event(&mut self, event: &E, ctx: &HandlerCtx<'_, E>) -> Handled<E>;

    /// Handles a request sent with [`EventManagerRef::call`]. The default
    /// fails, which removes the handler (Elixir's default `handle_call`
    /// does the same with `{:bad_call, msg}`).
    ///
    /// # Errors
    ///
    /// An error removes the handler; the caller gets
    /// [`HandlerCallError::Failed`](crate::HandlerCallError::Failed).
    fn handle_call(
        &mut self,
        request: Payload,
        ctx: &HandlerCtx<'_, E>,
    ) -> Result<HandlerReply<E>, HandlerError> {
        let _ = (request, ctx);
        Err(HandlerError::msg("bad_call"))
    }

    /// Handles an [`HandlerInfo`]: a message sent with
    /// [`EventManagerRef::send_info`] or an exit signal from a linked
    /// process. The default keeps the handler.
    ///
    /// # Errors
    ///
    /// An error removes the handler.
    fn handle_info(&mut self, info: &HandlerInfo, ctx: &HandlerCtx<'_, E>) -> Handled<E> {
        let _ = (info, ctx);
        Ok(Step::Keep)
    }

    /// Runs once when the handler is removed, for any reason except a
    /// killed manager. Its value is what
    /// [`remove_handler`](EventManagerRef::remove_handler) returns and what a
    /// handler swapped in receives. The default returns [`Payload::unit`].
    ///
    /// # Panics
    ///
    /// A panic is caught: the handler is removed anyway, `remove_handler`
    /// returns [`RemoveError::TerminatePanicked`](crate::RemoveError::TerminatePanicked)
    /// and a handler swapped in gets `Some(Err(message))`.
    fn terminate(&mut self, reason: &RemoveReason, ctx: &HandlerCtx<'_, E>) -> Payload {
        let _ = (reason, ctx);
        Payload::unit()
    }
}

/// What `handle_event` and `handle_info` return: the next [`Step`], or an
/// error that removes the handler.
pub type Handled<E> = Result<Step<E>, HandlerError>;

/// What a callback asks the manager to do with its handler.
///
/// # OTP
///
/// `{ok, State}` → `Keep`, `remove_handler` → `Remove`,
/// `{swap_handler, A1, State, Handler2, A2}` → `Swap` (docs/otp/gen_event.md#ev-callbacks).
pub enum Step<E> {
    /// Keep the handler.
    Keep,
    /// Remove it: `terminate(Removed)` runs, the owner is told.
    Remove,
    /// Replace it by another handler, in the same position; see
    /// [`Step::swap`]. Boxed so that a `Step` is one word and the common
    /// `Ok(Step::Keep)` comes back in registers.
    Swap(Box<Swap<E>>),
}

impl<E: 'static> Step<E> {
    /// Swap this handler for `handler` under `id`: this handler's
    /// `terminate(Swapped { to: id })` runs, then `handler.init_swapped` with
    /// its value. The new handler takes this handler's position and owner and
    /// does not receive the current event. If its `init` fails, the handler
    /// disappears: the owner, told `Swapped`, is then sent a [`HandlerExit`](crate::HandlerExit)
    /// for `id` with the init's failure (OTP `{gen_event_EXIT, H2, crash}`).
    pub fn swap<H: EventHandler<E>>(id: HandlerId, handler: H) -> Step<E> {
        Step::Swap(Box::new(Swap {
            id,
            slot: Box::new(User(handler)),
        }))
    }
}

impl<E> fmt::Debug for Step<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Keep => f.write_str("Keep"),
            Step::Remove => f.write_str("Remove"),
            Step::Swap(s) => f.debug_tuple("Swap").field(&s.id).finish(),
        }
    }
}

/// The handler a [`Step::Swap`] installs. Built with [`Step::swap`].
pub struct Swap<E> {
    pub(crate) id: HandlerId,
    pub(crate) slot: Box<dyn Slot<E>>,
}

impl<E> fmt::Debug for Swap<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Swap").field("id", &self.id).finish()
    }
}

/// What [`EventHandler::handle_call`] returns: the reply and what to do
/// with the handler.
///
/// # OTP
///
/// `{ok, Reply, State}`, `{remove_handler, Reply}`,
/// `{swap_handler, Reply, A1, State, H2, A2}`.
#[derive(Debug)]
pub struct HandlerReply<E> {
    /// The reply the caller gets.
    pub reply: Payload,
    /// What happens to the handler afterwards.
    pub step: Step<E>,
}

impl<E> HandlerReply<E> {
    /// Reply with `value` and keep the handler.
    pub fn keep<T: std::any::Any + Send>(value: T) -> HandlerReply<E> {
        HandlerReply {
            reply: Payload::new(value),
            step: Step::Keep,
        }
    }

    /// Reply with `value`, then remove the handler.
    pub fn remove<T: std::any::Any + Send>(value: T) -> HandlerReply<E> {
        HandlerReply {
            reply: Payload::new(value),
            step: Step::Remove,
        }
    }
}

/// A non-event message delivered to every handler's
/// [`handle_info`](EventHandler::handle_info), in registration order.
///
/// # OTP
///
/// Any message that is not part of the `gen_event` protocol.
#[derive(Debug)]
pub enum HandlerInfo {
    /// A message sent with [`EventManagerRef::send_info`].
    Message(Payload),
    /// An exit signal from a process other than the parent, with any reason
    /// but `kill` (`shutdown` included): the manager traps exits and keeps
    /// running. The parent's exit signal stops the manager instead.
    Exit(ExitSignal),
}

/// What a callback can see of its manager.
pub struct HandlerCtx<'a, E> {
    pub(crate) manager: &'a EventManagerRef<E>,
    pub(crate) id: &'a HandlerId,
}

impl<E: Send + 'static> HandlerCtx<'_, E> {
    /// A handle to the manager running this handler. Asynchronous requests
    /// ([`notify`](EventManagerRef::notify)) are safe; synchronous ones fail
    /// at once with `CallingSelf`.
    pub fn manager(&self) -> &EventManagerRef<E> {
        self.manager
    }

    /// This handler's id.
    pub fn id(&self) -> &HandlerId {
        self.id
    }
}

impl<E> fmt::Debug for HandlerCtx<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerCtx").field("id", self.id).finish()
    }
}

/// Acknowledgements a synchronous event waits for (event streams).
pub(crate) type Acks = Vec<oneshot::Receiver<()>>;

/// An installed handler, as the manager sees it.
pub(crate) trait Slot<E>: Send {
    /// `previous` is `Some` for a swap (see [`EventHandler::init_swapped`]).
    fn init(
        &mut self,
        previous: Option<Option<Result<Payload, Arc<str>>>>,
        ctx: &HandlerCtx<'_, E>,
    ) -> Result<(), HandlerError>;
    /// `acks` is `Some` for a synchronous event.
    fn event(
        &mut self,
        event: &E,
        acks: Option<&mut Acks>,
        ctx: &HandlerCtx<'_, E>,
    ) -> Result<Step<E>, HandlerError>;
    fn call(
        &mut self,
        request: Payload,
        ctx: &HandlerCtx<'_, E>,
    ) -> Result<HandlerReply<E>, HandlerError>;
    fn info(
        &mut self,
        info: &HandlerInfo,
        ctx: &HandlerCtx<'_, E>,
    ) -> Result<Step<E>, HandlerError>;
    fn terminate(&mut self, reason: &RemoveReason, ctx: &HandlerCtx<'_, E>) -> Payload;
}

/// Adapter from a user [`EventHandler`] to a [`Slot`].
pub(crate) struct User<H>(pub(crate) H);

impl<E, H: EventHandler<E>> Slot<E> for User<H> {
    fn init(
        &mut self,
        previous: Option<Option<Result<Payload, Arc<str>>>>,
        ctx: &HandlerCtx<'_, E>,
    ) -> Result<(), HandlerError> {
        match previous {
            None => self.0.init(ctx),
            Some(previous) => self.0.init_swapped(previous, ctx),
        }
    }

    #[inline]
    fn event(
        &mut self,
        event: &E,
        _acks: Option<&mut Acks>,
        ctx: &HandlerCtx<'_, E>,
    ) -> Result<Step<E>, HandlerError> {
        self.0.handle_event(event, ctx)
    }

    fn call(
        &mut self,
        request: Payload,
        ctx: &HandlerCtx<'_, E>,
    ) -> Result<HandlerReply<E>, HandlerError> {
        self.0.handle_call(request, ctx)
    }

    fn info(
        &mut self,
        info: &HandlerInfo,
        ctx: &HandlerCtx<'_, E>,
    ) -> Result<Step<E>, HandlerError> {
        self.0.handle_info(info, ctx)
    }

    fn terminate(&mut self, reason: &RemoveReason, ctx: &HandlerCtx<'_, E>) -> Payload {
        self.0.terminate(reason, ctx)
    }
}
