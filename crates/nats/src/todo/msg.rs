//! What the todo service sends between nodes: forwarded commands and
//! their replies, and list events. Postcard, like the rest of arbor-nats.

use arbor_todo::protocol::{ErrorReason, Request};
use serde::{Deserialize, Serialize};

use super::shard::ShardOwner;
use crate::wire::{Incarnation, NodeId, WireExitReason};

/// A command for one list, as forwarded to the shard's owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Command {
    Create(String),
    Put(String, String),
    List(String),
    Delete(String, String),
}

impl Command {
    /// The command of a protocol request; `None` for `EVENTS`.
    pub(crate) fn from_request(r: Request) -> Option<Command> {
        Some(match r {
            Request::Create { list } => Command::Create(list),
            Request::Put { list, item } => Command::Put(list, item),
            Request::List { list } => Command::List(list),
            Request::Delete { list, item } => Command::Delete(list, item),
            Request::Events => return None,
        })
    }

    /// The list the command is for.
    pub(crate) fn list(&self) -> &str {
        match self {
            Command::Create(l) | Command::Put(l, _) | Command::List(l) | Command::Delete(l, _) => l,
        }
    }
}

/// A forwarded command: to be run only by `owner`, under the ownership of
/// `epoch` (or a newer epoch of the same ownership).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ShardRequest {
    pub(crate) shard: u32,
    /// The owner the sender routed to. During a handover the old and the
    /// new owner both subscribe the shard's subject; only the one named
    /// runs the command (and answers), so a command never runs on two
    /// copies, one of which answers.
    pub(crate) owner: ShardOwner,
    /// The KV revision of the ownership the sender routed by.
    pub(crate) epoch: u64,
    pub(crate) command: Command,
}

/// The owner's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ShardReply {
    /// Ran: the `* item` lines before `OK`, or the error (unknown list,
    /// unknown item, not created, list gone); and the ownership it ran
    /// under.
    Done {
        result: Result<Vec<String>, WireError>,
        owner: ShardOwner,
        epoch: u64,
    },
    /// The request did not decode.
    Bad(String),
    /// Not run: this node does not own the shard at that epoch (any more,
    /// or not yet) or cannot prove its ownership now. Safe to retry.
    NotOwner,
}

/// The errors a command can end with, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum WireError {
    UnknownList(String),
    UnknownItem { list: String, item: String },
    NotCreated(String),
    Unavailable(String),
}

impl From<ErrorReason> for WireError {
    fn from(e: ErrorReason) -> WireError {
        match e {
            ErrorReason::UnknownList(l) => WireError::UnknownList(l),
            ErrorReason::UnknownItem { list, item } => WireError::UnknownItem { list, item },
            ErrorReason::NotCreated(l) => WireError::NotCreated(l),
            other => WireError::Unavailable(other.to_string()),
        }
    }
}

impl From<WireError> for ErrorReason {
    fn from(e: WireError) -> ErrorReason {
        match e {
            WireError::UnknownList(l) => ErrorReason::UnknownList(l),
            WireError::UnknownItem { list, item } => ErrorReason::UnknownItem { list, item },
            WireError::NotCreated(l) => ErrorReason::NotCreated(l),
            WireError::Unavailable(s) => ErrorReason::Unavailable(s),
        }
    }
}

/// What happened to a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ListEventKind {
    /// The list was created.
    Create,
    /// The list exited, with this reason (`noconnection` when its node
    /// died and another node took its shard over).
    Exit(WireExitReason),
}

/// A list event as every node sees it (the typed form of the `EVENTS`
/// lines, with the places and reasons those lines leave out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterEvent {
    /// The node that published the event.
    pub origin: NodeId,
    /// The publishing node's incarnation.
    pub origin_incarnation: Incarnation,
    /// Per origin incarnation: 1, 2, 3, … (gaps mean lost events).
    pub seq: u64,
    /// The list's name.
    pub list: String,
    /// Its shard.
    pub shard: u32,
    /// The node incarnation the list lived on.
    pub at: ShardOwner,
    /// Create or exit.
    pub kind: ListEventKind,
}

impl ClusterEvent {
    /// The line `EVENTS` writes for it: `EVENT create <list>` or
    /// `EVENT exit <list>`, as on a single node.
    pub fn protocol_line(&self) -> String {
        match self.kind {
            ListEventKind::Create => format!("EVENT create {}", self.list),
            ListEventKind::Exit(_) => format!("EVENT exit {}", self.list),
        }
    }
}

impl std::fmt::Display for ClusterEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ListEventKind::Create => write!(
                f,
                "create {} on {} (from {}.{}#{})",
                self.list, self.at, self.origin, self.origin_incarnation, self.seq
            ),
            ListEventKind::Exit(r) => write!(
                f,
                "exit {} on {} reason {} (from {}.{}#{})",
                self.list,
                self.at,
                r.clone().into_exit_reason(),
                self.origin,
                self.origin_incarnation,
                self.seq
            ),
        }
    }
}
