//! The event collector: takes every event the `Forwarder` handler
//! forwarded off the channel and marks the clients' events in the ledger.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use arbor_todo::TodoEvent;
use tokio::sync::{mpsc, watch};

use crate::shared::{Shared, lock};

/// Prefix of the clients' event names: `#<seq>`.
pub(crate) const SEQ: &str = "#";
/// Prefix of the checker's flush markers: `!<n>`.
pub(crate) const FLUSH: &str = "!";

/// Takes every forwarded event off the channel at once (so it never piles
/// up) and marks client events in the ledger; answers flush markers.
pub(crate) async fn collect(
    mut rx: mpsc::UnboundedReceiver<TodoEvent>,
    shared: Arc<Shared>,
    flushed: watch::Sender<u64>,
) -> u64 {
    let mut app_events = 0;
    let mut batch = Vec::with_capacity(256);
    while rx.recv_many(&mut batch, 256).await > 0 {
        let allocated = shared.next_seq.load(Ordering::SeqCst);
        let mut ledger = lock(&shared.ledger);
        for event in batch.drain(..) {
            let name = event.name();
            if let Some(seq) = name.strip_prefix(SEQ).and_then(|n| n.parse().ok()) {
                ledger.forward(seq, allocated, &shared.violations);
            } else if let Some(n) = name.strip_prefix(FLUSH).and_then(|n| n.parse().ok()) {
                flushed.send_replace(n);
            } else {
                app_events += 1;
            }
        }
    }
    app_events
}
