//! simple_one_for_one templates: typed start arguments, erased inside the
//! supervisor.
//!
//! Invariant 1: the typed handles ([`SimpleSupervisorRef<A>`]) are the
//! only way to send an [`Args`], and they are made for a template of `A`
//! (by [`Supervisor::simple`](crate::Supervisor::simple), or checked by
//! type id in [`SupervisorRef::into_simple`]), except through the
//! unchecked `SimpleSupervisorRef::whereis` / `from_pid`. A template
//! handed another type, or a static supervisor handed an argument,
//! answers the start error `badarg`, as OTP's `start_child` with
//! arguments its start function does not take fails.
//!
//! [`SimpleSupervisorRef<A>`]: crate::SimpleSupervisorRef
//! [`SupervisorRef::into_simple`]: crate::SupervisorRef::into_simple

use std::any::TypeId;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use arbor_process::ExitReason;

use crate::args::{Args, TemplateArgs, clone_as};
use crate::spec::StartFn;
use crate::{
    Backoff, ChildId, ChildSpec, ChildType, IntoStartOutcome, Restart, Shutdown, StartOutcome,
};

/// The start error of a template handed an argument of another type
/// (invariant 1).
fn wrong_args() -> StartOutcome {
    StartOutcome::Error(ExitReason::custom("badarg"))
}

/// The child spec of a simple_one_for_one supervisor, typed by the
/// argument `A` each [`start_child`](crate::SimpleSupervisorRef::start_child)
/// hands to its start function. Cheap to clone.
///
/// Made with [`ChildSpec::template`] (`A: Clone`, restartable) or
/// [`ChildSpec::temporary_template`] (any `A`, moved in once, never
/// restarted). The builder methods are those of [`ChildSpec`]; read the
/// fields through [`ChildTemplate::spec`].
///
/// # Examples
///
/// ```
/// use arbor_process::Agent;
/// use arbor_supervisor::{ChildSpec, Restart, Supervisor, SupFlags};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let template = ChildSpec::template("counter", |start_at: u64| Agent::start_link(move || start_at))
///     .restart(Restart::Transient);
/// let sup = Supervisor::simple(SupFlags::default(), template).start().await.unwrap();
/// let child = sup.start_child(41).await.unwrap();
/// assert!(child.pid().is_some());
/// # }
/// ```
///
/// # OTP
///
/// The one child spec of a simple_one_for_one supervisor; `A` is the
/// `ExtraArgs` of `supervisor:start_child/2`, appended to `{M, F, Args}`.
#[must_use = "a child template does nothing until given to a supervisor"]
pub struct ChildTemplate<A> {
    spec: ChildSpec,
    _args: PhantomData<fn(A)>,
}

impl<A> Clone for ChildTemplate<A> {
    fn clone(&self) -> Self {
        ChildTemplate {
            spec: self.spec.clone(),
            _args: PhantomData,
        }
    }
}

impl<A> fmt::Debug for ChildTemplate<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ChildTemplate").field(&self.spec).finish()
    }
}

impl ChildSpec {
    /// A simple_one_for_one template of worker children, each started with
    /// the `A` given to its
    /// [`start_child`](crate::SimpleSupervisorRef::start_child). OTP
    /// defaults (permanent, 5 s shutdown); a restart is started with a
    /// clone of the same argument.
    ///
    /// # Examples
    ///
    /// See [`ChildTemplate`].
    ///
    /// # OTP
    ///
    /// A simple_one_for_one child spec; restarts reuse the `ExtraArgs`.
    pub fn template<A, F, Fut, O>(id: impl Into<ChildId>, start: F) -> ChildTemplate<A>
    where
        A: Clone + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoStartOutcome,
    {
        ChildTemplate::async_start(id, Some(clone_as::<A>), start)
    }

    /// A simple_one_for_one template of temporary worker children: each
    /// takes its `A` by value, exactly once, so `A` need not be `Clone`
    /// (a `TcpStream`, a channel end). The restart type is
    /// [`Restart::Temporary`]; setting another fails validation with
    /// [`SpecError::TemporaryOnly`](crate::SpecError::TemporaryOnly).
    ///
    /// # Examples
    ///
    /// ```
    /// use arbor_process::{Ctx, ExitReason, spawn_link};
    /// use arbor_supervisor::{ChildSpec, Supervisor, SupFlags};
    /// use tokio::sync::oneshot;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let template = ChildSpec::temporary_template("job", |done: oneshot::Sender<u32>| async move {
    ///     spawn_link(move |_ctx: Ctx<()>| async move {
    ///         let _ = done.send(7);
    ///         ExitReason::Normal
    ///     })
    /// });
    /// let sup = Supervisor::simple(SupFlags::default(), template).start().await.unwrap();
    /// let (tx, rx) = oneshot::channel();
    /// sup.start_child(tx).await.unwrap();
    /// assert_eq!(rx.await, Ok(7));
    /// # }
    /// ```
    ///
    /// # OTP
    ///
    /// A simple_one_for_one spec with `restart => temporary`, the usual
    /// shape of a connection handler pool.
    pub fn temporary_template<A, F, Fut, O>(id: impl Into<ChildId>, start: F) -> ChildTemplate<A>
    where
        A: Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoStartOutcome,
    {
        ChildTemplate::async_start(id, None, start).restart(Restart::Temporary)
    }

