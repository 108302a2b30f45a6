//! The registry agent: one arbor process per node, child of the node's
//! supervisor. It owns every write this node makes to the name table and
//! feeds the local view from the bucket's watch.
//!
//! # Invariants
//!
//! 1. Every delete names the revision it saw (compare-and-set): a delete
//!    never removes a registration newer than the one it was meant for.
//! 2. Each name held by a local process is monitored; when the process
//!    exits its names are deleted (retried every second while the bucket
//!    cannot be written).
//! 3. An entry whose holder belongs to a node incarnation known to be gone
//!    (a `NodeEvent::Down`, or an earlier incarnation of this node) is
//!    deleted when seen: on the event, on start, and when the watch
//!    delivers it late.
//! 4. The view is caught up with the bucket before the agent's start
//!    returns, so `whereis_name` answers right after `Node::start`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arbor_process::{Ctx, ExitReason, Msg, Myself, Pid, ProcessRef, ReplyTo, is_alive, spawn_link};
use arbor_supervisor::ChildSpec;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::kv::{self, CreateErrorKind, Operation};
use bytes::Bytes;
use futures::StreamExt;
use parking_lot::Mutex;

use super::GlobalError;
use super::cache::{Held, Names};
use super::key::{key_of, name_of_key};
use crate::node::{Node, NodeError, NodeEvent, NodeEvents};
use crate::wire::{GlobalPid, Incarnation, NodeId, decode, encode};

/// How often deletes that failed for want of the bucket are retried.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Requests to the agent.
pub(crate) enum GlobalMsg {
    Register {
        name: String,
        key: String,
        pid: Pid,
        reply: ReplyTo<Result<(), GlobalError>>,
    },
    Unregister {
        name: String,
        key: String,
        reply: ReplyTo<Result<bool, GlobalError>>,
    },
    /// Delete every name this node holds (the node is stopping).
    ReleaseAll { reply: ReplyTo<()> },
    /// Retry the deletes that failed.
    Retry,
}

/// Where callers find the running agent (a node extension).
#[derive(Default)]
pub(crate) struct AgentSlot(Mutex<Option<ProcessRef<GlobalMsg>>>);

impl AgentSlot {
    pub(crate) fn get(&self) -> Option<ProcessRef<GlobalMsg>> {
        self.0.lock().clone()
    }
}

/// The bucket of the node's cluster: `arbor_<cluster>_names`, with `_`
/// doubled and `@` (allowed in cluster names, not in bucket names) as
/// `_a`, so distinct clusters never share a bucket.
pub(crate) fn bucket_name(cluster: &str) -> String {
    let escaped = cluster.replace('_', "__").replace('@', "_a");
    format!("arbor_{escaped}_names")
}

/// Adds the agent to the node's supervisor.
pub(crate) async fn start(node: &Node) -> Result<(), NodeError> {
    let n = node.clone();
    node.add_agent(ChildSpec::worker("global", move || {
        let n = n.clone();
        async move {
            let agent = Agent::open(n.clone()).await.map_err(|e| {
                tracing::error!(target: "arbor::nats", error = %e, "global: cannot open the name table");
                ExitReason::custom(format!("global: {e}"))
            })?;
            let proc = spawn_link(move |ctx: Ctx<GlobalMsg>| agent.run(ctx));
            *n.extension::<AgentSlot>().0.lock() = Some(proc.clone());
            Ok::<_, ExitReason>(proc)
        }
    }))
    .await
    .map(|_| ())
}

struct Agent {
    node: Node,
    names: Arc<Names>,
    store: kv::Store,
    subject_prefix: String,
    watch: kv::Watch,
    events: Option<NodeEvents>,
    /// The newest incarnation known to be down, per node.
    dead: HashMap<NodeId, Incarnation>,
    /// Deletes to retry: name → revision.
    pending: HashMap<String, u64>,
    retry_armed: bool,
}

/// Why a delete did not happen.
enum DeleteFailed {
    /// The entry is at another revision now: nothing to do.
    Changed,
    /// The bucket could not be written.
    Unavailable(String),
}

