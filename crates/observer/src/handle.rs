//! [`ObserverHandle`]: the running observer, to find and to stop.

use std::net::SocketAddr;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running observer: its address, and [`stop`](ObserverHandle::stop).
///
/// Dropping the handle stops the observer too, without waiting.
#[derive(Debug)]
#[must_use = "dropping the handle stops the observer"]
pub struct ObserverHandle {
    pub(crate) addr: SocketAddr,
    pub(crate) stop: CancellationToken,
    pub(crate) server: Option<JoinHandle<()>>,
    pub(crate) sampler: Option<JoinHandle<()>>,
    /// The cluster poller (feature `nats`).
    pub(crate) cluster: Option<JoinHandle<()>>,
}

impl ObserverHandle {
    /// The address it listens on (with the port chosen, for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's address, `http://127.0.0.1:4041/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops serving and sampling: open pages' feeds end, the listener
    /// closes, the exit watchers end and the event managers' counting
    /// handlers are removed. When it returns, the observer has no task
    /// left.
    ///
    /// # Cancel safety
    ///
    /// The stop is requested at once; dropping the future only stops the
    /// waiting.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.await;
        }
        if let Some(cluster) = self.cluster.take() {
            let _ = cluster.await;
        }
    }
}

impl Drop for ObserverHandle {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
