//! simple_one_for_one supervisors typed by their template's argument:
//! the builder and the handle, and the ways to them from the untyped ones
//! ([`Supervisor::simple`], [`SupervisorRef::into_simple`]), which live
//! here so that the untyped files do not import the typed ones.

use std::any::TypeId;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use arbor_process::{Pid, ProcessWrapper, StartOpts};

use crate::args::Args;
use crate::server::Request;
use crate::{
    ChildCounts, ChildId, ChildInfo, ChildSpec, ChildTemplate, IntoSimpleError,
    StartSimpleChildError, StartedChild, Strategy, SupFlags, SupStartError, Supervisor,
    SupervisorRef, TerminateChildError, TreeNode, WhichChildError,
};

/// A simple_one_for_one supervisor to start, made by
/// [`Supervisor::simple`]. Cheap to clone.
///
/// # OTP
///
/// `{ok, {#{strategy => simple_one_for_one}, [Template]}}` from
/// `Module:init/1`.
#[must_use = "a supervisor does nothing until started"]
pub struct SimpleSupervisor<A> {
    sup: Supervisor,
    _args: PhantomData<fn(A)>,
}

// ===== impl Supervisor: the simple_one_for_one builder =====

impl Supervisor {
    /// A simple_one_for_one supervisor whose children all start from
    /// `template`, each with the `A` given to
    /// [`start_child`](crate::SimpleSupervisorRef::start_child). The
    /// strategy of `flags` is replaced.
    ///
    /// # Examples
    ///
    /// See [`ChildTemplate`].
    pub fn simple<A>(flags: SupFlags, template: ChildTemplate<A>) -> SimpleSupervisor<A> {
        SimpleSupervisor::new(
            Supervisor::new(flags.strategy(Strategy::SimpleOneForOne)).child(template.into_spec()),
        )
    }
}

// ===== impl SimpleSupervisor =====

impl<A> Clone for SimpleSupervisor<A> {
    fn clone(&self) -> Self {
        SimpleSupervisor::new(self.sup.clone())
    }
}

impl<A> fmt::Debug for SimpleSupervisor<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SimpleSupervisor").field(&self.sup).finish()
    }
}

impl<A> SimpleSupervisor<A> {
    pub(crate) fn new(sup: Supervisor) -> SimpleSupervisor<A> {
        SimpleSupervisor {
            sup,
            _args: PhantomData,
        }
    }

    /// Validates flags and template without starting anything. Pure.
    ///
    /// # Errors
    ///
    /// As [`Supervisor::validate`]; a
    /// [`temporary_template`](ChildSpec::temporary_template) made
    /// restartable is [`SpecError::TemporaryOnly`](crate::SpecError::TemporaryOnly).
    pub fn validate(&self) -> Result<(), SupStartError> {
        self.sup.validate()
    }

    /// Starts the supervisor linked to the caller.
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
    /// `supervisor:start_link/2`.
    pub async fn start_link(self) -> Result<SimpleSupervisorRef<A>, SupStartError> {
        self.start_opts(StartOpts::default().link()).await
    }

    /// Starts the supervisor without a link.
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
    /// `supervisor:start/2`.
    pub async fn start(self) -> Result<SimpleSupervisorRef<A>, SupStartError> {
        self.start_opts(StartOpts::default()).await
    }

    /// Starts the supervisor with a name and/or a link.
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
    /// `supervisor:start_link/3`.
    pub async fn start_opts(
        self,
        opts: StartOpts,
    ) -> Result<SimpleSupervisorRef<A>, SupStartError> {
        let process = self.sup.spawn(opts).await?;
        Ok(SimpleSupervisorRef::new(SupervisorRef::new(process)))
    }

    /// A child spec that starts this supervisor linked to its own
    /// supervisor, as [`Supervisor::into_child_spec`].
    pub fn into_child_spec(self, id: impl Into<ChildId>) -> ChildSpec {
        self.sup.into_child_spec(id)
    }

    /// As [`Supervisor::into_child_spec_opts`].
    pub fn into_child_spec_opts(self, id: impl Into<ChildId>, opts: StartOpts) -> ChildSpec {
        self.sup.into_child_spec_opts(id, opts)
    }
}

/// A handle to a simple_one_for_one supervisor whose template takes an
/// `A`: [`start_child`](SimpleSupervisorRef::start_child) is checked by the
/// compiler. Cheap to clone.
///
/// Made by [`SimpleSupervisor::start`] and friends, or from an untyped
/// handle with [`SupervisorRef::into_simple`]. The requests that need no
/// argument are those of [`SupervisorRef`], through
/// [`supervisor`](SimpleSupervisorRef::supervisor) or the shortcuts here.
///
/// # OTP
///
/// The `SupRef` of a simple_one_for_one supervisor.
pub struct SimpleSupervisorRef<A> {
    sup: SupervisorRef,
    _args: PhantomData<fn(A)>,
}

// ===== impl SupervisorRef: the typed handle =====

impl SupervisorRef {
    /// The typed handle of this supervisor, if it is simple_one_for_one
    /// with a template of `A` (a static spec used as the template takes
    /// `()`).
    ///
    /// # Errors
    ///
    /// [`IntoSimpleError::NotSimpleOneForOne`],
    /// [`IntoSimpleError::ArgumentType`], [`IntoSimpleError::Call`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn into_simple<A: Send + 'static>(
        self,
    ) -> Result<SimpleSupervisorRef<A>, IntoSimpleError> {
        match self.call(Request::TemplateType).await? {
            None => Err(IntoSimpleError::NotSimpleOneForOne),
            Some(t) if t != TypeId::of::<A>() => Err(IntoSimpleError::ArgumentType),
            Some(_) => Ok(SimpleSupervisorRef::new(self)),
        }
    }
}

