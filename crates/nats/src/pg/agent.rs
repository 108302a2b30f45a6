//! A scope's agent: one arbor process per scope and node, child of the
//! node's supervisor. It owns the node's local members (monitored), tells
//! the other nodes about joins and leaves, applies what they tell, and
//! keeps one subscription pair per group that has local members.
//!
//! # Invariants
//!
//! 1. A group's subscriptions exist exactly while it has local members,
//!    and are made before the join is announced: a node that has seen
//!    the announcement reaches the member.
//! 2. A member that exits leaves every group it was in, announced once.
//! 3. Announcements from this node (NATS echoes them) are not applied
//!    twice: the view's own entry is changed by the agent directly.
//! 4. When the agent exits, its subscriptions go with it (their tasks are
//!    aborted when its state is dropped).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arbor_process::{
    Ctx, ExitReason, MonitorRef, Msg, Myself, Pid, ProcessRef, ReplyTo, is_alive, spawn_link,
};
use arbor_supervisor::ChildSpec;
use async_nats::{Message, Subscriber};
use bytes::Bytes;
use futures::StreamExt;
use parking_lot::Mutex;

use super::PgError;
use super::state::{DeliverFn, LocalMember, ScopeState};
use super::view::Ctl;
use crate::global::key::token_of;
use crate::node::{Node, NodeError, NodeEvent, NodeEvents};
use crate::wire::{TYPE_HEADER, decode, encode};

/// Requests to a scope agent.
pub(crate) enum PgMsg {
    Join {
        group: String,
        pid: Pid,
        deliver: DeliverFn,
        reply: ReplyTo<Result<(), PgError>>,
    },
    Leave {
        group: String,
        pid: Pid,
        reply: ReplyTo<bool>,
    },
    /// The node stops: tell the others this node has no members.
    Goodbye { reply: ReplyTo<()> },
}

/// The running agent of each scope (a node extension).
#[derive(Default)]
pub(crate) struct Agents(pub(crate) Mutex<HashMap<String, ProcessRef<PgMsg>>>);

/// `<prefix>.pg.<scope>.<group token>`: where send-to-all goes; `.any`
/// after it is the queue subject of send-to-any.
pub(crate) fn group_subject(node: &Node, scope: &str, group: &str) -> Result<String, String> {
    Ok(node.subject(&format!("pg.{scope}.{}", token_of(group)?)))
}

/// Adds the agent of `state`'s scope to the node's supervisor.
pub(crate) async fn start(node: &Node, state: Arc<ScopeState>) -> Result<(), NodeError> {
    let n = node.clone();
    let id = format!("pg:{}", state.name);
    node.add_agent(ChildSpec::worker(id, move || {
        let (n, state) = (n.clone(), state.clone());
        async move {
            let subject = n.subject(&format!("pgc.{}", state.name));
            let ctl =
                n.client().subscribe(subject.clone()).await.map_err(|e| {
                    ExitReason::custom(format!("pg {}: subscribe: {e}", state.name))
                })?;
            let events = n.events().subscribe();
            let scope = state.name.clone();
            let agent = Agent {
                node: n.clone(),
                state,
                ctl_subject: subject,
                events: Some(events),
                groups: HashMap::new(),
            };
            let proc = spawn_link(move |ctx: Ctx<PgMsg>| agent.run(ctx, ctl));
            n.extension::<Agents>().0.lock().insert(scope, proc.clone());
            Ok::<_, ExitReason>(proc)
        }
    }))
    .await
    .map(|_| ())
}

/// A group's subscriptions: a task that delivers what arrives on them,
/// aborted on drop (invariant 4).
struct GroupSubs(tokio::task::JoinHandle<()>);

