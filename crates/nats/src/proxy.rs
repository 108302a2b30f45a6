//! Local proxy processes for remote pids, so that links and monitors to a
//! process on another node go through arbor's own machinery.
//!
//! [`Node::proxy`] gives a local [`Pid`] standing for a remote process.
//! Link to it or monitor it as to any local process. The proxy asks the
//! remote node to tell it when the process exits, and then exits itself:
//! with the remote reason, or with `noconnection` when the remote node is
//! lost (or this node stops). A local process linked to the proxy that
//! dies sends its exit signal on to the remote process, so a link works
//! both ways.
//!
//! # Invariants
//!
//! 1. At most one live proxy per remote pid; its table entry is removed
//!    when it exits, whatever the cause (a drop guard).
//! 2. A proxy exits with `noconnection` when its node's incarnation goes
//!    down: it waits on the peer's down token.

use std::collections::HashMap;
use std::sync::Arc;

use arbor_process::{
    Ctx, ExitReason, Msg, Myself, Pid, Process, ProcessRef, StartOpts, spawn_opts,
};
use parking_lot::Mutex;

use crate::call::{Dest, RemoteCallError, send_envelope};
use crate::node::Node;
use crate::wire::{GlobalPid, Kind, NodeId, WireExitReason};

/// What a proxy is told.
#[derive(Debug)]
pub(crate) enum ProxyMsg {
    /// The remote process exited.
    Exited(WireExitReason),
}

/// The proxy table (a node extension).
#[derive(Default)]
pub(crate) struct Proxies {
    map: Mutex<HashMap<GlobalPid, ProcessRef<ProxyMsg>>>,
}

impl Proxies {
    /// Tells the proxy of `remote` that it exited.
    pub(crate) fn exited(&self, remote: &GlobalPid, reason: WireExitReason) {
        let proxy = self.map.lock().get(remote).cloned();
        if let Some(p) = proxy {
            let _ = p.send(ProxyMsg::Exited(reason));
        }
    }

    /// The pids of the proxies for processes on `node`.
    pub(crate) fn of_node(&self, node: &NodeId) -> Vec<Pid> {
        self.map
            .lock()
            .iter()
            .filter(|(g, _)| g.node == *node)
            .map(|(_, p)| p.pid())
            .collect()
    }

    /// Every proxy's pid.
    pub(crate) fn all(&self) -> Vec<Pid> {
        self.map.lock().values().map(|p| p.pid()).collect()
    }

    /// The number of live proxies (leak tests).
    pub(crate) fn len(&self) -> usize {
        self.map.lock().len()
    }
}

/// Removes a proxy's entry when its body ends or is dropped (invariant 1).
struct Guard {
    table: Arc<Proxies>,
    remote: GlobalPid,
    pid: Pid,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut map = self.table.map.lock();
        if map.get(&self.remote).is_some_and(|p| p.pid() == self.pid) {
            map.remove(&self.remote);
        }
    }
}

impl Node {
    /// A local pid standing for the remote process `remote`: link to it or
    /// monitor it to link to or monitor the remote process. A pid of this
    /// node is returned as it is.
    ///
    /// # Errors
    ///
    /// [`RemoteCallError::NoConnection`] if `remote`'s node is not up (a
    /// link would fail at once with `noconnection`);
    /// [`RemoteCallError::NoProcess`] for a pid of an earlier incarnation
    /// or of a process that is gone here.
    ///
    /// # OTP
    ///
    /// What `link/1` and `monitor/2` do implicitly for a remote pid.
    pub fn proxy(&self, remote: &GlobalPid) -> Result<Pid, RemoteCallError> {
        if remote.node == *self.name() {
            if remote.incarnation != self.incarnation() {
                return Err(RemoteCallError::NoProcess);
            }
            let exports = self.extension::<crate::call::Exports>();
            return exports
                .resolve(&crate::wire::Target::Id(remote.id))
                .map(|e| e.pid)
                .ok_or(RemoteCallError::NoProcess);
        }
        let peer = self
            .peers()
            .get(&remote.node)
            .ok_or_else(|| RemoteCallError::NoConnection {
                node: remote.node.clone(),
            })?;
        if peer.incarnation != remote.incarnation {
            return Err(if peer.incarnation > remote.incarnation {
                RemoteCallError::NoProcess
            } else {
                RemoteCallError::NoConnection {
                    node: remote.node.clone(),
                }
            });
        }
        let table = self.extension::<Proxies>();
        let mut map = table.map.lock();
        if let Some(p) = map.get(remote)
            && p.is_alive()
        {
            return Ok(p.pid());
        }
        let node = self.clone();
        let target = remote.clone();
        let down = peer.down;
        let guard_table = Arc::clone(&table);
        let proxy = spawn_opts(
            StartOpts::new().trap_exit(),
            move |mut ctx: Ctx<ProxyMsg>| {
                let me = ctx.pid();
                let guard = Guard {
                    table: guard_table,
                    remote: target.clone(),
                    pid: me,
                };
                async move {
                    let _guard = guard;
                    let own = node.global_pid(me);
                    let dest = Dest::Pid(target.clone());
                    let watch =
                        send_envelope(&node, own.clone(), &dest, Kind::Watch, "", Vec::new(), None);
                    if watch.await.is_err() {
                        return ExitReason::noconnection();
                    }
                    loop {
                        let msg = tokio::select! {
                            m = ctx.recv() => m,
                            () = down.cancelled() => return ExitReason::noconnection(),
                        };
                        match msg {
                            Msg::Message(ProxyMsg::Exited(reason)) => {
                                return reason.into_exit_reason();
                            }
                            Msg::Exit(sig) => {
                                // A linked local process died: pass its signal on.
                                let _ = send_envelope(
                                    &node,
                                    own.clone(),
                                    &dest,
                                    Kind::Exit(WireExitReason::from(&sig.reason)),
                                    "",
                                    Vec::new(),
                                    None,
                                )
                                .await;
                            }
                            Msg::Down(_) => {}
                        }
                    }
                }
            },
        )
        .map_err(|_| RemoteCallError::NoConnection {
            node: remote.node.clone(),
        })?;
        let pid = proxy.pid();
        map.insert(remote.clone(), proxy);
        Ok(pid)
    }
}
