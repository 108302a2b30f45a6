//! A live view of a running arbor system: a web page (and JSON endpoints)
//! showing the supervision trees the application registers, each process
//! with its pid, name, state, restart type and each supervisor's restarts
//! against its intensity; a timeline of starts, exits and restarts; small
//! live graphs; and, on click, a process's links, monitors and mailbox.
//!
//! ```
//! use arbor_observer::Observer;
//! use arbor_process::{Agent, Process};
//! use arbor_supervisor::{ChildSpec, Supervisor};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sup = Supervisor::one_for_one()
//!     .child(ChildSpec::worker("counter", || Agent::start_link(|| 0u32)))
//!     .start()
//!     .await?;
//! let observer = Observer::builder()
//!     .tree("counters", sup.clone())
//!     .serve("127.0.0.1:0") // a fixed port in an application: 127.0.0.1:4041
//!     .await?;
//! println!("open {}", observer.url());
//! observer.stop().await;
//! sup.stop().await?;
//! # Ok(()) }
//! ```
//!
//! # Which type do I need
//!
//! - [`Observer::builder`] → [`ObserverBuilder`]: register trees
//!   (`tree`), event managers to count (`event_manager`), options
//!   (`allow_kill`, `allow_non_loopback`, `sample_every`,
//!   `client_buffer`; with the feature `nats`, `cluster(node)` to show
//!   every node of an arbor-nats cluster), then `serve(addr)`.
//! - [`ObserverHandle`]: the running observer (`local_addr`, `url`,
//!   `stop`).
//! - What the JSON endpoints return: [`TreeView`], [`NodeView`],
//!   [`TimelineEvent`] (the endpoints: docs/observer.md).
//!
//! # Guarantees
//!
//! 1. Nothing is paid by processes when no observer runs, and little when
//!    one does: it samples each tree (one snapshot request per supervisor,
//!    every 250 ms by default, each bounded by a timeout), watches each pid
//!    it saw for its exit reason, and installs a counting handler only in
//!    the event managers it is told about.
//! 2. A slow or vanished browser never blocks anything: updates go through
//!    a bounded ring per observer; a page that falls behind loses the
//!    oldest, the loss is counted (shown on the page, `dropped_updates` in
//!    the JSON) and the page is sent a full refresh.
//! 3. Safe by default: it binds loopback only unless
//!    `allow_non_loopback()`; the kill endpoint answers 403 unless
//!    `allow_kill()`; bad requests get a 4xx with a JSON reason; request
//!    bodies are limited to [`MAX_BODY`] bytes.
//! 4. An exit is on the timeline before the restart that follows it.
//! 5. `stop()` leaves no task behind: the server, open feeds, the sampler,
//!    the exit watchers, and the counting handlers are gone when it
//!    returns (with a cluster: the poller and the sample server too).
//! 6. With a cluster (feature `nats`), a slow or silent node costs one
//!    bounded request per sample period, and never holds the others' view.
//!
//! The page is one static file (HTML, CSS and JavaScript, no build step)
//! compiled into the crate.

#![doc(test(attr(deny(warnings))))]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod builder;
#[cfg(feature = "nats")]
mod cluster;
mod diff;
mod error;
mod events;
mod handle;
mod http;
mod hub;
mod json;
mod sampler;
mod sse;
mod timeline;
mod view;

pub use builder::{Observer, ObserverBuilder};
#[cfg(feature = "nats")]
pub use cluster::SAMPLE_TIMEOUT;
pub use error::ServeError;
pub use handle::ObserverHandle;
pub use http::MAX_BODY;
pub use timeline::{EventKind, TimelineEvent};
pub use view::{NodeState, NodeView, TreeView};
