//! The page's live feed: Server-Sent Events from the hub's broadcast ring.
//!
//! Each client gets a `hello` (everything) first, then `trees`, `timeline`
//! and `point` updates. A client that fell behind the ring gets its loss
//! counted and a fresh `hello` instead of what it missed (hub invariant
//! 1). The stream ends when the observer stops.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::hub::{Hub, Update};

/// Decrements the client count when the stream is dropped (the browser
/// went away, or the observer stopped).
struct Client(Arc<Hub>);

impl Drop for Client {
    fn drop(&mut self) {
        self.0.client_gone();
    }
}

fn event(update: &Update) -> Event {
    Event::default().event(update.event).data(&update.data)
}

pub(crate) fn stream(
    hub: Arc<Hub>,
    stop: CancellationToken,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = hub.subscribe();
    hub.client_connected();
    let state = (rx, Client(hub), true);
    let updates = futures::stream::unfold(state, move |(mut rx, client, hello)| {
        let stop = stop.clone();
        async move {
            let hub = client.0.clone();
            let next = async {
                if hello {
                    return Some(event(&hub.hello()));
                }
                match rx.recv().await {
                    Ok(update) => Some(event(&update)),
                    Err(RecvError::Lagged(n)) => {
                        hub.count_dropped(n);
                        Some(event(&hub.hello()))
                    }
                    Err(RecvError::Closed) => None,
                }
            };
            let e = tokio::select! {
                () = stop.cancelled() => None,
                e = next => e,
            }?;
            Some((Ok(e), (rx, client, false)))
        }
    });
    Sse::new(updates).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