    /// [`ChildSpec::template`] with a start function that returns without
    /// awaiting, as [`ChildSpec::worker_sync`]: a start allocates nothing
    /// beyond the child (and the argument, unless it is zero-sized).
    pub fn template_sync<A, F, O>(id: impl Into<ChildId>, start: F) -> ChildTemplate<A>
    where
        A: Clone + Send + 'static,
        F: Fn(A) -> O + Send + Sync + 'static,
        O: IntoStartOutcome,
    {
        let start = StartFn::Sync(Arc::new(move |args: Args| match args.take::<A>() {
            Ok(a) => start(a).into_start_outcome(),
            Err(_) => wrong_args(),
        }));
        ChildTemplate::from_start(id, Some(clone_as::<A>), start)
    }
}

impl<A: Send + 'static> ChildTemplate<A> {
    fn async_start<F, Fut, O>(
        id: impl Into<ChildId>,
        clone: Option<fn(&mut Args) -> Option<Args>>,
        start: F,
    ) -> ChildTemplate<A>
    where
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoStartOutcome,
    {
        let start = StartFn::boxed(move |args: Args| {
            let fut = args.take::<A>().map(&start);
            async move {
                match fut {
                    Ok(fut) => fut.await.into_start_outcome(),
                    Err(_) => wrong_args(),
                }
            }
        });
        ChildTemplate::from_start(id, clone, start)
    }

    fn from_start(
        id: impl Into<ChildId>,
        clone: Option<fn(&mut Args) -> Option<Args>>,
        start: StartFn,
    ) -> ChildTemplate<A> {
        let args = TemplateArgs {
            type_id: TypeId::of::<A>(),
            clone,
        };
        ChildTemplate {
            spec: ChildSpec::with_start(id, ChildType::Worker, start, Some(args)),
            _args: PhantomData,
        }
    }
}

impl<A> ChildTemplate<A> {
    /// The template as a child spec (what
    /// [`get_childspec`](crate::SupervisorRef::get_childspec) answers).
    pub fn spec(&self) -> &ChildSpec {
        &self.spec
    }

    pub(crate) fn into_spec(self) -> ChildSpec {
        self.spec
    }

    /// Sets the id, as [`ChildSpec::id`](ChildSpec::id()).
    pub fn id(mut self, id: impl Into<ChildId>) -> ChildTemplate<A> {
        self.spec = self.spec.id(id);
        self
    }

    /// Sets the restart type, as [`ChildSpec::restart`](ChildSpec::restart()).
    pub fn restart(mut self, restart: Restart) -> ChildTemplate<A> {
        self.spec = self.spec.restart(restart);
        self
    }

    /// Sets the shutdown, as [`ChildSpec::shutdown`](ChildSpec::shutdown()).
    pub fn shutdown(mut self, shutdown: Shutdown) -> ChildTemplate<A> {
        self.spec = self.spec.shutdown(shutdown);
        self
    }

    /// Sets the child type, as
    /// [`ChildSpec::child_type`](ChildSpec::child_type()).
    pub fn child_type(mut self, child_type: ChildType) -> ChildTemplate<A> {
        self.spec = self.spec.child_type(child_type);
        self
    }

    /// Sets significance, as
    /// [`ChildSpec::significant`](ChildSpec::significant()). A
    /// simple_one_for_one supervisor has no auto-shutdown, so a
    /// significant template fails validation, as in OTP.
    pub fn significant(mut self, significant: bool) -> ChildTemplate<A> {
        self.spec = self.spec.significant(significant);
        self
    }

    /// Sets the restart backoff, as
    /// [`ChildSpec::backoff`](ChildSpec::backoff()).
    pub fn backoff(mut self, backoff: Backoff) -> ChildTemplate<A> {
        self.spec = self.spec.backoff(backoff);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AutoShutdown, SpecError};

    fn ignore<A>(_: A) -> std::future::Ready<StartOutcome> {
        std::future::ready(StartOutcome::Ignore)
    }

    #[test]
    fn a_temporary_template_is_valid_only_as_temporary() {
        let t = ChildSpec::temporary_template("conn", ignore::<std::sync::mpsc::Receiver<u8>>);
        assert_eq!(t.spec().restart, Restart::Temporary);
        assert_eq!(t.spec().validate(AutoShutdown::Never), Ok(()));
        let t = t.restart(Restart::Transient);
        assert_eq!(
            t.spec().validate(AutoShutdown::Never),
            Err(SpecError::TemporaryOnly("conn".into()))
        );
    }

    #[test]
    fn a_clonable_template_is_restartable_and_clones_its_argument() {
        let t = ChildSpec::template("w", ignore::<String>).restart(Restart::Transient);
        assert_eq!(t.spec().validate(AutoShutdown::Never), Ok(()));
        let args = t.spec().template_args().copied().unwrap();
        assert!(args.can_restart());
        let mut kept = Args::new(String::from("x"));
        let copy = args.clone_args(&mut kept).unwrap();
        assert_eq!(copy.take::<String>().ok().as_deref(), Some("x"));
        assert_eq!(kept.take::<String>().ok().as_deref(), Some("x"));
    }
}
