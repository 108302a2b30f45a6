//! The children storage (invariants 1 and 2 of [`super`]): the static
//! children in start order, or the simple_one_for_one template with its
//! children by pid. Every operation is one `match` on [`Children`].

use std::collections::HashMap;

use arbor_process::{IdBuildHasher, Pid, Process, ProcessHandle};

use super::message::Key;
#[cfg(feature = "metrics")]
use crate::ChildId;
use crate::args::Args;
use crate::backoff::{Backoff, BackoffState};
use crate::{ChildSpec, ChildState, Strategy};

/// The children of one supervisor; the variant is fixed at init by the
/// strategy (invariant 2).
#[derive(Debug)]
pub(super) enum Children {
    /// Invariant 1: in start order (OTP keeps them reversed).
    Static(Vec<Child>),
    Simple(Simple),
}

/// simple_one_for_one: the template and the dynamic children.
#[derive(Debug)]
pub(super) struct Simple {
    pub(super) template: ChildSpec,
    /// One map keyed by pid (a restart moves the entry to the new pid),
    /// hashed with the id hasher: SipHash was the largest part of an
    /// insert on every `start_child`.
    pub(super) by_pid: HashMap<Pid, DynChild, IdBuildHasher>,
    /// The start order of the next child.
    pub(super) next_order: u64,
}

/// A static child.
#[derive(Debug)]
pub(super) struct Child {
    pub(super) spec: ChildSpec,
    pub(super) slot: Slot,
    pub(super) backoff: BackoffState,
}

/// A simple_one_for_one child, keyed by its current pid, or its last one
/// while restarting (so `terminate_child(pid)` still finds it).
#[derive(Debug)]
pub(super) struct DynChild {
    /// Start order: a restarted child keeps its place.
    pub(super) order: u64,
    pub(super) slot: Slot,
    /// Kept for restarts; `None` for temporary children (never restarted,
    /// their argument moved into the only start).
    pub(super) args: Option<Args>,
    pub(super) backoff: BackoffState,
}

/// The run state of one child (`pid | undefined | restarting`).
#[derive(Debug)]
pub(super) enum Slot {
    Running(ProcessHandle),
    Undefined,
    /// Invariant 3: a retry for the child is queued or pending on a
    /// timer; set only by `Server::mark_restarting`.
    Restarting,
}

/// The parts of one child that a restart retry changes.
pub(super) struct RetryEntry<'a> {
    pub(super) slot: &'a mut Slot,
    pub(super) backoff: Option<Backoff>,
    pub(super) state: &'a mut BackoffState,
}

// ===== impl Child =====

impl Child {
    pub(super) fn new(spec: ChildSpec, slot: Slot) -> Child {
        Child {
            spec,
            slot,
            backoff: BackoffState::default(),
        }
    }
}

// ===== impl Slot =====

impl Slot {
    pub(super) fn pid(&self) -> Option<Pid> {
        match self {
            Slot::Running(h) => Some(h.pid()),
            _ => None,
        }
    }

    pub(super) fn state(&self) -> ChildState {
        match self {
            Slot::Running(h) => ChildState::Running(h.pid()),
            Slot::Undefined => ChildState::Undefined,
            Slot::Restarting => ChildState::Restarting,
        }
    }

    pub(super) fn is_running(&self) -> bool {
        matches!(self, Slot::Running(_))
    }

    pub(super) fn is_restarting(&self) -> bool {
        matches!(self, Slot::Restarting)
    }
}

// ===== impl Children =====

impl Children {
    /// The storage for `strategy`, fixed from here on (invariant 2).
    /// simple_one_for_one takes its template from `specs` and leaves
    /// nothing to start; the others start `specs` into an empty list.
    // Style rule 15: `Supervisor::spawn` validates before spawning.
    #[allow(clippy::expect_used)]
    pub(super) fn new(strategy: Strategy, specs: Vec<ChildSpec>) -> (Children, Vec<ChildSpec>) {
        if strategy != Strategy::SimpleOneForOne {
            return (Children::Static(Vec::with_capacity(specs.len())), specs);
        }
        let template = specs
            .into_iter()
            .next()
            .expect("invariant 2: Supervisor::validate checked one template");
        let simple = Simple {
            template,
            by_pid: HashMap::default(),
            next_order: 0,
        };
        (Children::Simple(simple), Vec::new())
    }

    /// The id a retry's restart is counted under: the static child's, or
    /// the simple_one_for_one template's.
    #[cfg(feature = "metrics")]
    pub(super) fn metrics_id(&self, key: &Key) -> Option<ChildId> {
        match (self, key) {
            (Children::Static(_), Key::Static(id)) => Some(id.clone()),
            (Children::Simple(s), Key::Dynamic(_)) => Some(s.template.id.clone()),
            _ => None,
        }
    }

    /// The child a retry is for, if it is still there.
    pub(super) fn retry_entry(&mut self, key: &Key) -> Option<RetryEntry<'_>> {
        match (self, key) {
            (Children::Static(list), Key::Static(id)) => {
                let c = list.iter_mut().find(|c| c.spec.id == *id)?;
                Some(RetryEntry {
                    slot: &mut c.slot,
                    backoff: c.spec.backoff,
                    state: &mut c.backoff,
                })
            }
            (Children::Simple(s), Key::Dynamic(pid)) => {
                let c = s.by_pid.get_mut(pid)?;
                Some(RetryEntry {
                    slot: &mut c.slot,
                    backoff: s.template.backoff,
                    state: &mut c.backoff,
                })
            }
            _ => None,
        }
    }
}