// ===== impl SimpleSupervisorRef =====

impl<A> Clone for SimpleSupervisorRef<A> {
    fn clone(&self) -> Self {
        SimpleSupervisorRef::new(self.sup.clone())
    }
}

impl<A> fmt::Debug for SimpleSupervisorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SimpleSupervisorRef")
            .field(&self.sup)
            .finish()
    }
}

impl<A> From<SimpleSupervisorRef<A>> for SupervisorRef {
    fn from(s: SimpleSupervisorRef<A>) -> SupervisorRef {
        s.sup
    }
}

impl<A> SimpleSupervisorRef<A> {
    pub(crate) fn new(sup: SupervisorRef) -> SimpleSupervisorRef<A> {
        SimpleSupervisorRef {
            sup,
            _args: PhantomData,
        }
    }

    /// The supervisor registered under `name`, if any, taken to start
    /// children from an `A`. Unchecked (no request is made): if its
    /// template takes another type, or it is not simple_one_for_one,
    /// [`start_child`](SimpleSupervisorRef::start_child) fails with
    /// [`StartSimpleChildError::StartFailed`] (`badarg`). Use
    /// [`SupervisorRef::into_simple`] for a checked handle.
    #[must_use]
    pub fn whereis(name: &str) -> Option<SimpleSupervisorRef<A>> {
        SupervisorRef::whereis(name).map(SimpleSupervisorRef::new)
    }

    /// The supervisor running as `pid`, unchecked as
    /// [`SimpleSupervisorRef::whereis`].
    #[must_use]
    pub fn from_pid(pid: Pid) -> Option<SimpleSupervisorRef<A>> {
        SupervisorRef::from_pid(pid).map(SimpleSupervisorRef::new)
    }

    /// The untyped handle, for every request that takes no argument.
    #[must_use]
    pub fn supervisor(&self) -> &SupervisorRef {
        &self.sup
    }

    /// A copy whose calls time out after `timeout`, as
    /// [`SupervisorRef::with_timeout`].
    #[must_use = "with_timeout returns a new handle; the original keeps its timeout"]
    pub fn with_timeout(&self, timeout: Duration) -> SimpleSupervisorRef<A> {
        SimpleSupervisorRef::new(self.sup.with_timeout(timeout))
    }

    /// Stops a child by pid, as [`SupervisorRef::terminate_child`]; the
    /// child is removed.
    ///
    /// # Errors
    ///
    /// [`TerminateChildError::NotFound`] for a live process that is not a
    /// child; [`TerminateChildError::Call`].
    ///
    /// # Cancel safety
    ///
    /// As [`SupervisorRef::terminate_child`].
    ///
    /// # OTP
    ///
    /// `supervisor:terminate_child/2` with a pid.
    pub async fn terminate_child(&self, pid: Pid) -> Result<(), TerminateChildError> {
        self.sup.terminate_child(pid).await
    }

    /// One child, by pid, as [`SupervisorRef::which_child`].
    ///
    /// # Errors
    ///
    /// [`WhichChildError::NotFound`], [`WhichChildError::Call`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # OTP
    ///
    /// `supervisor:which_child/2`.
    pub async fn which_child(&self, pid: Pid) -> Result<ChildInfo, WhichChildError> {
        self.sup.which_child(pid).await
    }

    /// Every child, newest first, as [`SupervisorRef::which_children`].
    ///
    /// # Errors
    ///
    /// The [`CallError`](arbor_process::CallError) of the request.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # OTP
    ///
    /// `supervisor:which_children/1`.
    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, arbor_process::CallError> {
        self.sup.which_children().await
    }

    /// Counts the children, as [`SupervisorRef::count_children`].
    ///
    /// # Errors
    ///
    /// The [`CallError`](arbor_process::CallError) of the request.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # OTP
    ///
    /// `supervisor:count_children/1`.
    pub async fn count_children(&self) -> Result<ChildCounts, arbor_process::CallError> {
        self.sup.count_children().await
    }

    /// A snapshot of the tree below, as [`SupervisorRef::tree`].
    ///
    /// # Errors
    ///
    /// The [`CallError`](arbor_process::CallError) of the first request.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn tree(&self) -> Result<TreeNode, arbor_process::CallError> {
        self.sup.tree().await
    }
}

impl<A: Send + 'static> SimpleSupervisorRef<A> {
    /// Starts a child from the template with `args` (temporary template:
    /// moved into the start function; otherwise a clone of it is, and it
    /// is kept for restarts).
    ///
    /// # Examples
    ///
    /// See [`ChildTemplate`](crate::ChildTemplate).
    ///
    /// # Errors
    ///
    /// [`StartSimpleChildError::StartFailed`] with the raw start error
    /// (`badarg` if this handle came unchecked from
    /// [`whereis`](SimpleSupervisorRef::whereis) and the supervisor takes
    /// another argument); [`StartSimpleChildError::Call`].
    ///
    /// # Cancel safety
    ///
    /// The request (and `args`) is sent at once; dropping the future drops
    /// the reply, not the start.
    ///
    /// # OTP
    ///
    /// `supervisor:start_child/2` with a list of extra arguments. `ignore`
    /// stores nothing.
    pub async fn start_child(&self, args: A) -> Result<StartedChild, StartSimpleChildError> {
        let args = Args::new(args);
        self.sup
            .call(|r| Request::StartSimpleChild(args, r))
            .await?
    }
}

impl<A> ProcessWrapper for SimpleSupervisorRef<A> {
    type Inner = SupervisorRef;

    #[inline]
    fn inner(&self) -> &SupervisorRef {
        &self.sup
    }
}
