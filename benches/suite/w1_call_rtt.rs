//! W1 call_rtt: one client, one counter server, N sequential calls.
//! W2 cast_throughput: N casts (`+1`), then one call confirms all were handled.

use arbor::process::{Control, ExitReason, GenServer, ReplyTo, ServerCtx, ServerRef};
use tokio::sync::{mpsc, oneshot};

use crate::suite::harness::{Sample, check_eq, fail, ns_per, ok, timed};
use arbor::process::Process;

// ===== arbor =====

/// The counter server: a call increments and returns the count, a cast adds.
#[derive(Debug)]
pub(crate) struct Counter(u64);

impl GenServer for Counter {
    /// Increment, and reply with the count.
    type Call = ReplyTo<u64>;
    type Cast = u64;
    type Info = ();

    async fn handle_call(&mut self, reply: ReplyTo<u64>, _ctx: &mut ServerCtx<Self>) -> Control {
        self.0 += 1;
        reply.reply(self.0)
    }

    async fn handle_cast(&mut self, n: u64, _ctx: &mut ServerCtx<Self>) -> Control {
        self.0 += n;
        Control::Continue
    }
}

async fn start_counter() -> ServerRef<Counter> {
    ok("counter start", Counter(0).start().await)
}

async fn stop_counter(server: ServerRef<Counter>) {
    let r = server
        .stop_with(ExitReason::Normal, std::time::Duration::from_secs(5))
        .await;
    check_eq("counter stop", r, Ok(()));
}

pub(crate) async fn call_rtt_arbor(n: u64) -> Sample {
    let server = start_counter().await;
    let (elapsed, last) = timed(async {
        let mut last = 0;
        for _ in 0..n {
            last = ok("call_rtt arbor: call", server.call(|r| r).await);
        }
        last
    })
    .await;
    check_eq("call_rtt arbor: last reply", last, n);
    stop_counter(server).await;
    Sample::per_op(elapsed, n)
}

pub(crate) async fn cast_arbor(n: u64) -> Sample {
    let server = start_counter().await;
    let (elapsed, total) = timed(async {
        for _ in 0..n {
            server.cast(1);
        }
        ok("cast_throughput arbor: call", server.call(|r| r).await)
    })
    .await;
    check_eq("cast_throughput arbor: count", total, n + 1);
    stop_counter(server).await;
    cast_sample(elapsed, n)
}

fn cast_sample(elapsed: std::time::Duration, n: u64) -> Sample {
    let ns = ns_per(elapsed, n);
    Sample::new()
        .with("ns_per_op", ns)
        .with("msgs_per_s", 1e9 / ns.max(1e-9))
}

// ===== raw tokio =====

enum RawMsg {
    Call(oneshot::Sender<u64>),
    Cast(u64),
}

fn spawn_raw_counter() -> (mpsc::UnboundedSender<RawMsg>, tokio::task::JoinHandle<u64>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<RawMsg>();
    let task = tokio::spawn(async move {
        let mut count = 0u64;
        while let Some(msg) = rx.recv().await {
            match msg {
                RawMsg::Call(reply) => {
                    count += 1;
                    let _ = reply.send(count);
                }
                RawMsg::Cast(n) => count += n,
            }
        }
        count
    });
    (tx, task)
}

async fn raw_call(tx: &mpsc::UnboundedSender<RawMsg>) -> u64 {
    let (rtx, rrx) = oneshot::channel();
    if tx.send(RawMsg::Call(rtx)).is_err() {
        fail("raw counter: server gone");
    }
    ok("raw counter: reply", rrx.await)
}

pub(crate) async fn call_rtt_raw(n: u64) -> Sample {
    let (tx, task) = spawn_raw_counter();
    let (elapsed, last) = timed(async {
        let mut last = 0;
        for _ in 0..n {
            last = raw_call(&tx).await;
        }
        last
    })
    .await;
    check_eq("call_rtt raw: last reply", last, n);
    drop(tx);
    check_eq("call_rtt raw: final", task.await.ok(), Some(n));
    Sample::per_op(elapsed, n)
}

pub(crate) async fn cast_raw(n: u64) -> Sample {
    let (tx, task) = spawn_raw_counter();
    let (elapsed, total) = timed(async {
        for _ in 0..n {
            let _ = tx.send(RawMsg::Cast(1));
        }
        raw_call(&tx).await
    })
    .await;
    check_eq("cast_throughput raw: count", total, n + 1);
    drop(tx);
    check_eq("cast_throughput raw: final", task.await.ok(), Some(n + 1));
    cast_sample(elapsed, n)
}
