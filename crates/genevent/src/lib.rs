//! Event managers: one process that owns a list of event handlers and
//! dispatches every event to all of them, in registration order.
//!
//! A manager is an arbor process with a typed event `E`. Handlers are
//! values implementing [`EventHandler`], run inside the manager one at a
//! time; a handler that fails or panics is removed and the others keep
//! going. A handler can have an [`Owner`]: the manager monitors it, removes
//! its handlers when it exits, and tells it when one of them is removed.
//!
//! ```
//! use arbor_genevent::{EventManager, Forwarder, HandlerId};
//! use arbor_process::{scope, Ctx, Msg};
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! scope(|mut me: Ctx<(&str, &str)>| async move {
//!     let mgr = EventManager::start_link().await.unwrap();
//!     mgr.sync_notify(("hello", "nobody")).await.unwrap();
//!     let id = HandlerId::of::<Forwarder<(&str, &str)>>();
//!     mgr.add_handler(id, Forwarder::to_process(&me.process_ref())).await.unwrap();
//!     mgr.sync_notify(("hello", "world")).await.unwrap();
//!     let Msg::Message(event) = me.recv().await else { unreachable!() };
//!     assert_eq!(event, ("hello", "world"));
//! }).await.unwrap();
//! # }
//! ```
//!
//! # Which type do I need?
//!
//! - Start a manager: [`EventManager::start`] / [`start_link`](EventManager::start_link)
//!   / [`start_opts`](EventManager::start_opts) with [`ManagerOpts`]; talk to
//!   it with [`EventManagerRef`], or by name across restarts with
//!   [`EventManagerName`].
//! - Write a handler: implement [`EventHandler`]; callbacks return a
//!   [`Step`] (keep, remove, swap), calls a [`HandlerReply`]; handlers are
//!   named by a [`HandlerId`].
//! - Forward events to a process or channel: [`Forwarder`]; a side effect
//!   per event, from a closure: [`FnHandler`].
//! - Tie a handler to a process: [`AddOpts`] with [`Owner`]; removal notices
//!   are [`HandlerExit`]s with a [`RemoveReason`].
//! - Consume events as a `futures::Stream`: [`EventManagerRef::stream`] →
//!   [`EventStream`]; to acknowledge `sync_notify` events yourself (pass
//!   `notify` ones on without waiting): [`EventManagerRef::acked_stream`] →
//!   [`AckedEventStream`] of [`Delivery`]s with [`Ack`]s. Bound what waits
//!   for a slow consumer with [`StreamOpts::notify_bound`].
//!
//! # Guarantees
//!
//! 1. Events from one sender are dispatched in send order; each event
//!    reaches every handler, oldest first, before the next message is taken.
//! 2. `sync_notify` returns after every handler (and every stream consumer)
//!    processed the event and everything the caller sent before it. A
//!    stream's `notify_bound` may drop `notify` events for that stream,
//!    counted and reported; never `sync_notify` ones.
//! 3. `notify` never blocks and never fails, even for a dead manager.
//! 4. A failing handler is removed (`terminate` runs, its owner is told);
//!    the manager and the other handlers are unaffected.
//! 5. A handler calling its own manager synchronously gets `CallingSelf` at
//!    once instead of a deadlock. Indirect cycles still wait (see docs).
//! 6. Dispatch allocates nothing per handler: handlers borrow the event.
//!
//! Design and differences from Erlang/Elixir: `docs/genevent.md`.
#![doc(test(attr(deny(warnings))))]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod error;
mod fn_handler;
mod forwarder;
mod handler_id;
mod manager;
mod named;
mod owner;
mod payload;
mod reason;
mod stream;

pub use error::{AddError, HandlerCallError, RemoveError, SwapError};
pub use fn_handler::FnHandler;
pub use forwarder::Forwarder;
pub use handler_id::HandlerId;
pub use manager::handler::{
    EventHandler, Handled, HandlerCtx, HandlerInfo, HandlerReply, Step, Swap,
};
pub use manager::{EventManager, EventManagerRef, ManagerOpts};
pub use named::EventManagerName;
pub use owner::{AddOpts, Owner};
pub use payload::Payload;
pub use reason::{HandlerError, HandlerExit, RemoveReason};
pub use stream::{Ack, AckedEventStream, Delivery, EventStream, StreamError, StreamOpts};
