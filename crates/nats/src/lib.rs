//! arbor across machines, on NATS.
//!
//! A [`Node`] is one member of an arbor cluster: a configured name and an
//! incarnation (a new one on every start), one connection to a NATS system
//! (one server or a cluster of them), and its agents as ordinary arbor
//! processes under one supervisor, so an outage shows up as restarts and
//! reports like any other failure. The NATS server does the transport,
//! clustering and failover; arbor-nats maps OTP's distribution onto it.
//!
//! ```no_run
//! use arbor_nats::{Credentials, Node, NodeConfig};
//! # #[tokio::main] async fn main() -> Result<(), arbor_nats::NodeError> {
//! let node = Node::start(
//!     NodeConfig::new("todo@n1", ["nats://127.0.0.1:4222"])
//!         .credentials(Credentials::Token("s3cret".into())),
//! )
//! .await?;
//! let mut events = node.monitor_nodes(); // NodeUp / NodeDown with reasons
//! # let _ = &mut events;
//! node.stop().await; // the others see this node down with reason `shutdown`
//! # Ok(()) }
//! ```
//!
//! # Which type do I need?
//!
//! - Start and stop a node: [`NodeConfig`], [`Credentials`],
//!   [`TlsConfig`], [`Node`], [`NodeError`].
//! - Watch membership: [`Node::monitor_nodes`] → [`NodeEvents`] of
//!   [`NodeEvent`] with a [`NodeDownReason`].
//! - Cluster-wide names: [`Node::register_name`], [`Node::whereis_name`]
//!   (local view), [`Node::whereis_name_fresh`], [`Node::global_ref`];
//!   errors [`GlobalError`]; changes [`NameEvents`] of [`NameEvent`].
//! - Process groups: [`Node::pg`] → [`PgScope`] (join, members,
//!   `send_all`, `send_any`, monitor → [`PgEvents`] of [`PgEvent`]);
//!   errors [`PgError`].
//! - Messages that cross nodes: implement [`Wire`] (serde + a versioned
//!   tag); pids anywhere are [`GlobalPid`]s; exit reasons travel as
//!   [`WireExitReason`].
//! - Metrics (feature `metrics`): remote calls by outcome, node ups and
//!   downs, through the `metrics` facade; names in the `metrics` module
//!   (docs/metrics.md).
//! - Event managers across nodes: export a local manager with
//!   [`Node::export_events`] ([`EventTopic`], [`Level`]); reach it with
//!   [`RemoteEventManagerRef`]; run handlers on other nodes in a
//!   [`Mirror`] ([`Node::subscribe_events`]) of [`RemoteEvent`]s, or read
//!   a [`RemoteEventStream`]; failures are [`SyncNotifyError`]s.
//! - The todo application on many nodes (sharded, taken over when a node
//!   dies): [`todo::TodoCluster`].
//! - Tests against a real server: the `testkit` module (feature `testkit`):
//!   `NatsServer`, `NatsCluster`, `require_nats_server`, an `Echo` service.
//!
//! # Guarantees
//!
//! 1. Every subject lives under `arbor.<cluster>`; credentials are never
//!    taken from a URL (a URL with credentials is refused).
//! 2. A node that cannot reach NATS within its connect deadline fails to
//!    start with a typed error; it never hangs.
//! 3. A stopped node leaves no agent, subscription or event stream behind.
//! 4. Malformed input from the network is an error value, never a panic.
#![doc(test(attr(deny(warnings))))]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod call;
mod counts;
mod events;
mod global;
mod lifecycle;
mod membership;
#[cfg(feature = "metrics")]
pub mod metrics;
mod node;
mod peers;
mod pg;
mod proxy;
mod router;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod todo;
mod watch;
mod wire;

pub use call::{Protocol, RemoteCallError, RemotePid, RemoteRef, RemoteServer};
pub use counts::NodeCounts;
pub use events::{
    EventCounts, EventTopic, EventsError, EventsProbe, ExportStats, ExportedEvents, Level, Mirror,
    MirrorError, MirrorFailure, MirrorStats, RemoteEvent, RemoteEventManagerRef, RemoteEventStream,
    RemoteItem, SyncNotifyError,
};
pub use global::{GlobalError, NameEvent, NameEvents};
pub use membership::NodeMonitor;
pub use node::{
    Credentials, Node, NodeConfig, NodeDownReason, NodeError, NodeEvent, NodeEvents, TlsConfig,
};
pub use pg::{PgError, PgEvent, PgEvents, PgScope};
pub use wire::{
    Envelope, GlobalPid, Incarnation, Kind, NodeId, RemoteError, Target, Wire, WireExitReason,
    decode, encode,
};
