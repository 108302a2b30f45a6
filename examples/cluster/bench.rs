//! Takeover time after `kill -9` of a node, over many kills: detection
//! (the survivor's `DOWN` line), the `noconnection` exit of the lost
//! list, and the first command for it answered by the new owner (sent
//! right after the kill; it waits through the handover).

use std::time::{Duration, Instant};

use arbor_nats::testkit::NatsServer;
use arbor_nats::todo::shard_of;

use crate::procs::{Client, Launch, NodeProc, children, settled};

const SHARDS: u32 = 16;
const T: Duration = Duration::from_secs(10);

pub(crate) async fn run(kills: usize) -> i32 {
    match measure(kills).await {
        Ok(()) if children().is_empty() => 0,
        Ok(()) => {
            eprintln!("still running: {:?}", children());
            1
        }
        Err(e) => {
            eprintln!("takeover bench failed: {e}");
            1
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort_unstable();
    let median = v[v.len() / 2];
    let max = v[v.len() - 1];
    let min = v[0];
    println!(
        "{name:<44} median {:>7.1} ms   min {:>7.1} ms   max {:>7.1} ms",
        ms(median),
        ms(min),
        ms(max)
    );
}

async fn measure(kills: usize) -> Result<(), String> {
    let Some(mut server) = NatsServer::start().await else {
        return Err("nats-server is not installed".into());
    };
    let tick_ms = std::env::var("TICK_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(250);
    let launch = Launch {
        urls: vec![server.url()],
        credentials: server.credentials(),
        tick_ms,
        shards: SHARDS,
        kv_replicas: 1,
        command_timeout_ms: 5000,
        echo: false,
    };
    println!(
        "takeover after kill -9: {kills} kills, 3 nodes, tick {tick_ms} ms, {SHARDS} shards, one nats-server"
    );
    let (a, b, c) = tokio::join!(
        NodeProc::start(&launch, "n1"),
        NodeProc::start(&launch, "n2"),
        NodeProc::start(&launch, "n3")
    );
    let mut nodes = vec![a?, b?, c?];
    let (mut detect, mut exit, mut served, mut after) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..kills {
        let owned = settled(&mut nodes, SHARDS, T)
            .await
            .ok_or("shards not settled")?;
        let victim = (0..3).max_by_key(|i| owned[*i].len()).unwrap_or(0);
        let survivor = (victim + 1) % 3;
        let list = (0..100_000)
            .map(|i| format!("r{round}x{i}"))
            .find(|l| owned[victim].contains(&shard_of(l, SHARDS)))
            .ok_or("no name for the victim")?;
        let mut client = Client::connect(nodes[survivor].addr)
            .await
            .map_err(|e| e.to_string())?;
        client
            .cmd(&format!("CREATE {list}"), T)
            .await
            .ok_or("create failed")?;
        // Its create event reached the survivor: the survivor knows the list.
        nodes[survivor]
            .expect(T, |l| l.starts_with("EVENT create") && l.contains(&list))
            .await
            .ok_or("no create event")?;
        let (vname, vinc) = (nodes[victim].name.clone(), nodes[victim].incarnation);
        let killed = Instant::now();
        nodes[victim].signal("KILL");
        let reply = client
            .cmd(&format!("LIST {list}"), T)
            .await
            .ok_or("no reply")?;
        let answered = killed.elapsed();
        if reply != [format!("ERR unknown list \"{list}\"")] {
            return Err(format!("round {round}: unexpected reply {reply:?}"));
        }
        let down = nodes[survivor]
            .expect(T, |l| l.starts_with(&format!("DOWN {vname} {vinc}")))
            .await
            .ok_or("no DOWN")?;
        let ex = nodes[survivor]
            .expect(T, |l| {
                l.starts_with("EVENT exit") && l.contains(&list) && l.contains("noconnection")
            })
            .await
            .ok_or("no exit event")?;
        let d = down.at - killed;
        println!(
            "kill {:>2}: {vname} down after {:>6.1} ms ({}), exit event {:>6.1} ms, served again {:>6.1} ms",
            round + 1,
            ms(d),
            down.text.split_whitespace().last().unwrap_or(""),
            ms(ex.at - killed),
            ms(answered)
        );
        detect.push(d);
        exit.push(ex.at - killed);
        served.push(answered);
        after.push(answered.saturating_sub(d));
        let _ = nodes[victim].child.wait().await;
        nodes[victim] = NodeProc::start(&launch, &vname).await?;
        // Up both ways before the next kill: the restarted node must know
        // the others (else it sees no one go down).
        let mut others: Vec<String> = (0..3)
            .filter(|i| *i != victim)
            .map(|i| format!("UP {} ", nodes[i].name))
            .collect();
        while !others.is_empty() {
            let l = nodes[victim]
                .expect(T, |l| l.starts_with("UP "))
                .await
                .ok_or("restarted node saw no UP")?;
            others.retain(|o| !l.text.starts_with(o.as_str()));
        }
        for (i, n) in nodes.iter_mut().enumerate() {
            if i != victim {
                n.expect(T, |l| l.starts_with(&format!("UP {vname}")))
                    .await
                    .ok_or("no UP")?;
            }
        }
    }
    println!();
    summary("detection (kill -9 to DOWN on a survivor)", detect);
    summary("exit event with noconnection", exit);
    summary("served again (kill -9 to new owner's answer)", served);
    summary("takeover after detection", after);
    for n in &mut nodes {
        n.stop().await;
    }
    server.kill().await;
    Ok(())
}
