//! The event manager's metrics (feature `metrics`; docs/metrics.md):
//! events notified and sync-notified, handler crashes, labelled with the
//! manager's registered name or `anonymous` (never a pid) and the
//! handler's kind (never its tag, which may be unbounded).
//!
//! The two event counters are registered with the recorder in force when
//! the manager starts and kept, so an event costs one increment (a check
//! of an empty handle when no recorder is installed).

use metrics::{Counter, SharedString};

use crate::HandlerId;

/// Counter: events taken by `notify`, label `manager`.
pub(crate) const EVENTS_NOTIFIED_TOTAL: &str = "arbor_events_notified_total";
/// Counter: events taken by `sync_notify`, label `manager`.
pub(crate) const EVENTS_SYNC_NOTIFIED_TOTAL: &str = "arbor_events_sync_notified_total";
/// Counter: handlers removed for a failure (an error or a panic in a
/// callback), labels `manager` and `handler`.
pub(crate) const HANDLER_CRASHES_TOTAL: &str = "arbor_handler_crashes_total";

pub(super) struct ManagerMetrics {
    label: SharedString,
    pub(super) notified: Counter,
    pub(super) sync_notified: Counter,
}

impl ManagerMetrics {
    pub(super) fn new(name: Option<&str>) -> ManagerMetrics {
        let label = match name {
            Some(n) => SharedString::from_owned(n.to_owned()),
            None => SharedString::const_str("anonymous"),
        };
        describe();
        ManagerMetrics {
            notified: metrics::counter!(EVENTS_NOTIFIED_TOTAL, "manager" => label.clone()),
            sync_notified: metrics::counter!(EVENTS_SYNC_NOTIFIED_TOTAL, "manager" => label.clone()),
            label,
        }
    }

    /// Handler `id` was removed for a failure.
    pub(super) fn handler_crashed(&self, id: &HandlerId) {
        metrics::counter!(HANDLER_CRASHES_TOTAL,
            "manager" => self.label.clone(), "handler" => id.kind())
        .increment(1);
    }
}

/// Tells the recorder in force what the event manager metrics mean (the
/// `# HELP` lines of a Prometheus scrape); once per manager start.
fn describe() {
    metrics::describe_counter!(
        EVENTS_NOTIFIED_TOTAL,
        "Events an event manager took by notify (asynchronous)."
    );
    metrics::describe_counter!(
        EVENTS_SYNC_NOTIFIED_TOTAL,
        "Events an event manager took by sync_notify."
    );
    metrics::describe_counter!(
        HANDLER_CRASHES_TOTAL,
        "Event handlers removed for a failure (an error or a panic in a callback)."
    );
}
