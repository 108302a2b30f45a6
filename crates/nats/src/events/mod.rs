//! Event managers across nodes: remote access to one manager, and fan-out
//! of a manager's events to handlers on many nodes.
//!
//! - **Remote access** ([`RemoteEventManagerRef`]): `notify` and
//!   `sync_notify` to a manager that another node exported under a name
//!   ([`Node::export_events`](crate::Node::export_events)).
//! - **Fan-out**: the exporting node runs a *bridge* that reads the
//!   manager's acked stream and sends every event on; every node that
//!   subscribed ([`Node::subscribe_events`](crate::Node::subscribe_events))
//!   runs its handlers in a local *mirror* manager, an ordinary arbor event
//!   manager of [`RemoteEvent`]s (so crash isolation, owners, `Forwarder`
//!   and streams hold there as everywhere). A mirror gets the events of
//!   every node that exports the topic's name, in order per origin.
//! - **Streams** ([`RemoteEventStream`]): the events of a topic as a
//!   `futures::Stream`, with [`RemoteItem::Lagged`] where events were lost.
//!
//! How events travel is the topic's [`Level`], chosen per manager:
//!
//! | Level | `notify` | `sync_notify` on the origin returns | Loss |
//! |---|---|---|---|
//! | [`Level::Notify`] | one core publish | once the event is published | at most once; gaps counted |
//! | [`Level::SyncNotify`] | one core publish | once every subscribed mirror's handlers ran (or failed: named) | `notify`: counted; `sync_notify`: none while retrying |
//! | [`Level::Durable`] | JetStream publish | once JetStream stored the event | none: at least once per subscribing node |
//!
//! # Invariants
//!
//! 1. Every event an origin sends carries `(origin, incarnation, seq)`;
//!    `seq` grows by one per event, and by `k` more when the bridge dropped
//!    `k` events at its bound, so a receiver sees every loss as a gap.
//! 2. A mirror dispatches the events of one origin incarnation in `seq`
//!    order and never the same `seq` twice; a gap is counted in
//!    [`MirrorStats::lost`], never silent.
//! 3. A synchronous event is dispatched on a mirror only after every event
//!    of the same origin published before it (the mirror drains its
//!    broadcast subscription first).
//! 4. An origin's `sync_notify` item is acknowledged only after every
//!    subscribed mirror answered, or the bridge gave up on it (the failure
//!    is counted and reported, naming the node).
//! 5. Bridges, responders and mirrors are processes under the node's
//!    supervisor; after [`Node::stop`](crate::Node::stop) none of them,
//!    nor any subscription or pull consumer of theirs, is left (a durable
//!    consumer's server-side state stays: that is its point).

mod bridge;
mod durable;
mod error;
mod export;
mod frame;
mod mirror;
mod order;
mod outbox;
mod owner;
mod receive;
mod remote;
mod state;
mod stream;
mod subscribers;

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

pub use error::{EventsError, MirrorError, MirrorFailure, SyncNotifyError};
pub use export::{ExportStats, ExportedEvents};
pub use mirror::{Mirror, MirrorStats};
pub use remote::RemoteEventManagerRef;
pub use state::{EventCounts, EventsProbe};
pub use stream::{RemoteEventStream, RemoteItem};

pub(crate) use outbox::outbox_spec;

use crate::wire::{Incarnation, NodeId, Wire};

/// How a topic's events travel between nodes (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    /// Core NATS for everything: at most once, in order per origin, gaps
    /// counted. An origin's `sync_notify` returns once the event is
    /// published.
    #[default]
    Notify,
    /// `notify` as [`Level::Notify`]; an origin's `sync_notify` returns
    /// after every subscribed mirror's local `sync_notify` returned.
    SyncNotify,
    /// JetStream: a stream per topic, a durable consumer per subscribing
    /// node; at least once across node and server restarts.
    Durable,
}

/// A named, typed event topic: what an exporter and its subscribers agree
/// on (the manager's name, the event type and the [`Level`]). Cheap to
/// clone; share one definition between the two sides, like a
/// [`Protocol`](crate::Protocol).
///
/// # Examples
///
/// ```
/// use arbor_nats::{EventTopic, Level};
/// let topic = EventTopic::<String>::new("todo_events")
///     .level(Level::SyncNotify)
///     .retry_until_confirmed(std::time::Duration::from_secs(10));
/// assert_eq!(topic.name(), "todo_events");
/// ```
pub struct EventTopic<E> {
    pub(crate) name: Arc<str>,
    pub(crate) level: Level,
    pub(crate) sync_timeout: Duration,
    pub(crate) retry_for: Option<Duration>,
    pub(crate) forget_after: Duration,
    pub(crate) notify_bound: usize,
    pub(crate) max_ack_pending: i64,
    pub(crate) _e: PhantomData<fn() -> E>,
}

