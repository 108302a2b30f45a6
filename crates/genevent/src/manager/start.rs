//! [`EventManager`]: starting managers, with [`StartOpts`] and [`ManagerOpts`].

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use arbor_process::{Name, Process, StartError, StartOpts};
use tokio::sync::oneshot;

use super::gate::Gate;
use super::server;
use crate::EventManagerRef;

/// Starts event managers for events of type `E`. Never instantiated: its
/// functions return an [`EventManagerRef`].
///
/// # Examples
///
/// ```
/// use arbor_genevent::EventManager;
/// use arbor_process::Process;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let mgr = EventManager::<&'static str>::start().await.unwrap();
/// mgr.notify("nobody listens");
/// mgr.sync_notify("still nobody").await.unwrap();
/// mgr.stop().await.unwrap();
/// # }
/// ```
///
/// # OTP
///
/// `gen_event:start/0,1` and `start_link/0,1`.
pub struct EventManager<E>(PhantomData<fn(E)>);

impl<E> fmt::Debug for EventManager<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventManager")
    }
}

/// What an event manager can be configured with beyond its name and link
/// (those are [`StartOpts`], as for every start): see
/// [`EventManager::start_with`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ManagerOpts {
    /// Bound the number of queued [`notify`](EventManagerRef::notify)
    /// events: at the bound, `notify` drops the event and counts it (see
    /// [`EventManagerRef::dropped_notifies`]). `None` (the default):
    /// unbounded.
    pub notify_bound: Option<usize>,
}

impl ManagerOpts {
    /// Drop `notify` events beyond `bound` queued ones.
    pub fn notify_bound(mut self, bound: usize) -> Self {
        self.notify_bound = Some(bound);
        self
    }
}

impl<E: Send + 'static> EventManager<E> {
    /// Starts an unnamed, unlinked manager.
    ///
    /// # Errors
    ///
    /// Never for these options; see [`EventManager::start_opts`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may leave the manager starting; it exits at once
    /// since nobody holds a handle to it.
    ///
    /// # OTP
    ///
    /// `gen_event:start/0`.
    pub async fn start() -> Result<EventManagerRef<E>, StartError> {
        Self::start_opts(StartOpts::new()).await
    }

    /// Starts a manager linked to the calling process.
    ///
    /// # Errors
    ///
    /// Never for these options; see [`EventManager::start_opts`].
    ///
    /// # Cancel safety
    ///
    /// As [`EventManager::start`].
    ///
    /// # OTP
    ///
    /// `gen_event:start_link/0`.
    pub async fn start_link() -> Result<EventManagerRef<E>, StartError> {
        Self::start_opts(StartOpts::new().link()).await
    }

    /// Starts a manager with options.
    ///
    /// # Errors
    ///
    /// [`StartError::AlreadyStarted`] with the holder's pid if the name is
    /// taken (no exit signal reaches the caller).
    ///
    /// # Cancel safety
    ///
    /// As [`EventManager::start`].
    ///
    /// # OTP
    ///
    /// `gen_event:start/1,2`, `start_link/1,2` with `{local, Name}`.
    pub async fn start_opts(opts: StartOpts) -> Result<EventManagerRef<E>, StartError> {
        Self::start_with(opts, ManagerOpts::default()).await
    }

    /// Starts a manager with options and a configuration (a notify bound).
    ///
    /// # Errors
    ///
    /// As [`EventManager::start_opts`].
    ///
    /// # Cancel safety
    ///
    /// As [`EventManager::start`].
    ///
    /// # Examples
    ///
    /// ```
    /// use arbor_genevent::{EventManager, ManagerOpts};
    /// use arbor_process::StartOpts;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let config = ManagerOpts::default().notify_bound(1_000);
    /// let mgr = EventManager::<u32>::start_with(StartOpts::new().name("metrics"), config)
    ///     .await
    ///     .unwrap();
    /// mgr.notify(1);
    /// # }
    /// ```
    pub async fn start_with(
        opts: StartOpts,
        config: ManagerOpts,
    ) -> Result<EventManagerRef<E>, StartError> {
        let (ack_tx, ack_rx) = oneshot::channel();
        let parent = if opts.link {
            arbor_process::current()
        } else {
            None
        };
        let gate = config.notify_bound.map(|b| Arc::new(Gate::new(b)));
        let mut spawn = StartOpts::new().trap_exit();
        spawn.link = opts.link;
        // The manager registers its name itself, after the link (as OTP).
        let name: Option<Name> = opts.name;
        let server_gate = gate.clone();
        let inner = arbor_process::spawn_opts(spawn, move |ctx| {
            server::run(ctx, name, parent, server_gate, ack_tx)
        })?;
        match ack_rx.await {
            Ok(Ok(())) => Ok(EventManagerRef { inner, gate }),
            Ok(Err(e)) => {
                inner.wait().await;
                Err(e)
            }
            Err(_) => Err(StartError::Exited(inner.wait().await)),
        }
    }
}
