//! Error types, one small enum per operation. Failures to reach the manager
//! are [`CallError`]s of the process runtime (`NoProcess`, `Exited`,
//! `Timeout`, `CallingSelf`).

use std::sync::Arc;

use arbor_process::CallError;
use thiserror::Error;

use crate::{HandlerError, HandlerId, RemoveReason};

/// Error of [`add_handler`](crate::EventManagerRef::add_handler).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddError {
    /// A handler with this id is already installed (Elixir 1.x
    /// `{:error, :already_present}`).
    #[error("handler {0} already present")]
    AlreadyPresent(HandlerId),
    /// The handler's `init` returned this error; nothing was installed.
    #[error("handler init failed: {0}")]
    Init(HandlerError),
    /// The handler's `init` panicked with this message; nothing was installed.
    #[error("handler init panicked: {0}")]
    InitPanicked(Arc<str>),
    /// [`AddOpts::link`](crate::AddOpts::link) was asked outside a process.
    #[error("link asked outside a process")]
    NotAProcess,
    /// The manager could not be reached.
    #[error("event manager: {0}")]
    Manager(CallError),
}

/// Error of [`remove_handler`](crate::EventManagerRef::remove_handler).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RemoveError {
    /// No handler with this id (Erlang `{error, module_not_found}`).
    #[error("handler not found")]
    NotFound,
    /// The handler's `terminate` panicked with this message; the handler
    /// was removed anyway (Erlang `{'EXIT', Reason}`).
    #[error("handler terminate panicked: {0}")]
    TerminatePanicked(Arc<str>),
    /// The manager could not be reached.
    #[error("event manager: {0}")]
    Manager(CallError),
}

/// Error of [`swap_handler`](crate::EventManagerRef::swap_handler). In every
/// case the old handler stays removed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SwapError {
    /// The new id is already used by another installed handler.
    #[error("handler {0} already present")]
    AlreadyPresent(HandlerId),
    /// The new handler's `init` returned this error.
    #[error("new handler init failed: {0}")]
    Init(HandlerError),
    /// The new handler's `init` panicked with this message.
    #[error("new handler init panicked: {0}")]
    InitPanicked(Arc<str>),
    /// [`AddOpts::link`](crate::AddOpts::link) was asked outside a process.
    #[error("link asked outside a process")]
    NotAProcess,
    /// The manager could not be reached.
    #[error("event manager: {0}")]
    Manager(CallError),
}

/// Error of [`call`](crate::EventManagerRef::call).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HandlerCallError {
    /// No handler with this id (Erlang `{error, bad_module}`).
    #[error("handler not found")]
    NotFound,
    /// The handler failed while handling the request and was removed with
    /// this reason (`Failed` or `Panicked`).
    #[error("handler failed: {0}")]
    Failed(RemoveReason),
    /// The reply was not of the type the caller asked for (the handler
    /// processed the request).
    #[error("reply of an unexpected type")]
    WrongReplyType,
    /// The manager could not be reached, exited, or did not answer in time.
    /// After a timeout the handler still processes the request; its reply is
    /// dropped.
    #[error("event manager: {0}")]
    Manager(CallError),
}
