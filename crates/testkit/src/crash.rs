//! Ways to make a process die, as data, and [`Crash::inflict`], which
//! makes one die that way or says why it did not.

use std::fmt;
use std::time::Duration;

use arbor_process::{ExitReason, Pid, Process, ProcessHandle, ProcessRef};

use crate::ProbeCmd;

/// How to crash a process: each variant makes it die with a different
/// kind of reason, covering the rows of the restart table (
/// docs/otp/supervisor.md#sup-child-exit). A [`Probe`](crate::Probe) dies this way by itself; any other
/// process is sent an exit signal (see [`Crash::inflict`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crash {
    /// Exits with `normal`.
    Normal,
    /// Exits with `shutdown`.
    Shutdown,
    /// Exits with `{shutdown,x}` (normal for a transient child).
    ShutdownWith,
    /// Exits with the custom reason `boom`.
    Custom,
    /// Exits with an error value (`{error,"bad"}`).
    Error,
    /// Exits with `{panic,"probe crashed"}` (a probe really panics).
    Panic,
    /// Is killed (`kill`, reason `killed`).
    Kill,
}

/// The message a probe panics with.
pub const PANIC_MESSAGE: &str = "probe crashed";

/// Why [`Crash::inflict`] did not crash a process as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InflictError {
    /// No live process has this pid: it never existed or already exited.
    #[error("no process {0}")]
    NoProcess(Pid),
    /// The process was sent `reason_sent` and was still running
    /// [`Crash::DEATH_TIMEOUT`] later: it traps exits and did not exit on
    /// the exit message, or the signal was `normal`, which a process that
    /// does not trap exits ignores, or it never reached a suspension point.
    #[error("{pid} survived an exit signal {reason_sent}")]
    Survived {
        /// The survivor.
        pid: Pid,
        /// The exit signal's reason (`kill` for [`Crash::Kill`]).
        reason_sent: ExitReason,
    },
    /// The process exited, with another reason than the one asked for
    /// (it was already exiting, or it trapped the signal and chose its own
    /// reason).
    #[error("{pid} exited with {got}, not {asked}")]
    Mismatch {
        /// The process.
        pid: Pid,
        /// [`Crash::reason`].
        asked: ExitReason,
        /// Its real exit reason.
        got: ExitReason,
    },
}

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

    /// How long [`Crash::inflict`] waits for the process to exit before it
    /// reports [`InflictError::Survived`]. On a paused clock the wait costs
    /// nothing unless the process survives (then the clock moves by this).
    pub const DEATH_TIMEOUT: Duration = Duration::from_secs(1);

    /// The exit reason the process dies with.
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

    /// Crashes `target` this way and waits until it is dead; returns its
    /// exit reason, which is [`Crash::reason`].
    ///
    /// - A [`Probe`](crate::Probe) is told to exit with the reason (to
    ///   panic, for [`Crash::Panic`]), so its lifecycle log says `exit` or
    ///   `panic`; [`Crash::Kill`] kills it.
    /// - Any other process is sent an exit signal with the reason, as if
    ///   by [`Process::exit`]; [`Crash::Kill`] sends `kill`
    ///   ([`Process::kill`]), which no process can trap. A process that
    ///   does not trap exits dies of it with that reason (a GenServer or
    ///   Agent without running `terminate`); one that traps exits gets a
    ///   message instead, and `normal` kills nobody, so these survive
    ///   unless they choose to exit.
    ///
    /// When this returns `Ok`, every process linked to the dead one (its
    /// supervisor) has the exit signal in its mailbox (links are
    /// signalled before waiters wake), so a request sent to the supervisor
    /// afterwards is answered after the exit was handled.
    ///
    /// # Errors
    ///
    /// - [`InflictError::NoProcess`] if `target` is not alive.
    /// - [`InflictError::Survived`] if it is still alive
    ///   [`Crash::DEATH_TIMEOUT`] after the signal.
    /// - [`InflictError::Mismatch`] if it exited with another reason.
    ///
    /// It never returns `Ok` for a process that did not die, nor
    /// `NoProcess` for one that was alive.
    ///
    /// # Cancel safety
    ///
    /// The crash is requested on the first poll; dropping the future later
    /// only stops the waiting.
    ///
    /// # OTP
    ///
    /// `exit(Pid, Reason)` (`exit(Pid, kill)`), then a monitor and
    /// `receive {'DOWN', _, process, Pid, R} after 1000 -> survived end`.
    /// A probe exits by itself (`exit(Reason)` in its own body).
    ///
    /// # Examples
    ///
    /// ```
    /// use arbor_process::{Agent, ExitReason, Process};
    /// use arbor_testkit::{Crash, InflictError};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let agent = Agent::start(|| 0u32).await.unwrap();
    /// assert_eq!(Crash::Custom.inflict(&agent).await, Ok(ExitReason::custom("boom")));
    /// let pid = agent.pid();
    /// assert_eq!(Crash::Kill.inflict(&agent).await, Err(InflictError::NoProcess(pid)));
    /// # }
    /// ```
    pub async fn inflict<P: Process + ?Sized>(
        self,
        target: &P,
    ) -> Result<ExitReason, InflictError> {
        let handle = target.handle();
        let pid = handle.pid();
        if !handle.is_alive() {
            return Err(InflictError::NoProcess(pid));
        }
        let sent = self.signal(handle);
        let asked = self.reason();
        match handle.wait_timeout(Self::DEATH_TIMEOUT).await {
            None => Err(InflictError::Survived {
                pid,
                reason_sent: sent,
            }),
            Some(got) if got == asked => Ok(got),
            Some(got) => Err(InflictError::Mismatch { pid, asked, got }),
        }
    }

    /// [`Crash::inflict`] on the process `pid`.
    ///
    /// # Errors
    ///
    /// As [`Crash::inflict`]; [`InflictError::NoProcess`] if no live
    /// process has this pid.
    ///
    /// # Cancel safety
    ///
    /// As [`Crash::inflict`].
    pub async fn inflict_pid(self, pid: Pid) -> Result<ExitReason, InflictError> {
        match ProcessHandle::lookup(pid) {
            Some(handle) => self.inflict(&handle).await,
            None => Err(InflictError::NoProcess(pid)),
        }
    }

    /// Tells a probe to die this way, or sends any other process the exit
    /// signal; returns the reason sent.
    fn signal(self, handle: &ProcessHandle) -> ExitReason {
        if self == Crash::Kill {
            handle.kill();
            return ExitReason::Kill;
        }
        let reason = self.reason();
        if let Some(probe) = ProcessRef::<ProbeCmd>::from_pid(handle.pid()) {
            let cmd = match self {
                Crash::Panic => ProbeCmd::Panic,
                _ => ProbeCmd::Exit(reason.clone()),
            };
            if probe.send(cmd).is_ok() {
                return reason;
            }
        }
        handle.exit(reason.clone());
        reason
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