impl Drop for GroupSubs {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Agent {
    node: Node,
    state: Arc<ScopeState>,
    ctl_subject: String,
    events: Option<NodeEvents>,
    groups: HashMap<String, GroupSubs>,
}

impl Agent {
    async fn run(mut self, mut ctx: Ctx<PgMsg>, mut ctl: Subscriber) -> ExitReason {
        // A restarted agent takes over its predecessor's members.
        let groups: Vec<String> = {
            let mut local = self.state.local.write();
            for members in local.values_mut() {
                for m in members.iter_mut() {
                    m.monitor = Some(ctx.monitor(m.pid));
                }
            }
            local.keys().cloned().collect()
        };
        for group in groups {
            if let Err(e) = self.open_group(&group).await {
                return ExitReason::custom(format!("pg {}: {e}", self.state.name));
            }
        }
        let me = (self.node.name().clone(), self.node.incarnation());
        self.announce(&Ctl::Discover {
            node: me.0.clone(),
            incarnation: me.1,
        })
        .await;
        self.announce_sync().await;
        loop {
            tokio::select! {
                msg = ctx.recv() => match msg {
                    Msg::Message(m) => self.handle(&mut ctx, m).await,
                    Msg::Down(d) => self.member_down(d.monitor).await,
                    Msg::Exit(_) => {}
                },
                m = ctl.next() => match m {
                    Some(m) => self.on_ctl(&m).await,
                    None => return ExitReason::custom(format!("pg {}: control subscription ended", self.state.name)),
                },
                event = recv_event(&mut self.events) => match event {
                    Some(NodeEvent::Down { node, incarnation, .. }) if node != me.0 => {
                        self.state.update(|v| v.node_down(&node, incarnation));
                    }
                    Some(_) => {}
                    None => self.events = None,
                },
            }
        }
    }

    async fn handle(&mut self, ctx: &mut Ctx<PgMsg>, msg: PgMsg) {
        match msg {
            PgMsg::Join {
                group,
                pid,
                deliver,
                reply,
            } => {
                let r = self.join(ctx, group, pid, deliver).await;
                reply.reply(r);
            }
            PgMsg::Leave { group, pid, reply } => {
                let removed = {
                    let mut local = self.state.local.write();
                    let members = local.get_mut(&group);
                    match members.and_then(|ms| Some((ms.iter().position(|m| m.pid == pid)?, ms))) {
                        Some((i, ms)) => {
                            let m = ms.remove(i);
                            if let Some(r) = m.monitor {
                                ctx.demonitor(r);
                            }
                            true
                        }
                        None => false,
                    }
                };
                if removed {
                    self.left(&group, vec![pid.id()]).await;
                }
                reply.reply(removed);
            }
            PgMsg::Goodbye { reply } => {
                let node = self.node.name().clone();
                let incarnation = self.node.incarnation();
                self.announce(&Ctl::Sync {
                    node,
                    incarnation,
                    groups: Vec::new(),
                })
                .await;
                // Bounded: with no server reachable a flush never ends.
                let flush = self.node.client().flush();
                let _ = tokio::time::timeout(std::time::Duration::from_secs(1), flush).await;
                reply.reply(());
            }
        }
    }

    async fn join(
        &mut self,
        ctx: &mut Ctx<PgMsg>,
        group: String,
        pid: Pid,
        deliver: DeliverFn,
    ) -> Result<(), PgError> {
        if !is_alive(pid) {
            return Err(PgError::NoProcess(pid));
        }
        if !self.groups.contains_key(&group) {
            self.open_group(&group).await.map_err(PgError::Nats)?;
        }
        let monitor = Some(ctx.monitor(pid));
        self.state
            .local
            .write()
            .entry(group.clone())
            .or_default()
            .push(LocalMember {
                pid,
                monitor,
                deliver,
            });
        let ctl = Ctl::Join {
            node: self.node.name().clone(),
            incarnation: self.node.incarnation(),
            group,
            ids: vec![pid.id()],
        };
        self.state.update(|v| v.apply(&ctl));
        self.announce(&ctl).await;
        Ok(())
    }

    /// `ids` left `group` locally: update, announce, and drop the group's
    /// subscriptions if nobody is left (invariant 1).
    async fn left(&mut self, group: &str, ids: Vec<u64>) {
        let empty = {
            let mut local = self.state.local.write();
            let empty = local.get(group).is_none_or(Vec::is_empty);
            if empty {
                local.remove(group);
            }
            empty
        };
        if empty {
            self.groups.remove(group);
        }
        let ctl = Ctl::Leave {
            node: self.node.name().clone(),
            incarnation: self.node.incarnation(),
            group: group.to_owned(),
            ids,
        };
        self.state.update(|v| v.apply(&ctl));
        self.announce(&ctl).await;
    }

