//! [`Myself`]: what a process can do to itself, from inside its body or
//! its callbacks.

use crate::{MonitorRef, Pid};

mod sealed {
    /// Only arbor's process contexts are a process's view of itself.
    pub trait Sealed {
        /// The process's own handle.
        fn me(&self) -> &crate::ProcessHandle;
    }
}

pub(crate) use sealed::Sealed;

/// What a process can do to itself: its pid, `trap_exit`, links and
/// monitors. Implemented by the contexts a process is given: [`Ctx`](crate::Ctx)
/// for a hand-written process, [`ServerCtx`](crate::ServerCtx) in GenServer
/// callbacks.
///
/// # Examples
///
/// ```
/// use arbor_process::{Ctx, ExitReason, Msg, Myself, Process, scope, spawn};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// scope(|mut me: Ctx<()>| async move {
///     let worker = spawn(|_: Ctx<()>| async { ExitReason::custom("done") });
///     let mref = me.monitor(worker.pid());
///     let Msg::Down(down) = me.recv().await else { unreachable!() };
///     assert_eq!((down.monitor, down.reason), (mref, ExitReason::custom("done")));
/// }).await.unwrap();
/// # }
/// ```
pub trait Myself: Sealed {
    /// This process's pid.
    ///
    /// # OTP
    ///
    /// `erlang:self/0`.
    fn pid(&self) -> Pid {
        self.me().cell.pid
    }

    /// Turns exit trapping on or off; returns the previous setting.
    ///
    /// # OTP
    ///
    /// `process_flag(trap_exit, On)`.
    fn trap_exit(&self, on: bool) -> bool {
        self.me().cell.set_trap_exit(on)
    }

    /// Whether this process traps exits.
    fn is_trapping(&self) -> bool {
        self.me().cell.is_trapping()
    }

    /// Links this process with `pid`. Linking to a dead process delivers an
    /// exit signal with reason [`NoProc`](crate::ExitReason::NoProc) to this
    /// process at once (a message if trapping, death otherwise).
    ///
    /// # OTP
    ///
    /// `erlang:link/1`.
    fn link(&self, pid: Pid) {
        self.me().cell.link(pid);
    }

    /// Removes the link with `pid`. An exit message from `pid` that is
    /// already in the mailbox stays there.
    ///
    /// # OTP
    ///
    /// `erlang:unlink/1`.
    fn unlink(&self, pid: Pid) {
        self.me().cell.unlink(pid);
    }

    /// Monitors `pid`: exactly one [`Msg::Down`](crate::Msg::Down) arrives
    /// when it exits, or at once with [`NoProc`](crate::ExitReason::NoProc)
    /// if it is not alive.
    ///
    /// # OTP
    ///
    /// `erlang:monitor(process, Pid)`.
    fn monitor(&self, pid: Pid) -> MonitorRef {
        self.me().cell.monitor(pid)
    }

    /// Removes a monitor; `true` if it was still active. A `Down` already in
    /// the mailbox stays there.
    ///
    /// # OTP
    ///
    /// `erlang:demonitor/1`.
    fn demonitor(&self, monitor: MonitorRef) -> bool {
        self.me().cell.demonitor(monitor)
    }
}

impl<T: Sealed + ?Sized> Myself for T {}
