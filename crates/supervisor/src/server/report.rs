//! The supervisor's reports, as `tracing` events under the target
//! `arbor::supervisor`, in the shape of OTP's: a progress report for a
//! started child, and a supervisor report (`errorContext` in the doc of
//! each function) for a failed start, a crash, a shutdown error and the
//! restart intensity. Every event carries the supervisor's label.

use std::time::Duration;

use std::fmt;
use std::sync::Arc;

use arbor_process::{Down, ExitReason, Pid};
use tracing::{debug, error, info, warn};

use super::message::Key;
use crate::shutdown::acceptable;
use crate::{AutoShutdown, ChildId, ChildSpec, SupFlags};

const TARGET: &str = "arbor::supervisor";

/// The supervisor as its reports name it: its registered name, else its
/// pid. Formatted only when a report is written, so that a disabled
/// report costs nothing (a supervisor starting thousands of children
/// must not format its pid for each).
#[derive(Debug, Clone)]
pub(super) struct Label {
    pub(super) name: Option<Arc<str>>,
    pub(super) pid: Pid,
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => f.write_str(name),
            None => fmt::Display::fmt(&self.pid, f),
        }
    }
}

/// The progress report `[{supervisor, S}, {started, Child}]`.
pub(super) fn started(sup: &Label, id: &ChildId, pid: Pid) {
    info!(target: TARGET, supervisor = %sup, child = %id, %pid, "child started");
}

/// A start function answered `ignore`.
pub(super) fn start_ignored(sup: &Label, id: &ChildId) {
    info!(target: TARGET, supervisor = %sup, child = %id, "child start ignored");
}

/// The supervisor report with `errorContext` `start_error`.
pub(super) fn start_error(sup: &Label, id: &ChildId, reason: &ExitReason) {
    error!(target: TARGET, supervisor = %sup, child = %id, %reason, "child failed to start");
}

/// A child that exited by itself: an info event for a reason normal for
/// a transient child, else the supervisor report with `errorContext`
/// `child_terminated`.
pub(super) fn exited(sup: &Label, id: &ChildId, pid: Pid, reason: &ExitReason) {
    if reason.is_normal_for_transient() {
        info!(target: TARGET, supervisor = %sup, child = %id, %pid, %reason, "child exited");
    } else {
        error!(target: TARGET, supervisor = %sup, child = %id, %pid, %reason, "child terminated");
    }
}

/// A child stopped by the supervisor; an unexpected reason is the
/// supervisor report with `errorContext` `shutdown_error` (docs/otp/supervisor.md#sup-shutdown step 4).
pub(super) fn shutdown(sup: &Label, spec: &ChildSpec, pid: Pid, reason: &ExitReason) {
    if acceptable(spec, reason) {
        debug!(target: TARGET, supervisor = %sup, child = %spec.id, %pid, %reason, "child stopped");
    } else {
        warn!(target: TARGET, supervisor = %sup, child = %spec.id, %pid, %reason, "shutdown_error");
    }
}

/// A restart is about to run the child's start function.
pub(super) fn restarting(sup: &Label, id: &ChildId) {
    info!(target: TARGET, supervisor = %sup, child = %id, "restarting child");
}

/// A static child's restart failed; its retry is queued (OTP's
/// `try_again_restart`).
pub(super) fn restart_failed(sup: &Label, id: &ChildId, reason: &ExitReason) {
    error!(target: TARGET, supervisor = %sup, child = %id, %reason, "restart failed; retry queued");
}

/// A restart waits for the child's backoff.
pub(super) fn restart_delayed(sup: &Label, key: &Key, delay: Duration) {
    info!(target: TARGET, supervisor = %sup, ?key, ?delay, "restart delayed by backoff");
}

/// The supervisor report with `errorContext`
/// `reached_max_restart_intensity`; the supervisor shuts down.
pub(super) fn max_intensity(sup: &Label, restarts: usize, flags: &SupFlags) {
    error!(
        target: TARGET,
        supervisor = %sup,
        restarts = restarts,
        intensity = flags.intensity,
        period = ?flags.period,
        "reached_max_restart_intensity: shutting down"
    );
}

/// A significant child's end shuts the supervisor down (docs/otp/supervisor.md#sup-auto-shutdown).
pub(super) fn auto_shutdown(sup: &Label, auto_shutdown: AutoShutdown) {
    info!(target: TARGET, supervisor = %sup, auto_shutdown = %auto_shutdown, "significant child terminated: shutting down");
}

/// An exit signal from a process that is neither a child nor the parent.
pub(super) fn non_child_exit(sup: &Label, pid: Pid, reason: &ExitReason) {
    debug!(target: TARGET, supervisor = %sup, %pid, %reason, "exit signal from a non-child ignored");
}

/// A monitor message (the supervisor monitors only while it waits for a
/// child's shutdown, and consumes those itself).
pub(super) fn unexpected_down(sup: &Label, down: &Down) {
    debug!(target: TARGET, supervisor = %sup, ?down, "unexpected monitor message dropped");
}
