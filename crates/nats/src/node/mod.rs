//! [`Node`]: one member of an arbor cluster — a name and incarnation, one
//! NATS connection, and the node's agents under one supervisor.
//!
//! # Invariants
//!
//! 1. Every subject the node uses starts with its cluster prefix
//!    `arbor.<cluster>`.
//! 2. The NATS client name is `arbor:<node>:<incarnation>`, so the
//!    server's disconnect advisory names the node run that died.
//! 3. The node's agents are children of its one_for_one supervisor; after
//!    [`Node::stop`] none of them, nor any event subscription, is left.
//! 4. Incarnations of nodes started in one OS process strictly increase,
//!    including the new incarnation of a node that rejoins after fencing.

mod config;
mod connect;
mod error;
mod events;
mod kv;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arbor_process::Pid;
use arbor_process::Process as _;
use arbor_supervisor::{ChildSpec, Supervisor, SupervisorRef};
use async_nats::jetstream;
use parking_lot::Mutex;

pub use config::{Credentials, NodeConfig, TlsConfig};

pub use error::NodeError;
pub(crate) use events::EventHub;
pub use events::{NodeDownReason, NodeEvent, NodeEvents};

use crate::peers::Peers;
use crate::wire::{GlobalPid, Incarnation, NodeId};

/// A running node. Cheap to clone; every clone is the same node.
///
/// # OTP
///
/// A distributed Erlang node: `name` is the node name, `incarnation` its
/// creation. Started explicitly instead of by `net_kernel`, and connected
/// to a NATS system instead of to each peer.
#[derive(Clone)]
pub struct Node {
    inner: Arc<NodeInner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node({}.{})", self.inner.id, self.incarnation())
    }
}

/// The node's shared state. Modules of this crate reach it through
/// [`Node`]'s `pub(crate)` accessors.
pub(crate) struct NodeInner {
    config: NodeConfig,
    id: NodeId,
    /// Changes only when the node is fenced and rejoins.
    incarnation: AtomicU64,
    /// `arbor:<node>:<first incarnation>` (invariant 2): kept across a
    /// rejoin, since the connection is kept.
    client_name: String,
    prefix: String,
    client: async_nats::Client,
    js: jetstream::Context,
    sup: SupervisorRef,
    events: EventHub,
    /// The nodes up, read on every remote call.
    peers: Peers,
    /// State other modules hang on the node, one value per type.
    extensions: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    stopped: AtomicBool,
}

/// The last incarnation handed out in this OS process (invariant 4).
static LAST_INCARNATION: AtomicU64 = AtomicU64::new(0);

fn next_incarnation() -> Incarnation {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_millis() as u64);
    let mut last = LAST_INCARNATION.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST_INCARNATION.compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

impl Node {
    /// Connects and builds the node with its (empty) supervisor; the
    /// agents are started by `Node::start` (lifecycle.rs).
    pub(crate) async fn connect(config: NodeConfig) -> Result<Node, NodeError> {
        config.validate()?;
        let incarnation = next_incarnation();
        let client = connect::connect(&config, incarnation).await?;
        let js = jetstream::ContextBuilder::new()
            .timeout(config.jetstream_timeout)
            .build(client.clone());
        let sup = Supervisor::one_for_one()
            .intensity(10)
            .period(Duration::from_secs(10))
            .start()
            .await
            .map_err(|e| NodeError::Supervisor(e.to_string()))?;
        Ok(Node {
            inner: Arc::new(NodeInner {
                id: config.name.clone(),
                prefix: config.prefix(),
                incarnation: AtomicU64::new(incarnation),
                client_name: connect::client_name(config.name.as_str(), incarnation),
                client,
                js,
                sup,
                events: EventHub::default(),
                peers: Peers::default(),
                extensions: Mutex::new(HashMap::new()),
                stopped: AtomicBool::new(false),
                config,
            }),
        })
    }

    /// Marks the node stopped; `false` if it already was.
    pub(crate) fn mark_stopped(&self) -> bool {
        !self.inner.stopped.swap(true, Ordering::SeqCst)
    }

    /// Stops the agents, ends event streams, drops extensions and closes
    /// the connection: the second half of `Node::stop`.
    pub(crate) async fn shut_down(&self) {
        let _ = self.inner.sup.stop().await;
        self.inner.events.close();
        self.inner.extensions.lock().clear();
        let _ = self.inner.client.flush().await;
        let _ = self.inner.client.drain().await;
        tracing::info!(target: "arbor::nats", node = %self.inner.id, "node stopped");
    }

    /// Whether [`Node::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// The node's name.
    pub fn name(&self) -> &NodeId {
        &self.inner.id
    }

