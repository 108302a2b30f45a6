//! Process groups (OTP's `pg`): named groups of processes across the
//! cluster, in independent scopes.
//!
//! Each node runs one agent per scope it uses. The agent owns the node's
//! members (it monitors them; a member that exits leaves its groups) and
//! tells the other nodes on the scope's control subject,
//! `<prefix>.pgc.<scope>`, whenever a member joins or leaves. A starting
//! agent asks the others for their full membership, and a stopping node
//! announces that it has none; members of a node declared down are
//! dropped by everyone. Views are eventually consistent, as in OTP: for a
//! moment after a change two nodes may disagree.
//!
//! Messages to a group go through NATS, never through a node's member
//! list: [`PgScope::send_all`] is one publish on `<prefix>.pg.<scope>.<group>`,
//! to which every node with members of the group subscribes; its agent
//! hands the message to each local member. [`PgScope::send_any`] publishes
//! on the group's `.any` subject, where those nodes hold a queue
//! subscription: NATS picks one node, that node one of its members. A
//! message carries its [`Wire`] tag; a member receives only messages of
//! its own type (others are logged and dropped, as is a body that does
//! not decode). Delivery is at most once, like `!`.
//!
//! Group names are any string of 1 to 200 bytes (names other than
//! `[-_A-Za-z0-9]+` travel base64url-encoded in subjects); scope names are
//! 1 to 64 characters of `[-_A-Za-z0-9]`.
//!
//! # Invariants
//!
//! 1. A node's members are announced by that node only; every node
//!    applies the announcements of one node in the order it sent them.
//! 2. A member is removed from every view when it leaves, exits, its node
//!    stops, or its node is declared down.

mod agent;
mod state;
#[cfg(all(test, feature = "testkit"))]
mod tests;
mod view;

use std::sync::Arc;
use std::time::Duration;

use arbor_process::{CallError, Pid, Process, ProcessRef};
use bytes::Bytes;

pub use state::PgEvents;
pub use view::PgEvent;

use crate::node::Node;
use crate::wire::{GlobalPid, TYPE_HEADER, Wire, encode};
use agent::{Agents, PgMsg, group_subject};
use state::{ScopeState, Scopes, deliver_to};

/// Why a process-group operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PgError {
    /// The scope name is not 1-64 characters of `[-_A-Za-z0-9]`.
    #[error("invalid pg scope {0:?}: 1-64 characters of [-_A-Za-z0-9]")]
    InvalidScope(String),
    /// The group name is empty or longer than 200 bytes.
    #[error("invalid pg group {group:?}: {reason}")]
    InvalidGroup {
        /// The group.
        group: String,
        /// Why.
        reason: String,
    },
    /// The process to join is not alive.
    #[error("process {0} is not alive")]
    NoProcess(Pid),
    /// Send-to-any to a group with no member in this node's view.
    #[error("pg group {0:?} has no members")]
    NoMembers(String),
    /// The message could not be serialised.
    #[error("encode: {0}")]
    Encode(String),
    /// NATS refused a publish or subscription (e.g. a message larger than
    /// the server's limit).
    #[error("nats: {0}")]
    Nats(String),
    /// The node has stopped.
    #[error("node stopped")]
    Stopped,
}

/// Stops every scope's agent in order: the others learn that this node
/// has no members any more.
pub(crate) async fn before_stop(node: &Node) {
    let agents: Vec<ProcessRef<PgMsg>> = node
        .extension::<Agents>()
        .0
        .lock()
        .values()
        .cloned()
        .collect();
    for a in agents {
        let _ = a
            .call_timeout(|reply| PgMsg::Goodbye { reply }, Duration::from_secs(2))
            .await;
    }
    for s in node.extension::<Scopes>().map.lock().values() {
        s.close();
    }
}

