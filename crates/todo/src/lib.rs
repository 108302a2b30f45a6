//! The todo application: arbor's reference app, the one of the Elixir
//! guide's chapter 5 ("Event managers") built on arbor's processes,
//! supervisors and event managers.
//!
//! Named todo lists live in [`TodoList`] agents under a
//! [`ListSupervisor`]; the [`TodoManager`] creates and finds them by name
//! and publishes a [`TodoEvent`] whenever one is created or exits.
//! [`TodoApp`] runs all of it as the nested tree the chapter proposes:
//!
//! ```text
//! root one_for_one
//! ├─ event manager
//! └─ inner one_for_all
//!    ├─ list supervisor (simple_one_for_one, temporary lists)
//!    └─ todo manager
//! ```
//!
//! ```
//! use arbor_todo::{TodoApp, TodoEvent, TreeNames};
//! use futures::StreamExt;
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let app = TodoApp::start(TreeNames::prefixed("lib_doc_")).await.unwrap();
//! // An event stream consumer runs on its own: the manager's sync_notify
//! // waits until the consumer asks for the next event.
//! let mut events = app.subscribe().await.unwrap();
//! let first = tokio::spawn(async move { events.next().await });
//! app.create("shopping").unwrap();
//! let list = app.lookup("shopping").await.unwrap().unwrap();
//! list.put("milk").await.unwrap();
//! let Some(Ok(TodoEvent::Create { name, list: created })) = first.await.unwrap() else { panic!() };
//! assert_eq!((name.as_str(), created), ("shopping", list));
//! app.stop().await.unwrap();
//! # }
//! ```
//!
//! # Which type do I need?
//!
//! - The whole app, found by name after restarts: [`TodoApp`] with
//!   [`TreeNames`].
//! - The parts, to wire them yourself (as the guide's tests do):
//!   [`TodoList`], [`ListSupervisor`], [`TodoManager`] with an
//!   [`EventTarget`].
//! - What the manager publishes: [`TodoEvent`].
//! - The todo service over TCP: [`TodoServer`], speaking the line
//!   protocol of [`protocol`].
//!
//! # Guarantees
//!
//! 1. `create` then `lookup` from the same caller sees the list (one
//!    ordered mailbox; a lookup that finds the list in the manager's table
//!    skips the mailbox, and the table is filled only after the `Create`
//!    was published).
//! 2. `Create` is published after the list started and is monitored;
//!    `Exit` after the list died. Both with `sync_notify`: when a handler
//!    sees `Exit`, a `lookup` no longer finds the list.
//! 3. A missing or dying event manager never takes the todo manager down;
//!    events published meanwhile are dropped with a warning.
//! 4. A stopped tree leaves no process and no name behind.
//!
//! The walk-through with every crash explained: `docs/guide.md`.
#![doc(test(attr(deny(warnings))))]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod app;
mod error;
mod event;
mod list_supervisor;
mod manager;
pub mod protocol;
mod resolved;
mod server;
mod todo_list;

pub use app::{RESTART_INTENSITY, RESTART_PERIOD, TodoApp, TreeNames};
pub use error::{AppError, StartListError};
pub use event::TodoEvent;
pub use list_supervisor::ListSupervisor;
pub use manager::{EventTarget, TodoManager};
pub use server::{MAX_EVENT_BACKLOG, TodoServer};
pub use todo_list::TodoList;

/// The code blocks of `docs/guide.md`, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/guide.md")]
pub struct GuideDoctests;
