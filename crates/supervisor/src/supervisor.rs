//! The supervisor builder: flags, children; `start`, `start_link`,
//! `start_opts`.

use std::time::Duration;

use arbor_process::{Process, ProcessRef, StartError, StartOpts, current, spawn_opts};
use tokio::sync::oneshot;

use crate::server::{self, SupMsg};
use crate::{
    AutoShutdown, ChildId, ChildSpec, StartOutcome, Strategy, SupFlags, SupStartError,
    SupervisorRef, check_specs,
};

/// A supervisor to start: its flags and its child specs in start order.
/// Cheap to clone, so one value can start the supervisor again on every
/// restart (see [`Supervisor::into_child_spec`]).
///
/// # Examples
///
/// ```
/// use arbor_process::Agent;
/// use arbor_supervisor::{ChildSpec, Supervisor};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let sup = Supervisor::one_for_one()
///     .child(ChildSpec::worker("a", || Agent::start_link(|| 1)))
///     .child(ChildSpec::worker("b", || Agent::start_link(|| 2)))
///     .child(ChildSpec::worker("c", || Agent::start_link(|| 3)))
///     .start_link()
///     .await
///     .unwrap();
/// let ids: Vec<_> = sup.which_children().await.unwrap().into_iter().map(|c| c.id.unwrap()).collect();
/// assert_eq!(ids, ["c", "b", "a"]); // newest first
/// # }
/// ```
///
/// # OTP
///
/// The `{ok, {SupFlags, ChildSpecs}}` returned by `Module:init/1`; the
/// registered name of `supervisor:start_link/3` is in [`StartOpts`].
#[derive(Debug, Clone, Default)]
#[must_use = "a supervisor does nothing until started"]
pub struct Supervisor {
    flags: SupFlags,
    specs: Vec<ChildSpec>,
}

impl Supervisor {
    /// A supervisor with these flags and no children yet.
    ///
    /// With [`Strategy::SimpleOneForOne`] prefer [`Supervisor::simple`],
    /// which types the children's argument: a static spec given here is a
    /// template whose children take `()` (reach them with
    /// [`SupervisorRef::into_simple::<()>`](SupervisorRef::into_simple)).
    pub fn new(flags: SupFlags) -> Supervisor {
        Supervisor {
            flags,
            specs: Vec::new(),
        }
    }

    /// A one_for_one supervisor with OTP's default intensity (1 restart in
    /// 5 s); change it with [`intensity`](Supervisor::intensity) and
    /// [`period`](Supervisor::period).
    pub fn one_for_one() -> Supervisor {
        Supervisor::new(SupFlags::new(Strategy::OneForOne))
    }

    /// A one_for_all supervisor with OTP's default intensity.
    pub fn one_for_all() -> Supervisor {
        Supervisor::new(SupFlags::new(Strategy::OneForAll))
    }

    /// A rest_for_one supervisor with OTP's default intensity.
    pub fn rest_for_one() -> Supervisor {
        Supervisor::new(SupFlags::new(Strategy::RestForOne))
    }

    /// Sets the restart intensity: more than `intensity` restarts within
    /// [`period`](Supervisor::period) shut the supervisor down.
    pub fn intensity(mut self, intensity: u32) -> Supervisor {
        self.flags = self.flags.intensity(intensity);
        self
    }

    /// Sets the period of the restart intensity.
    pub fn period(mut self, period: Duration) -> Supervisor {
        self.flags = self.flags.period(period);
        self
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
    /// As [`Supervisor::start_opts`].
    ///
    /// # Cancel safety
    ///
    /// As [`Supervisor::start_opts`].
    ///
    /// # OTP
    ///
    /// `supervisor:start_link/2`, with the OTP 26+ synchronous init
    /// failure (no `EXIT` to the caller).
    pub async fn start_link(self) -> Result<SupervisorRef, SupStartError> {
        self.start_opts(StartOpts::default().link()).await
    }

    /// Starts the supervisor without a link (no parent).
    ///
    /// # Errors
    ///
    /// As [`Supervisor::start_opts`].
    ///
    /// # Cancel safety
    ///
    /// As [`Supervisor::start_opts`].
    ///
    /// # OTP
    ///
    /// `supervisor:start/2` (OTP 26+ has it; older code uses
    /// `gen_server:start`).
    pub async fn start(self) -> Result<SupervisorRef, SupStartError> {
        self.start_opts(StartOpts::default()).await
    }

    /// Starts the supervisor with options: registered under
    /// [`StartOpts::name`] (before any child starts), linked to the caller
    /// with [`StartOpts::link`].
    ///
    /// # Examples
    ///
    /// ```
    /// use arbor_process::{Process, StartOpts};
    /// use arbor_supervisor::{Supervisor, SupervisorRef};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let sup = Supervisor::one_for_one()
    ///     .start_opts(StartOpts::default().name("doc_sup").link())
    ///     .await
    ///     .unwrap();
    /// assert_eq!(SupervisorRef::whereis("doc_sup").map(|s| s.pid()), Some(sup.pid()));
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The validation errors of [`Supervisor::validate`];
    /// [`SupStartError::AlreadyStarted`] if the name is taken;
    /// [`SupStartError::FailedToStartChild`] if a child failed (the ones
    /// started before it are stopped in reverse order first);
    /// [`SupStartError::Exited`] if it was killed while starting. On error
    /// no process is left behind and the caller receives no exit signal.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future while children start leaves
    /// the supervisor running (linked to the caller with `link`).
    ///
    /// # OTP
    ///
    /// `supervisor:start_link/3` and `supervisor:start/3` with a name.
    pub async fn start_opts(self, opts: StartOpts) -> Result<SupervisorRef, SupStartError> {
        self.spawn(opts).await.map(SupervisorRef::new)
    }

    pub(crate) async fn spawn(self, opts: StartOpts) -> Result<ProcessRef<SupMsg>, SupStartError> {
        self.validate()?;
        let parent = if opts.link { current() } else { None };
        let (tx, rx) = oneshot::channel();
        let Supervisor { flags, specs } = self;
        let name = opts.name.map(|n| n.as_str().to_owned());
        let mut spawn = StartOpts::new().trap_exit();
        spawn.link = opts.link;
        // The supervisor registers its name itself, after the link (as OTP).
        let process = spawn_opts(spawn, move |ctx| {
            server::run(ctx, flags, specs, name, parent, tx)
        })
        .map_err(|e| match e {
            StartError::AlreadyStarted(pid) => SupStartError::AlreadyStarted(pid),
            other => SupStartError::Exited(other.reason()),
        })?;
        match rx.await {
            Ok(Ok(())) => Ok(process),
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
        self.into_child_spec_opts(id, StartOpts::default())
    }

    /// As [`Supervisor::into_child_spec`], started with `opts` (a name);
    /// the child is always linked.
    pub fn into_child_spec_opts(self, id: impl Into<ChildId>, opts: StartOpts) -> ChildSpec {
        let opts = opts.link();
        ChildSpec::supervisor_with(id, (self, opts), |(sup, opts)| sup.start_opts(opts))
    }
}

impl From<SupStartError> for StartOutcome {
    fn from(e: SupStartError) -> StartOutcome {
        StartOutcome::Error(e.into())
    }
}

/// A supervisor's failed start as an exit reason: the reason it exited
/// with while starting, else the error as [`ExitReason::Error`](arbor_process::ExitReason::Error).
impl From<SupStartError> for arbor_process::ExitReason {
    fn from(e: SupStartError) -> arbor_process::ExitReason {
        match e {
            SupStartError::Exited(r) => r,
            other => arbor_process::ExitReason::error(other),
        }
    }
}
