use crate::{ExitReason, MonitorRef, Pid};

/// What a process finds in its mailbox: its own messages and, in the same
/// ordered queue, the system messages addressed to it.
///
/// # OTP
///
/// `{'EXIT', From, Reason}` arrives as [`Msg::Exit`] (only while trapping
/// exits), `{'DOWN', Ref, process, Pid, Reason}` as [`Msg::Down`].
#[derive(Debug)]
pub enum Msg<M> {
    /// A message sent through a [`ProcessRef`](crate::ProcessRef).
    Message(M),
    /// An exit signal, delivered as a message because the process traps exits.
    Exit(ExitSignal),
    /// A monitored process terminated.
    Down(Down),
}

/// An exit signal received as a message (the process traps exits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitSignal {
    /// The process that exited, or that sent the signal with [`crate::exit`].
    pub from: Pid,
    /// The reason carried by the signal.
    pub reason: ExitReason,
}

/// A monitor fired: the monitored process terminated (or never existed,
/// with reason [`ExitReason::NoProc`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Down {
    /// The monitor that fired.
    pub monitor: MonitorRef,
    /// The monitored process.
    pub pid: Pid,
    /// Its exit reason.
    pub reason: ExitReason,
}

/// The internal queue item: user messages inline, system messages boxed so
/// that the mailbox slot stays as small as the user's message.
pub(crate) enum Envelope<M> {
    User(M),
    Sys(Box<Sys>),
}

pub(crate) enum Sys {
    Exit(ExitSignal),
    Down(Down),
}

impl<M> From<Envelope<M>> for Msg<M> {
    fn from(env: Envelope<M>) -> Msg<M> {
        match env {
            Envelope::User(m) => Msg::Message(m),
            Envelope::Sys(s) => match *s {
                Sys::Exit(e) => Msg::Exit(e),
                Sys::Down(d) => Msg::Down(d),
            },
        }
    }
}
