//! The spawn and exit counts the process path keeps (one relaxed add
//! each): a leaf, so that the process cell can count without importing
//! the sampler, which walks the cells.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::ExitReason;

/// The values of the `reason_class` label, in counting order.
pub const REASON_CLASSES: [&str; 6] = ["normal", "shutdown", "killed", "panic", "error", "other"];

pub(super) static SPAWNED: AtomicU64 = AtomicU64::new(0);
pub(super) static EXITS: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];

/// The `reason_class` label of an exit reason: `normal`; `shutdown` for
/// `Shutdown` and `ShutdownWith`; `killed` for `Killed` and `Kill`;
/// `panic`; `error`; `other` for `Custom` and `NoProc`.
pub fn reason_class(reason: &ExitReason) -> &'static str {
    REASON_CLASSES[class_index(reason)]
}

fn class_index(reason: &ExitReason) -> usize {
    match reason {
        ExitReason::Normal => 0,
        ExitReason::Shutdown | ExitReason::ShutdownWith(_) => 1,
        ExitReason::Killed | ExitReason::Kill => 2,
        ExitReason::Panic(_) => 3,
        ExitReason::Error(_) => 4,
        ExitReason::Custom(_) | ExitReason::NoProc => 5,
    }
}

/// A process was spawned (its cell entered the table).
#[inline]
pub(crate) fn spawned() {
    SPAWNED.fetch_add(1, Ordering::Relaxed);
}

/// A process exited with `reason`.
#[inline]
pub(crate) fn exited(reason: &ExitReason) {
    EXITS[class_index(reason)].fetch_add(1, Ordering::Relaxed);
}
