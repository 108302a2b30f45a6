//! The todo service on three nodes against a real server: routing and
//! forwarding, events from every node, one owner per shard.
//! (Crashes, hangs and handovers with nodes as OS processes: todo_failover.rs.)

mod todo_common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use arbor_nats::Node;
use arbor_nats::testkit::NatsServer;
use arbor_nats::todo::{ListEventKind, TodoCluster, TodoClusterConfig};
use arbor_todo::protocol::Request;
use todo_common::Client;

const TICK: Duration = Duration::from_millis(100);
const SHARDS: u32 = 16;

async fn start(server: &NatsServer, name: &str) -> (Node, TodoCluster) {
    let node = Node::start(server.node_config(name).tick(TICK))
        .await
        .unwrap();
    let config = TodoClusterConfig::new("127.0.0.1:0".parse().unwrap()).shards(SHARDS);
    let todo = TodoCluster::start(&node, config).await.unwrap();
    (node, todo)
}

/// Waits (bounded) until every shard is served by exactly one of `todos`
/// and every node's view agrees; the owner of each shard.
async fn settled(todos: &[&TodoCluster]) -> HashMap<u32, usize> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let mut by_shard: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, t) in todos.iter().enumerate() {
            for (k, _) in t.owned_shards() {
                by_shard.entry(k).or_default().push(i);
            }
        }
        let one_each = (0..SHARDS).all(|k| by_shard.get(&k).is_some_and(|v| v.len() == 1));
        let views_agree = one_each
            && todos.iter().all(|t| {
                (0..SHARDS).all(|k| {
                    let owner = t.owner(k).map(|(o, _)| o.node);
                    owner.as_ref().map(|n| n.as_str().to_owned())
                        == Some(format!("n{}", by_shard[&k][0] + 1))
                })
            });
        if views_agree {
            return by_shard.into_iter().map(|(k, v)| (k, v[0])).collect();
        }
        // No node may ever serve a shard another serves at the same time.
        for (k, v) in &by_shard {
            assert!(
                v.len() <= 1 || tokio::time::Instant::now() < deadline,
                "shard {k} served by {v:?}"
            );
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "shards not settled: {by_shard:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn commands_run_on_the_owner_whatever_node_the_client_uses() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let (na, a) = start(&server, "n1").await;
    let (nb, b) = start(&server, "n2").await;
    let (nc, c) = start(&server, "n3").await;
    let todos = [&a, &b, &c];
    let owners = settled(&todos).await;
    let per_node: HashSet<usize> = owners.values().copied().collect();
    assert_eq!(per_node.len(), 3, "every node owns shards: {owners:?}");

    let mut events = Client::connect(c.local_addr()).await;
    assert_eq!(events.cmd("EVENTS").await, ["OK"]);
    let mut clients = Vec::new();
    for t in &todos {
        clients.push(Client::connect(t.local_addr()).await);
    }
    let names: Vec<String> = (0..12).map(|i| format!("list{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        assert_eq!(clients[i % 3].cmd(&format!("CREATE {name}")).await, ["OK"]);
        assert_eq!(
            clients[(i + 1) % 3]
                .cmd(&format!("PUT {name} milk {i}"))
                .await,
            ["OK"]
        );
        assert_eq!(
            clients[(i + 2) % 3].cmd(&format!("PUT {name} eggs")).await,
            ["OK"]
        );
        assert_eq!(
            clients[(i + 2) % 3].cmd(&format!("LIST {name}")).await,
            ["* eggs".to_owned(), format!("* milk {i}"), "OK".to_owned()]
        );
        assert_eq!(
            clients[i % 3].cmd(&format!("DELETE {name} tea")).await,
            [format!("ERR unknown item \"tea\" in list \"{name}\"")]
        );
    }
    assert_eq!(
        clients[1].cmd("LIST nothing").await,
        ["ERR unknown list \"nothing\""]
    );
    // The answer comes from the shard's owner, whichever node asked.
    for t in &todos {
        for name in &names {
            let routed = t.execute(Request::List { list: name.clone() }).await;
            assert_eq!(routed.result.as_ref().map(Vec::len), Ok(2));
            let (by, _) = routed.by.unwrap();
            let k = t.shard_of(name);
            assert_eq!(by.node.as_str(), format!("n{}", owners[&k] + 1), "{name}");
        }
    }
    let forwarded: u64 = todos.iter().map(|t| t.counts().served_forwarded).sum();
    let local: u64 = todos.iter().map(|t| t.counts().served_local).sum();
    println!("served forwarded {forwarded}, local {local}");
    assert!(forwarded > 0 && local > 0);
    // EVENTS on n3 saw every create, each origin's in creation order.
    let mut seen = Vec::new();
    while seen.len() < names.len() {
        let l = events
            .line(Duration::from_secs(5))
            .await
            .expect("an event line");
        seen.push(
            l.strip_prefix("EVENT create ")
                .expect("a create line")
                .to_owned(),
        );
    }
    for owner in 0..3 {
        let created: Vec<&String> = names
            .iter()
            .filter(|n| owners[&a.shard_of(n)] == owner)
            .collect();
        let got: Vec<&String> = seen
            .iter()
            .filter(|n| owners[&a.shard_of(n)] == owner)
            .collect();
        assert_eq!(got, created, "order of node n{}'s events", owner + 1);
    }
    for (n, t) in [(&na, &a), (&nb, &b), (&nc, &c)] {
        t.stop().await;
        n.stop().await;
    }
}

#[tokio::test]
async fn nodes_racing_for_free_shards_end_with_one_owner_each() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    for round in 0..3 {
        let cluster = format!("race{round}");
        let start = |name: &'static str| {
            let config = server.node_config(name).tick(TICK).cluster(&cluster);
            async move {
                let node = Node::start(config).await.unwrap();
                let todo = TodoCluster::start(
                    &node,
                    TodoClusterConfig::new("127.0.0.1:0".parse().unwrap()).shards(SHARDS),
                )
                .await
                .unwrap();
                (node, todo)
            }
        };
        let ((na, a), (nb, b), (nc, c)) = tokio::join!(start("n1"), start("n2"), start("n3"));
        settled(&[&a, &b, &c]).await;
        let lost: u64 = [&a, &b, &c].iter().map(|t| t.counts().lost_cas).sum();
        println!("round {round}: claims lost to another node: {lost}");
        // An orderly stop releases n2's shards; the others claim them,
        // again one owner each.
        b.stop().await;
        nb.stop().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mut all: Vec<u32> = a
                .owned_shards()
                .iter()
                .chain(c.owned_shards().iter())
                .map(|(k, _)| *k)
                .collect();
            let n = all.len();
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), n, "a shard served twice");
            if n == SHARDS as usize {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "n2's shards not claimed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for (n, t) in [(&na, &a), (&nc, &c)] {
            t.stop().await;
            n.stop().await;
        }
    }
}

