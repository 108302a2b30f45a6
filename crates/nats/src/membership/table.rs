//! The node table in JetStream KV: one key per node name, the value its
//! live incarnation and whether it is alive. The revision of a node's own
//! write is its fencing token: a node declared down by the others is
//! marked dead there with compare-and-set, and the node learns it from a
//! watch on its own key.
//!
//! # Invariants
//!
//! 1. Marking a node dead is a compare-and-set on the revision that holds
//!    that very incarnation alive: a newer incarnation's record is never
//!    overwritten, and of several survivors one write wins.
//! 2. A starting node claims its name with compare-and-set on the record
//!    it read, and only if that record is dead or its node does not answer
//!    a ping ([`NodeError::NameInUse`] otherwise): two live nodes never
//!    share a name, and a record left alive by a killed node is replaced.
//! 3. A node marks others dead only while nobody has written its own
//!    record since the verdict (its fencing token then): a node that was
//!    itself declared down has no say. (Two reads, not one transaction: a
//!    node declared down in the same few milliseconds can still write
//!    once.)

use std::sync::atomic::{AtomicU64, Ordering};

use async_nats::jetstream::kv::Store;
use bytes::Bytes;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::node::{Node, NodeError};
use crate::wire::{Incarnation, NodeId, decode, encode};

/// A node's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NodeRecord {
    pub(crate) incarnation: Incarnation,
    pub(crate) alive: bool,
}

/// The table handle and this node's fencing token (a node extension).
#[derive(Default)]
pub(crate) struct NodeTable {
    kv: Mutex<Option<Store>>,
    own_revision: AtomicU64,
}

/// This node's record, alive, encoded.
fn own_record(node: &Node) -> Result<Bytes, NodeError> {
    let rec = NodeRecord {
        incarnation: node.incarnation(),
        alive: true,
    };
    Ok(Bytes::from(encode(&rec).map_err(NodeError::JetStream)?))
}

/// Whether the node of a live record answers a ping within 3 ticks (the
/// silence after which the others declare it down). No responders, or no
/// answer in time, count as gone (invariant 2).
async fn answers(node: &Node, rec: &NodeRecord) -> bool {
    let wait = node.config().tick * 3;
    crate::call::ping_incarnation(node, node.name(), rec.incarnation, wait).await == Ok(true)
}

/// The bucket of a cluster: bucket names allow `[A-Za-z0-9_-]`.
fn bucket_name(node: &Node) -> String {
    format!("arbor_nodes_{}", node.config().cluster.replace('@', "_at_"))
}

impl NodeTable {
    fn kv(&self) -> Option<Store> {
        self.kv.lock().clone()
    }

    /// This node's current fencing token.
    pub(crate) fn own_revision(&self) -> u64 {
        self.own_revision.load(Ordering::SeqCst)
    }

    async fn open(&self, node: &Node) -> Result<Store, NodeError> {
        if let Some(kv) = self.kv() {
            return Ok(kv);
        }
        let kv = node.kv_bucket(&bucket_name(node), 1).await?;
        *self.kv.lock() = Some(kv.clone());
        Ok(kv)
    }

    /// Claims this node's name at start (invariant 2).
    ///
    /// # Errors
    ///
    /// [`NodeError::NameInUse`] if a live node holds the name (or another
    /// start of the same name won the write); [`NodeError::JetStream`] if
    /// the table cannot be read or written.
    pub(crate) async fn claim(&self, node: &Node) -> Result<(), NodeError> {
        let kv = self.open(node).await?;
        let bytes = own_record(node)?;
        let key = node.name().as_str();
        let mut last = String::new();
        // A failed compare-and-set means someone wrote the record since
        // we read it; if that is another start of this name, it won.
        let mut lost_race = false;
        for _ in 0..3 {
            let entry = node
                .js_retrying("node table read", || kv.entry(key))
                .await?;
            let holder = entry
                .as_ref()
                .and_then(|e| decode::<NodeRecord>(&e.value).ok())
                .filter(|rec| rec.alive && rec.incarnation != node.incarnation());
            if let Some(rec) = holder
                && (lost_race || answers(node, &rec).await)
            {
                return Err(NodeError::NameInUse {
                    node: node.name().clone(),
                    incarnation: rec.incarnation,
                });
            }
            let written = match &entry {
                Some(e) => kv
                    .update(key, bytes.clone(), e.revision)
                    .await
                    .map_err(|e| e.to_string()),
                None => kv
                    .create(key, bytes.clone())
                    .await
                    .map_err(|e| e.to_string()),
            };
            match written {
                Ok(rev) => {
                    self.own_revision.store(rev, Ordering::SeqCst);
                    return Ok(());
                }
                Err(e) => {
                    lost_race = true;
                    last = e;
                }
            }
        }
        Err(NodeError::JetStream(format!("node table claim: {last}")))
    }

