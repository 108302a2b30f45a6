//! [`Owner`]: the process a handler is tied to, and how it hears about the
//! handler's removal; [`AddOpts`] to pass one to `add_handler`.

use std::fmt;

use arbor_process::{Pid, ProcessRef};
use tokio::sync::mpsc;

use crate::HandlerExit;
use arbor_process::Process;

type Notify = Box<dyn Fn(HandlerExit) + Send + Sync>;

/// The owner of a handler ("`link: true`" in the Elixir guide): the manager
/// monitors it; when it exits, its handlers are removed with
/// [`RemoveReason::OwnerExited`](crate::RemoveReason::OwnerExited). When one
/// of its handlers is removed for any other reason, the owner is sent a
/// [`HandlerExit`] the way the constructor says.
///
/// # Examples
///
/// ```
/// use arbor_genevent::{HandlerExit, Owner};
/// use arbor_process::{scope, Ctx};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// scope(|me: Ctx<HandlerExit>| async move {
///     // removal notices arrive in this process's mailbox
///     let _owner = Owner::process(&me.process_ref());
/// }).await.unwrap();
/// # }
/// ```
///
/// # OTP
///
/// The supervising process of `add_sup_handler` (Elixir 1.x
/// `add_mon_handler`): monitored, not linked, so a crashing manager never
/// takes the owner down.
pub struct Owner {
    pub(crate) pid: Pid,
    pub(crate) notify: Option<Notify>,
}

impl Owner {
    /// The process `target` owns the handler; removal notices are sent to
    /// its mailbox as `M::from(HandlerExit)`.
    pub fn process<M>(target: &ProcessRef<M>) -> Owner
    where
        M: From<HandlerExit> + Send + 'static,
    {
        let target = target.clone();
        Owner {
            pid: target.pid(),
            notify: Some(Box::new(move |exit| {
                // The owner may have exited: its own death is handled by the monitor.
                let _ = target.send(M::from(exit));
            })),
        }
    }

    /// The process `pid` owns the handler; removal notices go to `tx`.
    pub fn channel(pid: Pid, tx: mpsc::UnboundedSender<HandlerExit>) -> Owner {
        Owner {
            pid,
            notify: Some(Box::new(move |exit| {
                let _ = tx.send(exit);
            })),
        }
    }

    /// The process `pid` owns the handler; removal notices are passed to
    /// `notify`, which runs inside the manager and must not block (for
    /// example a GenServer owner: `move |x| server.send_info(MyInfo::Removed(x))`).
    pub fn with(pid: Pid, notify: impl Fn(HandlerExit) + Send + Sync + 'static) -> Owner {
        Owner {
            pid,
            notify: Some(Box::new(notify)),
        }
    }

    /// The process `pid` owns the handler; removal notices are not sent.
    pub fn silent(pid: Pid) -> Owner {
        Owner { pid, notify: None }
    }

    /// The owner's pid.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Sends the notice. A panic in user code on the way (`M::from`) is
    /// caught here so it is never blamed on a handler (server invariant 3).
    pub(crate) fn tell(&self, exit: HandlerExit) {
        if let Some(notify) = &self.notify {
            let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| notify(exit)));
            if sent.is_err() {
                tracing::error!(target: "arbor::genevent", owner = %self.pid,
                    "owner notification panicked");
            }
        }
    }
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Owner")
            .field("pid", &self.pid)
            .field("notify", &self.notify.is_some())
            .finish()
    }
}

/// Options of [`add_handler_opts`](crate::EventManagerRef::add_handler_opts)
/// and [`swap_handler_opts`](crate::EventManagerRef::swap_handler_opts).
#[derive(Debug, Default)]
pub struct AddOpts {
    pub(crate) owner: Option<Owner>,
    pub(crate) link_caller: bool,
}

impl AddOpts {
    /// No owner (the default).
    pub fn new() -> AddOpts {
        AddOpts::default()
    }

    /// Tie the handler to `owner`.
    pub fn owner(mut self, owner: Owner) -> AddOpts {
        self.owner = Some(owner);
        self
    }

    /// Tie the handler to the calling process, without removal notices
    /// (the seed's `link: true`). Fails with
    /// [`AddError::NotAProcess`](crate::AddError::NotAProcess) outside a
    /// process. Use [`AddOpts::owner`] with [`Owner::process`] to also get
    /// the notices.
    pub fn link(mut self) -> AddOpts {
        self.link_caller = true;
        self
    }

    /// The owner these options name, resolving [`AddOpts::link`] to the
    /// calling process; `Err(())` if `link` was asked outside a process.
    pub(crate) fn resolve(self) -> Result<Option<Owner>, ()> {
        match (self.owner, self.link_caller) {
            (Some(owner), _) => Ok(Some(owner)),
            (None, true) => arbor_process::current()
                .map(|pid| Some(Owner::silent(pid)))
                .ok_or(()),
            (None, false) => Ok(None),
        }
    }
}
