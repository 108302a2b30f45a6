//! Node monitoring against a real server, with nodes as OS processes so
//! that `kill -9` and `SIGSTOP` are real: goodbye, crash, hang, fencing,
//! and a NATS server failover that must not look like a node failure.

mod common;

use std::time::{Duration, Instant};

use arbor_nats::testkit::{Echo, EchoApi, EchoRequest, NatsCluster, NatsServer};
use arbor_nats::{Node, NodeDownReason, NodeEvent, NodeId, RemoteCallError};
use common::{NodeProc, start_node};

/// The default tick: detection bounds are stated for it.
const TICK: Duration = Duration::from_millis(250);

/// Waits for the next `Down` of `who` on `events`.
async fn next_down(
    events: &mut arbor_nats::NodeEvents,
    who: &NodeId,
    within: Duration,
) -> (arbor_nats::Incarnation, NodeDownReason) {
    tokio::time::timeout(within, async {
        loop {
            match events.recv().await.unwrap() {
                NodeEvent::Down {
                    node,
                    incarnation,
                    reason,
                } if node == *who => return (incarnation, reason),
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no down of {who} within {within:?}"))
}

#[tokio::test]
async fn an_orderly_stop_is_seen_as_shutdown() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let a = start_node(&server, "a", &[]).await;
    let b = start_node(&server, "b", &[&a]).await;
    let mut events = a.monitor_nodes();
    let mut monitor = a.monitor_node(b.name());
    let inc = b.incarnation();
    b.stop().await;
    assert_eq!(
        monitor.down().await,
        NodeEvent::Down {
            node: NodeId::new("b"),
            incarnation: inc,
            reason: NodeDownReason::Shutdown
        }
    );
    assert_eq!(
        next_down(&mut events, b.name(), Duration::from_secs(2))
            .await
            .1,
        NodeDownReason::Shutdown
    );
    assert!(a.nodes().is_empty());
    // Monitoring a node that is not up answers at once.
    let mut m = a.monitor_node(&NodeId::new("nobody"));
    assert!(matches!(
        m.down().await,
        NodeEvent::Down {
            reason: NodeDownReason::NotConnected,
            ..
        }
    ));
    a.stop().await;
}

#[tokio::test]
async fn monitor_nodes_streams_up_then_down() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let a = start_node(&server, "a", &[]).await;
    let mut events = a.monitor_nodes();
    let b = Node::start(common::config(&server, "b")).await.unwrap();
    let up = tokio::time::timeout(Duration::from_secs(2), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        up,
        NodeEvent::Up {
            node: NodeId::new("b"),
            incarnation: b.incarnation()
        }
    );
    b.stop().await;
    assert_eq!(
        next_down(&mut events, b.name(), Duration::from_secs(2))
            .await
            .1,
        NodeDownReason::Shutdown
    );
    a.stop().await;
}

#[tokio::test]
async fn a_killed_node_is_detected_by_the_disconnect_advisory() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let a = Node::start(server.node_config("a")).await.unwrap();
    let k = NodeProc::start(&server, "k", TICK).await;
    assert_eq!(
        a.wait_for_node(&k.name, Duration::from_secs(5)).await,
        Some(k.incarnation)
    );
    let mut events = a.monitor_nodes();
    let t = Instant::now();
    k.signal("KILL");
    let (inc, reason) = next_down(&mut events, &k.name, Duration::from_secs(3)).await;
    let took = t.elapsed();
    eprintln!("killed node detected after {took:?} ({reason})");
    assert_eq!((inc, reason), (k.incarnation, NodeDownReason::Disconnected));
    // Target 50 ms; the margin is for a loaded 2-core machine.
    assert!(took < Duration::from_millis(250), "{took:?}");
    assert_eq!(a.counts().peers, 0);
    a.stop().await;
}

#[tokio::test]
async fn a_hung_node_is_down_within_three_ticks_and_rejoins_as_a_new_incarnation() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let a = Node::start(server.node_config("a")).await.unwrap();
    let mut h = NodeProc::start(&server, "h", TICK).await;
    assert_eq!(
        a.wait_for_node(&h.name, Duration::from_secs(5)).await,
        Some(h.incarnation)
    );
    h.expect_line("UP a", Duration::from_secs(5)).await;
    let mut events = a.monitor_nodes();
    let t = Instant::now();
    h.signal("STOP");
    let (inc, reason) = next_down(&mut events, &h.name, Duration::from_secs(5)).await;
    let took = t.elapsed();
    eprintln!("hung node detected after {took:?} ({reason}); bound 3 ticks + 100 ms = 850 ms");
    assert_eq!((inc, reason), (h.incarnation, NodeDownReason::Silent));
    assert!(
        took <= TICK * 3 + Duration::from_millis(100) + Duration::from_millis(250),
        "{took:?}"
    );
    // Old pids are dead for good.
    let old_echo = a.remote::<EchoApi>(h.echo());
    h.signal("CONT");
    let resumed = Instant::now();
    // The hung node learns it was declared down, resets its connections
    // and comes back as a new incarnation.
    let fenced = h.expect_line("DOWN a", Duration::from_secs(5)).await;
    eprintln!("resumed node fenced itself after {:?}", resumed.elapsed());
    assert!(fenced.ends_with(" fenced"), "{fenced}");
    let up = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(NodeEvent::Up { node, incarnation }) = events.recv().await
                && node == h.name
            {
                return incarnation;
            }
        }
    })
    .await
    .unwrap();
    assert!(up > h.incarnation, "{up} > {}", h.incarnation);
    assert_eq!(
        old_echo.call(EchoRequest::Echo("x".into())).await,
        Err(RemoteCallError::NoProcess)
    );
    let renamed = a.remote_named::<EchoApi>("echo", &h.name);
    assert_eq!(
        renamed.call(EchoRequest::Echo("back".into())).await,
        Ok("back".to_owned())
    );
    h.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_call_in_flight_fails_fast_when_its_node_dies() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let a = Node::start(server.node_config("a")).await.unwrap();
    let k = NodeProc::start(&server, "k", TICK).await;
    assert!(
        a.wait_for_node(&k.name, Duration::from_secs(5))
            .await
            .is_some()
    );
    let r = a.remote::<EchoApi>(k.echo());
    let call =
        tokio::spawn(async move { r.call(EchoRequest::Sleep(10_000, "never".into())).await });
    // The request is on its way once the callee has it; a plain echo after
    // it on the same connection proves that.
    let probe = a.remote::<EchoApi>(k.echo());
    assert_eq!(
        probe.call(EchoRequest::Echo("p".into())).await,
        Ok("p".to_owned())
    );
    let t = Instant::now();
    k.signal("KILL");
    let result = call.await.unwrap();
    let took = t.elapsed();
    eprintln!("in-flight call failed after {took:?}: {result:?}");
    assert_eq!(
        result,
        Err(RemoteCallError::NoConnection {
            node: k.name.clone()
        })
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
    a.stop().await;
}

