//! Global names and process groups: the cached `whereis_name` lookup,
//! register/unregister and fresh reads, and pg send-to-all / send-to-any
//! delivery latency.
//!
//! ```text
//! cargo bench -p arbor-nats --bench names_groups
//! ```
//!
//! One nats-server on loopback, two nodes in this process. Prints medians
//! and p99; asserts nothing.

use std::time::{Duration, Instant};

use arbor_nats::Node;
use arbor_nats::testkit::NatsServer;
use arbor_process::{Ctx, ExitReason, Msg, Process, spawn};
use tokio::sync::mpsc;

fn stats(mut xs: Vec<Duration>) -> (Duration, Duration) {
    xs.sort();
    let pct = |p: f64| xs[((xs.len() as f64 - 1.0) * p).round() as usize];
    (pct(0.5), pct(0.99))
}

fn line(what: &str, xs: Vec<Duration>) {
    let (m, p99) = stats(xs);
    println!(
        "{what:<40} median {:>9.3} µs   p99 {:>9.3} µs",
        m.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
}

#[tokio::main]
async fn main() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("b1")).await.unwrap();
    let n2 = Node::start(server.node_config("b2")).await.unwrap();
    let holder = spawn(|mut ctx: Ctx<String>| async move {
        while let Msg::Message(_) = ctx.recv().await {}
        ExitReason::Normal
    });
    for i in 0..1000 {
        n1.register_name(&format!("name{i}"), holder.pid())
            .await
            .unwrap();
    }
    let mut names = n2.monitor_names();
    while n2.whereis_name("name999").is_none() {
        names.recv().await;
    }

    // whereis_name from the cache: batches of 1000 lookups, per lookup.
    let keys: Vec<String> = (0..1000).map(|i| format!("name{i}")).collect();
    let mut per = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        for k in &keys {
            std::hint::black_box(n2.whereis_name(std::hint::black_box(k)));
        }
        per.push(t.elapsed() / keys.len() as u32);
    }
    line("whereis_name (cached, 1000 names)", per);
    let mut single = Vec::new();
    for k in keys.iter().cycle().take(20_000) {
        let t = Instant::now();
        std::hint::black_box(n2.whereis_name(k));
        single.push(t.elapsed());
    }
    line("whereis_name (one call, timed alone)", single);

    let mut fresh = Vec::new();
    for k in keys.iter().take(1000) {
        let t = Instant::now();
        n2.whereis_name_fresh(k).await.unwrap();
        fresh.push(t.elapsed());
    }
    line("whereis_name_fresh (KV get)", fresh);

    let (mut reg, mut unreg) = (Vec::new(), Vec::new());
    for i in 0..500 {
        let name = format!("tmp{i}");
        let t = Instant::now();
        n1.register_name(&name, holder.pid()).await.unwrap();
        reg.push(t.elapsed());
        let t = Instant::now();
        n1.unregister_name(&name).await.unwrap();
        unreg.push(t.elapsed());
    }
    line("register_name (KV create)", reg);
    line("unregister_name (KV delete, CAS)", unreg);

    // pg: one member on each node; time from send to delivery.
    let (s1, s2) = (n1.pg("bench").await.unwrap(), n2.pg("bench").await.unwrap());
    let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
    let member = |tx: mpsc::UnboundedSender<u64>| {
        spawn(move |mut ctx: Ctx<u64>| async move {
            while let Msg::Message(m) = ctx.recv().await {
                let _ = tx.send(m);
            }
            ExitReason::Normal
        })
    };
    let (m1, m2) = (member(tx.clone()), member(tx.clone()));
    s1.join("g", &m1).await.unwrap();
    s2.join("g", &m2).await.unwrap();
    let (_, mut ev) = s1.monitor("g");
    while s1.members("g").len() < 2 {
        ev.recv().await;
    }
    let mut all = Vec::new();
    for i in 0..2000u64 {
        let t = Instant::now();
        s1.send_all("g", &i).await.unwrap();
        rx.recv().await;
        rx.recv().await;
        all.push(t.elapsed());
    }
    line("pg send_all, 2 members on 2 nodes (both)", all);
    let mut any = Vec::new();
    for i in 0..2000u64 {
        let t = Instant::now();
        s1.send_any("g", &i).await.unwrap();
        rx.recv().await;
        any.push(t.elapsed());
    }
    line("pg send_any (one member)", any);
    let _ = Duration::ZERO;
    n1.stop().await;
    n2.stop().await;
}
