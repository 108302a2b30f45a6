//! The local name registry: one name per process, released when it exits.
//! The table of names itself is kept with the process cells
//! (`cell/names.rs`), whose lock order it follows.

use crate::Pid;
use crate::cell::{self, names};
use crate::error::RegisterError;
use crate::name::Name;

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
    names::register_cell(name, &cell)
}

/// Removes a name. Returns `true` if it was registered.
///
/// # OTP
///
/// `erlang:unregister/1`.
pub fn unregister(name: &str) -> bool {
    names::unregister(name)
}

/// The pid registered under `name`, if any.
///
/// # OTP
///
/// `erlang:whereis/1`.
pub fn whereis(name: &str) -> Option<Pid> {
    names::whereis(name)
}

/// All registered names, in no particular order.
///
/// # OTP
///
/// `erlang:registered/0`.
pub fn registered() -> Vec<Name> {
    names::registered()
}
