//! Metrics of distribution (feature `metrics`; docs/metrics.md): remote
//! calls by outcome, node ups and downs. Without the feature this module
//! is not compiled and the hooks are `cfg`'d out: no cost at all.
//!
//! # Invariants
//!
//! 1. One increment per finished call (after its reply is decoded, so a
//!    type mismatch counts as `decode`, not `ok`) and per node event as
//!    every subscriber sees it.
//! 2. Labels are bounded: an outcome from a fixed list, a node name (the
//!    cluster's size), a down reason from a fixed list. Never a pid.

use metrics::{counter, describe_counter};

use crate::call::RemoteCallError;
use crate::node::NodeEvent;

/// Remote calls finished, by `outcome`.
pub const REMOTE_CALLS: &str = "arbor_nats_remote_calls_total";
/// Node ups seen, by `peer`.
pub const NODE_UP: &str = "arbor_nats_node_up_total";
/// Node downs seen, by `peer` and `reason`.
pub const NODE_DOWN: &str = "arbor_nats_node_down_total";

/// The `outcome` label of a call's result.
pub(crate) fn outcome<T>(result: &Result<T, RemoteCallError>) -> &'static str {
    #[allow(unreachable_patterns)] // variants added later land in `other`
    match result {
        Ok(_) => "ok",
        Err(RemoteCallError::NoConnection { .. }) => "noconnection",
        Err(RemoteCallError::NoProcess) => "noproc",
        Err(RemoteCallError::Timeout) => "timeout",
        Err(RemoteCallError::Exited(_)) => "exited",
        Err(RemoteCallError::Decode { .. }) => "decode",
        Err(RemoteCallError::Encode(_)) => "encode",
        Err(RemoteCallError::PayloadTooLarge { .. }) => "payload_too_large",
        Err(_) => "other",
    }
}

/// Counts one finished remote call (hook in `RemoteRef::call_timeout`).
pub(crate) fn remote_call<T>(result: &Result<T, RemoteCallError>) {
    counter!(REMOTE_CALLS, "outcome" => outcome(result)).increment(1);
}

/// Counts one node event (hook in the node's event hub).
pub(crate) fn node_event(event: &NodeEvent) {
    match event {
        NodeEvent::Up { node, .. } => {
            counter!(NODE_UP, "peer" => node.as_str().to_owned()).increment(1);
        }
        NodeEvent::Down { node, reason, .. } => {
            counter!(NODE_DOWN, "peer" => node.as_str().to_owned(), "reason" => reason.to_string())
                .increment(1);
        }
    }
}

/// Describes the metrics to the recorder (the `# HELP` lines); called when
/// a node starts.
pub(crate) fn describe() {
    describe_counter!(REMOTE_CALLS, "remote calls finished, by outcome");
    describe_counter!(NODE_UP, "node ups seen by this node, by peer");
    describe_counter!(NODE_DOWN, "node downs seen by this node, by peer and reason");
}

#[cfg(test)]
mod tests;
