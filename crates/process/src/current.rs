//! The current process: which process's body this thread is polling.
//!
//! A leaf: it knows the cell type and the process table, nothing else of
//! the crate, so that everything that asks "am I a process?" can import it.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Weak};

use crate::Pid;
use crate::cell::{self, ProcessCell};

thread_local! {
    /// The pid of the process whose body is being polled on this thread,
    /// set for the duration of each poll by [`EnterProcess`]. A plain `Cell`
    /// because it is set on every poll of every process (the task-local it
    /// replaced: docs/performance.md, "Design notes").
    static CURRENT: Cell<Option<Pid>> = const { Cell::new(None) };

    /// The cell of the process that last asked for its own cell on this
    /// thread ([`current_cell`]): a supervisor starting its children one
    /// after the other finds itself here instead of in the process table.
    /// Weak, so that the cache keeps no process's state alive.
    static CURRENT_CELL: RefCell<Option<(Pid, Weak<ProcessCell>)>> = const { RefCell::new(None) };
}

/// Marks the current thread as running `pid`'s body until dropped; restores
/// the previous value (nested `scope`s, unwinding).
pub(crate) struct EnterProcess(Option<Pid>);

impl EnterProcess {
    #[inline]
    pub(crate) fn new(pid: Pid) -> EnterProcess {
        EnterProcess(CURRENT.with(|c| c.replace(Some(pid))))
    }
}

impl Drop for EnterProcess {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// The cell of the process whose body is running on this thread. While
/// its body runs a process is in the table, so the cached cell of the same
/// pid is the one the table would give.
pub(crate) fn current_cell() -> Option<Arc<ProcessCell>> {
    let pid = current()?;
    let cached = CURRENT_CELL.try_with(|slot| {
        let mut slot = slot.borrow_mut();
        if let Some((cached, weak)) = &*slot
            && *cached == pid
            && let Some(cell) = weak.upgrade()
        {
            return Some(cell);
        }
        let cell = cell::lookup(pid)?;
        *slot = Some((pid, Arc::downgrade(&cell)));
        Some(cell)
    });
    // During thread teardown the cache is gone: the table answers.
    cached.unwrap_or_else(|_| cell::lookup(pid))
}

/// The pid of the process running the current task, if the task is a process.
///
/// # OTP
///
/// `erlang:self/0`.
#[inline]
pub fn current() -> Option<Pid> {
    CURRENT.with(Cell::get)
}
