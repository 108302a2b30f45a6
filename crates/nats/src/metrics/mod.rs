//! Metrics of distribution (feature `metrics`; docs/metrics.md): remote
//! calls by outcome, node ups and downs. Without the feature this module
//! is not compiled and the hooks are `cfg`'d out: no cost at all.
//!
//! # Invariants
//!
//! 1. One increment per finished call (after its reply is decoded, so a
//!    type mismatch counts as `decode`, not `ok`) and per node event as
//!    every subscriber sees it.
//! 2. This module imports nothing of the crate: the hooks hand it labels.
//! 3. Labels are bounded: an outcome from a fixed list, a node name (the
//!    cluster's size), a down reason from a fixed list. Never a pid.

use metrics::{counter, describe_counter};

/// Remote calls finished, by `outcome`.
pub const REMOTE_CALLS: &str = "arbor_nats_remote_calls_total";
/// Node ups seen, by `peer`.
pub const NODE_UP: &str = "arbor_nats_node_up_total";
/// Node downs seen, by `peer` and `reason`.
pub const NODE_DOWN: &str = "arbor_nats_node_down_total";

/// Counts one finished remote call with its `outcome` (`ok`, or
/// `RemoteCallError::kind`); hook in `RemoteRef::call_timeout`.
pub(crate) fn remote_call(outcome: &'static str) {
    counter!(REMOTE_CALLS, "outcome" => outcome).increment(1);
}

/// Counts one node up of `peer`; hook in the node's event hub.
pub(crate) fn node_up(peer: &str) {
    counter!(NODE_UP, "peer" => peer.to_owned()).increment(1);
}

/// Counts one node down of `peer` for `reason`; hook in the node's event
/// hub.
pub(crate) fn node_down(peer: &str, reason: String) {
    counter!(NODE_DOWN, "peer" => peer.to_owned(), "reason" => reason).increment(1);
}

/// Describes the metrics to the recorder (the `# HELP` lines); called when
/// a node starts.
pub(crate) fn describe() {
    describe_counter!(REMOTE_CALLS, "remote calls finished, by outcome");
    describe_counter!(NODE_UP, "node ups seen by this node, by peer");
    describe_counter!(
        NODE_DOWN,
        "node downs seen by this node, by peer and reason"
    );
}
