//! The todo service when a node dies or hangs, with nodes as OS processes
//! (`arbor-todo-node`) so that `kill -9` and `SIGSTOP` are real: takeover
//! with `noconnection` exits, `ERR unavailable` while a shard has no
//! answering owner, and a hung owner fenced when it wakes up.

mod todo_common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use arbor_nats::testkit::NatsServer;
use arbor_nats::todo::shard_of;
use todo_common::{Client, TodoProc};

const SHARDS: u32 = 16;

async fn three(server: &NatsServer, tick: Duration, extra: &[&str]) -> Vec<TodoProc> {
    let urls = [server.url()];
    let mut args = vec!["--shards", "16"];
    args.extend_from_slice(extra);
    let (a, b, c) = tokio::join!(
        TodoProc::start(server, &urls, "n1", tick, &args),
        TodoProc::start(server, &urls, "n2", tick, &args),
        TodoProc::start(server, &urls, "n3", tick, &args),
    );
    vec![a, b, c]
}

/// Waits (bounded) until the nodes serve disjoint shard sets covering all
/// shards; each node's shards.
async fn settled(nodes: &mut [TodoProc]) -> Vec<Vec<u32>> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut owned = Vec::new();
        for n in nodes.iter_mut() {
            owned.push(n.owned().await);
        }
        let all: Vec<u32> = owned.iter().flatten().copied().collect();
        let distinct: HashSet<u32> = all.iter().copied().collect();
        assert_eq!(distinct.len(), all.len(), "a shard served twice: {owned:?}");
        if distinct.len() == SHARDS as usize {
            return owned;
        }
        assert!(Instant::now() < deadline, "shards not settled: {owned:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `n` list names in `shards`.
fn names_in(shards: &[u32], n: usize, tag: &str) -> Vec<String> {
    (0..10_000)
        .map(|i| format!("{tag}{i}"))
        .filter(|name| shards.contains(&shard_of(name, SHARDS)))
        .take(n)
        .collect()
}

#[tokio::test]
async fn a_killed_nodes_shards_are_taken_over_with_noconnection_exits() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let tick = Duration::from_millis(100);
    let mut nodes = three(&server, tick, &[]).await;
    let owned = settled(&mut nodes).await;
    let victim_lists = names_in(&owned[1], 2, "v");
    let safe_lists = names_in(&owned[0], 2, "s");
    let mut c1 = Client::connect(nodes[0].addr).await;
    let mut c3 = Client::connect(nodes[2].addr).await;
    for name in victim_lists.iter().chain(&safe_lists) {
        assert_eq!(c3.cmd(&format!("CREATE {name}")).await, ["OK"]);
        assert_eq!(c1.cmd(&format!("PUT {name} milk")).await, ["OK"]);
    }
    let inc = nodes[1].incarnation;
    let killed = Instant::now();
    nodes[1].signal("KILL");
    // The first command for a lost list waits through the handover and is
    // answered by the new owner: the list is gone.
    let reply = c1.cmd(&format!("LIST {}", victim_lists[0])).await;
    let served_again = killed.elapsed();
    assert_eq!(reply, [format!("ERR unknown list \"{}\"", victim_lists[0])]);
    let down = nodes[0]
        .expect(Duration::from_secs(5), |l| {
            l.starts_with(&format!("DOWN n2 {inc}"))
        })
        .await;
    assert!(down.ends_with("disconnected"), "{down}");
    for survivor in [0, 2] {
        let mut exits = HashSet::new();
        while exits.len() < victim_lists.len() {
            let l = nodes[survivor]
                .expect(Duration::from_secs(5), |l| l.starts_with("EVENT exit"))
                .await;
            assert!(
                l.contains(&format!("on n2.{inc} reason noconnection")),
                "{l}"
            );
            exits.insert(l.split_whitespace().nth(2).unwrap().to_owned());
        }
        assert_eq!(exits, victim_lists.iter().cloned().collect::<HashSet<_>>());
    }
    println!("kill -9 to the first command answered by the new owner: {served_again:?}");
    assert!(
        served_again < tick * 3 + Duration::from_secs(2),
        "{served_again:?}"
    );
    // The names are served again; the other lists were not touched.
    for name in &victim_lists {
        assert_eq!(c3.cmd(&format!("CREATE {name}")).await, ["OK"]);
        assert_eq!(c1.cmd(&format!("LIST {name}")).await, ["OK"]);
    }
    for name in &safe_lists {
        assert_eq!(c3.cmd(&format!("LIST {name}")).await, ["* milk", "OK"]);
    }
    let mut survivors = vec![nodes.remove(0), nodes.remove(1)];
    let after = settled(&mut survivors).await;
    assert!(after.iter().flatten().any(|k| owned[1].contains(k)));
    for n in &mut survivors {
        n.stop().await;
    }
}

#[tokio::test]
async fn a_hung_owner_is_unavailable_then_fenced_and_never_answers_stale() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let tick = Duration::from_millis(200);
    let mut nodes = three(&server, tick, &["--command-timeout-ms", "300"]).await;
    let owned = settled(&mut nodes).await;
    let list = names_in(&owned[2], 1, "h").remove(0);
    let mut c1 = Client::connect(nodes[0].addr).await;
    let mut c3 = Client::connect(nodes[2].addr).await;
    assert_eq!(c1.cmd(&format!("CREATE {list}")).await, ["OK"]);
    assert_eq!(c1.cmd(&format!("PUT {list} old")).await, ["OK"]);
    let inc = nodes[2].incarnation;
    nodes[2].signal("STOP");
    // Hung, not yet declared down: the command cannot be answered.
    let reply = c1.cmd(&format!("LIST {list}")).await;
    let said = nodes[0].drain();
    assert_eq!(reply.len(), 1, "{reply:?}; n1 said {said:?}");
    assert!(reply[0].starts_with("ERR unavailable: shard "), "{reply:?}");
    nodes[0]
        .expect(Duration::from_secs(5), |l| {
            l.starts_with(&format!("DOWN n3 {inc} heartbeat_timeout"))
        })
        .await;
    // Taken over: the list is gone; a new one is made under its name.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reply = c1.cmd(&format!("LIST {list}")).await;
        if reply == [format!("ERR unknown list \"{list}\"")] {
            break;
        }
        assert!(reply[0].starts_with("ERR unavailable"), "{reply:?}");
        assert!(Instant::now() < deadline, "not taken over");
    }
    assert_eq!(c1.cmd(&format!("CREATE {list}")).await, ["OK"]);
    assert_eq!(c1.cmd(&format!("PUT {list} new")).await, ["OK"]);
    // Wake the hung node and ask it at once, again and again: it must
    // never answer from its old copy of the list.
    nodes[2].signal("CONT");
    let woke = Instant::now();
    let (mut ok, mut unavailable) = (0, 0);
    while woke.elapsed() < Duration::from_secs(2) {
        let reply = c3.cmd(&format!("LIST {list}")).await;
        assert!(
            !reply.iter().any(|l| l.contains("old")),
            "stale answer {reply:?}"
        );
        if reply == ["* new", "OK"] {
            ok += 1;
        } else {
            assert!(reply[0].starts_with("ERR unavailable"), "{reply:?}");
            unavailable += 1;
        }
    }
    println!("after SIGCONT: {ok} answers from the new owner, {unavailable} unavailable");
    assert!(ok > 0);
    settled(&mut nodes).await;
    for n in &mut nodes {
        n.stop().await;
    }
}
