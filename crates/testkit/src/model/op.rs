//! The operations on a tree: [`Op`] as generated, and [`Action`], an
//! operation resolved against the model (what the real test must do).

use std::time::Duration;

use arbor_supervisor::Restart;

use super::config::SpecConfig;
use crate::Crash;

/// An operation on the tree, as generated. Targets are indices resolved
/// against the model's current state (modulo the number of candidates),
/// so every operation stays meaningful when a sequence is shrunk.
#[derive(Debug, Clone)]
pub enum Op {
    /// Crash the `target`-th running probe (root workers, then nested
    /// workers, then simple_one_for_one children).
    Crash {
        /// Index among running probes.
        target: usize,
        /// How.
        crash: Crash,
    },
    /// `start_child` of the `id`-th spec of the pool with this restart type.
    StartChild {
        /// Index into the pool.
        id: usize,
        /// Restart type of the new spec.
        restart: Restart,
    },
    /// `terminate_child` by the `id`-th pool id.
    TerminateChild {
        /// Index into the pool.
        id: usize,
    },
    /// `restart_child` by the `id`-th pool id.
    RestartChild {
        /// Index into the pool.
        id: usize,
    },
    /// `delete_child` by the `id`-th pool id.
    DeleteChild {
        /// Index into the pool.
        id: usize,
    },
    /// `start_child(n)` on the typed simple_one_for_one handle (simple_one_for_one).
    SofoStart,
    /// `terminate_child(pid)` of the `target`-th dynamic child.
    SofoTerminate {
        /// Index among dynamic children.
        target: usize,
    },
    /// `terminate_child(pid)` with the pid of a probe that need not be a
    /// child: simple_one_for_one root: the `target`-th dynamic child ever
    /// started (a current one is stopped; one that is gone is dead, `ok`,
    /// docs/otp/supervisor.md#sup-simple); static root: a running probe (`not_found`, docs/otp/supervisor.md#sup-api).
    TerminatePid {
        /// Index among candidates.
        target: usize,
    },
    /// Make the next `n` starts of the `target`-th worker of the root fail
    /// (`Probe::fail_next`).
    FailNext {
        /// Index among the root's static workers.
        target: usize,
        /// Failing starts.
        n: u32,
    },
    /// Crash the `target`-th running worker of the root and, before the
    /// root handled anything else (a failed restart's retry is still
    /// queued), make an API call about that child.
    CrashAndCall {
        /// Index among the root's running static workers.
        target: usize,
        /// How.
        crash: Crash,
        /// The call.
        call: ApiCall,
    },
    /// Advance the paused clock.
    Advance(Duration),
    /// Kill the first running nested supervisor.
    KillNested,
}

/// `(i, crash)`, as [`crash_sequence`](crate::crash_sequence) generates:
/// [`Op::Crash`] of the `i`-th running probe.
impl From<(usize, Crash)> for Op {
    fn from((target, crash): (usize, Crash)) -> Op {
        Op::Crash { target, crash }
    }
}

/// An API call about one child (see [`Op::CrashAndCall`]).
#[derive(Debug, Clone, Copy)]
pub enum ApiCall {
    /// `start_child` of a spec with the same id and this restart type.
    Start(Restart),
    /// `terminate_child`.
    Terminate,
    /// `restart_child`.
    Restart,
    /// `delete_child`.
    Delete,
}

/// An operation resolved against the model: what the real test must do.
#[derive(Debug, Clone)]
pub enum Action {
    /// Nothing (no candidate, or the root is dead).
    Noop,
    /// Crash the probe with this tag.
    Crash {
        /// Probe tag.
        tag: String,
        /// How.
        crash: Crash,
    },
    /// Kill the nested supervisor `id`; `workers` are its running probes.
    KillNested {
        /// Child id of the nested supervisor.
        id: String,
        /// Tags of its running probes.
        workers: Vec<String>,
    },
    /// `start_child` with this spec.
    StartChild(SpecConfig),
    /// `terminate_child(id)`.
    TerminateChild(String),
    /// `restart_child(id)`.
    RestartChild(String),
    /// `delete_child(id)`.
    DeleteChild(String),
    /// `start_child(n)` on the typed simple_one_for_one handle.
    SofoStart(u32),
    /// `terminate_child(pid of tag)` for a current dynamic child.
    SofoTerminate(String),
    /// `terminate_child(latest pid of tag)`, whatever that process is.
    TerminatePid(String),
    /// The next `n` starts of the root's worker `id` fail.
    FailNext(String, u32),
    /// Crash the probe `tag`, then at once perform `call`.
    CrashAndCall {
        /// Probe tag.
        tag: String,
        /// How.
        crash: Crash,
        /// The API call that follows.
        call: Box<Action>,
    },
    /// Advance the clock.
    Advance(Duration),
}