    /// Writes this node's record (alive, current incarnation): a fenced
    /// node rejoining under its new incarnation.
    pub(crate) async fn join(&self, node: &Node) -> Result<(), NodeError> {
        let kv = self.open(node).await?;
        let bytes = own_record(node)?;
        let key = node.name().as_str();
        let rev = node
            .js_retrying("node table write", || kv.put(key, bytes.clone()))
            .await?;
        self.own_revision.store(rev, Ordering::SeqCst);
        Ok(())
    }

    /// Marks `who`'s `incarnation` dead (invariants 1 and 3): a verdict
    /// of `node` made while its fencing token was `token`; `false` if it
    /// was not the live record (already marked, or replaced), or if
    /// `node`'s own record was written since `token` (it was declared
    /// down, or it rejoined: either way the verdict is void).
    pub(crate) async fn mark_dead(
        &self,
        node: &Node,
        token: u64,
        who: &NodeId,
        incarnation: Incarnation,
    ) -> bool {
        let Some(kv) = self.kv() else { return false };
        // Invariant 3. A node cut off from the server sees everyone else
        // silent; its writes, queued in a TCP connection the partition
        // froze, reach the server when the partition heals, after the
        // others have marked it dead. Without this check they would then
        // fence healthy nodes. (A replica lagging behind our own write
        // shows an older revision: no reason to hold back.)
        if let Ok(Some(own)) = kv.entry(node.name().as_str()).await
            && own.revision > token
        {
            return false;
        }
        let Ok(Some(entry)) = kv.entry(who.as_str()).await else {
            return false;
        };
        match decode::<NodeRecord>(&entry.value) {
            Ok(rec) if rec.incarnation == incarnation && rec.alive => {}
            _ => return false,
        }
        let dead = NodeRecord {
            incarnation,
            alive: false,
        };
        let Ok(bytes) = encode(&dead) else {
            return false;
        };
        // Fenced and rejoined while reading: the token moved on.
        if self.own_revision() != token {
            return false;
        }
        kv.update(who.as_str(), Bytes::from(bytes), entry.revision)
            .await
            .is_ok()
    }

    /// Whether `who`'s record is `incarnation`, alive (`None`: unreadable).
    pub(crate) async fn alive(&self, who: &NodeId, incarnation: Incarnation) -> Option<bool> {
        let kv = self.kv()?;
        match kv.entry(who.as_str()).await {
            Ok(Some(entry)) => match decode::<NodeRecord>(&entry.value) {
                Ok(rec) => Some(rec.incarnation == incarnation && rec.alive),
                Err(_) => None,
            },
            Ok(None) => Some(false),
            Err(_) => None,
        }
    }

    /// Marks this node's own record dead on an orderly stop (best effort).
    pub(crate) async fn leave(&self, node: &Node) {
        let Some(kv) = self.kv() else { return };
        let rec = NodeRecord {
            incarnation: node.incarnation(),
            alive: false,
        };
        if let Ok(bytes) = encode(&rec) {
            let _ = kv
                .update(
                    node.name().as_str(),
                    Bytes::from(bytes),
                    self.own_revision(),
                )
                .await;
        }
    }

    /// A watch of this node's own key. Retried while a young cluster
    /// settles (its first consumer creation can time out), up to three
    /// JetStream timeouts.
    pub(crate) async fn watch_own(
        &self,
        node: &Node,
    ) -> Result<async_nats::jetstream::kv::Watch, NodeError> {
        let kv = self
            .kv()
            .ok_or_else(|| NodeError::JetStream("node table not open".into()))?;
        let key = node.name().as_str();
        node.js_retrying("node table watch", || kv.watch(key)).await
    }

    /// Whether a write seen on our own key means we were fenced: not our
    /// own write, and it marks our incarnation dead or names a newer one.
    pub(crate) fn fences(&self, revision: u64, value: &[u8], mine: Incarnation) -> bool {
        if revision <= self.own_revision() {
            return false;
        }
        match decode::<NodeRecord>(value) {
            Ok(rec) => (rec.incarnation == mine && !rec.alive) || rec.incarnation > mine,
            Err(_) => false,
        }
    }
}
