//! Cluster-wide names (OTP's `global`), on a JetStream key-value bucket.
//!
//! A name maps to one [`GlobalPid`]. Registering is a compare-and-set
//! *create* in the bucket `arbor_<cluster>_names`: of two nodes racing for
//! a name exactly one wins, the other gets
//! [`GlobalError::AlreadyRegistered`] with the winner. Because the write
//! needs a JetStream quorum, a node cut off with a minority of the NATS
//! servers cannot register at all ([`GlobalError::Unavailable`]): there
//! are never two holders to reconcile after a partition heals.
//!
//! Lookups ([`Node::whereis_name`]) read the node's own view of the table,
//! kept current by a watch on the bucket: no network round trip, no lock
//! held across an await. [`Node::whereis_name_fresh`] reads the bucket.
//!
//! A name goes away when its holder exits (the holder's node deletes it),
//! when its node stops ([`Node::stop`]), and when its node is declared
//! down (every surviving node deletes the dead run's names; the first
//! delete wins, the others find the revision changed). A node that starts
//! again deletes what its earlier runs left.
//!
//! Names are strings. A name made of `[-/_=.A-Za-z0-9]` in non-empty
//! dot-separated parts (not starting with `=`) is stored as it is; any
//! other non-empty name up to 200 bytes is stored base64url-encoded
//! behind a `=`, so every string in that range is a usable name.
//!
//! # Invariants
//!
//! 1. A name has at most one holder in the bucket; every delete is
//!    conditional on the revision it meant to delete.
//! 2. After cleanup, no name points at an incarnation that is known to be
//!    down.
//! 3. The view may lag the bucket by a watch delivery; it never goes
//!    backwards (see `cache.rs`).

mod agent;
mod cache;
pub(crate) mod key;
#[cfg(all(test, feature = "testkit"))]
mod tests;

use std::time::Duration;

use arbor_process::{CallError, Pid};

pub use cache::{NameEvent, NameEvents};

use crate::call::{Protocol, RemotePid, RemoteRef};
use crate::node::{Node, NodeError};
use crate::wire::{GlobalPid, decode};
use agent::{AgentSlot, GlobalMsg};
use cache::Names;

/// Why a name operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobalError {
    /// The name cannot be used (empty, or longer than 200 bytes).
    #[error("invalid global name {name:?}: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Why.
        reason: String,
    },
    /// Another process holds the name.
    #[error("global name {name:?} is held by {holder}")]
    AlreadyRegistered {
        /// The name.
        name: String,
        /// Its holder.
        holder: GlobalPid,
    },
    /// The process to register is not alive.
    #[error("process {0} is not alive")]
    NoProcess(Pid),
    /// The name table cannot be read or written now: no JetStream quorum
    /// (a minority partition), a timeout, or no server.
    #[error("the name table is unavailable: {0}")]
    Unavailable(String),
    /// The node has stopped.
    #[error("node stopped")]
    Stopped,
}

/// Starts the registry agent (at node start).
pub(crate) async fn start(node: &Node) -> Result<(), NodeError> {
    agent::start(node).await
}

/// Deletes every name this node's processes hold (at node stop, while the
/// connection is still up).
pub(crate) async fn before_stop(node: &Node) {
    if let Some(agent) = node.extension::<AgentSlot>().get() {
        let timeout = agent_timeout(node);
        let _ = agent
            .call_timeout(|reply| GlobalMsg::ReleaseAll { reply }, timeout)
            .await;
    }
    node.extension::<Names>().close();
}

/// How long a caller waits for the agent: a create that clashes takes two
/// bucket round trips and may delete a dead holder first.
fn agent_timeout(node: &Node) -> Duration {
    node.config().jetstream_timeout * 4 + Duration::from_secs(1)
}

fn call_error(e: CallError) -> GlobalError {
    match e {
        CallError::Timeout => GlobalError::Unavailable("the registry agent did not answer".into()),
        _ => GlobalError::Stopped,
    }
}

fn checked_key(name: &str) -> Result<String, GlobalError> {
    key::key_of(name).map_err(|reason| GlobalError::InvalidName {
        name: name.to_owned(),
        reason,
    })
}

