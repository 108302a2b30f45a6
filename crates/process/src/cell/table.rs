//! The process table: every live process by pid, from spawn until its exit
//! processing starts (invariant 1 of `cell`).

use std::sync::{Arc, LazyLock};

use dashmap::DashMap;

use super::ProcessCell;
use crate::Pid;
use crate::id_hash::IdBuildHasher;

/// Every live process, by pid.
static TABLE: LazyLock<DashMap<Pid, Arc<ProcessCell>, IdBuildHasher>> =
    LazyLock::new(DashMap::default);

/// The live process `pid`'s cell.
pub(crate) fn lookup(pid: Pid) -> Option<Arc<ProcessCell>> {
    TABLE.get(&pid).map(|c| c.clone())
}

/// The number of live processes.
pub(crate) fn live_count() -> usize {
    TABLE.len()
}

/// Every live cell, copied out so that no table lock is held while the
/// caller looks into them (sampling).
#[cfg(feature = "metrics")]
pub(crate) fn snapshot() -> Vec<Arc<ProcessCell>> {
    TABLE.iter().map(|e| e.value().clone()).collect()
}

/// Puts a new cell in the table.
pub(super) fn insert(cell: &Arc<ProcessCell>) {
    TABLE.insert(cell.pid, cell.clone());
}

/// Takes an exiting cell out of the table.
pub(super) fn remove(pid: Pid) {
    TABLE.remove(&pid);
}
