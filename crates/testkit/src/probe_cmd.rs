//! [`ProbeCmd`], the messages a running probe obeys.

use arbor_process::ExitReason;

/// A command to a running probe (see [`Crash::inflict`](crate::Crash::inflict)).
#[derive(Debug, Clone)]
pub enum ProbeCmd {
    /// Exit by itself with this reason.
    Exit(ExitReason),
    /// Panic.
    Panic,
}