fn valid_scope(scope: &str) -> bool {
    (1..=64).contains(&scope.len())
        && scope
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

impl Node {
    /// The process-group scope `scope` on this node, starting its agent
    /// on first use.
    ///
    /// # Errors
    ///
    /// [`PgError::InvalidScope`]; [`PgError::Nats`] if the agent cannot
    /// subscribe; [`PgError::Stopped`].
    ///
    /// # OTP
    ///
    /// `pg:start_link(Scope)`; the default scope of OTP is any name here.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use arbor_nats::{Node, NodeConfig};
    /// use arbor_process::{Ctx, ExitReason, Msg, spawn};
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let node = Node::start(NodeConfig::new("n1", ["nats://127.0.0.1:4222"])).await?;
    /// let workers = node.pg("jobs").await?;
    /// let worker = spawn(|mut ctx: Ctx<String>| async move {
    ///     while let Msg::Message(job) = ctx.recv().await { println!("{job}"); }
    ///     ExitReason::Normal
    /// });
    /// workers.join("resize", &worker).await?;
    /// workers.send_any("resize", &"img-42.png".to_owned()).await?; // one worker, anywhere
    /// workers.send_all("resize", &"flush".to_owned()).await?;      // every worker
    /// # Ok(()) }
    /// ```
    pub async fn pg(&self, scope: &str) -> Result<PgScope, PgError> {
        if !valid_scope(scope) {
            return Err(PgError::InvalidScope(scope.to_owned()));
        }
        if self.is_stopped() {
            return Err(PgError::Stopped);
        }
        let scopes = self.extension::<Scopes>();
        let _one_at_a_time = scopes.starting.lock().await;
        let existing = scopes.map.lock().get(scope).cloned();
        let state = match existing {
            Some(s) => s,
            None => {
                let s = Arc::new(ScopeState::new(scope));
                agent::start(self, s.clone())
                    .await
                    .map_err(|e| PgError::Nats(e.to_string()))?;
                scopes.map.lock().insert(scope.to_owned(), s.clone());
                s
            }
        };
        Ok(PgScope {
            node: self.clone(),
            state,
        })
    }
}

/// A process-group scope on one node. Cheap to clone.
#[derive(Clone)]
pub struct PgScope {
    node: Node,
    state: Arc<ScopeState>,
}

impl std::fmt::Debug for PgScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgScope({} on {:?})", self.state.name, self.node)
    }
}

fn check_group(group: &str) -> Result<(), PgError> {
    crate::global::key::check_len(group).map_err(|reason| PgError::InvalidGroup {
        group: group.to_owned(),
        reason,
    })
}

fn call_error(e: CallError) -> PgError {
    match e {
        CallError::Timeout => PgError::Nats("the pg agent did not answer".into()),
        _ => PgError::Stopped,
    }
}

impl PgScope {
    /// The scope's name.
    pub fn name(&self) -> &str {
        &self.state.name
    }

    fn agent(&self) -> Result<ProcessRef<PgMsg>, PgError> {
        if self.node.is_stopped() {
            return Err(PgError::Stopped);
        }
        self.node
            .extension::<Agents>()
            .0
            .lock()
            .get(&self.state.name)
            .cloned()
            .ok_or(PgError::Stopped)
    }

    /// Adds the local process `member` to `group`. It receives the group's
    /// messages of type `M`; it leaves when it exits. Joining twice counts
    /// twice (as in OTP). The member is exported: other nodes can send it
    /// `M`s by its global pid, and link to or monitor it.
    ///
    /// # Errors
    ///
    /// [`PgError::InvalidGroup`], [`PgError::NoProcess`],
    /// [`PgError::Nats`] (subscribing failed), [`PgError::Stopped`].
    ///
    /// # OTP
    ///
    /// `pg:join/3` for a local pid.
    pub async fn join<M: Wire>(&self, group: &str, member: &ProcessRef<M>) -> Result<(), PgError> {
        check_group(group)?;
        // Members are addressable from other nodes by their global pid
        // (plain messages of type `M`, links, monitors).
        if member.is_alive() {
            self.node.export_process(member);
        }
        let (pid, deliver, group) = (member.pid(), deliver_to(member.clone()), group.to_owned());
        self.agent()?
            .call(|reply| PgMsg::Join {
                group,
                pid,
                deliver,
                reply,
            })
            .await
            .map_err(call_error)?
    }

