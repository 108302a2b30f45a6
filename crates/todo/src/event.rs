//! [`TodoEvent`]: what the todo manager publishes.

use std::fmt;

use crate::TodoList;
use arbor_process::Process;

/// An event the [`TodoManager`](crate::TodoManager) publishes with
/// `sync_notify` to the todo event manager.
///
/// # OTP
///
/// The guide's `{:create, name, pid}` and `{:exit, name, pid}` tuples.
#[derive(Debug, Clone, PartialEq)]
pub enum TodoEvent {
    /// A list was started under `name`.
    Create {
        /// The list's name.
        name: String,
        /// The new list.
        list: TodoList,
    },
    /// The list `name` exited and was forgotten.
    Exit {
        /// The list's name.
        name: String,
        /// The list that exited.
        list: TodoList,
    },
}

impl TodoEvent {
    /// The list's name.
    pub fn name(&self) -> &str {
        match self {
            TodoEvent::Create { name, .. } | TodoEvent::Exit { name, .. } => name,
        }
    }

    /// The list.
    pub fn list(&self) -> &TodoList {
        match self {
            TodoEvent::Create { list, .. } | TodoEvent::Exit { list, .. } => list,
        }
    }
}

impl fmt::Display for TodoEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TodoEvent::Create { name, list } => write!(f, "create {name:?} {}", list.pid()),
            TodoEvent::Exit { name, list } => write!(f, "exit {name:?} {}", list.pid()),
        }
    }
}
