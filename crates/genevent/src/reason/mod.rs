//! Why handlers are removed ([`RemoveReason`]), what their owner is told
//! ([`HandlerExit`]), and the error a callback returns ([`HandlerError`]).

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use arbor_process::{ExitReason, Pid};

use crate::HandlerId;

/// The error a handler callback returns to fail: the handler is removed
/// (its `terminate` gets [`RemoveReason::Failed`]) and, for `init`, not
/// installed. Cheap to clone; compares by its message.
///
/// # Examples
///
/// ```
/// use arbor_genevent::HandlerError;
/// let e = HandlerError::msg("disk full");
/// assert_eq!(e.to_string(), "disk full");
/// assert_eq!(e, HandlerError::msg("disk full"));
/// ```
///
/// One pointer wide, so a callback's `Result<Step<E>, HandlerError>` comes
/// back in registers on the dispatch path.
#[derive(Clone)]
pub struct HandlerError(Arc<Box<dyn Error + Send + Sync>>);

impl HandlerError {
    /// Wraps a user error.
    pub fn new(err: impl Error + Send + Sync + 'static) -> HandlerError {
        HandlerError(Arc::new(Box::new(err)))
    }

    /// An error that is just a message.
    pub fn msg(message: impl Into<String>) -> HandlerError {
        HandlerError::new(Message(message.into()))
    }

    /// The wrapped error.
    pub fn inner(&self) -> &(dyn Error + Send + Sync + 'static) {
        &**self.0
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Message(String);

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.inner(), f)
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HandlerError({:?})", self.0.to_string())
    }
}

impl PartialEq for HandlerError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for HandlerError {}

impl Error for HandlerError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.inner())
    }
}

/// Why a handler was removed. It is the argument of
/// [`EventHandler::terminate`](crate::EventHandler::terminate) and the
/// reason in the [`HandlerExit`] its owner receives.
///
/// # OTP
///
/// One enum for the two columns of `gen_event`'s table (
/// docs/otp/gen_event.md#ev-owners); the Erlang values are:
///
/// | variant | `terminate/2` argument | `gen_event_EXIT` reason |
/// |---|---|---|
/// | `Deleted` | `Args` of `delete_handler` | `normal` |
/// | `Removed` | `remove_handler` | `normal` |
/// | `Failed(e)` | `{error, V}` | `V` |
/// | `Panicked(m)` | `{error, {'EXIT', ..}}` | `{'EXIT', ..}` |
/// | `Swapped { to }` | `A1` | `{swapped, H2, Owner}` |
/// | `Stop` | `stop` | `shutdown` |
/// | `OwnerExited(r)` | `{stop, r}` | (sent to the dead owner: not sent here) |
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveReason {
    /// Removed by [`EventManagerRef::remove_handler`](crate::EventManagerRef::remove_handler)
    /// (or its event stream was dropped).
    Deleted,
    /// A callback returned [`Step::Remove`](crate::Step::Remove).
    Removed,
    /// A callback returned an error.
    Failed(HandlerError),
    /// A callback panicked; the panic message.
    Panicked(Arc<str>),
    /// Swapped out for the handler `to`.
    Swapped {
        /// The id of the handler that replaced this one.
        to: HandlerId,
    },
    /// The manager is stopping.
    Stop,
    /// The handler's owner exited with this reason.
    OwnerExited(ExitReason),
}

impl RemoveReason {
    /// Whether the handler failed (`Failed` or `Panicked`): what the manager
    /// reports as a crash.
    pub fn is_crash(&self) -> bool {
        matches!(self, RemoveReason::Failed(_) | RemoveReason::Panicked(_))
    }
}

impl fmt::Display for RemoveReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoveReason::Deleted => f.write_str("deleted"),
            RemoveReason::Removed => f.write_str("remove_handler"),
            RemoveReason::Failed(e) => write!(f, "{{error,{:?}}}", e.to_string()),
            RemoveReason::Panicked(m) => write!(f, "{{panic,{m:?}}}"),
            RemoveReason::Swapped { to } => write!(f, "{{swapped,{to}}}"),
            RemoveReason::Stop => f.write_str("stop"),
            RemoveReason::OwnerExited(r) => write!(f, "{{stop,{r}}}"),
        }
    }
}

/// What the owner of a handler receives when the handler is removed for any
/// reason other than the owner's own death.
///
/// # OTP
///
/// `{gen_event_EXIT, HandlerId, Reason}`, plus the manager's pid (an owner
/// may own handlers in several managers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerExit {
    /// The manager the handler was installed in.
    pub manager: Pid,
    /// The removed handler.
    pub id: HandlerId,
    /// Why it was removed.
    pub reason: RemoveReason,
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> Arc<str> {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        Arc::from(*s)
    } else if let Some(s) = payload.downcast_ref::<String>() {
        Arc::from(s.as_str())
    } else {
        Arc::from("non-string panic payload")
    }
}

#[cfg(test)]
mod tests;