impl Node {
    /// Registers `name` for the local process `pid` across the cluster.
    /// The name is removed when the process exits, when this node stops,
    /// and when this node is declared down.
    ///
    /// # Errors
    ///
    /// [`GlobalError::AlreadyRegistered`] with the holder if the name is
    /// taken; [`GlobalError::InvalidName`]; [`GlobalError::NoProcess`] if
    /// `pid` is not alive; [`GlobalError::Unavailable`] if the bucket has
    /// no quorum or does not answer within the JetStream timeout;
    /// [`GlobalError::Stopped`].
    ///
    /// # Cancel safety
    ///
    /// The request is queued when this is called; if the future is
    /// dropped the registration may still happen (and is then cleaned up
    /// with the process like any other).
    ///
    /// # OTP
    ///
    /// `global:register_name/2` (`yes` / `no`); a clash is refused at
    /// registration instead of resolved after a partition heals.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use arbor_nats::{Node, NodeConfig};
    /// use arbor_process::{Ctx, ExitReason, Msg, Process, spawn};
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let node = Node::start(NodeConfig::new("n1", ["nats://127.0.0.1:4222"])).await?;
    /// let server = spawn(|mut ctx: Ctx<String>| async move {
    ///     while let Msg::Message(_) = ctx.recv().await {}
    ///     ExitReason::Normal
    /// });
    /// node.register_name("todo.server", server.pid()).await?;
    /// assert_eq!(node.whereis_name("todo.server"), Some(node.global_pid(server.pid())));
    /// # Ok(()) }
    /// ```
    pub async fn register_name(&self, name: &str, pid: Pid) -> Result<(), GlobalError> {
        let key = checked_key(name)?;
        let agent = self.registry_agent()?;
        let name = name.to_owned();
        agent
            .call_timeout(
                |reply| GlobalMsg::Register {
                    name,
                    key,
                    pid,
                    reply,
                },
                agent_timeout(self),
            )
            .await
            .map_err(call_error)?
    }

    /// Removes `name`, whoever holds it. `Ok(true)` if this call removed
    /// it, `Ok(false)` if it was not registered (or changed hands
    /// meanwhile, and was left to its new holder).
    ///
    /// # Errors
    ///
    /// [`GlobalError::InvalidName`], [`GlobalError::Unavailable`],
    /// [`GlobalError::Stopped`].
    ///
    /// # OTP
    ///
    /// `global:unregister_name/1`.
    pub async fn unregister_name(&self, name: &str) -> Result<bool, GlobalError> {
        let key = checked_key(name)?;
        let agent = self.registry_agent()?;
        let name = name.to_owned();
        agent
            .call_timeout(
                |reply| GlobalMsg::Unregister { name, key, reply },
                agent_timeout(self),
            )
            .await
            .map_err(call_error)?
    }

    /// The holder of `name` in this node's view of the table: a local
    /// read, no network. The view follows the bucket within a watch
    /// delivery (milliseconds); a stale answer names a process that is
    /// gone, and a message to it fails like one to any dead process.
    ///
    /// # OTP
    ///
    /// `global:whereis_name/1` (also answered from a local table).
    pub fn whereis_name(&self, name: &str) -> Option<GlobalPid> {
        self.extension::<Names>().whereis(name)
    }

    /// The holder of `name` read from the bucket itself: the latest
    /// registration the cluster agreed on.
    ///
    /// # Errors
    ///
    /// [`GlobalError::InvalidName`]; [`GlobalError::Unavailable`] if the
    /// bucket does not answer (no server, or no leader);
    /// [`GlobalError::Stopped`].
    pub async fn whereis_name_fresh(&self, name: &str) -> Result<Option<GlobalPid>, GlobalError> {
        let key = checked_key(name)?;
        let store = self
            .extension::<Names>()
            .store()
            .ok_or(GlobalError::Stopped)?;
        let value = store
            .get(key)
            .await
            .map_err(|e| GlobalError::Unavailable(e.to_string()))?;
        match value {
            Some(bytes) => decode::<GlobalPid>(&bytes).map(Some).map_err(|e| {
                GlobalError::Unavailable(format!("the entry of {name:?} does not decode: {e}"))
            }),
            None => Ok(None),
        }
    }

    /// A typed handle to the process registered as `name`, resolved now
    /// from this node's view; `None` if the name is free. The holder must
    /// have been exported for the protocol (`Node::export`) on its node.
    ///
    /// # OTP
    ///
    /// `gen_server:call({global, Name}, Request)`, with the name resolved
    /// once: keep the handle, or resolve again after `NoProcess`.
    pub fn global_ref<P: Protocol>(&self, name: &str) -> Option<RemoteRef<P>> {
        Some(self.remote(self.whereis_name(name)?))
    }

    /// An untyped handle to the holder of `name`, for plain messages
    /// (`RemotePid::send`); `None` if the name is free.
    ///
    /// # OTP
    ///
    /// `global:send/2`.
    pub fn global_pid_of(&self, name: &str) -> Option<RemotePid> {
        Some(self.remote_pid(self.whereis_name(name)?))
    }

    /// Every registered name in this node's view, sorted.
    ///
    /// # OTP
    ///
    /// `global:registered_names/0`.
    pub fn registered_names(&self) -> Vec<String> {
        self.extension::<Names>().registered()
    }

    /// A stream of every change of the name table this node's view sees
    /// from now on; it ends when the node stops.
    pub fn monitor_names(&self) -> NameEvents {
        self.extension::<Names>().subscribe()
    }

    fn registry_agent(&self) -> Result<arbor_process::ProcessRef<GlobalMsg>, GlobalError> {
        if self.is_stopped() {
            return Err(GlobalError::Stopped);
        }
        self.extension::<AgentSlot>()
            .get()
            .ok_or(GlobalError::Stopped)
    }
}
