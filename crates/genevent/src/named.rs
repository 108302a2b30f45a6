//! [`EventManagerName`]: a handle that finds the manager by name on every
//! use, so it keeps working across restarts.

use std::fmt;
use std::marker::PhantomData;

use arbor_process::{CallError, Name};

use crate::EventManagerRef;

/// A manager addressed by its registered name, looked up on every call: the
/// handle to keep in a process that must reach whichever manager currently
/// holds the name (for example one a supervisor restarts). Cheap to clone.
///
/// # Examples
///
/// ```
/// use arbor_process::{Process, StartOpts};
/// use arbor_genevent::{EventManager, EventManagerName};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let events = EventManagerName::<u32>::new("todo_events");
/// events.notify(1); // nobody registered yet: dropped
/// let first = EventManager::<u32>::start_opts(StartOpts::new().name("todo_events"))
///     .await
///     .unwrap();
/// events.sync_notify(2).await.unwrap();
/// arbor_process::kill(first.pid());
/// first.wait().await;
/// assert!(events.sync_notify(3).await.is_err());
/// let second = EventManager::<u32>::start_opts(StartOpts::new().name("todo_events"))
///     .await
///     .unwrap();
/// events.sync_notify(4).await.unwrap(); // reaches the new manager
/// assert_eq!(events.resolve().unwrap().pid(), second.pid());
/// # }
/// ```
///
/// # OTP
///
/// Passing a registered name instead of a pid to `gen_event` functions.
pub struct EventManagerName<E> {
    name: Name,
    _events: PhantomData<fn(E)>,
}

impl<E> Clone for EventManagerName<E> {
    fn clone(&self) -> Self {
        EventManagerName {
            name: self.name.clone(),
            _events: PhantomData,
        }
    }
}

impl<E> fmt::Debug for EventManagerName<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EventManagerName").field(&self.name).finish()
    }
}

impl<E: Send + 'static> EventManagerName<E> {
    /// A handle to the manager registered under `name` (now or later).
    pub fn new(name: impl Into<Name>) -> EventManagerName<E> {
        EventManagerName {
            name: name.into(),
            _events: PhantomData,
        }
    }

    /// The name.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The manager registered under the name now, if it is a manager for
    /// events of type `E`.
    pub fn resolve(&self) -> Option<EventManagerRef<E>> {
        EventManagerRef::whereis(self.name.as_str())
    }

    /// [`EventManagerRef::notify`] to the manager registered now; the event
    /// is dropped if there is none.
    ///
    /// # OTP
    ///
    /// `gen_event:notify/2` with a name (which raises `badarg` for an
    /// unregistered local name; here `notify` never fails).
    pub fn notify(&self, event: E) {
        if let Some(mgr) = self.resolve() {
            mgr.notify(event);
        }
    }

    /// [`EventManagerRef::sync_notify`] to the manager registered now.
    ///
    /// # Errors
    ///
    /// [`CallError::NoProcess`] if no manager for `E` holds the name; else
    /// as [`EventManagerRef::sync_notify`].
    ///
    /// # Cancel safety
    ///
    /// As [`EventManagerRef::sync_notify`].
    pub async fn sync_notify(&self, event: E) -> Result<(), CallError> {
        match self.resolve() {
            Some(mgr) => mgr.sync_notify(event).await,
            None => Err(CallError::NoProcess),
        }
    }
}
