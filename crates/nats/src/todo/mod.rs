//! The todo service on many nodes: arbor's reference app, sharded.
//!
//! Every node runs the todo tree of [`arbor_todo`] unchanged and serves
//! the same TCP line protocol ([`arbor_todo::protocol`]). List names are
//! hashed into a fixed number of shards; each shard has one owner, a node
//! incarnation recorded in a JetStream KV bucket with compare-and-set, and
//! the owner subscribes the shard's subject `<prefix>.todo.shard.<k>`: the
//! subject is the routing table. A client may talk to any node: a command
//! for a list whose shard another node owns is forwarded there.
//!
//! ```no_run
//! use arbor_nats::todo::{TodoCluster, TodoClusterConfig};
//! use arbor_nats::{Node, NodeConfig};
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let node = Node::start(NodeConfig::new("n1", ["nats://127.0.0.1:4222"])).await?;
//! let todo = TodoCluster::start(&node, TodoClusterConfig::new("127.0.0.1:7000".parse()?)).await?;
//! // clients: `nc 127.0.0.1 7000`, then `CREATE shopping`, `PUT shopping milk`, …
//! todo.stop().await;
//! node.stop().await;
//! # Ok(()) }
//! ```
//!
//! # Guarantees
//!
//! 1. One owner per shard: every change of owner is a compare-and-set on
//!    the shard's key, so of several nodes racing for a shard one wins.
//! 2. When a node dies, the survivors take over its shards as soon as
//!    they see it down (milliseconds after a crash, 3 heartbeat ticks
//!    after a hang), plus one KV write, while JetStream has a leader;
//!    the new owner publishes `exit` with reason `noconnection` for every
//!    list it knew there, then serves new commands for those names. The
//!    lists themselves are gone: they lived in the dead node's memory.
//! 3. A command is answered by the owner of its list's shard, or `ERR
//!    unavailable …` by its deadline; it is retried only when it surely
//!    did not run (nobody subscribed, or the node refused).
//! 4. Fencing: an owner serves only while its heartbeat comes back from
//!    the server and nobody wrote its shard after it; once it lost a
//!    write, saw another owner, or was declared down, it stops serving.
//! 5. `EVENTS` on any node streams creates and exits of every node, in
//!    order per origin (at most once: an event published while a
//!    connection to NATS is down is lost).
//! 6. Stopping the service (or the node) stops its agents, connections
//!    and tree; nothing is left running.

mod config;
mod events;
mod front;
mod lease;
mod msg;
mod owner;
mod route;
mod serve;
mod shard;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arbor_todo::protocol::Request;
use arbor_todo::{TodoApp, TreeNames};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub use config::{TodoClusterConfig, TodoClusterError};
pub use events::ClusterEvents;
pub use msg::{ClusterEvent, ListEventKind};
pub use route::Routed;
pub use shard::ShardOwner;

/// The shard of list `name` among `shards` shards: the same on every node
/// and every build (FNV-1a of the name).
///
/// ```
/// let k = arbor_nats::todo::shard_of("shopping", 64);
/// assert!(k < 64);
/// assert_eq!(k, arbor_nats::todo::shard_of("shopping", 64));
/// ```
pub fn shard_of(name: &str, shards: u32) -> u32 {
    shard::shard_of(name, shards)
}

use crate::node::Node;
use crate::wire::WireExitReason;
use state::{Outgoing, Shared};

/// The agents of the service, in start order (stopped in reverse).
const AGENTS: [&str; 4] = ["todo_tree", "todo_events", "todo_shards", "todo_front"];

/// The todo service running on one node. Cheap to clone.
///
/// # OTP
///
/// The Mix and OTP guide's distributed `KV.Router`, with ownership that
/// moves when a node dies instead of a static routing table.
#[derive(Debug, Clone)]
pub struct TodoCluster {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

/// Counters of one node's service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TodoCounts {
    /// Commands run here for a local client.
    pub served_local: u64,
    /// Commands run here for another node.
    pub served_forwarded: u64,
    /// Forwarded commands refused (not the owner at that epoch, or the
    /// lease lapsed).
    pub refused: u64,
    /// Shards taken over from dead nodes.
    pub takeovers: u64,
    /// Shard writes lost to another node (or failed).
    pub lost_cas: u64,
    /// Shards dropped because another node took them.
    pub fenced: u64,
}

fn bucket_name(node: &Node) -> String {
    format!("arbor_todo_{}", node.config().cluster.replace('@', "_at_"))
}

