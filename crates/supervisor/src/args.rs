//! Erased start arguments: [`Args`], one argument on its trip through the
//! supervisor's mailbox, and [`TemplateArgs`], what the supervisor knows
//! about a simple_one_for_one template's argument type (`template.rs`,
//! invariant 1, says who may send one).

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::{Mutex, PoisonError};

/// One start argument, its type erased for the trip through the
/// supervisor's mailbox. `()` (a static child's) does not allocate.
///
/// The mutex only makes a `Send` value `Sync` (the supervisor's state is
/// borrowed across awaits): it is never locked, every access goes through
/// `&mut` or by value.
pub(crate) struct Args(Mutex<Box<dyn Any + Send>>);

impl Args {
    /// The argument of a static child.
    pub(crate) fn none() -> Args {
        Args::new(())
    }

    pub(crate) fn new<A: Send + 'static>(value: A) -> Args {
        Args(Mutex::new(Box::new(value)))
    }

    fn get_mut(&mut self) -> &mut (dyn Any + Send) {
        &mut **self.0.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value, if it is an `A`.
    pub(crate) fn take<A: 'static>(self) -> Result<A, Args> {
        let boxed = self.0.into_inner().unwrap_or_else(PoisonError::into_inner);
        boxed
            .downcast::<A>()
            .map(|a| *a)
            .map_err(|b| Args(Mutex::new(b)))
    }
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Args(..)")
    }
}

/// What the supervisor knows about a template's argument type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TemplateArgs {
    pub(crate) type_id: TypeId,
    /// Clones an argument for a restart; `None` if `A` is not `Clone`
    /// (a temporary template, never restarted).
    pub(crate) clone: Option<fn(&mut Args) -> Option<Args>>,
}

impl TemplateArgs {
    /// Whether the argument can be given again, so the child can restart.
    pub(crate) fn can_restart(&self) -> bool {
        self.clone.is_some()
    }

    /// A copy of `args` for a (re)start; `None` if the type cannot be
    /// cloned.
    pub(crate) fn clone_args(&self, args: &mut Args) -> Option<Args> {
        self.clone.and_then(|clone| clone(args))
    }
}

/// Clones an `A` argument: the `clone` of a template of a `Clone` type.
pub(crate) fn clone_as<A: Clone + Send + 'static>(args: &mut Args) -> Option<Args> {
    args.get_mut()
        .downcast_ref::<A>()
        .map(|a| Args::new(a.clone()))
}