impl Agent {
    /// Opens the bucket and catches the view up (invariant 4).
    async fn open(node: Node) -> Result<Agent, NodeError> {
        let bucket = bucket_name(&node.config().cluster);
        let js = |e: &dyn std::fmt::Display| NodeError::JetStream(format!("{bucket}: {e}"));
        let store = node.kv_bucket(&bucket, 1).await?;
        let names = node.extension::<Names>();
        names.set_store(store.clone());
        // Subscribed before the catch-up so no down event falls between.
        let events = node.events().subscribe();
        let mut watch = store.watch_with_history(">").await.map_err(|e| js(&e))?;
        let status = store.status().await.map_err(|e| js(&e))?;
        // The watch marks nothing when the bucket is empty; otherwise the
        // last entry of the catch-up has nothing pending behind it.
        if status.info.state.messages > 0 {
            let deadline = Instant::now() + node.config().jetstream_timeout;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, watch.next()).await {
                    Ok(Some(Ok(entry))) => {
                        apply_entry(&names, &entry);
                        if entry.delta == 0 {
                            break;
                        }
                    }
                    Ok(Some(Err(e))) => return Err(js(&e)),
                    Ok(None) => return Err(js(&"the watch ended")),
                    Err(_) => return Err(js(&"catching up with the name table timed out")),
                }
            }
        }
        let mut agent = Agent {
            subject_prefix: format!("$KV.{bucket}."),
            node,
            names,
            store,
            watch,
            events: Some(events),
            dead: HashMap::new(),
            pending: HashMap::new(),
            retry_armed: false,
        };
        // What this node's earlier runs left (invariant 3), before
        // `Node::start` returns.
        agent.clean_dead_now().await;
        Ok(agent)
    }

    async fn run(mut self, mut ctx: Ctx<GlobalMsg>) -> ExitReason {
        // A restarted agent watches the holders its predecessor had.
        let held: Vec<(String, Pid)> = {
            let held = self.names.held.lock();
            held.iter().map(|(n, h)| (n.clone(), h.pid)).collect()
        };
        for (name, pid) in held {
            let monitor = ctx.monitor(pid);
            if let Some(h) = self.names.held.lock().get_mut(&name) {
                h.monitor = Some(monitor);
            }
        }
        self.arm_retry(&mut ctx);
        loop {
            tokio::select! {
                msg = ctx.recv() => match msg {
                    Msg::Message(m) => self.handle(&mut ctx, m).await,
                    Msg::Down(d) => self.holder_down(&mut ctx, d.monitor).await,
                    Msg::Exit(_) => {}
                },
                entry = self.watch.next() => match entry {
                    Some(Ok(entry)) => self.on_entry(&mut ctx, &entry).await,
                    Some(Err(e)) => {
                        tracing::warn!(target: "arbor::nats", error = %e, "global: name table watch failed");
                        return ExitReason::custom(format!("global watch: {e}"));
                    }
                    None => return ExitReason::custom("global watch ended"),
                },
                event = recv_event(&mut self.events) => match event {
                    Some(NodeEvent::Down { node, incarnation, .. }) => {
                        self.node_down(&mut ctx, node, incarnation).await;
                    }
                    Some(NodeEvent::Up { .. }) => {}
                    None => self.events = None,
                },
            }
        }
    }

    async fn handle(&mut self, ctx: &mut Ctx<GlobalMsg>, msg: GlobalMsg) {
        match msg {
            GlobalMsg::Register {
                name,
                key,
                pid,
                reply,
            } => {
                let r = self.register(ctx, name, &key, pid).await;
                reply.reply(r);
            }
            GlobalMsg::Unregister { name, key, reply } => {
                let r = self.unregister(ctx, &name, &key).await;
                reply.reply(r);
            }
            GlobalMsg::ReleaseAll { reply } => {
                let held: Vec<(String, Held)> = self.names.held.lock().drain().collect();
                for (name, h) in held {
                    if let Some(m) = h.monitor {
                        ctx.demonitor(m);
                    }
                    if let Ok(key) = key_of(&name) {
                        let _ = self.delete(ctx, &name, &key, h.revision).await;
                    }
                }
                reply.reply(());
            }
            GlobalMsg::Retry => {
                self.retry_armed = false;
                let pending: Vec<(String, u64)> = self.pending.drain().collect();
                for (name, rev) in pending {
                    if let Ok(key) = key_of(&name) {
                        let _ = self.delete(ctx, &name, &key, rev).await;
                    }
                }
            }
        }
    }

    async fn register(
        &mut self,
        ctx: &mut Ctx<GlobalMsg>,
        name: String,
        key: &str,
        pid: Pid,
    ) -> Result<(), GlobalError> {
        if !is_alive(pid) {
            return Err(GlobalError::NoProcess(pid));
        }
        let me = self.node.global_pid(pid);
        let value = Bytes::from(encode(&me).map_err(GlobalError::Unavailable)?);
        // A few rounds: the holder found on a clash may be a dead one that
        // is deleted here, or the entry may vanish between two reads.
        for _ in 0..3 {
            let e = match self.store.create(key, value.clone()).await {
                Ok(revision) => {
                    let monitor = Some(ctx.monitor(pid));
                    self.names.held.lock().insert(
                        name.clone(),
                        Held {
                            pid,
                            revision,
                            monitor,
                        },
                    );
                    self.names.apply(&name, revision, Some(me));
                    return Ok(());
                }
                Err(e) => e,
            };
            if e.kind() != CreateErrorKind::AlreadyExists {
                return Err(GlobalError::Unavailable(e.to_string()));
            }
            let entry = self
                .store
                .entry(key)
                .await
                .map_err(|e| GlobalError::Unavailable(e.to_string()))?;
            let Some(entry) = entry.filter(|e| e.operation == Operation::Put) else {
                continue; // deleted in between: try again
            };
            match decode::<GlobalPid>(&entry.value) {
                Ok(holder) if self.is_dead(&holder) => {
                    let _ = self.delete(ctx, &name, key, entry.revision).await;
                }
                Ok(holder) => return Err(GlobalError::AlreadyRegistered { name, holder }),
                Err(e) => {
                    return Err(GlobalError::Unavailable(format!(
                        "the entry of {name:?} does not decode: {e}"
                    )));
                }
            }
        }
        Err(GlobalError::Unavailable(format!(
            "{name:?} kept changing hands"
        )))
    }

    async fn unregister(
        &mut self,
        ctx: &mut Ctx<GlobalMsg>,
        name: &str,
        key: &str,
    ) -> Result<bool, GlobalError> {
        let held = self.names.held.lock().get(name).copied();
        let revision = match held {
            Some(h) => h.revision,
            None => {
                // Held elsewhere (OTP lets any node unregister any name).
                match self.store.entry(key).await {
                    Ok(Some(e)) if e.operation == Operation::Put => e.revision,
                    Ok(_) => return Ok(false),
                    Err(e) => return Err(GlobalError::Unavailable(e.to_string())),
                }
            }
        };
        match self.delete(ctx, name, key, revision).await {
            Ok(()) => {
                if let Some(h) = held
                    && let Some(m) = h.monitor
                {
                    ctx.demonitor(m);
                }
                self.names.held.lock().remove(name);
                Ok(true)
            }
            Err(DeleteFailed::Changed) => Ok(false),
            Err(DeleteFailed::Unavailable(e)) => Err(GlobalError::Unavailable(e)),
        }
    }

    /// A local holder exited: delete its names (invariant 2).
    async fn holder_down(&mut self, ctx: &mut Ctx<GlobalMsg>, monitor: arbor_process::MonitorRef) {
        let gone: Vec<(String, u64)> = {
            let mut held = self.names.held.lock();
            let names: Vec<String> = held
                .iter()
                .filter(|(_, h)| h.monitor == Some(monitor))
                .map(|(n, _)| n.clone())
                .collect();
            names
                .into_iter()
                .filter_map(|n| held.remove(&n).map(|h| (n, h.revision)))
                .collect()
        };
        for (name, revision) in gone {
            if let Ok(key) = key_of(&name) {
                let _ = self.delete(ctx, &name, &key, revision).await;
            }
        }
    }

    /// A watch entry: update the view, drop a hold that another node
    /// ended, delete an entry of a dead incarnation (invariant 3).
    async fn on_entry(&mut self, ctx: &mut Ctx<GlobalMsg>, entry: &kv::Entry) {
        let Some((name, holder)) = apply_entry(&self.names, entry) else {
            return;
        };
        {
            let mut held = self.names.held.lock();
            if let Some(h) = held.get(&name)
                && h.revision < entry.revision
            {
                if let Some(m) = h.monitor {
                    ctx.demonitor(m);
                }
                held.remove(&name);
            }
        }
        if let Some(holder) = holder
            && self.is_dead(&holder)
        {
            let _ = self.delete(ctx, &name, &entry.key, entry.revision).await;
        }
    }

    async fn node_down(
        &mut self,
        ctx: &mut Ctx<GlobalMsg>,
        node: NodeId,
        incarnation: Incarnation,
    ) {
        if node == *self.node.name() && incarnation >= self.node.incarnation() {
            // This run itself: the core's fencing restarts the node.
            return;
        }
        let known = self.dead.entry(node).or_insert(0);
        *known = (*known).max(incarnation);
        self.clean_dead(ctx).await;
    }

    /// Deletes every entry in the view held by a dead incarnation.
    async fn clean_dead(&mut self, ctx: &mut Ctx<GlobalMsg>) {
        self.clean_dead_now().await;
        self.arm_retry(ctx);
    }

    async fn clean_dead_now(&mut self) {
        let dead: Vec<(String, u64)> = self
            .names
            .entries()
            .into_iter()
            .filter(|(_, holder, _)| self.is_dead(holder))
            .map(|(name, _, rev)| (name, rev))
            .collect();
        for (name, revision) in dead {
            if let Ok(key) = key_of(&name) {
                let _ = self.delete_now(&name, &key, revision).await;
            }
        }
    }

    /// Whether `pid`'s node run is gone: an earlier run of this node, or
    /// one at or below the newest incarnation seen down.
    fn is_dead(&self, pid: &GlobalPid) -> bool {
        if pid.node == *self.node.name() {
            return pid.incarnation < self.node.incarnation();
        }
        self.dead
            .get(&pid.node)
            .is_some_and(|&inc| pid.incarnation <= inc)
    }

    /// Deletes `key` if it is still at `revision`, retrying later if the
    /// bucket cannot take it now.
    async fn delete(
        &mut self,
        ctx: &mut Ctx<GlobalMsg>,
        name: &str,
        key: &str,
        revision: u64,
    ) -> Result<(), DeleteFailed> {
        let r = self.delete_now(name, key, revision).await;
        self.arm_retry(ctx);
        r
    }

    fn arm_retry(&mut self, ctx: &mut Ctx<GlobalMsg>) {
        if !self.pending.is_empty() && !self.retry_armed {
            self.retry_armed = true;
            ctx.send_after(RETRY_EVERY, GlobalMsg::Retry);
        }
    }

    /// Deletes `key` if it is still at `revision` (invariant 1), and applies
    /// the delete to the view at once. A delete the bucket could not take
    /// is recorded in `pending`.
    async fn delete_now(
        &mut self,
        name: &str,
        key: &str,
        revision: u64,
    ) -> Result<(), DeleteFailed> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("KV-Operation", "DEL");
        headers.insert(
            async_nats::header::NATS_EXPECTED_LAST_SUBJECT_SEQUENCE,
            revision.to_string().as_str(),
        );
        let subject = format!("{}{key}", self.subject_prefix);
        let ack = match self
            .node
            .jetstream()
            .publish_with_headers(subject, headers, Bytes::new())
            .await
        {
            Ok(fut) => fut.await,
            Err(e) => Err(e),
        };
        match ack {
            Ok(ack) => {
                self.pending.remove(name);
                self.names.apply(name, ack.sequence, None);
                tracing::debug!(target: "arbor::nats", name, revision, "global: name deleted");
                Ok(())
            }
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
                self.pending.remove(name);
                Err(DeleteFailed::Changed)
            }
            Err(e) => {
                tracing::warn!(target: "arbor::nats", name, error = %e, "global: delete failed, will retry");
                self.pending.insert(name.to_owned(), revision);
                Err(DeleteFailed::Unavailable(e.to_string()))
            }
        }
    }
}

