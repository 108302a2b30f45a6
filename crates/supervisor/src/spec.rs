//! Child specifications and their validation (a pure core).

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use arbor_process::ExitReason;
use futures::FutureExt;

use crate::args::{Args, TemplateArgs};
use crate::error::SpecError;
use crate::{AutoShutdown, Backoff, ChildId, IntoStartOutcome, StartOutcome};

/// When a terminated child is restarted.
///
/// # OTP
///
/// The `restart` field of a child spec; see docs/otp/supervisor.md#sup-child-exit for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum Restart {
    /// Always restarted.
    #[default]
    Permanent,
    /// Restarted only after an abnormal exit (not `normal`, `shutdown` or
    /// `{shutdown, _}`).
    Transient,
    /// Never restarted; its spec is removed when it terminates.
    Temporary,
}

impl fmt::Display for Restart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Restart::Permanent => "permanent",
            Restart::Transient => "transient",
            Restart::Temporary => "temporary",
        })
    }
}

/// How a child is stopped by its supervisor.
///
/// # OTP
///
/// The `shutdown` field: `brutal_kill`, a timeout in milliseconds, or
/// `infinity`. Defaults: 5 s for workers, infinity for supervisors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum Shutdown {
    /// Killed at once (untrappable).
    BrutalKill,
    /// Sent `shutdown`; killed if still alive after the timeout.
    Timeout(Duration),
    /// Sent `shutdown` and waited for without limit.
    Infinity,
}

impl fmt::Display for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shutdown::BrutalKill => f.write_str("brutal_kill"),
            Shutdown::Timeout(d) => write!(f, "{}", d.as_millis()),
            Shutdown::Infinity => f.write_str("infinity"),
        }
    }
}

/// Whether a child is a worker or a supervisor.
///
/// # OTP
///
/// The `type` field. It sets the shutdown default and is reported by
/// [`count_children`](crate::SupervisorRef::count_children); supervisors are
/// also descended into by [`tree`](crate::SupervisorRef::tree).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum ChildType {
    /// Any process that is not a supervisor.
    #[default]
    Worker,
    /// A supervisor.
    Supervisor,
}

impl fmt::Display for ChildType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChildType::Worker => "worker",
            ChildType::Supervisor => "supervisor",
        })
    }
}

/// The boxed future a start function returns.
pub type StartFuture = Pin<Box<dyn Future<Output = StartOutcome> + Send>>;

/// A child's start function, as the spec keeps it. Both shapes take the
/// erased argument of a simple_one_for_one template; a static child's
/// function ignores it.
#[derive(Clone)]
pub(crate) enum StartFn {
    /// Returns a future ([`ChildSpec::worker`], [`ChildSpec::supervisor`]),
    /// boxed at each start.
    Async(Arc<dyn Fn(Args) -> StartFuture + Send + Sync>),
    /// Returns the outcome itself ([`ChildSpec::worker_sync`]): a start
    /// allocates nothing beyond the child.
    Sync(Arc<dyn Fn(Args) -> StartOutcome + Send + Sync>),
}

