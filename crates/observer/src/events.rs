//! Counting the notifications of the event managers the application names:
//! a counting handler the observer installs (and re-installs after the
//! manager restarts) and removes when it stops. Nothing runs in a manager
//! the observer was not told about.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arbor_genevent::{EventManagerRef, FnHandler, HandlerId};
use arbor_process::{Pid, Process};

type Boxed<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The id of the observer's counting handler in a manager.
pub(crate) fn handler_id() -> HandlerId {
    HandlerId::of::<FnHandler<()>>().tag("arbor_observer")
}

/// One watched event manager, its event type erased.
pub(crate) trait EventSource: Send {
    /// Events counted so far, over every incarnation of the manager.
    fn count(&self) -> u64;
    /// Installs the counting handler in the manager now registered under
    /// the name, if it has none of ours yet.
    fn attach(&mut self) -> Boxed<'_>;
    /// Removes the counting handler.
    fn detach(&mut self) -> Boxed<'_>;
}

pub(crate) struct Named<E> {
    name: String,
    /// The manager's pid when last attached, and its handle if our handler
    /// went in (to remove it again).
    attached: Option<(Pid, Option<EventManagerRef<E>>)>,
    count: Arc<AtomicU64>,
}

impl<E> Named<E> {
    pub(crate) fn new(name: String) -> Named<E> {
        Named {
            name,
            attached: None,
            count: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl<E: Send + 'static> EventSource for Named<E> {
    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn attach(&mut self) -> Boxed<'_> {
        Box::pin(async move {
            let Some(mgr) = EventManagerRef::<E>::whereis(&self.name) else {
                return;
            };
            if self.attached.as_ref().is_some_and(|(p, _)| *p == mgr.pid()) {
                return;
            }
            let count = self.count.clone();
            let counter = FnHandler::new(move |_: &E| {
                count.fetch_add(1, Ordering::Relaxed);
            });
            match mgr.add_handler(handler_id(), counter).await {
                Ok(()) => self.attached = Some((mgr.pid(), Some(mgr))),
                Err(e) => {
                    tracing::warn!(target: "arbor::observer", manager = %self.name, error = %e,
                        "cannot count this event manager's events");
                    // Not retried until the manager changes.
                    self.attached = Some((mgr.pid(), None));
                }
            }
        })
    }

    fn detach(&mut self) -> Boxed<'_> {
        Box::pin(async move {
            if let Some((_, Some(mgr))) = self.attached.take() {
                let _ = mgr.remove_handler(&handler_id()).await;
            }
        })
    }
}
