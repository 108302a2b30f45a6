//! [`Control`]: what a behaviour's callback decides, keep running or stop.

use crate::ExitReason;

/// What a callback decides: keep running or stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Keep running.
    Continue,
    /// Run `terminate` and exit with this reason.
    Stop(ExitReason),
}
