//! [`NodeCounts`]: what a node holds for others, for leak checks.

use crate::call::Exports;
use crate::node::Node;
use crate::proxy::Proxies;
use crate::watch::Watchers;

/// The number of entries in a node's tables: after nodes come and go,
/// nothing of theirs may stay behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeCounts {
    /// Nodes up (not counting this one).
    pub peers: usize,
    /// Live proxies of remote pids.
    pub proxies: usize,
    /// Local processes watched for other nodes (the remote halves of their
    /// links and monitors).
    pub watches: usize,
    /// Local processes addressable from other nodes.
    pub exports: usize,
    /// Open node-event subscriptions.
    pub event_subscribers: usize,
}

impl Node {
    /// The node's table sizes now.
    pub fn counts(&self) -> NodeCounts {
        NodeCounts {
            peers: self.peers().all().len(),
            proxies: self.extension::<Proxies>().len(),
            watches: self.extension::<Watchers>().len(),
            exports: self.extension::<Exports>().len(),
            event_subscribers: self.events().subscriber_count(),
        }
    }
}
