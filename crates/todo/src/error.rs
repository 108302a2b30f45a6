//! Error types, one per operation.

use arbor_process::CallError;
use arbor_supervisor::StartSimpleChildError;
use thiserror::Error;

/// Why [`ListSupervisor::start_todo_list`](crate::ListSupervisor::start_todo_list)
/// failed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum StartListError {
    /// The supervisor is gone, or the list's start failed.
    #[error("list supervisor: {0}")]
    Supervisor(#[from] StartSimpleChildError),
    /// The supervisor did not hand back a [`TodoList`](crate::TodoList):
    /// it was not built from
    /// [`ListSupervisor::definition`](crate::ListSupervisor::definition).
    #[error("the supervisor does not start todo lists")]
    NotAList,
}

/// Why a [`TodoApp`](crate::TodoApp) client call failed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AppError {
    /// No process is registered under this name right now (the tree is
    /// stopped, or that part is restarting).
    #[error("no process registered as {0:?}")]
    NotRunning(String),
    /// The process was found but the call failed (it died meanwhile, or
    /// timed out).
    #[error("call failed: {0}")]
    Call(#[from] CallError),
}
