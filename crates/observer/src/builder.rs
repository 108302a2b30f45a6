//! [`Observer::builder`] and [`ObserverBuilder`]: what to observe, how,
//! and where to serve it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arbor_supervisor::SupervisorRef;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio_util::sync::CancellationToken;

use crate::ServeError;
use crate::events::{EventSource, Named};
use crate::handle::ObserverHandle;
use crate::http::{App, router};
use crate::hub::Hub;
use crate::sampler::{Sampler, Tree};

/// The entry point: `Observer::builder()`.
#[derive(Debug)]
pub struct Observer;

impl Observer {
    /// A builder with nothing registered, sampling every 250 ms, no kill
    /// endpoint, loopback only.
    pub fn builder() -> ObserverBuilder {
        ObserverBuilder {
            trees: Vec::new(),
            sources: Vec::new(),
            sample_every: Duration::from_millis(250),
            client_buffer: 64,
            allow_kill: false,
            allow_non_loopback: false,
            #[cfg(feature = "nats")]
            cluster: None,
        }
    }
}

/// What the observer shows and how it serves it; [`serve`](Self::serve)
/// starts it.
#[must_use = "a builder does nothing until serve() is called"]
pub struct ObserverBuilder {
    trees: Vec<Tree>,
    sources: Vec<Box<dyn EventSource>>,
    sample_every: Duration,
    client_buffer: usize,
    allow_kill: bool,
    allow_non_loopback: bool,
    #[cfg(feature = "nats")]
    cluster: Option<arbor_nats::Node>,
}

impl std::fmt::Debug for ObserverBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObserverBuilder")
            .field(
                "trees",
                &self.trees.iter().map(|t| &t.label).collect::<Vec<_>>(),
            )
            .field("event_managers", &self.sources.len())
            .field("sample_every", &self.sample_every)
            .field("allow_kill", &self.allow_kill)
            .field("allow_non_loopback", &self.allow_non_loopback)
            .finish()
    }
}

impl ObserverBuilder {
    /// Shows the tree under `sup`, labelled `label`, in registration
    /// order. The observer only asks it for snapshots; when the
    /// supervisor is gone, the tree is shown empty.
    pub fn tree(mut self, label: impl Into<String>, sup: SupervisorRef) -> Self {
        self.trees.push(Tree::new(label.into(), sup));
        self
    }

    /// Counts the events notified to the event manager registered as
    /// `name` (events of type `E`) for the page's events/s graph. The
    /// observer installs a counting handler (id `FnHandler#arbor_observer`)
    /// in whatever manager holds the name, again after a restart, and
    /// removes it when it stops.
    pub fn event_manager<E: Send + 'static>(mut self, name: impl Into<String>) -> Self {
        self.sources.push(Box::new(Named::<E>::new(name.into())));
        self
    }

    /// How often the trees are sampled (default 250 ms; an exit in a tree
    /// triggers a sample at once too). At least 10 ms.
    pub fn sample_every(mut self, every: Duration) -> Self {
        self.sample_every = every.max(Duration::from_millis(10));
        self
    }

    /// Updates buffered per page before a slow page starts losing them
    /// (counted, then repaired with a full refresh). Default 64.
    pub fn client_buffer(mut self, updates: usize) -> Self {
        self.client_buffer = updates.max(1);
        self
    }

    /// Enables `POST /api/kill` and the page's kill button: anyone who
    /// reaches the address can then send exit signals to the processes of
    /// the observed trees. Off by default.
    pub fn allow_kill(mut self) -> Self {
        self.allow_kill = true;
        self
    }

    /// Shows every node of `node`'s cluster (feature `nats`): this
    /// observer answers its peers' sample requests, and samples every
    /// peer that is up, each sample period; the page and the JSON group
    /// trees by node, and the timeline has `node_up` / `node_down`. Peers
    /// show their trees only if they run a cluster observer too (else
    /// their node says so). Process details and kills stay local: the
    /// page offers them for this node's processes only.
    #[cfg(feature = "nats")]
    pub fn cluster(mut self, node: arbor_nats::Node) -> Self {
        self.cluster = Some(node);
        self
    }

    /// Lets [`serve`](Self::serve) bind an address other than loopback
    /// (it warns loudly when it does). Off by default: there is no
    /// authentication.
    pub fn allow_non_loopback(mut self) -> Self {
        self.allow_non_loopback = true;
        self
    }

    /// Takes a first sample, binds `addr` and serves the page there until
    /// the returned handle is stopped or dropped. Needs a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`ServeError::NotLoopback`] if `addr` resolves to a non-loopback
    /// address without [`allow_non_loopback`](Self::allow_non_loopback);
    /// [`ServeError::Io`] if it does not resolve or cannot be bound.
    pub async fn serve(self, addr: impl ToSocketAddrs) -> Result<ObserverHandle, ServeError> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(addr).await?.collect();
        if let Some(public) = addrs.iter().find(|a| !a.ip().is_loopback()) {
            if !self.allow_non_loopback {
                return Err(ServeError::NotLoopback(*public));
            }
            tracing::warn!(target: "arbor::observer", addr = %public,
                "SERVING THE OBSERVER ON A NON-LOOPBACK ADDRESS: anyone who reaches it sees process internals{}",
                if self.allow_kill { " and can kill processes" } else { "" });
        }
        let listener = TcpListener::bind(&addrs[..]).await?;
        let addr = listener.local_addr()?;
        let hub = Arc::new(Hub::new(self.client_buffer, self.allow_kill));
        let stop = CancellationToken::new();
        #[cfg(feature = "nats")]
        let cluster = match self.cluster {
            Some(node) => {
                let server = crate::cluster::start_server(&node, &hub).await?;
                Some((node, server))
            }
            None => None,
        };
        let mut sampler = Sampler::new(hub.clone(), self.trees, self.sources);
        sampler.sample().await;
        let sampler = tokio::spawn(sampler.run(self.sample_every, stop.clone()));
        #[cfg(feature = "nats")]
        let cluster = cluster.map(|(node, server)| {
            tokio::spawn(crate::cluster::run(
                node,
                hub.clone(),
                server,
                self.sample_every,
                stop.clone(),
            ))
        });
        #[cfg(not(feature = "nats"))]
        let cluster = None;
        let app = router(App {
            hub,
            stop: stop.clone(),
        });
        let shutdown = stop.clone();
        let server = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::error!(target: "arbor::observer", error = %e, "observer server failed");
            }
        });
        tracing::info!(target: "arbor::observer", "observer serving on http://{addr}/");
        Ok(ObserverHandle {
            addr,
            stop,
            server: Some(server),
            sampler: Some(sampler),
            cluster,
        })
    }
}
