//! The walk-through.

use std::time::{Duration, Instant};

use arbor_nats::testkit::NatsServer;
use arbor_nats::todo::shard_of;

use crate::procs::{Client, Launch, NodeProc, children, settled};

const SHARDS: u32 = 16;
const T: Duration = Duration::from_secs(10);

fn step(s: &str) {
    println!("\n== {s}");
}

pub(crate) async fn run() -> i32 {
    match walk().await {
        Ok(()) => {
            let left = children();
            if left.is_empty() {
                println!(
                    "\nnothing left running (ps --ppid {}: none)",
                    std::process::id()
                );
                0
            } else {
                eprintln!("still running: {left:?}");
                1
            }
        }
        Err(e) => {
            eprintln!("cluster example failed: {e}");
            1
        }
    }
}

async fn cmd(c: &mut Client, node: &str, line: &str) -> Result<Vec<String>, String> {
    let reply = c
        .cmd(line, T)
        .await
        .ok_or_else(|| format!("{line}: no reply from {node}"))?;
    println!("  {node} <- {line:<22} -> {}", reply.join(" | "));
    Ok(reply)
}

async fn walk() -> Result<(), String> {
    step("a nats-server on a free loopback port");
    let Some(server) = NatsServer::start().await else {
        return Err("nats-server is not installed (apt-get install nats-server)".into());
    };
    println!("  {}", server.url());
    let launch = Launch {
        urls: vec![server.url()],
        credentials: server.credentials(),
        tick_ms: 250,
        shards: SHARDS,
        kv_replicas: 1,
        command_timeout_ms: 5000,
        echo: false,
    };

    step("three nodes, each its own OS process (this example with --node)");
    let (a, b, c) = tokio::join!(
        NodeProc::start(&launch, "n1"),
        NodeProc::start(&launch, "n2"),
        NodeProc::start(&launch, "n3")
    );
    let mut nodes = vec![a?, b?, c?];
    for n in &nodes {
        println!(
            "  {} pid {} incarnation {} todo on {}",
            n.name,
            n.os_pid().unwrap_or(0),
            n.incarnation,
            n.addr
        );
    }
    let owned = settled(&mut nodes, SHARDS, T)
        .await
        .ok_or("shards not settled")?;
    for (n, o) in nodes.iter().zip(&owned) {
        println!("  {} owns shards {o:?}", n.name);
    }

    step("lists created through different nodes; every node answers for every list");
    let mut clients = Vec::new();
    for n in &nodes {
        clients.push(Client::connect(n.addr).await.map_err(|e| e.to_string())?);
    }
    let mut watcher = Client::connect(nodes[2].addr)
        .await
        .map_err(|e| e.to_string())?;
    cmd(&mut watcher, "n3", "EVENTS").await?;
    let lists = ["shopping", "work", "garden", "books", "travel", "music"];
    for (i, l) in lists.iter().enumerate() {
        let owner = owned
            .iter()
            .position(|o| o.contains(&shard_of(l, SHARDS)))
            .unwrap_or(0);
        println!(
            "  {l}: shard {}, owned by n{}",
            shard_of(l, SHARDS),
            owner + 1
        );
        cmd(
            &mut clients[i % 3],
            &format!("n{}", i % 3 + 1),
            &format!("CREATE {l}"),
        )
        .await?;
        cmd(
            &mut clients[(i + 1) % 3],
            &format!("n{}", (i + 1) % 3 + 1),
            &format!("PUT {l} item {i}"),
        )
        .await?;
    }
    cmd(&mut clients[2], "n3", "LIST shopping").await?;
    for _ in 0..lists.len() {
        if let Some(l) = watcher.line(T).await {
            println!("  EVENTS on n3: {l}");
        }
    }

    let victim = owned
        .iter()
        .position(|o| o.contains(&shard_of("shopping", SHARDS)))
        .unwrap_or(1);
    let vname = nodes[victim].name.clone();
    let vinc = nodes[victim].incarnation;
    let lost: Vec<&str> = lists
        .iter()
        .copied()
        .filter(|l| owned[victim].contains(&shard_of(l, SHARDS)))
        .collect();
    let survivor = (victim + 1) % 3;
    step(&format!("kill -9 {vname} (it holds {lost:?})"));
    let killed = Instant::now();
    nodes[victim].signal("KILL");
    let _ = nodes[victim].child.wait().await;
    let down = nodes[survivor]
        .expect(T, |l| l.starts_with(&format!("DOWN {vname} {vinc}")))
        .await
        .ok_or("no DOWN seen")?;
    println!(
        "  {} saw: {}   ({:?} after the kill)",
        nodes[survivor].name,
        down.text,
        down.at - killed
    );
    let mut exits = 0;
    while exits < lost.len() {
        let e = nodes[survivor]
            .expect(T, |l| l.starts_with("EVENT exit"))
            .await
            .ok_or("no exit event")?;
        println!(
            "  {} saw: {}   ({:?})",
            nodes[survivor].name,
            e.text,
            e.at - killed
        );
        exits += 1;
    }
    for _ in 0..lost.len() {
        if let Some(l) = watcher.line(T).await {
            println!("  EVENTS on n3: {l}");
        }
    }
    let s = survivor;
    let sname = format!("n{}", s + 1);
    let reply = cmd(&mut clients[s], &sname, "LIST shopping").await?;
    println!(
        "  answered by the new owner {:?} after the kill",
        killed.elapsed()
    );
    if reply
        .first()
        .is_some_and(|l| l.starts_with("ERR unavailable"))
    {
        return Err("shopping not served again".into());
    }
    cmd(&mut clients[s], &sname, "CREATE shopping").await?;
    cmd(&mut clients[s], &sname, "PUT shopping bread").await?;
    let other = 3 - victim - survivor;
    cmd(
        &mut clients[other],
        &format!("n{}", other + 1),
        "LIST shopping",
    )
    .await?;
    let mut alive: Vec<usize> = (0..3).filter(|i| *i != victim).collect();
    for i in &alive {
        let o = nodes[*i].owned().await.unwrap_or_default();
        println!("  {} owns shards {o:?}", nodes[*i].name);
    }

    step(&format!(
        "{vname} restarts: a new incarnation, it owns nothing until a shard is free"
    ));
    nodes[victim] = NodeProc::start(&launch, &vname).await?;
    let up = nodes[survivor]
        .expect(T, |l| l.starts_with(&format!("UP {vname}")))
        .await
        .ok_or("no UP seen")?;
    println!("  {} saw: {}", nodes[survivor].name, up.text);
    let mut c = Client::connect(nodes[victim].addr)
        .await
        .map_err(|e| e.to_string())?;
    cmd(&mut c, &vname, "LIST shopping").await?;
    cmd(&mut c, &vname, "LIST work").await?;
    alive.push(victim);

    step("stop every node in order, then the server");
    drop((clients, watcher, c));
    for n in &mut nodes {
        let ok = n.stop().await;
        println!(
            "  {} stopped ({})",
            n.name,
            if ok { "exit 0" } else { "FAILED" }
        );
        if !ok {
            return Err(format!("{} did not stop cleanly", n.name));
        }
    }
    let mut server = server;
    server.kill().await;
    drop(server);
    println!("  nats-server stopped");
    Ok(())
}