/// How to start, restart and stop one child. Cheap to clone.
///
/// The plain data is public: read `spec.restart`, set it with the builder
/// method of the same name, `.restart(Restart::Transient)`. The start
/// function is private.
///
/// The start function runs **inside the supervisor process**, so
/// `spawn_link`, `GenServer::start_link` and `Supervisor::start_link`
/// called in it link the child to the supervisor, as OTP requires. If the
/// returned process is not linked, the supervisor links it.
///
/// # Examples
///
/// ```
/// use arbor_process::Agent;
/// use arbor_supervisor::{ChildSpec, Restart, Shutdown};
/// use std::time::Duration;
///
/// let spec = ChildSpec::worker("counter", || Agent::start_link(|| 0u64))
///     .restart(Restart::Transient)
///     .shutdown(Shutdown::Timeout(Duration::from_secs(1)));
/// assert_eq!(spec.id.as_str(), "counter");
/// assert_eq!(spec.restart, Restart::Transient);
/// ```
///
/// A spec that carries its own argument, cloned by the supervisor for
/// every (re)start, so the closure never clones by hand:
///
/// ```
/// use arbor_process::Agent;
/// use arbor_supervisor::ChildSpec;
///
/// #[derive(Clone)]
/// struct Config {
///     start_at: u64,
/// }
///
/// let spec = ChildSpec::worker_with("db", Config { start_at: 7 }, |cfg: Config| {
///     Agent::start_link(move || cfg.start_at)
/// });
/// assert_eq!(spec.id.as_str(), "db");
/// ```
///
/// # OTP
///
/// `supervisor:child_spec()`. `modules` is omitted (no code upgrade); the
/// start function is a closure instead of `{M, F, A}`, and
/// [`ChildSpec::worker_with`] keeps the `A`.
#[derive(Clone)]
#[must_use = "a child spec does nothing until given to a supervisor"]
pub struct ChildSpec {
    /// The child's id, unique among its supervisor's children.
    pub id: ChildId,
    /// When the child is restarted; default [`Restart::Permanent`].
    pub restart: Restart,
    /// How the child is stopped; default 5 s for a worker, infinity for a
    /// supervisor (set by the constructor).
    pub shutdown: Shutdown,
    /// Worker or supervisor.
    pub child_type: ChildType,
    /// Whether its exit may shut the supervisor down (auto-shutdown); only
    /// for transient and temporary children. Default `false`.
    pub significant: bool,
    /// Delays automatic restarts of this child (beyond OTP; default
    /// `None`). See [`Backoff`].
    pub backoff: Option<Backoff>,
    start: StartFn,
    /// Set on a simple_one_for_one template: its argument type.
    template: Option<TemplateArgs>,
}

impl ChildSpec {
    /// A worker child with OTP defaults: permanent, 5 s shutdown, not
    /// significant. `start` takes no argument; see
    /// [`ChildSpec::worker_with`] for one the supervisor hands it.
    pub fn worker<F, Fut, O>(id: impl Into<ChildId>, start: F) -> ChildSpec
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoStartOutcome,
    {
        ChildSpec::new(id, ChildType::Worker, move |_: Args| start())
    }

    /// A worker child whose start function gets a clone of `arg` at every
    /// (re)start. OTP defaults as for [`ChildSpec::worker`].
    ///
    /// # Examples
    ///
    /// See [`ChildSpec`].
    ///
    /// # OTP
    ///
    /// `start => {M, F, A}` with its `A`: the supervisor calls the start
    /// function with the same arguments every time.
    pub fn worker_with<T, F, Fut, O>(id: impl Into<ChildId>, arg: T, start: F) -> ChildSpec
    where
        T: Clone + Send + Sync + 'static,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoStartOutcome,
    {
        ChildSpec::new(id, ChildType::Worker, move |_: Args| start(arg.clone()))
    }

    /// A supervisor child: permanent, shutdown infinity. `start` takes no
    /// argument.
    pub fn supervisor<F, Fut, O>(id: impl Into<ChildId>, start: F) -> ChildSpec
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoStartOutcome,
    {
        ChildSpec::new(id, ChildType::Supervisor, move |_: Args| start())
    }

    /// A supervisor child whose start function gets a clone of `arg` at
    /// every (re)start; as [`ChildSpec::worker_with`].
    pub fn supervisor_with<T, F, Fut, O>(id: impl Into<ChildId>, arg: T, start: F) -> ChildSpec
    where
        T: Clone + Send + Sync + 'static,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoStartOutcome,
    {
        ChildSpec::new(id, ChildType::Supervisor, move |_: Args| start(arg.clone()))
    }

