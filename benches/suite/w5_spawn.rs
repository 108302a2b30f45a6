//! W5 spawn_children: start N ping children under a simple_one_for_one
//! supervisor; µs per child and bytes per child (ΔVmRSS / N).
//! W8 shutdown_tree: the same supervisor with N children shut down by its
//! parent; time until the supervisor has terminated, every child dead.

use std::time::Duration;

use arbor::process::{Ctx, ExitReason, Pid, exit, is_alive, scope};
use arbor::supervisor::{SimpleSupervisor, SimpleSupervisorRef, Strategy, SupFlags, Supervisor};
use tokio::sync::{mpsc, oneshot};

use crate::suite::child::{RawChild, RawChildMsg, child_template, ping, raw_ping, spawn_raw_child};
use crate::suite::harness::{Sample, check_eq, fail, ms, ns_per, ok, rss, timed};
use arbor::process::Myself;
use arbor::process::Process;

/// Flags whose intensity never trips in these workloads.
fn flags() -> SupFlags {
    SupFlags::new(Strategy::SimpleOneForOne)
        .intensity(1_000_000)
        .period(Duration::from_secs(1))
}

fn simple_sup() -> SimpleSupervisor<()> {
    Supervisor::simple(flags(), child_template("pinger"))
}

async fn start_children(what: &str, sup: &SimpleSupervisorRef<()>, n: u64) -> Vec<Pid> {
    let mut pids = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let started = ok(what, sup.start_child(()).await);
        match started.pid() {
            Some(pid) => pids.push(pid),
            None => fail(&format!("{what}: child ignored")),
        }
    }
    pids
}

/// Pings about 100 children spread over `pids` and the last one.
async fn ping_sample(what: &str, pids: &[Pid]) {
    let step = (pids.len() / 100).max(1);
    for pid in pids.iter().step_by(step).chain(pids.last()) {
        ping(what, *pid).await;
    }
}

fn spawn_sample(elapsed: Duration, n: u64, rss_before: u64) -> Sample {
    let after = rss();
    let bytes = after.current.saturating_sub(rss_before) as f64 / n.max(1) as f64;
    Sample::new()
        .with("us_per_child", ns_per(elapsed, n) / 1e3)
        .with("bytes_per_child", bytes)
        .with("peak_rss_mb", after.peak as f64 / (1024.0 * 1024.0))
}

// ===== W5 arbor =====

pub(crate) async fn spawn_arbor(n: u64) -> Sample {
    let before = rss().current;
    let sup = ok("spawn arbor: start", simple_sup().start().await);
    let (elapsed, pids) = timed(start_children("spawn arbor: start_child", &sup, n)).await;
    let sample = spawn_sample(elapsed, n, before);
    let counts = ok("spawn arbor: count", sup.count_children().await);
    check_eq("spawn arbor: active children", counts.active as u64, n);
    ping_sample("spawn arbor: ping", &pids).await;
    let stop = sup
        .stop_with(ExitReason::Shutdown, Duration::from_secs(60))
        .await;
    check_eq("spawn arbor: stop", stop, Ok(()));
    if pids.iter().any(|p| is_alive(*p)) {
        fail("spawn arbor: a child outlived its supervisor");
    }
    sample
}

// ===== W8 arbor =====

pub(crate) async fn shutdown_arbor(n: u64) -> Sample {
    let out = scope(|me: Ctx<()>| async move {
        // The supervisor's exit signal comes back to us, its parent.
        me.trap_exit(true);
        let sup = ok("shutdown arbor: start", simple_sup().start_link().await);
        let pids = start_children("shutdown arbor: start_child", &sup, n).await;
        ping_sample("shutdown arbor: ping", &pids).await;
        let (elapsed, reason) = timed(async {
            // As the parent does: an exit signal `shutdown` from the parent.
            exit(sup.pid(), ExitReason::Shutdown);
            sup.wait().await
        })
        .await;
        check_eq("shutdown arbor: reason", reason, ExitReason::Shutdown);
        if let Some(p) = pids.iter().find(|p| is_alive(**p)) {
            fail(&format!(
                "shutdown arbor: child {p} outlived its supervisor"
            ));
        }
        elapsed
    })
    .await;
    let elapsed = ok("shutdown arbor: scope", out);
    shutdown_sample(elapsed, n)
}

