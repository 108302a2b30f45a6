//! The local name registry: one name per process, released when it exits.

use std::borrow::Borrow;
use std::fmt;
use std::sync::{Arc, LazyLock};

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

use crate::Pid;
use crate::cell::{self, ProcessCell};
use crate::error::RegisterError;

/// A registered process name.
///
/// # OTP
///
/// A locally registered atom (`erlang:register/2`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Arc<str>);

impl Name {
    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name(Arc::from(s))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name(Arc::from(s))
    }
}

impl From<&Name> for Name {
    fn from(n: &Name) -> Name {
        n.clone()
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

static NAMES: LazyLock<DashMap<Name, Arc<ProcessCell>>> = LazyLock::new(DashMap::new);

/// Registers `pid` under `name`.
///
/// # Errors
///
/// [`RegisterError::AlreadyRegistered`] with the holder's pid if the name is
/// taken, [`RegisterError::NoProcess`] if `pid` is not alive,
/// [`RegisterError::AlreadyNamed`] if the process already has a name.
///
/// # OTP
///
/// `erlang:register/2`; a taken name gives the holder's pid, as
/// `{error, {already_started, Pid}}` does for behaviours.
pub fn register(name: impl Into<Name>, pid: Pid) -> Result<(), RegisterError> {
    let name = name.into();
    let cell = cell::lookup(pid).ok_or(RegisterError::NoProcess(pid))?;
    register_cell(name, &cell)
}

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

/// Removes a name. Returns `true` if it was registered.
///
/// # OTP
///
/// `erlang:unregister/1`.
pub fn unregister(name: &str) -> bool {
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
///
/// # OTP
///
/// `erlang:whereis/1`.
pub fn whereis(name: &str) -> Option<Pid> {
    NAMES.get(name).map(|c| c.pid)
}

pub(crate) fn whereis_cell(name: &str) -> Option<Arc<ProcessCell>> {
    NAMES.get(name).map(|c| c.clone())
}

/// All registered names, in no particular order.
///
/// # OTP
///
/// `erlang:registered/0`.
pub fn registered() -> Vec<Name> {
    NAMES.iter().map(|e| e.key().clone()).collect()
}

/// Called by exit processing: drops the entry only if it is still ours.
pub(crate) fn release(name: &Name, pid: Pid) {
    NAMES.remove_if(name, |_, c| c.pid == pid);
}
