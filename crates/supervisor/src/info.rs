//! What introspection calls report about children.

use std::fmt;

use arbor_process::Pid;

use crate::{ChildId, ChildType};

/// Selects a child in an API call: its id (static children) or its pid
/// (simple_one_for_one children).
///
/// # OTP
///
/// The `Id | pid()` argument of `terminate_child/2`, `which_child/2`,
/// `get_childspec/2`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChildSelector {
    /// A static child's id.
    Id(ChildId),
    /// A child's pid.
    Pid(Pid),
}

impl From<&str> for ChildSelector {
    fn from(id: &str) -> ChildSelector {
        ChildSelector::Id(id.into())
    }
}

impl From<String> for ChildSelector {
    fn from(id: String) -> ChildSelector {
        ChildSelector::Id(id.into())
    }
}

impl From<ChildId> for ChildSelector {
    fn from(id: ChildId) -> ChildSelector {
        ChildSelector::Id(id)
    }
}

impl From<&ChildId> for ChildSelector {
    fn from(id: &ChildId) -> ChildSelector {
        ChildSelector::Id(id.clone())
    }
}

impl From<Pid> for ChildSelector {
    fn from(pid: Pid) -> ChildSelector {
        ChildSelector::Pid(pid)
    }
}

/// A child's run state.
///
/// # OTP
///
/// The `Child` element of `which_children/1`: a pid, `undefined` or
/// `restarting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChildState {
    /// Running as this process.
    Running(Pid),
    /// Not running: terminated through the API, a transient child that
    /// exited normally, or a start that returned ignore.
    Undefined,
    /// Its restart failed (or is delayed by a backoff); a retry is queued.
    Restarting,
}

impl ChildState {
    /// The pid, if running.
    pub fn pid(&self) -> Option<Pid> {
        match self {
            ChildState::Running(p) => Some(*p),
            _ => None,
        }
    }
}

/// Serialised as its text: `"<0.42>"`, `"undefined"` or `"restarting"`.
#[cfg(feature = "serde")]
impl serde::Serialize for ChildState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for ChildState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildState::Running(p) => write!(f, "{p}"),
            ChildState::Undefined => f.write_str("undefined"),
            ChildState::Restarting => f.write_str("restarting"),
        }
    }
}

/// One entry of [`which_children`](crate::SupervisorRef::which_children).
///
/// # OTP
///
/// `{Id, Child, Type, Modules}`; `id` is `None` for simple_one_for_one
/// children (OTP: `undefined`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ChildInfo {
    /// The child's id; `None` under simple_one_for_one.
    pub id: Option<ChildId>,
    /// Running, undefined or restarting.
    pub state: ChildState,
    /// Worker or supervisor.
    pub child_type: ChildType,
}

/// The result of [`count_children`](crate::SupervisorRef::count_children).
///
/// # OTP
///
/// `[{specs, N}, {active, A}, {supervisors, S}, {workers, W}]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ChildCounts {
    /// Number of specs (1 for simple_one_for_one).
    pub specs: usize,
    /// Children whose process is alive (simple_one_for_one: children not
    /// restarting).
    pub active: usize,
    /// Supervisor children (specs for static children, children for
    /// simple_one_for_one).
    pub supervisors: usize,
    /// Worker children, counted the same way.
    pub workers: usize,
}