    /// Removes one membership of the local process `pid` in `group`;
    /// `Ok(false)` if it was not a member.
    ///
    /// # Errors
    ///
    /// [`PgError::InvalidGroup`], [`PgError::Stopped`].
    ///
    /// # OTP
    ///
    /// `pg:leave/3`.
    pub async fn leave(&self, group: &str, pid: Pid) -> Result<bool, PgError> {
        check_group(group)?;
        let group = group.to_owned();
        self.agent()?
            .call(|reply| PgMsg::Leave { group, pid, reply })
            .await
            .map_err(call_error)
    }

    /// Every member of `group` in this node's view, grouped by node.
    ///
    /// # OTP
    ///
    /// `pg:get_members/2`.
    pub fn members(&self, group: &str) -> Vec<GlobalPid> {
        self.state.members(group)
    }

    /// The members of `group` on this node.
    ///
    /// # OTP
    ///
    /// `pg:get_local_members/2`.
    pub fn local_members(&self, group: &str) -> Vec<GlobalPid> {
        self.state.node_members(self.node.name(), group)
    }

    /// Every group with members, sorted.
    ///
    /// # OTP
    ///
    /// `pg:which_groups/1`.
    pub fn which_groups(&self) -> Vec<String> {
        self.state.groups()
    }

    /// The members of `group` now, and a stream of its joins and leaves
    /// from then on.
    ///
    /// # OTP
    ///
    /// `pg:monitor/2`.
    pub fn monitor(&self, group: &str) -> (Vec<GlobalPid>, PgEvents) {
        self.state.subscribe(Some(group))
    }

    /// A stream of every join and leave in the scope from now on.
    ///
    /// # OTP
    ///
    /// `pg:monitor_scope/1` (without the snapshot).
    pub fn monitor_scope(&self) -> PgEvents {
        self.state.subscribe(None).1
    }

    /// Sends `msg` to every member of `group`, on every node: one publish.
    /// Members whose message type is not `M` drop it (logged).
    ///
    /// # Errors
    ///
    /// [`PgError::InvalidGroup`], [`PgError::Encode`], [`PgError::Nats`]
    /// (e.g. larger than the server's limit), [`PgError::Stopped`].
    pub async fn send_all<M: Wire>(&self, group: &str, msg: &M) -> Result<(), PgError> {
        self.publish(group, "", msg).await
    }

    /// Sends `msg` to one member of `group`: NATS picks one node with
    /// members, that node picks one of them (round robin).
    ///
    /// # Errors
    ///
    /// [`PgError::NoMembers`] if this node's view has no member;
    /// otherwise as [`PgScope::send_all`].
    pub async fn send_any<M: Wire>(&self, group: &str, msg: &M) -> Result<(), PgError> {
        check_group(group)?;
        if self.state.members(group).is_empty() {
            return Err(PgError::NoMembers(group.to_owned()));
        }
        self.publish(group, ".any", msg).await
    }

    async fn publish<M: Wire>(&self, group: &str, suffix: &str, msg: &M) -> Result<(), PgError> {
        check_group(group)?;
        if self.node.is_stopped() {
            return Err(PgError::Stopped);
        }
        let subject = group_subject(&self.node, &self.state.name, group).map_err(|reason| {
            PgError::InvalidGroup {
                group: group.to_owned(),
                reason,
            }
        })?;
        let body = encode(msg).map_err(PgError::Encode)?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(TYPE_HEADER, M::TAG);
        self.node
            .client()
            .publish_with_headers(format!("{subject}{suffix}"), headers, Bytes::from(body))
            .await
            .map_err(|e| PgError::Nats(e.to_string()))
    }
}
