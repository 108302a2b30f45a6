//! The supervisors' reports (restarts, escalations, failed restarts),
//! counted by a tracing layer; and the run's tracing setup.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::shared::lock;

/// What the supervisors reported, counted by a tracing layer.
#[derive(Debug, Default)]
pub(crate) struct SupReports {
    pub(crate) restarts: Mutex<BTreeMap<String, u64>>,
    pub(crate) escalations: Mutex<BTreeMap<String, u64>>,
    pub(crate) failed_restarts: Mutex<BTreeMap<String, u64>>,
}

/// The fields of a supervisor report that are counted.
#[derive(Default)]
struct Fields {
    message: String,
    supervisor: String,
    child: String,
    reason: String,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        let slot = match field.name() {
            "message" => &mut self.message,
            "supervisor" => &mut self.supervisor,
            "child" => &mut self.child,
            "reason" => &mut self.reason,
            _ => return,
        };
        *slot = format!("{value:?}");
    }
}

/// Counts the supervisors' reports into [`SupReports`].
struct CountLayer(Arc<SupReports>);

impl<S: tracing::Subscriber> Layer<S> for CountLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let sup = f.supervisor.trim_start_matches("chaos_").to_owned();
        match f.message.as_str() {
            "restarting child" => {
                *lock(&self.0.restarts)
                    .entry(format!("{sup}/{}", f.child))
                    .or_default() += 1;
            }
            m if m.starts_with("reached_max_restart_intensity") => {
                *lock(&self.0.escalations).entry(sup).or_default() += 1;
            }
            m if m.starts_with("restart failed") => {
                *lock(&self.0.failed_restarts)
                    .entry(format!("{sup}/{}: {}", f.child, summarize(&f.reason)))
                    .or_default() += 1;
            }
            _ => {}
        }
    }
}

/// A start failure, without pids and nesting: the innermost child that
/// failed and why.
fn summarize(reason: &str) -> String {
    let clean: String = reason.chars().filter(|c| *c != '\\' && *c != '"').collect();
    let inner = clean
        .rsplit("failed to start child ")
        .next()
        .unwrap_or(&clean)
        .trim_end_matches('}');
    match inner.find("<0.") {
        Some(i) => format!("{}<pid>", &inner[..i]),
        None => inner.to_owned(),
    }
}

/// Installs the counting layer (on `arbor::supervisor` events) and a fmt
/// layer filtered by `RUST_LOG` (default: off).
pub(crate) fn init_tracing(reports: Arc<SupReports>) {
    let env = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::registry()
        .with(
            CountLayer(reports).with_filter(tracing_subscriber::filter::filter_fn(|m| {
                m.target() == "arbor::supervisor"
            })),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_filter(env),
        )
        .init();
}