fn shutdown_sample(elapsed: Duration, n: u64) -> Sample {
    Sample::new()
        .with("ns_per_child", ns_per(elapsed, n))
        .with("ms", ms(elapsed))
}

// ===== raw tokio: a dynamic supervisor task =====

enum RawSupMsg {
    Start(oneshot::Sender<mpsc::UnboundedSender<RawChildMsg>>),
    Count(oneshot::Sender<usize>),
    /// Shut every child down in parallel (shutdown message, then wait up to
    /// 5 s for each, abort after that) and exit with the number that ended.
    Shutdown,
}

fn spawn_raw_sup() -> (
    mpsc::UnboundedSender<RawSupMsg>,
    tokio::task::JoinHandle<usize>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<RawSupMsg>();
    let task = tokio::spawn(async move {
        let mut children: Vec<RawChild> = Vec::new();
        while let Some(msg) = rx.recv().await {
            match msg {
                RawSupMsg::Start(reply) => {
                    let child = spawn_raw_child();
                    let _ = reply.send(child.tx.clone());
                    children.push(child);
                }
                RawSupMsg::Count(reply) => {
                    let _ = reply.send(children.len());
                }
                RawSupMsg::Shutdown => break,
            }
        }
        for c in &children {
            let _ = c.tx.send(RawChildMsg::Shutdown);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut ended = 0;
        for c in children {
            let abort = c.task.abort_handle();
            match tokio::time::timeout_at(deadline, c.task).await {
                Ok(_) => ended += 1,
                Err(_) => abort.abort(),
            }
        }
        ended
    });
    (tx, task)
}

async fn raw_start_children(
    what: &str,
    sup: &mpsc::UnboundedSender<RawSupMsg>,
    n: u64,
) -> Vec<mpsc::UnboundedSender<RawChildMsg>> {
    let mut txs = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let (rtx, rrx) = oneshot::channel();
        if sup.send(RawSupMsg::Start(rtx)).is_err() {
            fail(&format!("{what}: raw supervisor gone"));
        }
        txs.push(ok(what, rrx.await));
    }
    txs
}

async fn raw_ping_sample(what: &str, txs: &[mpsc::UnboundedSender<RawChildMsg>]) {
    let step = (txs.len() / 100).max(1);
    for tx in txs.iter().step_by(step).chain(txs.last()) {
        raw_ping(what, tx).await;
    }
}

pub(crate) async fn spawn_raw(n: u64) -> Sample {
    let before = rss().current;
    let (sup, task) = spawn_raw_sup();
    let (elapsed, txs) = timed(raw_start_children("spawn raw: start", &sup, n)).await;
    let sample = spawn_sample(elapsed, n, before);
    let (ctx, crx) = oneshot::channel();
    let _ = sup.send(RawSupMsg::Count(ctx));
    check_eq(
        "spawn raw: children",
        ok("spawn raw: count", crx.await) as u64,
        n,
    );
    raw_ping_sample("spawn raw: ping", &txs).await;
    let _ = sup.send(RawSupMsg::Shutdown);
    check_eq(
        "spawn raw: ended",
        ok("spawn raw: join", task.await) as u64,
        n,
    );
    sample
}

pub(crate) async fn shutdown_raw(n: u64) -> Sample {
    let (sup, task) = spawn_raw_sup();
    let txs = raw_start_children("shutdown raw: start", &sup, n).await;
    raw_ping_sample("shutdown raw: ping", &txs).await;
    // The supervisor holds the only senders, as arbor's cells do: a second
    // one here would leave each channel's close and free out of the timed
    // shutdown (arbor frees its mailboxes inside it). That every child
    // ended is the supervisor's count of joined tasks.
    drop(txs);
    let (elapsed, ended) = timed(async {
        let _ = sup.send(RawSupMsg::Shutdown);
        ok("shutdown raw: join", task.await)
    })
    .await;
    check_eq("shutdown raw: children ended", ended as u64, n);
    shutdown_sample(elapsed, n)
}