    /// A worker child whose start function returns without awaiting, as
    /// one that only calls [`spawn_link`](arbor_process::spawn_link) does;
    /// OTP defaults as for [`ChildSpec::worker`].
    ///
    /// A start through [`ChildSpec::worker`] boxes the future its function
    /// returns; this one allocates nothing beyond the child, which counts
    /// when a supervisor restarts many children (one_for_all).
    ///
    /// # Examples
    ///
    /// ```
    /// use arbor_process::{Ctx, spawn_link};
    /// use arbor_supervisor::ChildSpec;
    ///
    /// let spec = ChildSpec::worker_sync("idle", || {
    ///     spawn_link(|mut ctx: Ctx<()>| async move {
    ///         loop {
    ///             ctx.recv().await;
    ///         }
    ///     })
    /// });
    /// assert_eq!(spec.id.as_str(), "idle");
    /// ```
    ///
    /// # OTP
    ///
    /// A child spec's `start => {M, F, A}`: a plain function call in the
    /// supervisor process. A panic in it is a start error, as a crash of
    /// the start function is in OTP.
    pub fn worker_sync<F, O>(id: impl Into<ChildId>, start: F) -> ChildSpec
    where
        F: Fn() -> O + Send + Sync + 'static,
        O: IntoStartOutcome,
    {
        let start = StartFn::Sync(Arc::new(move |_: Args| start().into_start_outcome()));
        ChildSpec::with_start(id, ChildType::Worker, start, None)
    }

    fn new<F, Fut, O>(id: impl Into<ChildId>, child_type: ChildType, start: F) -> ChildSpec
    where
        F: Fn(Args) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoStartOutcome,
    {
        ChildSpec::with_start(id, child_type, StartFn::boxed(start), None)
    }

    pub(crate) fn with_start(
        id: impl Into<ChildId>,
        child_type: ChildType,
        start: StartFn,
        template: Option<TemplateArgs>,
    ) -> ChildSpec {
        ChildSpec {
            id: id.into(),
            restart: Restart::Permanent,
            shutdown: match child_type {
                ChildType::Worker => Shutdown::Timeout(Duration::from_secs(5)),
                ChildType::Supervisor => Shutdown::Infinity,
            },
            child_type,
            significant: false,
            backoff: None,
            start,
            template,
        }
    }

    /// Sets [`id`](ChildSpec::id).
    pub fn id(mut self, id: impl Into<ChildId>) -> ChildSpec {
        self.id = id.into();
        self
    }

    /// Sets [`restart`](ChildSpec::restart).
    pub fn restart(mut self, restart: Restart) -> ChildSpec {
        self.restart = restart;
        self
    }

    /// Sets [`shutdown`](ChildSpec::shutdown).
    pub fn shutdown(mut self, shutdown: Shutdown) -> ChildSpec {
        self.shutdown = shutdown;
        self
    }

    /// Sets [`child_type`](ChildSpec::child_type). The shutdown is not
    /// changed: the constructors set the type's default.
    pub fn child_type(mut self, child_type: ChildType) -> ChildSpec {
        self.child_type = child_type;
        self
    }

    /// Sets [`significant`](ChildSpec::significant).
    pub fn significant(mut self, significant: bool) -> ChildSpec {
        self.significant = significant;
        self
    }

    /// Sets [`backoff`](ChildSpec::backoff).
    pub fn backoff(mut self, backoff: Backoff) -> ChildSpec {
        self.backoff = Some(backoff);
        self
    }

    /// The template's argument description; `None` for a static child.
    pub(crate) fn template_args(&self) -> Option<&TemplateArgs> {
        self.template.as_ref()
    }

    /// Runs the start function in the calling process. A panic in it, also
    /// in the part of an async start function that runs before its future
    /// is returned, is the start error `Panic`.
    pub(crate) async fn call_start(&self, args: Args) -> StartOutcome {
        let outcome = match &self.start {
            StartFn::Sync(start) => std::panic::catch_unwind(AssertUnwindSafe(|| start(args))),
            StartFn::Async(start) => {
                match std::panic::catch_unwind(AssertUnwindSafe(|| start(args))) {
                    Ok(fut) => AssertUnwindSafe(fut).catch_unwind().await,
                    Err(payload) => Err(payload),
                }
            }
        };
        outcome.unwrap_or_else(|payload| StartOutcome::Error(ExitReason::from_panic(&*payload)))
    }

