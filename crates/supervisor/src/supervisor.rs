//! The supervisor builder: flags, children, name; `start_link`.

use arbor_process::{Process, StartError, StartOpts, current, spawn_opts};
use tokio::sync::oneshot;

use crate::server;
use crate::{
    AutoShutdown, ChildId, ChildSpec, StartOutcome, Strategy, SupFlags, SupStartError,
    SupervisorRef, check_specs,
};

/// A supervisor to start: its flags, its child specs in start order, and an
/// optional registered name. Cheap to clone, so one value can start the
/// supervisor again on every restart (see [`Supervisor::into_child_spec`]).
///
/// # Examples
///
/// ```
/// use arbor_process::Agent;
/// use arbor_supervisor::{ChildSpec, Strategy, SupFlags, Supervisor};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let sup = Supervisor::new(SupFlags::new(Strategy::OneForAll))
///     .child(ChildSpec::worker("a", |_| async { Agent::start_link(|| 1).await }))
///     .child(ChildSpec::worker("b", |_| async { Agent::start_link(|| 2).await }))
///     .start()
///     .await
///     .unwrap();
/// let ids: Vec<_> = sup.which_children().await.unwrap().into_iter().map(|c| c.id.unwrap()).collect();
/// assert_eq!(ids, ["b", "a"]); // newest first
/// # }
/// ```
///
/// # OTP
///
/// The `{ok, {SupFlags, ChildSpecs}}` returned by `Module:init/1`, plus the
/// registered name of `supervisor:start_link/3`.
#[derive(Debug, Clone, Default)]
pub struct Supervisor {
    flags: SupFlags,
    specs: Vec<ChildSpec>,
    name: Option<String>,
}

impl Supervisor {
    /// A supervisor with these flags and no children yet.
    pub fn new(flags: SupFlags) -> Supervisor {
        Supervisor {
            flags,
            specs: Vec::new(),
            name: None,
        }
    }

    /// A simple_one_for_one supervisor whose children all start from
    /// `template`.
    pub fn simple(flags: SupFlags, template: ChildSpec) -> Supervisor {
        Supervisor {
            flags: flags.strategy(Strategy::SimpleOneForOne),
            specs: vec![template],
            name: None,
        }
    }

    /// Adds a child at the end of the start order.
    pub fn child(mut self, spec: ChildSpec) -> Supervisor {
        self.specs.push(spec);
        self
    }

    /// Adds children at the end of the start order.
    pub fn children(mut self, specs: impl IntoIterator<Item = ChildSpec>) -> Supervisor {
        self.specs.extend(specs);
        self
    }

    /// Registers the supervisor under `name` (before any child starts).
    pub fn name(mut self, name: impl Into<String>) -> Supervisor {
        self.name = Some(name.into());
        self
    }

    /// The flags.
    pub fn flags(&self) -> &SupFlags {
        &self.flags
    }

    /// Validates flags and specs without starting anything. Pure.
    ///
    /// # Errors
    ///
    /// [`SupStartError::Flags`], [`SupStartError::BadStartSpec`] or
    /// [`SupStartError::Spec`], in that order.
    pub fn validate(&self) -> Result<(), SupStartError> {
        self.flags.validate()?;
        if self.flags.strategy == Strategy::SimpleOneForOne {
            if self.specs.len() != 1 {
                return Err(SupStartError::BadStartSpec(self.specs.len()));
            }
            // The template's significance is checked against `never`:
            // auto-shutdown is rejected with simple_one_for_one.
            check_specs(&self.specs, AutoShutdown::Never)?;
        } else {
            check_specs(&self.specs, self.flags.auto_shutdown)?;
        }
        Ok(())
    }

    /// Starts the supervisor linked to the calling process, which becomes
    /// its parent: the parent's exit signal stops it (children first).
    /// Returns once every child has started.
    ///
    /// # Errors
    ///
    /// The validation errors of [`Supervisor::validate`];
    /// [`SupStartError::AlreadyStarted`] if the name is taken;
    /// [`SupStartError::FailedToStartChild`] if a child failed (the ones
    /// started before it are stopped in reverse order first). On error no
    /// process is left behind and the caller receives no exit signal.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future while children start leaves
    /// the supervisor running, linked to the caller.
    ///
    /// # OTP
    ///
    /// `supervisor:start_link/2,3`, with the OTP 26+ synchronous init
    /// failure (no `EXIT` to the caller).
    pub async fn start_link(self) -> Result<SupervisorRef, SupStartError> {
        self.start_opts(true).await
    }

    /// Starts the supervisor without a link (no parent).
    ///
    /// # Errors
    ///
    /// As [`Supervisor::start_link`].
    ///
    /// # Cancel safety
    ///
    /// As [`Supervisor::start_link`].
    ///
    /// # OTP
    ///
    /// `supervisor:start/2,3` (OTP 26+ has it; older code uses
    /// `gen_server:start`).
    pub async fn start(self) -> Result<SupervisorRef, SupStartError> {
        self.start_opts(false).await
    }

    async fn start_opts(self, link: bool) -> Result<SupervisorRef, SupStartError> {
        self.validate()?;
        let parent = if link { current() } else { None };
        let (tx, rx) = oneshot::channel();
        let Supervisor { flags, specs, name } = self;
        let mut opts = StartOpts::new().trap_exit();
        opts.link = link;
        // The supervisor registers its name itself, after the link (as OTP).
        let process = spawn_opts(opts, move |ctx| {
            server::run(ctx, flags, specs, name, parent, tx)
        })
        .map_err(|e| match e {
            StartError::AlreadyStarted(pid) => SupStartError::AlreadyStarted(pid),
            other => SupStartError::Exited(other.reason()),
        })?;
        match rx.await {
            Ok(Ok(())) => Ok(SupervisorRef::new(process)),
            Ok(Err(e)) => {
                process.wait().await;
                Err(e)
            }
            Err(_) => {
                // Killed while starting its children.
                let reason = process.wait().await;
                Err(SupStartError::Exited(reason))
            }
        }
    }

    /// A child spec (type supervisor, shutdown infinity) that starts this
    /// supervisor linked to its own supervisor, afresh on every restart.
    pub fn into_child_spec(self, id: impl Into<ChildId>) -> ChildSpec {
        ChildSpec::supervisor(id, move |_| {
            let sup = self.clone();
            async move { StartOutcome::from(sup.start_link().await) }
        })
    }
}

impl From<SupervisorRef> for StartOutcome {
    fn from(s: SupervisorRef) -> StartOutcome {
        StartOutcome::Started(s.handle().clone())
    }
}

impl From<SupStartError> for StartOutcome {
    fn from(e: SupStartError) -> StartOutcome {
        StartOutcome::Error(match e {
            SupStartError::Exited(r) => r,
            other => arbor_process::ExitReason::error(other),
        })
    }
}