/// The next node event, or never once the stream has ended.
async fn recv_event(events: &mut Option<NodeEvents>) -> Option<NodeEvent> {
    match events {
        Some(ev) => ev.recv().await,
        None => std::future::pending().await,
    }
}

/// Applies a watch entry to the view; the name and its new holder (`None`
/// when deleted), or `None` for an entry no name maps to.
fn apply_entry(names: &Names, entry: &kv::Entry) -> Option<(String, Option<GlobalPid>)> {
    let Some(name) = name_of_key(&entry.key) else {
        tracing::warn!(target: "arbor::nats", key = %entry.key, "global: a key no name maps to, ignored");
        return None;
    };
    let holder = match entry.operation {
        Operation::Put => match decode::<GlobalPid>(&entry.value) {
            Ok(pid) => Some(pid),
            Err(e) => {
                tracing::warn!(target: "arbor::nats", name, error = %e, "global: an entry that does not decode, ignored");
                return None;
            }
        },
        Operation::Delete | Operation::Purge => None,
    };
    names.apply(&name, entry.revision, holder.clone());
    Some((name, holder))
}

#[cfg(test)]
mod tests {
    use super::bucket_name;

    #[test]
    fn bucket_names_keep_clusters_apart() {
        assert_eq!(bucket_name("prod"), "arbor_prod_names");
        assert_ne!(bucket_name("a@b"), bucket_name("a_b"));
        assert_ne!(bucket_name("a_a"), bucket_name("a@"));
        for c in ["a@b", "a_b", "x-y"] {
            assert!(
                bucket_name(c)
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            );
        }
    }
}
