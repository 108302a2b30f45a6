//! Child specifications and their validation (a pure core).

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use arbor_process::ExitReason;
use futures::FutureExt;
use serde::Serialize;

use crate::error::SpecError;
use crate::{AutoShutdown, Backoff, ChildId, StartArgs, StartOutcome};

/// When a terminated child is restarted.
///
/// # OTP
///
/// The `restart` field of a child spec; see otp-reference §2.6 for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
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

/// A child's start function, as the spec keeps it.
#[derive(Clone)]
enum StartFn {
    /// Returns a future ([`ChildSpec::worker`], [`ChildSpec::supervisor`]),
    /// boxed at each start.
    Async(Arc<dyn Fn(StartArgs) -> StartFuture + Send + Sync>),
    /// Returns the outcome itself ([`ChildSpec::worker_sync`]): a start
    /// allocates nothing beyond the child.
    Sync(Arc<dyn Fn(StartArgs) -> StartOutcome + Send + Sync>),
}

/// How to start, restart and stop one child. Cheap to clone.
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
/// let spec = ChildSpec::worker("counter", |_args| async {
///     Agent::start_link(|| 0u64).await
/// })
/// .restart(Restart::Transient)
/// .shutdown(Shutdown::Timeout(Duration::from_secs(1)));
/// assert_eq!(spec.id().as_str(), "counter");
/// ```
///
/// # OTP
///
/// `supervisor:child_spec()`. `modules` is omitted (no code upgrade); the
/// start function is a closure instead of `{M, F, A}`.
#[derive(Clone)]
pub struct ChildSpec {
    id: ChildId,
    start: StartFn,
    restart: Restart,
    shutdown: Option<Shutdown>,
    child_type: ChildType,
    significant: bool,
    backoff: Option<Backoff>,
}

impl ChildSpec {
    /// A worker child with OTP defaults: permanent, 5 s shutdown, not
    /// significant.
    pub fn worker<F, Fut, O>(id: impl Into<ChildId>, start: F) -> ChildSpec
    where
        F: Fn(StartArgs) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: Into<StartOutcome>,
    {
        ChildSpec::new(id, ChildType::Worker, start)
    }

    /// A supervisor child: permanent, shutdown infinity.
    pub fn supervisor<F, Fut, O>(id: impl Into<ChildId>, start: F) -> ChildSpec
    where
        F: Fn(StartArgs) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: Into<StartOutcome>,
    {
        ChildSpec::new(id, ChildType::Supervisor, start)
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
    /// use arbor_supervisor::{ChildSpec, StartOutcome};
    ///
    /// let spec = ChildSpec::worker_sync("idle", |_args| {
    ///     StartOutcome::from(spawn_link(|mut ctx: Ctx<()>| async move {
    ///         loop {
    ///             ctx.recv().await;
    ///         }
    ///     }))
    /// });
    /// assert_eq!(spec.id().as_str(), "idle");
    /// ```
    ///
    /// # OTP
    ///
    /// A child spec's `start => {M, F, A}`: a plain function call in the
    /// supervisor process. A panic in it is a start error, as a crash of
    /// the start function is in OTP.
    pub fn worker_sync<F, O>(id: impl Into<ChildId>, start: F) -> ChildSpec
    where
        F: Fn(StartArgs) -> O + Send + Sync + 'static,
        O: Into<StartOutcome>,
    {
        let start = StartFn::Sync(Arc::new(move |args| start(args).into()));
        ChildSpec::with_start(id, ChildType::Worker, start)
    }

    fn new<F, Fut, O>(id: impl Into<ChildId>, child_type: ChildType, start: F) -> ChildSpec
    where
        F: Fn(StartArgs) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: Into<StartOutcome>,
    {
        let start = move |args: StartArgs| -> StartFuture {
            let fut = start(args);
            Box::pin(async move { fut.await.into() })
        };
        ChildSpec::with_start(id, child_type, StartFn::Async(Arc::new(start)))
    }

    fn with_start(id: impl Into<ChildId>, child_type: ChildType, start: StartFn) -> ChildSpec {
        ChildSpec {
            id: id.into(),
            start,
            restart: Restart::Permanent,
            shutdown: None,
            child_type,
            significant: false,
            backoff: None,
        }
    }

    /// Sets the restart type.
    pub fn restart(mut self, restart: Restart) -> ChildSpec {
        self.restart = restart;
        self
    }

    /// Sets how the child is stopped.
    pub fn shutdown(mut self, shutdown: Shutdown) -> ChildSpec {
        self.shutdown = Some(shutdown);
        self
    }

    /// Sets the child type (and with it the shutdown default).
    pub fn child_type(mut self, child_type: ChildType) -> ChildSpec {
        self.child_type = child_type;
        self
    }

    /// Marks the child significant for auto-shutdown (only transient and
    /// temporary children, and only with an auto-shutdown other than never).
    pub fn significant(mut self, significant: bool) -> ChildSpec {
        self.significant = significant;
        self
    }

    /// Delays automatic restarts of this child (beyond OTP; off by
    /// default). See [`Backoff`].
    pub fn backoff(mut self, backoff: Backoff) -> ChildSpec {
        self.backoff = Some(backoff);
        self
    }

    /// Replaces the id.
    pub fn id_as(mut self, id: impl Into<ChildId>) -> ChildSpec {
        self.id = id.into();
        self
    }

    /// The child's id.
    pub fn id(&self) -> &ChildId {
        &self.id
    }

    /// The restart type.
    pub fn restart_type(&self) -> Restart {
        self.restart
    }

    /// The shutdown, with the type's default filled in.
    pub fn shutdown_value(&self) -> Shutdown {
        self.shutdown.unwrap_or(match self.child_type {
            ChildType::Worker => Shutdown::Timeout(Duration::from_secs(5)),
            ChildType::Supervisor => Shutdown::Infinity,
        })
    }

    /// Worker or supervisor.
    pub fn kind(&self) -> ChildType {
        self.child_type
    }

    /// Whether the child is significant.
    pub fn is_significant(&self) -> bool {
        self.significant
    }

    /// The restart backoff, if any.
    pub fn backoff_value(&self) -> Option<Backoff> {
        self.backoff
    }

    /// Runs the start function in the calling process. A panic in it, also
    /// in the part of an async start function that runs before its future
    /// is returned, is the start error `Panic`.
    pub(crate) async fn call_start(&self, args: StartArgs) -> StartOutcome {
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
    /// [`SpecError::InvalidBackoff`].
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
        if let Some(b) = self.backoff
            && !b.is_valid()
        {
            return Err(SpecError::InvalidBackoff(self.id.clone()));
        }
        Ok(())
    }
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown_value())
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
        ChildSpec::worker(id, |_| async { StartOutcome::Ignore })
    }

    #[test]
    fn defaults_are_otp_defaults() {
        let w = spec("w");
        assert_eq!(w.restart_type(), Restart::Permanent);
        assert_eq!(
            w.shutdown_value(),
            Shutdown::Timeout(Duration::from_secs(5))
        );
        assert_eq!(w.kind(), ChildType::Worker);
        assert!(!w.is_significant());
        let s = ChildSpec::supervisor("s", |_| async { StartOutcome::Ignore });
        assert_eq!(s.shutdown_value(), Shutdown::Infinity);
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
