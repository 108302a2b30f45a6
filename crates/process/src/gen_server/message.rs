//! The messages of a server's mailbox.

use super::GenServer;
use crate::ExitReason;

/// The messages a server's mailbox holds.
pub(crate) enum ServerMsg<S: GenServer> {
    /// A call: the request holds its own reply port.
    Call(S::Call),
    Cast(S::Cast),
    Info(S::Info),
    /// Boxed: rare, and it would make every mailbox slot 16 bytes larger.
    Stop(Box<ExitReason>),
}