#[tokio::test]
async fn a_stopped_service_publishes_its_lists_exits_and_leaves_nothing() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let (na, a) = start(&server, "n1").await;
    let (nb, b) = start(&server, "n2").await;
    settled(&[&a, &b]).await;
    let mut events = a.events().await.unwrap();
    // A list that lives on n2.
    let name = (0..100)
        .map(|i| format!("l{i}"))
        .find(|n| b.owned_shards().iter().any(|(k, _)| *k == b.shard_of(n)))
        .unwrap();
    let routed = a.execute(Request::Create { list: name.clone() }).await;
    assert_eq!(routed.result, Ok(vec![]));
    let e = events.next().await.unwrap();
    assert_eq!(
        (e.list.as_str(), &e.kind),
        (name.as_str(), &ListEventKind::Create)
    );
    // A node without the service: what n2 must be back to after stopping it.
    let bare = Node::start(server.node_config("n9").tick(TICK))
        .await
        .unwrap();
    let bare_children = bare.supervisor().which_children().await.unwrap().len();
    bare.stop().await;
    b.stop().await;
    let e = events.next().await.unwrap();
    assert_eq!(e.list, name);
    assert_eq!(
        e.kind,
        ListEventKind::Exit(arbor_nats::WireExitReason::Shutdown)
    );
    assert_eq!(
        nb.supervisor().which_children().await.unwrap().len(),
        bare_children
    );
    // n1 claims n2's released shards and serves the name again.
    let routed = a.execute(Request::List { list: name.clone() }).await;
    assert_eq!(
        routed.result,
        Err(arbor_todo::protocol::ErrorReason::UnknownList(name.clone()))
    );
    assert_eq!(routed.by.unwrap().0.node.as_str(), "n1");
    nb.stop().await;
    a.stop().await;
    na.stop().await;
}

#[tokio::test]
async fn a_node_started_later_learns_the_table_and_forwards() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let (na, a) = start(&server, "n1").await;
    settled(&[&a]).await;
    assert_eq!(
        a.execute(Request::Create {
            list: "late".into()
        })
        .await
        .result,
        Ok(vec![])
    );
    let (nb, b) = start(&server, "n2").await;
    // Everything is owned already: n2 owns nothing and forwards.
    let routed = b
        .execute(Request::List {
            list: "late".into(),
        })
        .await;
    assert_eq!(routed.result, Ok(vec![]));
    assert_eq!(routed.by.unwrap().0.node.as_str(), "n1");
    assert!(b.owned_shards().is_empty());
    assert!(b.all_shards_owned());
    for (n, t) in [(&nb, &b), (&na, &a)] {
        t.stop().await;
        n.stop().await;
    }
}
