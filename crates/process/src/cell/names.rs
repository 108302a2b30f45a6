//! The table of registered names: each name to the cell of its process.
//! A name is inserted under its cell's lock (invariant 3 of `cell`) and
//! released by the cell's exit processing.

use std::sync::{Arc, LazyLock};

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

use super::ProcessCell;
use crate::Pid;
use crate::error::RegisterError;
use crate::name::Name;

static NAMES: LazyLock<DashMap<Name, Arc<ProcessCell>>> = LazyLock::new(DashMap::new);

/// Registers the live process of `cell` under `name` (see
/// [`register`](crate::register) for the errors).
pub(crate) fn register_cell(name: Name, cell: &Arc<ProcessCell>) -> Result<(), RegisterError> {
    // Invariant 3 of `cell`: the cell lock, then a registry shard lock.
    let outcome = cell.with_name_slot(|slot| {
        if let Some(existing) = slot {
            return Err(RegisterError::AlreadyNamed(existing.clone()));
        }
        match NAMES.entry(name.clone()) {
            Entry::Occupied(e) => Err(RegisterError::AlreadyRegistered(e.get().pid)),
            Entry::Vacant(v) => {
                v.insert(cell.clone());
                *slot = Some(name);
                Ok(())
            }
        }
    });
    outcome.unwrap_or(Err(RegisterError::NoProcess(cell.pid)))
}

/// Removes a name and clears it on its process; `true` if it was
/// registered.
pub(crate) fn unregister(name: &str) -> bool {
    let Some((_, cell)) = NAMES.remove(name) else {
        return false;
    };
    cell.with_name_slot(|slot| {
        if slot.as_ref().is_some_and(|n| n.as_str() == name) {
            *slot = None;
        }
    });
    true
}

/// The pid registered under `name`, if any.
pub(crate) fn whereis(name: &str) -> Option<Pid> {
    NAMES.get(name).map(|c| c.pid)
}

/// The cell registered under `name`, if any.
pub(crate) fn whereis_cell(name: &str) -> Option<Arc<ProcessCell>> {
    NAMES.get(name).map(|c| c.clone())
}

/// All registered names, in no particular order.
pub(crate) fn registered() -> Vec<Name> {
    NAMES.iter().map(|e| e.key().clone()).collect()
}

/// Called by exit processing: drops the entry only if it is still ours.
pub(crate) fn release(name: &Name, pid: Pid) {
    NAMES.remove_if(name, |_, c| c.pid == pid);
}
