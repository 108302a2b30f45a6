//! Remote event managers beside raw async-nats, in the same run, on one
//! local nats-server: `notify` fan-out throughput and latency and
//! `sync_notify` latency and throughput, with 1 and 3 subscribing nodes.
//!
//! ```text
//! cargo bench -p arbor-nats --bench events
//! ```
//!
//! All nodes are in this OS process (each with its own connection), so
//! the figures are the cost of the software path on loopback, not of a
//! network.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arbor_genevent::{EventManager, FnHandler};
use arbor_nats::testkit::NatsServer;
use arbor_nats::{EventTopic, Level, Node, RemoteEvent};
use bytes::Bytes;
use futures::StreamExt;

const N: u64 = 50_000;
const SYNC_N: usize = 2_000;

fn pct(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

async fn node(server: &NatsServer, name: &str, peers: &[&Node]) -> Node {
    let n = Node::start(server.node_config(name)).await.unwrap();
    for p in peers {
        n.wait_for_node(p.name(), Duration::from_secs(5))
            .await
            .unwrap();
        p.wait_for_node(n.name(), Duration::from_secs(5))
            .await
            .unwrap();
    }
    n
}

/// Raw async-nats: one publisher, `subs` subscriber connections, `N`
/// messages carrying their send time; throughput to the last delivery and
/// per-message latency.
async fn raw_publish(server: &NatsServer, subs: usize) {
    let base = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..subs {
        let c = server.raw_client("bench-raw").await.unwrap();
        let mut sub = c.subscribe("raw.bench").await.unwrap();
        c.flush().await.unwrap();
        tasks.push(tokio::spawn(async move {
            let _keep = c;
            let mut lat = Vec::with_capacity(N as usize);
            for _ in 0..N {
                let m = sub.next().await.unwrap();
                let sent = u64::from_le_bytes(m.payload[..8].try_into().unwrap());
                lat.push(base.elapsed() - Duration::from_nanos(sent));
            }
            lat
        }));
    }
    let publisher = server.raw_client("bench-raw").await.unwrap();
    // The subscriptions are in place once a round trip went through.
    let _ = publisher.request("raw.settle", Bytes::new()).await;
    let start = Instant::now();
    for _ in 0..N {
        let t = base.elapsed().as_nanos() as u64;
        publisher
            .publish("raw.bench", Bytes::copy_from_slice(&t.to_le_bytes()))
            .await
            .unwrap();
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let took = start.elapsed();
    let (p50, p99) = pct(lat);
    println!(
        "raw async-nats publish  subs={subs}  {:>9.0} msg/s  latency p50 {p50:?} p99 {p99:?}",
        N as f64 / took.as_secs_f64()
    );
}

/// Raw async-nats request/reply to `subs` responders (all asked at once,
/// as a synchronous fan-out would).
async fn raw_request(server: &NatsServer, subs: usize) {
    let mut keep = Vec::new();
    for i in 0..subs {
        let c = server.raw_client("bench-raw").await.unwrap();
        let mut sub = c.subscribe(format!("raw.req.{i}")).await.unwrap();
        let responder = c.clone();
        tokio::spawn(async move {
            while let Some(m) = sub.next().await {
                if let Some(r) = m.reply {
                    let _ = responder.publish(r, Bytes::new()).await;
                }
            }
        });
        c.flush().await.unwrap();
        keep.push(c);
    }
    let client = server.raw_client("bench-raw").await.unwrap();
    let _ = client.request("raw.settle", Bytes::new()).await;
    let mut lat = Vec::with_capacity(SYNC_N);
    let start = Instant::now();
    for _ in 0..SYNC_N {
        let t = Instant::now();
        let all = (0..subs).map(|i| client.request(format!("raw.req.{i}"), Bytes::new()));
        for r in futures::future::join_all(all).await {
            r.unwrap();
        }
        lat.push(t.elapsed());
    }
    let took = start.elapsed();
    let (p50, p99) = pct(lat);
    println!(
        "raw async-nats request  subs={subs}  {:>9.0} req/s  latency p50 {p50:?} p99 {p99:?}",
        SYNC_N as f64 / took.as_secs_f64()
    );
}

/// arbor: an exported manager, `subs` subscribing nodes; `notify` fan-out
/// (Level::Notify) and `sync_notify` (Level::SyncNotify).
async fn arbor(server: &NatsServer, subs: usize) {
    let origin = node(server, "origin", &[]).await;
    let mut nodes: Vec<Node> = Vec::new();
    for i in 0..subs {
        let refs: Vec<&Node> = std::iter::once(&origin).chain(nodes.iter()).collect();
        let n = node(server, &format!("s{i}"), &refs).await;
        nodes.push(n);
    }
    let base = Instant::now();
    for (level, label) in [(Level::Notify, "notify"), (Level::SyncNotify, "sync")] {
        let topic = EventTopic::<u64>::new(format!("bench_{label}_{subs}"))
            .level(level)
            .notify_bound(1_000_000);
        let mgr = EventManager::<u64>::start().await.unwrap();
        let export = origin.export_events(&topic, &mgr).await.unwrap();
        let got = Arc::new(AtomicU64::new(0));
        let lat = Arc::new(parking_lot::Mutex::new(Vec::with_capacity(
            N as usize * subs,
        )));
        let mut mirrors = Vec::new();
        for n in &nodes {
            let m = n.subscribe_events(&topic).await.unwrap();
            let (got, lat) = (Arc::clone(&got), Arc::clone(&lat));
            m.manager()
                .add(FnHandler::new(move |e: &RemoteEvent<u64>| {
                    lat.lock()
                        .push(base.elapsed() - Duration::from_nanos(e.event));
                    got.fetch_add(1, Ordering::Relaxed);
                }))
                .await
                .unwrap();
            mirrors.push(m);
        }
        if level == Level::Notify {
            let start = Instant::now();
            for _ in 0..N {
                mgr.notify(base.elapsed().as_nanos() as u64);
            }
            let want = N * subs as u64;
            let deadline = Instant::now() + Duration::from_secs(60);
            while got.load(Ordering::Relaxed) < want && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let took = start.elapsed();
            let lost: u64 = mirrors.iter().map(|m| m.stats().lost).sum();
            let (p50, p99) = pct(std::mem::take(&mut *lat.lock()));
            println!(
                "arbor notify            subs={subs}  {:>9.0} ev/s   latency p50 {p50:?} p99 {p99:?}  (lost {lost}, bridge dropped {})",
                N as f64 / took.as_secs_f64(),
                export.stats().dropped
            );
        } else {
            let mut call_lat = Vec::with_capacity(SYNC_N);
            let start = Instant::now();
            for _ in 0..SYNC_N {
                let t = Instant::now();
                export
                    .sync_notify(base.elapsed().as_nanos() as u64)
                    .await
                    .unwrap();
                call_lat.push(t.elapsed());
            }
            let took = start.elapsed();
            let (p50, p99) = pct(call_lat);
            println!(
                "arbor sync_notify       subs={subs}  {:>9.0} ev/s   latency p50 {p50:?} p99 {p99:?}",
                SYNC_N as f64 / took.as_secs_f64()
            );
        }
        export.unexport().await;
        for m in mirrors {
            m.close().await;
        }
    }
    for n in nodes {
        n.stop().await;
    }
    origin.stop().await;
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Some(server) = NatsServer::start().await else {
        return;
    };
    println!("events: {N} notify events, {SYNC_N} sync_notify calls, one local nats-server");
    for subs in [1, 3] {
        raw_publish(&server, subs).await;
        arbor(&server, subs).await;
        raw_request(&server, subs).await;
    }
}