    /// Checks the spec on its own and against the supervisor's
    /// auto-shutdown. Pure.
    ///
    /// # Errors
    ///
    /// [`SpecError::MissingId`] for an empty id;
    /// [`SpecError::SignificantWithoutAutoShutdown`] (checked first) and
    /// [`SpecError::SignificantPermanent`] for an invalid `significant`;
    /// [`SpecError::InvalidBackoff`];
    /// [`SpecError::TemporaryOnly`] for a
    /// [`temporary_template`](ChildSpec::temporary_template) whose restart
    /// type was changed.
    ///
    /// # OTP
    ///
    /// `supervisor:check_childspecs/2`, in OTP's field order. Invalid
    /// restart, shutdown and type values cannot be expressed in Rust.
    pub fn validate(&self, auto_shutdown: AutoShutdown) -> Result<(), SpecError> {
        if self.id.as_str().is_empty() {
            return Err(SpecError::MissingId);
        }
        if self.significant {
            if auto_shutdown == AutoShutdown::Never {
                return Err(SpecError::SignificantWithoutAutoShutdown(self.id.clone()));
            }
            if self.restart == Restart::Permanent {
                return Err(SpecError::SignificantPermanent(self.id.clone()));
            }
        }
        if let Some(t) = &self.template
            && !t.can_restart()
            && self.restart != Restart::Temporary
        {
            return Err(SpecError::TemporaryOnly(self.id.clone()));
        }
        if let Some(b) = self.backoff
            && !b.is_valid()
        {
            return Err(SpecError::InvalidBackoff(self.id.clone()));
        }
        Ok(())
    }
}

impl StartFn {
    /// An async start function, its future boxed at each start.
    pub(crate) fn boxed<F, Fut, O>(start: F) -> StartFn
    where
        F: Fn(Args) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoStartOutcome,
    {
        StartFn::Async(Arc::new(move |args: Args| -> StartFuture {
            let fut = start(args);
            Box::pin(async move { fut.await.into_start_outcome() })
        }))
    }
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("type", &self.child_type)
            .field("significant", &self.significant)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

/// Validates a start list: every spec, then duplicate ids. Pure.
///
/// # Errors
///
/// The first invalid spec's [`SpecError`], or
/// [`SpecError::DuplicateChildName`] for a repeated id.
///
/// # OTP
///
/// `supervisor:check_childspecs/2`.
pub fn check_specs(specs: &[ChildSpec], auto_shutdown: AutoShutdown) -> Result<(), SpecError> {
    let mut seen = std::collections::HashSet::with_capacity(specs.len());
    for spec in specs {
        spec.validate(auto_shutdown)?;
        if !seen.insert(spec.id.as_str()) {
            return Err(SpecError::DuplicateChildName(spec.id.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StartOutcome;

    fn spec(id: &str) -> ChildSpec {
        ChildSpec::worker(id, || async { StartOutcome::Ignore })
    }

    #[test]
    fn defaults_are_otp_defaults() {
        let w = spec("w");
        assert_eq!(w.restart, Restart::Permanent);
        assert_eq!(w.shutdown, Shutdown::Timeout(Duration::from_secs(5)));
        assert_eq!(w.child_type, ChildType::Worker);
        assert!(!w.significant);
        let s = ChildSpec::supervisor("s", || async { StartOutcome::Ignore });
        assert_eq!(s.shutdown, Shutdown::Infinity);
    }

    #[test]
    fn significant_with_never_is_checked_before_permanent() {
        let s = spec("a").significant(true);
        assert_eq!(
            s.validate(AutoShutdown::Never),
            Err(SpecError::SignificantWithoutAutoShutdown("a".into()))
        );
        assert_eq!(
            s.validate(AutoShutdown::AnySignificant),
            Err(SpecError::SignificantPermanent("a".into()))
        );
        let ok = spec("a").significant(true).restart(Restart::Transient);
        assert_eq!(ok.validate(AutoShutdown::AllSignificant), Ok(()));
    }

    #[test]
    fn empty_id_is_missing_id() {
        assert_eq!(
            spec("").validate(AutoShutdown::Never),
            Err(SpecError::MissingId)
        );
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let specs = [spec("a"), spec("b"), spec("a")];
        assert_eq!(
            check_specs(&specs, AutoShutdown::Never),
            Err(SpecError::DuplicateChildName("a".into()))
        );
    }
}
