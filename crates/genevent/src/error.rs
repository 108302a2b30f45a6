//! Error types, one small enum per operation. Failures to reach the manager
//! are [`CallError`]s of the process runtime (`NoProcess`, `Exited`,
//! `Timeout`, `CallingSelf`).

use std::fmt;
use std::sync::Arc;

use arbor_process::CallError;

use crate::{HandlerError, HandlerId, RemoveReason};

/// Error of [`add_handler`](crate::EventManagerRef::add_handler).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddError {
    /// A handler with this id is already installed (Elixir 1.x
    /// `{:error, :already_present}`).
    AlreadyPresent(HandlerId),
    /// The handler's `init` returned this error; nothing was installed.
    Init(HandlerError),
    /// The handler's `init` panicked with this message; nothing was installed.
    InitPanicked(Arc<str>),
    /// [`AddOpts::link`](crate::AddOpts::link) was asked outside a process.
    NotAProcess,
    /// The manager could not be reached.
    Manager(CallError),
}

impl fmt::Display for AddError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddError::AlreadyPresent(id) => write!(f, "handler {id} already present"),
            AddError::Init(e) => write!(f, "handler init failed: {e}"),
            AddError::InitPanicked(m) => write!(f, "handler init panicked: {m}"),
            AddError::NotAProcess => f.write_str("link asked outside a process"),
            AddError::Manager(e) => write!(f, "event manager: {e}"),
        }
    }
}

impl std::error::Error for AddError {}

/// Error of [`remove_handler`](crate::EventManagerRef::remove_handler).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveError {
    /// No handler with this id (Erlang `{error, module_not_found}`).
    NotFound,
    /// The manager could not be reached.
    Manager(CallError),
}

impl fmt::Display for RemoveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoveError::NotFound => f.write_str("handler not found"),
            RemoveError::Manager(e) => write!(f, "event manager: {e}"),
        }
    }
}

impl std::error::Error for RemoveError {}

/// Error of [`swap_handler`](crate::EventManagerRef::swap_handler). In every
/// case the old handler stays removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwapError {
    /// The new id is already used by another installed handler.
    AlreadyPresent(HandlerId),
    /// The new handler's `init` returned this error.
    Init(HandlerError),
    /// The new handler's `init` panicked with this message.
    InitPanicked(Arc<str>),
    /// [`AddOpts::link`](crate::AddOpts::link) was asked outside a process.
    NotAProcess,
    /// The manager could not be reached.
    Manager(CallError),
}

impl fmt::Display for SwapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwapError::AlreadyPresent(id) => write!(f, "handler {id} already present"),
            SwapError::Init(e) => write!(f, "new handler init failed: {e}"),
            SwapError::InitPanicked(m) => write!(f, "new handler init panicked: {m}"),
            SwapError::NotAProcess => f.write_str("link asked outside a process"),
            SwapError::Manager(e) => write!(f, "event manager: {e}"),
        }
    }
}

impl std::error::Error for SwapError {}

/// Error of [`call`](crate::EventManagerRef::call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerCallError {
    /// No handler with this id (Erlang `{error, bad_module}`).
    NotFound,
    /// The handler failed while handling the request and was removed with
    /// this reason (`Failed` or `Panicked`).
    Failed(RemoveReason),
    /// The reply was not of the type the caller asked for (the handler
    /// processed the request).
    WrongReplyType,
    /// The manager could not be reached, exited, or did not answer in time.
    /// After a timeout the handler still processes the request; its reply is
    /// dropped.
    Manager(CallError),
}

impl fmt::Display for HandlerCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandlerCallError::NotFound => f.write_str("handler not found"),
            HandlerCallError::Failed(r) => write!(f, "handler failed: {r}"),
            HandlerCallError::WrongReplyType => f.write_str("reply of an unexpected type"),
            HandlerCallError::Manager(e) => write!(f, "event manager: {e}"),
        }
    }
}

impl std::error::Error for HandlerCallError {}
