//! Remote call latency and throughput next to raw async-nats
//! request/reply in the same run, and node-failure detection times.
//!
//! ```text
//! cargo bench -p arbor-nats --bench remote
//! ARBOR_BENCH_CALLS=20000 ARBOR_BENCH_KILLS=20 ARBOR_BENCH_HANGS=5 cargo bench -p arbor-nats --bench remote
//! ```
//!
//! One nats-server on loopback; two nodes in this process (two
//! connections, as two machines would have); the killed and hung nodes are
//! `arbor-nats-node` OS processes. Prints medians, p99 and ratios; asserts
//! nothing (docs/performance.md has the figures and the machine).

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arbor_nats::testkit::{Echo, EchoApi, EchoCall, EchoRequest, NatsServer};
use arbor_nats::{Node, NodeEvent, NodeId};
use arbor_process::GenServer;
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn stats(mut xs: Vec<Duration>) -> (Duration, Duration, Duration) {
    xs.sort();
    let pct = |p: f64| xs[((xs.len() as f64 - 1.0) * p).round() as usize];
    (pct(0.5), pct(0.99), *xs.last().unwrap_or(&Duration::ZERO))
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[tokio::main]
async fn main() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let calls = env("ARBOR_BENCH_CALLS", 20_000);
    let kills = env("ARBOR_BENCH_KILLS", 20);
    let hangs = env("ARBOR_BENCH_HANGS", 5);
    println!(
        "arbor-nats remote bench: nats-server {}, {calls} calls per series",
        server.url()
    );

    // Raw async-nats request/reply: a responder on its own connection.
    let responder = server.raw_client("bench-raw").await.unwrap();
    let requester = server.raw_client("bench-raw").await.unwrap();
    let mut sub = responder.subscribe("bench.raw").await.unwrap();
    // The server has the subscription once the flush returns.
    responder.flush().await.unwrap();
    let rc = responder.clone();
    tokio::spawn(async move {
        while let Some(m) = sub.next().await {
            if let Some(reply) = m.reply {
                let _ = rc.publish(reply, m.payload).await;
            }
        }
    });
    let payload = bytes::Bytes::from_static(b"\x00\x05hello");

    // The same responder, but answering through a local GenServer call:
    // NATS plus one arbor process hop, the floor of a remote call.
    let local_echo = Echo::default().start().await.unwrap();
    let mut sub2 = responder.subscribe("bench.gen").await.unwrap();
    responder.flush().await.unwrap();
    let rc2 = responder.clone();
    tokio::spawn(async move {
        while let Some(m) = sub2.next().await {
            let text: String = local_echo
                .call(|r| EchoCall::new(EchoRequest::Echo("hello".into()), r))
                .await
                .unwrap();
            if let Some(reply) = m.reply {
                let _ = rc2.publish(reply, text.into_bytes().into()).await;
            }
        }
    });

    // arbor remote call: node a calls an Echo server exported by node b.
    let a = Node::start(server.node_config("bench_a")).await.unwrap();
    let b = Node::start(server.node_config("bench_b")).await.unwrap();
    a.wait_for_node(b.name(), Duration::from_secs(5))
        .await
        .unwrap();
    let echo = Echo::default().start().await.unwrap();
    let gpid = b.export(&echo);
    let remote = a.remote::<EchoApi>(gpid);
    let req = EchoRequest::Echo("hello".into());

    // The three series interleaved in chunks, so that load on a shared
    // machine falls on all of them alike.
    let (mut raw, mut via_server, mut arbor) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..calls / 10 {
        requester
            .request("bench.raw", payload.clone())
            .await
            .unwrap();
        requester
            .request("bench.gen", payload.clone())
            .await
            .unwrap();
        remote.call(req.clone()).await.unwrap();
    }
    for _ in 0..(calls / 1000).max(1) {
        for _ in 0..1000 {
            let t = Instant::now();
            requester
                .request("bench.raw", payload.clone())
                .await
                .unwrap();
            raw.push(t.elapsed());
        }
        for _ in 0..1000 {
            let t = Instant::now();
            requester
                .request("bench.gen", payload.clone())
                .await
                .unwrap();
            via_server.push(t.elapsed());
        }
        for _ in 0..1000 {
            let t = Instant::now();
            remote.call(req.clone()).await.unwrap();
            arbor.push(t.elapsed());
        }
    }
    let (rm, r99, rmax) = stats(raw);
    let (gm, g99, gmax) = stats(via_server);
    let (am, a99, amax) = stats(arbor);
    println!("latency (sequential, µs)            median     p99      max");
    println!(
        "  raw async-nats request         {:>9.1} {:>8.1} {:>8.1}",
        us(rm),
        us(r99),
        us(rmax)
    );
    println!(
        "  raw + local GenServer call     {:>9.1} {:>8.1} {:>8.1}",
        us(gm),
        us(g99),
        us(gmax)
    );
    println!(
        "  arbor remote call              {:>9.1} {:>8.1} {:>8.1}",
        us(am),
        us(a99),
        us(amax)
    );
    println!("  ratio arbor/raw (median)       {:>9.2}", us(am) / us(rm));
    println!("  ratio arbor/(raw+GenServer)    {:>9.2}", us(am) / us(gm));

    // Throughput: 64 concurrent callers.
    let per = (calls * 2 / 64).max(100);
    let t = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let c = requester.clone();
            let p = payload.clone();
            tokio::spawn(async move {
                for _ in 0..per {
                    c.request("bench.raw", p.clone()).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let raw_rate = (64 * per) as f64 / t.elapsed().as_secs_f64();
    let remote = Arc::new(remote);
    let t = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let r = Arc::clone(&remote);
            let q = req.clone();
            tokio::spawn(async move {
                for _ in 0..per {
                    r.call(q.clone()).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let arbor_rate = (64 * per) as f64 / t.elapsed().as_secs_f64();
    println!("throughput, 64 concurrent callers ({} calls each)", per);
    println!("  raw async-nats  {:>10.0} calls/s", raw_rate);
    println!(
        "  arbor remote    {:>10.0} calls/s ({:.2} of raw)",
        arbor_rate,
        arbor_rate / raw_rate
    );

    // Detection: kill -9 (advisory path) and SIGSTOP (heartbeats).
    let bin = env!("CARGO_BIN_EXE_arbor-nats-node");
    let mut killed = Vec::new();
    let mut hung = Vec::new();
    for i in 0..kills + hangs {
        let hang = i >= kills;
        let name = format!("victim{i}");
        let mut child = Command::new(bin)
            .args(["--name", &name, "--url", &server.url(), "--user", "arbor"])
            .args([
                "--password",
                "arbor-test-secret",
                "--advisory-account",
                "APP",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        while let Some(l) = lines.next_line().await.unwrap() {
            if l.starts_with("READY") {
                break;
            }
        }
        let who = NodeId::new(name.as_str());
        a.wait_for_node(&who, Duration::from_secs(5)).await.unwrap();
        let mut events = a.monitor_nodes();
        let pid = child.id().unwrap().to_string();
        let sig = if hang { "-STOP" } else { "-KILL" };
        let t = Instant::now();
        std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap();
        loop {
            if let Some(NodeEvent::Down { node, .. }) = events.recv().await
                && node == who
            {
                break;
            }
        }
        let took = t.elapsed();
        if hang {
            hung.push(took);
            std::process::Command::new("kill")
                .args(["-KILL", &pid])
                .status()
                .unwrap();
        } else {
            killed.push(took);
        }
        let _ = child.wait().await;
    }
    if !killed.is_empty() {
        let n = killed.len();
        let (m, _, max) = stats(killed);
        println!(
            "node killed (kill -9) → NodeDown: median {:.1} ms, max {:.1} ms over {n}",
            us(m) / 1e3,
            us(max) / 1e3
        );
    }
    if !hung.is_empty() {
        let n = hung.len();
        let (m, _, max) = stats(hung);
        println!(
            "node hung (SIGSTOP) → NodeDown, tick 250 ms: median {:.0} ms, max {:.0} ms over {n} (bound 850 ms)",
            us(m) / 1e3,
            us(max) / 1e3
        );
    }
    a.stop().await;
    b.stop().await;
}
