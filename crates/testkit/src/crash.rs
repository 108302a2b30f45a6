//! Ways to make a probe child die, as data.

use std::fmt;

use arbor_process::{ExitReason, Pid, ProcessHandle, ProcessRef, kill};

use crate::ProbeCmd;
use arbor_process::Process;

/// How to crash a probe child: each variant makes it die with a different
/// kind of reason, covering the rows of the restart table (otp-reference
/// §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crash {
    /// Exits by itself with `normal`.
    Normal,
    /// Exits by itself with `shutdown`.
    Shutdown,
    /// Exits by itself with `{shutdown,x}` (normal for a transient child).
    ShutdownWith,
    /// Exits by itself with the custom reason `boom`.
    Custom,
    /// Exits by itself with an error value (`{error,"bad"}`).
    Error,
    /// Panics (reason `{panic,"probe crashed"}`).
    Panic,
    /// Is killed from outside (`kill`, reason `killed`).
    Kill,
}

/// The message a probe panics with.
pub const PANIC_MESSAGE: &str = "probe crashed";

impl Crash {
    /// Every variant.
    pub const ALL: [Crash; 7] = [
        Crash::Normal,
        Crash::Shutdown,
        Crash::ShutdownWith,
        Crash::Custom,
        Crash::Error,
        Crash::Panic,
        Crash::Kill,
    ];

    /// The exit reason the probe dies with.
    pub fn reason(self) -> ExitReason {
        match self {
            Crash::Normal => ExitReason::Normal,
            Crash::Shutdown => ExitReason::Shutdown,
            Crash::ShutdownWith => ExitReason::shutdown_with("x"),
            Crash::Custom => ExitReason::custom("boom"),
            Crash::Error => ExitReason::error(std::io::Error::other("bad")),
            Crash::Panic => ExitReason::Panic(PANIC_MESSAGE.into()),
            Crash::Kill => ExitReason::Killed,
        }
    }

    /// Crashes the probe `pid` this way and waits until it is dead; returns
    /// its real exit reason ([`ExitReason::NoProc`] if it was not alive).
    ///
    /// When this returns, the probe's supervisor has the exit signal in its
    /// mailbox (links are signalled before waiters wake), so a request sent
    /// to the supervisor afterwards is answered after the exit was handled.
    ///
    /// A process that is not a probe is only affected by [`Crash::Kill`];
    /// for the other variants this returns `NoProc` at once.
    ///
    /// # Cancel safety
    ///
    /// The crash is requested on the first poll; dropping the future later
    /// only stops the waiting.
    pub async fn inflict(self, pid: Pid) -> ExitReason {
        let Some(handle) = ProcessHandle::lookup(pid) else {
            return ExitReason::NoProc;
        };
        let cmd = match self {
            Crash::Kill => {
                kill(pid);
                return handle.wait().await;
            }
            Crash::Panic => ProbeCmd::Panic,
            other => ProbeCmd::Exit(other.reason()),
        };
        match ProcessRef::<ProbeCmd>::from_pid(pid) {
            Some(p) if p.send(cmd).is_ok() => handle.wait().await,
            _ => handle.exit_reason().unwrap_or(ExitReason::NoProc),
        }
    }
}

impl fmt::Display for Crash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Crash::Normal => "normal",
            Crash::Shutdown => "shutdown",
            Crash::ShutdownWith => "shutdown_with",
            Crash::Custom => "custom",
            Crash::Error => "error",
            Crash::Panic => "panic",
            Crash::Kill => "kill",
        };
        f.write_str(s)
    }
}
