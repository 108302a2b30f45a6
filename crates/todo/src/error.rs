//! Error types, one per operation.

use std::fmt;

use arbor_process::CallError;
use arbor_supervisor::StartSimpleChildError;

/// Why [`ListSupervisor::start_todo_list`](crate::ListSupervisor::start_todo_list)
/// failed.
#[derive(Debug, Clone, PartialEq)]
pub enum StartListError {
    /// The supervisor is gone, or the list's start failed.
    Supervisor(StartSimpleChildError),
    /// The supervisor did not hand back a [`TodoList`](crate::TodoList):
    /// it was not built from
    /// [`ListSupervisor::definition`](crate::ListSupervisor::definition).
    NotAList,
}

impl From<StartSimpleChildError> for StartListError {
    fn from(e: StartSimpleChildError) -> StartListError {
        StartListError::Supervisor(e)
    }
}

impl fmt::Display for StartListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartListError::Supervisor(e) => write!(f, "list supervisor: {e}"),
            StartListError::NotAList => f.write_str("the supervisor does not start todo lists"),
        }
    }
}

impl std::error::Error for StartListError {}

/// Why a [`TodoApp`](crate::TodoApp) client call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum AppError {
    /// No process is registered under this name right now (the tree is
    /// stopped, or that part is restarting).
    NotRunning(String),
    /// The process was found but the call failed (it died meanwhile, or
    /// timed out).
    Call(CallError),
}

impl From<CallError> for AppError {
    fn from(e: CallError) -> AppError {
        AppError::Call(e)
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::NotRunning(name) => write!(f, "no process registered as {name:?}"),
            AppError::Call(e) => write!(f, "call failed: {e}"),
        }
    }
}

impl std::error::Error for AppError {}