#[tokio::test]
async fn killing_one_of_three_nats_servers_is_no_node_down() {
    let Some(mut cluster) = NatsCluster::start(3).await else {
        return;
    };
    // a uses s1 only (it learns the others from the server); b uses s2, s3.
    let mut ca = cluster.node_config("a").tick(TICK);
    ca.urls = vec![cluster.servers()[0].url()];
    let mut cb = cluster.node_config("b").tick(TICK);
    cb.urls = vec![cluster.servers()[1].url(), cluster.servers()[2].url()];
    let a = Node::start(ca.kv_replicas(3)).await.unwrap();
    let b = Node::start(cb.kv_replicas(3)).await.unwrap();
    assert!(
        a.wait_for_node(b.name(), Duration::from_secs(5))
            .await
            .is_some()
    );
    assert!(
        b.wait_for_node(a.name(), Duration::from_secs(5))
            .await
            .is_some()
    );
    let mut ea = a.monitor_nodes();
    let mut eb = b.monitor_nodes();
    cluster.server_mut(0).kill().await;
    // Ten ticks: a false down would show by then.
    let quiet = tokio::time::timeout(TICK * 10, async {
        tokio::select! {
            e = ea.recv() => e,
            e = eb.recv() => e,
        }
    })
    .await;
    assert!(
        quiet.is_err(),
        "false node event after a server kill: {quiet:?}"
    );
    // And a reaches b again (through another server).
    let echo = arbor_process::GenServer::start(Echo::default())
        .await
        .unwrap();
    let gpid = b.export(&echo);
    let r = a.remote::<EchoApi>(gpid);
    assert_eq!(
        r.call(EchoRequest::Echo("via s2".into())).await,
        Ok("via s2".to_owned())
    );
    a.stop().await;
    b.stop().await;
}
