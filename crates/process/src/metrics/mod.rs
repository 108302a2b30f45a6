//! Process metrics through the [`metrics`] facade (feature `metrics`;
//! names, types and labels in docs/metrics.md).
//!
//! Spawns and exits are counted in plain atomics on the process path (one
//! relaxed add each, no recorder call, no label built), and [`sample`]
//! hands the totals to the installed recorder together with the sampled
//! gauges: the number of live processes (the process table's size) and the
//! mailbox depths (a walk of the table). Call it before each scrape, or
//! let [`spawn_sampler`] call it periodically.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use arbor_process::{ExitReason, Process, spawn};
//! let p = spawn(|_: arbor_process::Ctx<()>| async { ExitReason::Normal });
//! p.wait().await;
//! arbor_process::metrics::sample(); // publishes to the installed recorder
//! # }
//! ```

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::cell;

/// Counter: processes spawned.
pub const PROCESSES_SPAWNED_TOTAL: &str = "arbor_processes_spawned_total";
/// Counter: process exits, label `reason_class` ([`reason_class`]).
pub const PROCESS_EXITS_TOTAL: &str = "arbor_process_exits_total";
/// Gauge: live processes (the process table's size when sampled).
pub const PROCESSES_ALIVE: &str = "arbor_processes_alive";
/// Gauge: the deepest mailbox when sampled.
pub const MAILBOX_DEPTH_MAX: &str = "arbor_mailbox_depth_max";
/// Gauge: messages waiting in all mailboxes together when sampled.
pub const MAILBOX_DEPTH_TOTAL: &str = "arbor_mailbox_depth_total";

pub(crate) mod counts;

use counts::{EXITS, SPAWNED};
pub use counts::{REASON_CLASSES, reason_class};

/// Hands the process metrics to the recorder in force for this thread:
/// the spawn and exit totals (as absolute counter values), the number of
/// live processes and the mailbox depths.
///
/// Walks the process table: O(processes), each cell locked briefly. Never
/// called by arbor on its own; see [`spawn_sampler`].
pub fn sample() {
    describe();
    metrics::counter!(PROCESSES_SPAWNED_TOTAL).absolute(SPAWNED.load(Ordering::Relaxed));
    for (class, count) in REASON_CLASSES.iter().zip(&EXITS) {
        metrics::counter!(PROCESS_EXITS_TOTAL, "reason_class" => *class)
            .absolute(count.load(Ordering::Relaxed));
    }
    let cells = cell::snapshot();
    let (mut max, mut total) = (0usize, 0usize);
    for c in &cells {
        let depth = c.mailbox_depth();
        max = max.max(depth);
        total += depth;
    }
    metrics::gauge!(PROCESSES_ALIVE).set(cells.len() as f64);
    metrics::gauge!(MAILBOX_DEPTH_MAX).set(max as f64);
    metrics::gauge!(MAILBOX_DEPTH_TOTAL).set(total as f64);
}

/// Tells the recorder in force what the process metrics mean (the
/// `# HELP` lines of a Prometheus scrape); [`sample`] does it each time.
fn describe() {
    metrics::describe_counter!(PROCESSES_SPAWNED_TOTAL, "Processes spawned.");
    metrics::describe_counter!(
        PROCESS_EXITS_TOTAL,
        "Process exits, by class of exit reason."
    );
    metrics::describe_gauge!(PROCESSES_ALIVE, "Live processes when sampled.");
    metrics::describe_gauge!(
        MAILBOX_DEPTH_MAX,
        "The deepest mailbox when sampled (messages waiting)."
    );
    metrics::describe_gauge!(
        MAILBOX_DEPTH_TOTAL,
        "Messages waiting in all mailboxes together when sampled."
    );
}

/// A tokio task that calls [`sample`] every `period` until aborted (a
/// plain task, not a process: it does not count itself). Needs a runtime;
/// the global recorder should be installed before.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let sampler = arbor_process::metrics::spawn_sampler(std::time::Duration::from_secs(5));
/// sampler.abort();
/// # }
/// ```
#[must_use = "the sampler runs until its handle is used to abort it"]
pub fn spawn_sampler(period: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            sample();
        }
    })
}