    /// A member exited: it leaves every group it was in (invariant 2).
    async fn member_down(&mut self, monitor: MonitorRef) {
        let gone: Vec<(String, u64)> = {
            let mut local = self.state.local.write();
            let mut gone = Vec::new();
            for (group, members) in local.iter_mut() {
                members.retain(|m| {
                    let hit = m.monitor == Some(monitor);
                    if hit {
                        gone.push((group.clone(), m.pid.id()));
                    }
                    !hit
                });
            }
            gone
        };
        for (group, id) in gone {
            self.left(&group, vec![id]).await;
        }
    }

    async fn on_ctl(&mut self, m: &Message) {
        let ctl = match decode::<Ctl>(&m.payload) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(target: "arbor::nats", scope = %self.state.name, error = %e, "pg: an announcement that does not decode, dropped");
                return;
            }
        };
        let from = match &ctl {
            Ctl::Join { node, .. }
            | Ctl::Leave { node, .. }
            | Ctl::Sync { node, .. }
            | Ctl::Discover { node, .. } => node,
        };
        if from == self.node.name() {
            return; // invariant 3 (and older runs of this node are gone)
        }
        if let Ctl::Discover { .. } = ctl {
            self.announce_sync().await;
            return;
        }
        self.state.update(|v| v.apply(&ctl));
    }

    async fn announce_sync(&self) {
        let groups = self.state.local_sync();
        let ctl = Ctl::Sync {
            node: self.node.name().clone(),
            incarnation: self.node.incarnation(),
            groups: groups.clone(),
        };
        // The view's own entry, too (a restarted agent rebuilds it).
        self.state.update(|v| v.apply(&ctl));
        self.announce(&ctl).await;
    }

    async fn announce(&self, ctl: &Ctl) {
        let body = match encode(ctl) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(target: "arbor::nats", error = %e, "pg: cannot encode an announcement");
                return;
            }
        };
        if let Err(e) = self
            .node
            .client()
            .publish(self.ctl_subject.clone(), Bytes::from(body))
            .await
        {
            tracing::warn!(target: "arbor::nats", scope = %self.state.name, error = %e, "pg: announcement not sent");
        }
    }

    /// Subscribes to `group`'s subjects and starts the task that delivers
    /// from them.
    async fn open_group(&mut self, group: &str) -> Result<(), String> {
        let subject = group_subject(&self.node, &self.state.name, group)?;
        let client = self.node.client();
        let all = client
            .subscribe(subject.clone())
            .await
            .map_err(|e| format!("subscribe {subject}: {e}"))?;
        let any = client
            .queue_subscribe(format!("{subject}.any"), "arbor-pg".to_owned())
            .await
            .map_err(|e| format!("subscribe {subject}.any: {e}"))?;
        let task = tokio::spawn(deliver_loop(self.state.clone(), group.to_owned(), all, any));
        self.groups.insert(group.to_owned(), GroupSubs(task));
        Ok(())
    }
}

/// Hands what arrives for `group` to its local members: each member for
/// send-to-all, one (round robin) for send-to-any.
async fn deliver_loop(
    state: Arc<ScopeState>,
    group: String,
    mut all: Subscriber,
    mut any: Subscriber,
) {
    loop {
        let (m, to_all) = tokio::select! {
            m = all.next() => (m, true),
            m = any.next() => (m, false),
        };
        let Some(m) = m else { return };
        let tag = m
            .headers
            .as_ref()
            .and_then(|h| h.get(TYPE_HEADER))
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        let members: Vec<LocalMember> = state.local.read().get(&group).cloned().unwrap_or_default();
        let targets: Vec<&LocalMember> = if to_all {
            members.iter().collect()
        } else if members.is_empty() {
            Vec::new()
        } else {
            let i = state.next_any.fetch_add(1, Ordering::Relaxed) % members.len();
            vec![&members[i]]
        };
        if targets.is_empty() {
            tracing::debug!(target: "arbor::nats", group, "pg: a message for a group with no local member, dropped");
        }
        for member in targets {
            if let Err(e) = (member.deliver)(&tag, &m.payload) {
                tracing::warn!(target: "arbor::nats", group, pid = %member.pid, error = %e, "pg: message dropped");
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