impl<E> Clone for EventTopic<E> {
    fn clone(&self) -> Self {
        EventTopic {
            name: Arc::clone(&self.name),
            level: self.level,
            sync_timeout: self.sync_timeout,
            retry_for: self.retry_for,
            forget_after: self.forget_after,
            notify_bound: self.notify_bound,
            max_ack_pending: self.max_ack_pending,
            _e: PhantomData,
        }
    }
}

impl<E> fmt::Debug for EventTopic<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventTopic")
            .field("name", &self.name)
            .field("level", &self.level)
            .finish()
    }
}

impl<E: Wire + Clone + Sync> EventTopic<E> {
    /// A topic named `name` (1–64 characters of `[A-Za-z0-9_-]`, checked
    /// when exported or subscribed) at [`Level::Notify`].
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        EventTopic {
            name: name.into(),
            level: Level::Notify,
            sync_timeout: Duration::from_secs(5),
            retry_for: None,
            forget_after: Duration::from_secs(30),
            notify_bound: 10_000,
            max_ack_pending: 1_000,
            _e: PhantomData,
        }
    }

    /// The delivery level.
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// [`Level::SyncNotify`]: how long the bridge waits for one mirror's
    /// answer (default 5 s) before that mirror counts as failed (or is
    /// asked again, with retry).
    pub fn sync_timeout(mut self, timeout: Duration) -> Self {
        self.sync_timeout = timeout;
        self
    }

    /// [`Level::SyncNotify`]: instead of reporting a mirror that does not
    /// answer, ask it again with the same `seq` (mirrors drop duplicates)
    /// for up to `limit`, also across a restart of its node. The origin's
    /// `sync_notify` waits meanwhile. Off by default.
    pub fn retry_until_confirmed(mut self, limit: Duration) -> Self {
        self.retry_for = Some(limit);
        self
    }

    /// [`Level::SyncNotify`]: a subscribing node that crashed stays a
    /// subscriber this long (default 30 s), so that it is named in
    /// failures, or retried, until it restarts; a node that stops in order
    /// is forgotten at once.
    pub fn forget_after(mut self, after: Duration) -> Self {
        self.forget_after = after;
        self
    }

    /// [`Level::Notify`] / [`Level::SyncNotify`]: at most this many `notify`
    /// events wait in the bridge (default 10 000); more are dropped there,
    /// counted in [`ExportStats::dropped`] and seen by every mirror as a gap.
    pub fn notify_bound(mut self, bound: usize) -> Self {
        self.notify_bound = bound;
        self
    }

    /// [`Level::Durable`]: the events a subscribing node may hold without
    /// acknowledging them (default 1 000): the server sends no more until
    /// it acknowledges, which is the durable path's backpressure.
    pub fn max_ack_pending(mut self, n: i64) -> Self {
        self.max_ack_pending = n.max(1);
        self
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks the name (1–64 characters of `[A-Za-z0-9_-]`: one subject
    /// token and part of a JetStream stream name).
    pub(crate) fn validate(&self) -> Result<(), EventsError> {
        validate_name(&self.name)
    }
}

pub(crate) fn validate_name(name: &str) -> Result<(), EventsError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(EventsError::InvalidName(name.to_owned()))
    }
}

/// One event as a mirror's handlers see it: the event and where it came
/// from, so a handler can tell origins apart and drop redeliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEvent<E> {
    /// The node whose manager sent it.
    pub origin: NodeId,
    /// That node's incarnation.
    pub incarnation: Incarnation,
    /// Its number among the origin incarnation's events (from 1).
    pub seq: u64,
    /// [`Level::Durable`]: the JetStream stream sequence (unique per
    /// topic, across origins and restarts).
    pub durable_seq: Option<u64>,
    /// [`Level::Durable`]: the server delivered this event to this node
    /// before (it may have been handled: deduplicate by
    /// `(origin, incarnation, seq)`).
    pub redelivered: bool,
    /// Whether the origin sent it with `sync_notify`.
    pub sync: bool,
    /// The event.
    pub event: E,
}
