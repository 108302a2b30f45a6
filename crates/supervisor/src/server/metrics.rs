//! The supervisor's metrics (feature `metrics`; docs/metrics.md): restarts
//! per child and escalations, labelled with the supervisor's registered
//! name or `anonymous` (never a pid, so the label set stays bounded).
//!
//! The counter handles are registered with the recorder in force when the
//! supervisor starts (escalations) or when a child is first restarted
//! (restarts), and kept: a later restart is one increment, no label built.

use std::sync::Arc;

use metrics::{Counter, SharedString};

use crate::ChildId;

/// Counter: restarts, labels `supervisor` and `child`.
pub(crate) const RESTARTS_TOTAL: &str = "arbor_supervisor_restarts_total";
/// Counter: supervisors that gave up (restart intensity exceeded), label
/// `supervisor`.
pub(crate) const ESCALATIONS_TOTAL: &str = "arbor_supervisor_escalations_total";

pub(super) struct SupMetrics {
    label: SharedString,
    escalations: Counter,
    /// One handle per child id restarted so far: few (static children, or
    /// the one template id of a simple_one_for_one supervisor).
    restarts: Vec<(ChildId, Counter)>,
}

impl SupMetrics {
    pub(super) fn new(name: Option<&Arc<str>>) -> SupMetrics {
        let label = match name {
            Some(n) => SharedString::from_shared(n.clone()),
            None => SharedString::const_str("anonymous"),
        };
        describe();
        let escalations = metrics::counter!(ESCALATIONS_TOTAL, "supervisor" => label.clone());
        SupMetrics {
            label,
            escalations,
            restarts: Vec::new(),
        }
    }

    /// The exit of child `id` is being restarted (it passed the intensity
    /// check).
    pub(super) fn restart(&mut self, id: &ChildId) {
        if let Some((_, c)) = self.restarts.iter().find(|(c, _)| c == id) {
            c.increment(1);
            return;
        }
        let counter = metrics::counter!(RESTARTS_TOTAL,
            "supervisor" => self.label.clone(), "child" => id.as_str().to_owned());
        counter.increment(1);
        self.restarts.push((id.clone(), counter));
    }

    /// The restart intensity was exceeded: the supervisor gives up.
    pub(super) fn escalation(&self) {
        self.escalations.increment(1);
    }
}

/// Tells the recorder in force what the supervisor metrics mean (the
/// `# HELP` lines of a Prometheus scrape); once per supervisor start.
fn describe() {
    metrics::describe_counter!(
        RESTARTS_TOTAL,
        "Child restarts (an exit restarted, or a failed restart retried), per supervisor and child id."
    );
    metrics::describe_counter!(
        ESCALATIONS_TOTAL,
        "Supervisors that exceeded their restart intensity and gave up."
    );
}
