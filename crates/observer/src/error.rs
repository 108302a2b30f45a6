//! The observer's errors.

use std::net::SocketAddr;

/// Why [`ObserverBuilder::serve`](crate::ObserverBuilder::serve) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The address resolves to an interface other than loopback, and
    /// [`allow_non_loopback`](crate::ObserverBuilder::allow_non_loopback)
    /// was not set: the page shows process internals (and may kill).
    #[error(
        "refusing to serve the observer on {0}: not a loopback address (the page shows process internals; call allow_non_loopback() to serve it anyway)"
    )]
    NotLoopback(SocketAddr),
    /// The address did not resolve, or binding it failed.
    #[error("cannot serve the observer: {0}")]
    Io(#[from] std::io::Error),
    /// The cluster view could not start (feature `nats`): its sample
    /// server failed, or another observer already shows this node.
    #[error("cannot show the cluster: {0}")]
    Cluster(String),
}
