//! The tiny child every supervisor workload (W5–W8) starts: a process that
//! answers pings and crashes on request, in an arbor and a raw-tokio version.

use std::time::Duration;

use arbor::process::{Ctx, Msg, Pid, ProcessHandle, ProcessRef, ReplyTo, spawn_link};
use arbor::supervisor::{ChildSpec, ChildTemplate, IntoStartOutcome};
use tokio::sync::{mpsc, oneshot};

use crate::suite::harness::{CRASH, fail, ok};
use arbor::process::Process;

/// Generous call timeout: a verification, never a measurement.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(30);

// ===== arbor =====

/// The arbor child's messages.
pub(crate) enum ChildMsg {
    Ping(ReplyTo<()>),
    Crash,
}

/// Spawns the child linked to the caller (the supervisor, when called from a
/// start function).
pub(crate) fn spawn_child() -> ProcessRef<ChildMsg> {
    spawn_link(|mut ctx: Ctx<ChildMsg>| async move {
        loop {
            match ctx.recv().await {
                Msg::Message(ChildMsg::Ping(reply)) => {
                    reply.reply(());
                }
                Msg::Message(ChildMsg::Crash) => std::panic::panic_any(CRASH),
                Msg::Exit(_) | Msg::Down(_) => {}
            }
        }
    })
}

/// A worker spec starting [`spawn_child`].
pub(crate) fn child_spec(id: &str) -> ChildSpec {
    ChildSpec::worker_sync(id, || spawn_child().into_start_outcome())
}

/// Pings the child `pid`; aborts the benchmark if it does not answer.
/// The simple_one_for_one template of [`child_spec`]: no argument (a
/// zero-sized one, so a start allocates nothing for it).
pub(crate) fn child_template(id: &str) -> ChildTemplate<()> {
    ChildSpec::template_sync(id, |()| spawn_child().into_start_outcome())
}

pub(crate) async fn ping(what: &str, pid: Pid) {
    let Some(child) = ProcessRef::<ChildMsg>::from_pid(pid) else {
        fail(&format!("{what}: child {pid} is not alive"));
    };
    ok(what, child.call_timeout(ChildMsg::Ping, CALL_TIMEOUT).await);
}

/// Makes the child `pid` panic; returns a handle to wait for its exit (a
/// handle, not the pid: the child may be gone before the caller waits).
pub(crate) fn crash(what: &str, pid: Pid) -> ProcessHandle {
    let Some(child) = ProcessRef::<ChildMsg>::from_pid(pid) else {
        fail(&format!("{what}: child {pid} is not alive"));
    };
    let handle = child.handle().clone();
    if child.send(ChildMsg::Crash).is_err() {
        fail(&format!("{what}: child {pid} exited before the crash"));
    }
    handle
}

// ===== raw tokio =====

/// The raw child's messages.
pub(crate) enum RawChildMsg {
    Ping(oneshot::Sender<()>),
    Crash,
    Shutdown,
}

/// A raw child: its mailbox and its task.
pub(crate) struct RawChild {
    pub(crate) tx: mpsc::UnboundedSender<RawChildMsg>,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

pub(crate) fn spawn_raw_child() -> RawChild {
    let (tx, rx) = mpsc::unbounded_channel::<RawChildMsg>();
    RawChild {
        tx,
        task: tokio::spawn(raw_child(rx)),
    }
}

/// The raw child's receive loop.
pub(crate) async fn raw_child(mut rx: mpsc::UnboundedReceiver<RawChildMsg>) {
    while let Some(msg) = rx.recv().await {
        match msg {
            RawChildMsg::Ping(reply) => {
                let _ = reply.send(());
            }
            RawChildMsg::Crash => std::panic::panic_any(CRASH),
            RawChildMsg::Shutdown => break,
        }
    }
}

/// Pings a raw child through its mailbox.
pub(crate) async fn raw_ping(what: &str, tx: &mpsc::UnboundedSender<RawChildMsg>) {
    let (rtx, rrx) = oneshot::channel();
    if tx.send(RawChildMsg::Ping(rtx)).is_err() {
        fail(&format!("{what}: raw child gone"));
    }
    ok(what, rrx.await);
}