impl TodoCluster {
    /// Starts the service on `node`: the todo tree, the event bridge, the
    /// ownership agent and the TCP front end, all under the node's
    /// supervisor.
    ///
    /// # Errors
    ///
    /// [`TodoClusterError::Listen`] if `config.listen` cannot be bound;
    /// [`TodoClusterError::Node`] if the shard table cannot be opened or
    /// an agent does not start (the service runs already on this node).
    pub async fn start(
        node: &Node,
        config: TodoClusterConfig,
    ) -> Result<TodoCluster, TodoClusterError> {
        let kv = node.kv_bucket(&bucket_name(node), 1).await?;
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let names = TreeNames::prefixed(&format!("{}_{}_", node.name(), node.incarnation()));
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Shared::new(node.clone(), TodoApp::client(names.clone()), config, kv, tx);
        let s = &shared;
        let started = async {
            node.add_agent(
                TodoApp::definition(&names)
                    .into_child_spec_opts(AGENTS[0], TodoApp::root_opts(&names)),
            )
            .await?;
            node.add_agent(events::spec(
                s.clone(),
                Arc::new(tokio::sync::Mutex::new(rx)),
            ))
            .await?;
            node.add_agent(owner::spec(s.clone())).await?;
            node.add_agent(front::spec(s.clone(), Arc::new(listener)))
                .await?;
            Ok::<_, TodoClusterError>(())
        };
        let result = started.await;
        let cluster = TodoCluster { shared, addr };
        if let Err(e) = result {
            cluster.remove_agents().await;
            return Err(e);
        }
        tracing::info!(target: "arbor::nats::todo", node = %node.name(), %addr, "todo service started");
        Ok(cluster)
    }

    /// The address of the TCP front end.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The local todo tree (holding the lists of the shards owned here).
    pub fn app(&self) -> &TodoApp {
        &self.shared.app
    }

    /// The shard of list `name`.
    pub fn shard_of(&self, name: &str) -> u32 {
        shard::shard_of(name, self.shared.config.shards)
    }

    /// The owner of `shard` and its epoch, as this node last saw the
    /// table.
    pub fn owner(&self, shard: u32) -> Option<(ShardOwner, u64)> {
        self.shared.view_of(shard)
    }

    /// The shards this node may serve now (owned, and the lease holds),
    /// with their epochs, sorted.
    pub fn owned_shards(&self) -> Vec<(u32, u64)> {
        let mut v: Vec<(u32, u64)> = self
            .shared
            .owned()
            .into_iter()
            .filter(|(k, e)| self.shared.may_serve(*k, Some(*e)).is_some())
            .collect();
        v.sort_unstable();
        v
    }

    /// Whether every shard has an owner in this node's view.
    pub fn all_shards_owned(&self) -> bool {
        let view = self.shared.view();
        (0..self.shared.config.shards).all(|k| view.contains_key(&k))
    }

    /// Runs one protocol request as a TCP client's would run (`EVENTS`
    /// answers `Ok` and does nothing), and tells who answered.
    ///
    /// # Cancel safety
    ///
    /// A forwarded command may run even if the future is dropped.
    pub async fn execute(&self, request: Request) -> Routed {
        match msg::Command::from_request(request) {
            Some(c) => route::route(&self.shared, c).await,
            None => Routed {
                result: Ok(Vec::new()),
                by: None,
            },
        }
    }

    /// Every node's list events from now on, with places and reasons.
    ///
    /// # Errors
    ///
    /// The subscription error, as text.
    pub async fn events(&self) -> Result<ClusterEvents, String> {
        events::subscribe(&self.shared).await
    }

    /// The node's counters.
    pub fn counts(&self) -> TodoCounts {
        let c = &self.shared.counters;
        let g = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        TodoCounts {
            served_local: g(&c.served_local),
            served_forwarded: g(&c.served_forwarded),
            refused: g(&c.refused),
            takeovers: g(&c.takeovers),
            lost_cas: g(&c.lost_cas),
            fenced: g(&c.fenced),
        }
    }

    /// Stops the service in order: no new connections, no shard served;
    /// the exits of the local lists published (reason `shutdown`); the
    /// shards released (deleted at their revision, so the others claim
    /// them at once); then the tree and the bridge stop. The node keeps
    /// running. Idempotent.
    pub async fn stop(&self) {
        let sup = self.shared.node.supervisor();
        for id in ["todo_front", "todo_shards"] {
            let _ = sup.terminate_child(id).await;
        }
        let me = self.shared.me();
        let mine: Vec<(String, u32)> = self
            .shared
            .directory
            .lock()
            .iter()
            .filter(|(_, (_, at))| *at == me)
            .map(|(n, (s, _))| (n.clone(), *s))
            .collect();
        for (list, shard) in mine {
            self.shared.silenced.lock().insert(list.clone());
            let _ = self.shared.outgoing.send(Outgoing::Exit {
                list,
                shard,
                at: me.clone(),
                reason: WireExitReason::Shutdown,
            });
        }
        for (shard, _) in self.shared.owned() {
            self.shared.drop_owned(shard);
            if let Some((owner, rev)) = self.shared.view_of(shard)
                && owner == me
            {
                let _ = self
                    .shared
                    .kv
                    .delete_expect_revision(shard::key(shard), Some(rev))
                    .await;
            }
        }
        // The bridge publishes what was queued before it stops.
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.shared.outgoing.send(Outgoing::Flush(tx)).is_ok() {
            let _ = tokio::time::timeout(self.shared.config.command_timeout, rx).await;
        }
        let _ = self.shared.node.client().flush().await;
        self.remove_agents().await;
        events::close(&self.shared).await;
        tracing::info!(target: "arbor::nats::todo", node = %self.shared.node.name(), "todo service stopped");
    }

    async fn remove_agents(&self) {
        let sup = self.shared.node.supervisor();
        for id in AGENTS.iter().rev() {
            let _ = sup.terminate_child(*id).await;
            let _ = sup.delete_child(*id).await;
        }
    }
}