    /// This run's incarnation.
    pub fn incarnation(&self) -> Incarnation {
        self.inner.incarnation.load(Ordering::SeqCst)
    }

    /// The configuration the node was started with.
    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    /// A stream of every node up/down seen from now on, with reasons. It
    /// ends when this node stops.
    ///
    /// # OTP
    ///
    /// `net_kernel:monitor_nodes(true, [nodedown_reason])`.
    pub fn monitor_nodes(&self) -> NodeEvents {
        self.inner.events.subscribe()
    }

    /// The pid of the node's supervisor (its agents are its children).
    pub fn supervisor(&self) -> SupervisorRef {
        self.inner.sup.clone()
    }
}

/// The crate API other modules build on: the connection, subjects, events,
/// agents, KV buckets and per-node state.
#[allow(dead_code)] // used by the modules built on the node, some of them still to come
impl Node {
    /// The NATS connection.
    pub(crate) fn client(&self) -> &async_nats::Client {
        &self.inner.client
    }

    /// The JetStream context (its timeout is `config.jetstream_timeout`).
    pub(crate) fn jetstream(&self) -> &jetstream::Context {
        &self.inner.js
    }

    /// The subject prefix, `arbor.<cluster>`.
    pub(crate) fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// `<prefix>.<rest>`.
    pub(crate) fn subject(&self, rest: &str) -> String {
        format!("{}.{rest}", self.inner.prefix)
    }

    /// The global pid of the node itself (its router, id 0): the sender of
    /// node-level envelopes.
    pub(crate) fn node_pid(&self) -> GlobalPid {
        GlobalPid {
            node: self.inner.id.clone(),
            incarnation: self.incarnation(),
            id: 0,
        }
    }

    /// The NATS client name, as disconnect advisories report it.
    pub(crate) fn client_name(&self) -> &str {
        &self.inner.client_name
    }

    /// Starts a new incarnation (after being fenced); returns it.
    pub(crate) fn renew_incarnation(&self) -> Incarnation {
        let next = next_incarnation();
        self.inner.incarnation.store(next, Ordering::SeqCst);
        next
    }

    /// The nodes up (written by membership).
    pub(crate) fn peers(&self) -> &Peers {
        &self.inner.peers
    }

    /// The hub of node events (publish from membership; subscribe anywhere).
    pub(crate) fn events(&self) -> &EventHub {
        &self.inner.events
    }

    /// Adds an agent to the node's supervisor.
    ///
    /// # Errors
    ///
    /// [`NodeError::Supervisor`] with the start error.
    pub(crate) async fn add_agent(&self, spec: ChildSpec) -> Result<Pid, NodeError> {
        let started = self
            .inner
            .sup
            .start_child(spec)
            .await
            .map_err(|e| NodeError::Supervisor(e.to_string()))?;
        started
            .pid()
            .ok_or_else(|| NodeError::Supervisor("agent ignored its start".into()))
    }

    /// Opens (creating if needed) KV bucket `name` with `history` values
    /// per key and `config.kv_replicas` replicas, on servers as old as 2.9.
    ///
    /// # Errors
    ///
    /// [`NodeError::JetStream`] after retrying for three JetStream timeouts.
    pub(crate) async fn kv_bucket(
        &self,
        name: &str,
        history: i64,
    ) -> Result<jetstream::kv::Store, NodeError> {
        kv::bucket(
            &self.inner.js,
            name,
            history,
            self.inner.config.kv_replicas,
            self.inner.config.jetstream_timeout,
        )
        .await
    }

    /// Runs a JetStream request until it succeeds or three JetStream
    /// timeouts have passed (a young cluster times out until it settles).
    ///
    /// # Errors
    ///
    /// [`NodeError::JetStream`] with the last error.
    pub(crate) async fn js_retrying<T, E, F, Fut>(&self, what: &str, op: F) -> Result<T, NodeError>
    where
        E: std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        kv::retrying(what, self.inner.config.jetstream_timeout, op).await
    }

    /// The node's value of type `T`, created with `T::default()` on first
    /// use: where a module keeps node-wide state without a field here.
    pub(crate) fn extension<T: Any + Send + Sync + Default>(&self) -> Arc<T> {
        let mut map = self.inner.extensions.lock();
        let entry = map
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()));
        match Arc::clone(entry).downcast::<T>() {
            Ok(v) => v,
            // The map is keyed by the type id: the value has that type.
            Err(_) => unreachable!("extension map keyed by TypeId"),
        }
    }
}

#[cfg(all(test, feature = "testkit"))]
mod tests;
