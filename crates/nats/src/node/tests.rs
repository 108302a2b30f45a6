//! The crate API of [`Node`] that other modules build on, against a real
//! server: KV buckets, agents, node events, extensions.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use arbor_process::{Ctx, ExitReason, Process, spawn_link};
use arbor_supervisor::ChildSpec;
use bytes::Bytes;

use super::*;
use crate::testkit::{NatsCluster, NatsServer};

#[tokio::test]
async fn kv_bucket_is_created_on_a_2_9_server_and_supports_cas() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let node = Node::start(server.node_config("n1")).await.unwrap();
    let kv = node.kv_bucket("arbor_test", 5).await.unwrap();
    let r1 = kv.create("k", Bytes::from_static(b"a")).await.unwrap();
    assert!(kv.create("k", Bytes::from_static(b"b")).await.is_err());
    let r2 = kv.update("k", Bytes::from_static(b"c"), r1).await.unwrap();
    // A stale revision is refused: the fencing token.
    assert!(kv.update("k", Bytes::from_static(b"d"), r1).await.is_err());
    assert!(r2 > r1);
    assert_eq!(
        kv.get("k").await.unwrap().unwrap(),
        Bytes::from_static(b"c")
    );
    // Opening it again (another node) finds the same bucket.
    let again = node.kv_bucket("arbor_test", 5).await.unwrap();
    assert_eq!(
        again.get("k").await.unwrap().unwrap(),
        Bytes::from_static(b"c")
    );
    node.stop().await;
}

#[tokio::test]
async fn kv_bucket_with_three_replicas_on_a_three_server_cluster() {
    let Some(cluster) = NatsCluster::start(3).await else {
        return;
    };
    let node = Node::start(cluster.node_config("n1").kv_replicas(3))
        .await
        .unwrap();
    let kv = node.kv_bucket("arbor_r3", 1).await.unwrap();
    // Writes go through the stream leader, so compare-and-set holds on R3
    // (reads may be served by a follower that is behind: not asserted).
    let r1 = kv.put("k", Bytes::from_static(b"v")).await.unwrap();
    let r2 = kv.update("k", Bytes::from_static(b"w"), r1).await.unwrap();
    assert!(kv.update("k", Bytes::from_static(b"x"), r1).await.is_err());
    assert!(r2 > r1);
    node.stop().await;
}

#[tokio::test]
async fn agents_run_under_the_node_supervisor_and_stop_with_it() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let node = Node::start(server.node_config("n1")).await.unwrap();
    let pid = node
        .add_agent(ChildSpec::worker("probe", || async {
            Ok::<_, ExitReason>(spawn_link(|mut ctx: Ctx<()>| async move {
                loop {
                    ctx.recv().await;
                }
            }))
        }))
        .await
        .unwrap();
    assert!(arbor_process::is_alive(pid));
    // A crash is restarted by the node's supervisor.
    arbor_process::kill(pid);
    arbor_process::wait_exit(pid).await;
    let children = node.supervisor().which_children().await.unwrap();
    let restarted = children.iter().find_map(|c| c.state.pid()).unwrap();
    assert_ne!(restarted, pid);
    node.stop().await;
    assert!(!arbor_process::is_alive(restarted));
    assert!(!node.supervisor().is_alive());
}

#[tokio::test]
async fn node_events_reach_every_subscriber_in_order() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let node = Node::start(server.node_config("n1")).await.unwrap();
    let mut a = node.events().subscribe();
    let mut b = node.monitor_nodes();
    let up = NodeEvent::Up {
        node: NodeId::new("n2"),
        incarnation: 1,
    };
    let down = NodeEvent::Down {
        node: NodeId::new("n2"),
        incarnation: 1,
        reason: NodeDownReason::Silent,
    };
    node.events().publish(&up);
    node.events().publish(&down);
    for s in [&mut a, &mut b] {
        assert_eq!(s.recv().await.unwrap(), up);
        assert_eq!(s.recv().await.unwrap(), down);
    }
    drop(a);
    assert_eq!(node.events().subscriber_count(), 1);
    node.stop().await;
    assert_eq!(node.events().subscriber_count(), 0);
}

#[tokio::test]
async fn extensions_are_one_value_per_type() {
    #[derive(Default)]
    struct Counter(AtomicUsize);
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let node = Node::start(server.node_config("n1")).await.unwrap();
    node.extension::<Counter>().0.fetch_add(1, Ordering::SeqCst);
    node.extension::<Counter>().0.fetch_add(1, Ordering::SeqCst);
    assert_eq!(node.extension::<Counter>().0.load(Ordering::SeqCst), 2);
    assert!(node.subject("x.y").starts_with("arbor.default."));
    let _ = tokio::time::timeout(Duration::from_secs(1), node.client().flush()).await;
    node.stop().await;
}
