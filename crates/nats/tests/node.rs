//! Node start and stop against a real nats-server: configuration errors,
//! unreachable servers and authentication.

mod common;

use std::time::{Duration, Instant};

use arbor_nats::testkit::NatsServer;
use arbor_nats::{Credentials, Node, NodeConfig, NodeError, NodeId};
use common::{NodeProc, TICK, config};

#[tokio::test]
async fn node_starts_and_stops_on_a_real_server() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let node = Node::start(server.node_config("n1")).await.unwrap();
    assert_eq!(node.name().as_str(), "n1");
    assert!(node.incarnation() > 0);
    let mut events = node.monitor_nodes();
    node.stop().await;
    assert!(node.is_stopped());
    // The event stream ends with the node.
    assert_eq!(events.recv().await, None);
    node.stop().await; // idempotent
}

#[tokio::test]
async fn stop_returns_when_no_server_is_reachable() {
    let Some(mut server) = NatsServer::start().await else {
        return;
    };
    let node = Node::start(server.node_config("n1")).await.unwrap();
    server.kill().await;
    let started = Instant::now();
    // Generous bound: the flush, drain and goodbye are bounded at 1 s each,
    // the node-table write by the JetStream timeout.
    tokio::time::timeout(Duration::from_secs(30), node.stop())
        .await
        .expect("stop hung with the server gone");
    eprintln!("stop without a server took {:?}", started.elapsed());
    assert!(node.is_stopped());
}

#[tokio::test]
async fn incarnations_grow_across_restarts() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let a = Node::start(server.node_config("n1")).await.unwrap();
    let inc_a = a.incarnation();
    a.stop().await;
    let b = Node::start(server.node_config("n1")).await.unwrap();
    assert!(b.incarnation() > inc_a);
    b.stop().await;
}

#[tokio::test]
async fn an_unreachable_url_is_a_typed_error_within_the_deadline() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = NodeConfig::new("n1", [format!("nats://127.0.0.1:{port}")])
        .connect_timeout(Duration::from_millis(500));
    let t = Instant::now();
    let err = Node::start(config).await.unwrap_err();
    let took = t.elapsed();
    eprintln!("unreachable reported after {took:?}");
    assert!(matches!(err, NodeError::Unreachable { .. }), "{err:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn credentials_in_a_url_are_refused_before_connecting() {
    let config = NodeConfig::new("n1", ["nats://arbor:secret@127.0.0.1:4222"]);
    let err = Node::start(config).await.unwrap_err();
    assert_eq!(
        err,
        NodeError::CredentialsInUrl {
            url: "nats://***@127.0.0.1:4222".into()
        }
    );
    assert!(!err.to_string().contains("secret"));
}

#[tokio::test]
async fn bad_names_are_refused() {
    for (name, cluster) in [("a.b", "c"), ("", "c"), ("n1", "x.y"), ("n1", "*")] {
        let config = NodeConfig::new(name, ["nats://127.0.0.1:1"]).cluster(cluster);
        let err = Node::start(config).await.unwrap_err();
        assert!(
            matches!(err, NodeError::InvalidConfig(_)),
            "{name:?}/{cluster:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn a_server_requiring_credentials_rejects_a_node_without_them() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let config = server
        .node_config("intruder")
        .credentials(Credentials::None)
        .connect_timeout(Duration::from_secs(2));
    let err = Node::start(config).await.unwrap_err();
    assert!(matches!(err, NodeError::Auth(_)), "{err:?}");
    let wrong = server
        .node_config("intruder")
        .credentials(Credentials::UserPassword {
            user: "arbor".into(),
            password: "wrong".into(),
        })
        .connect_timeout(Duration::from_secs(2));
    let err = Node::start(wrong).await.unwrap_err();
    assert!(matches!(err, NodeError::Auth(_)), "{err:?}");
}

#[tokio::test]
async fn a_token_server_admits_the_token_only() {
    let Some(server) = NatsServer::start_token("t0ken").await else {
        return;
    };
    let node = Node::start(server.node_config("n1")).await.unwrap();
    node.stop().await;
    let err = Node::start(
        server
            .node_config("n2")
            .credentials(Credentials::Token("nope".into()))
            .connect_timeout(Duration::from_secs(2)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, NodeError::Auth(_)), "{err:?}");
}

#[tokio::test]
async fn a_name_held_by_a_live_node_is_refused_and_the_holder_keeps_running() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let a = Node::start(config(&server, "n1")).await.unwrap();
    let held = a.incarnation();
    let n1 = NodeId::new("n1");
    let p = Node::start(config(&server, "p")).await.unwrap();
    assert_eq!(
        p.wait_for_node(&n1, Duration::from_secs(5)).await,
        Some(held)
    );
    let mut events = p.monitor_nodes();
    let second = Node::start(config(&server, "n1")).await;
    assert_eq!(
        second.err(),
        Some(NodeError::NameInUse {
            node: NodeId::new("n1"),
            incarnation: held,
        })
    );
    // The holder was not fenced, and the refused start said no goodbye
    // under its name: the peer sees no change of n1 for 4 ticks (its
    // detector would declare a silent node down after 3), and reaches it.
    let quiet = tokio::time::timeout(TICK * 4, events.recv()).await;
    assert!(quiet.is_err(), "unexpected node event {quiet:?}");
    assert!(p.ping(&n1, Duration::from_secs(5)).await);
    assert_eq!(a.incarnation(), held);
    assert!(!a.is_stopped());
    // Once the holder has left, the name is free again.
    a.stop().await;
    let again = Node::start(config(&server, "n1")).await.unwrap();
    assert!(again.incarnation() > held);
    again.stop().await;
    p.stop().await;
}

/// Two starts of one name at the same moment (6 rounds): one holds it, the other is
/// refused, and the holder is never fenced (before the router answered
/// pings ahead of the claim, the second start could read the first's fresh
/// record, find nobody answering, and take the name).
#[tokio::test]
async fn two_starts_of_one_name_at_once_leave_one_holder_that_is_never_fenced() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let p = Node::start(config(&server, "p")).await.unwrap();
    let n1 = NodeId::new("n1");
    for round in 0..6 {
        let mut events = p.monitor_nodes();
        let (x, y) = tokio::join!(
            Node::start(config(&server, "n1")),
            Node::start(config(&server, "n1"))
        );
        let (holder, refused) = match (x, y) {
            (Ok(h), Err(e)) | (Err(e), Ok(h)) => (h, e),
            (Ok(a), Ok(b)) => panic!(
                "round {round}: both started ({} and {})",
                a.incarnation(),
                b.incarnation()
            ),
            (Err(a), Err(b)) => panic!("round {round}: both refused ({a}; {b})"),
        };
        let held = holder.incarnation();
        assert_eq!(
            refused,
            NodeError::NameInUse {
                node: n1.clone(),
                incarnation: held
            },
            "round {round}"
        );
        assert_eq!(
            p.wait_for_node(&n1, Duration::from_secs(5)).await,
            Some(held),
            "round {round}"
        );
        // Not fenced: no down of the holder for a tick (a fenced node
        // learns it from the watch of its own record within milliseconds,
        // and would rejoin under a new incarnation), and it answers.
        let deadline = tokio::time::Instant::now() + TICK;
        while let Ok(Some(e)) = tokio::time::timeout_at(deadline, events.recv()).await {
            assert!(
                !matches!(&e, arbor_nats::NodeEvent::Down { node, .. } if *node == n1),
                "round {round}: {e:?}"
            );
        }
        assert_eq!(holder.incarnation(), held, "round {round}: fenced");
        assert!(p.ping(&n1, Duration::from_secs(5)).await);
        holder.stop().await;
        // The next round starts once p has seen this holder leave.
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Some(arbor_nats::NodeEvent::Down {
                    node, incarnation, ..
                }) = events.recv().await
                    && node == n1
                    && incarnation == held
                {
                    return;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("round {round}: p did not see the holder leave"));
    }
    p.stop().await;
}

#[tokio::test]
async fn a_name_left_alive_by_a_killed_node_can_start_before_detection() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let k = NodeProc::start(&server, "k", TICK).await;
    // Another process holds the name and answers: refused.
    assert_eq!(
        Node::start(config(&server, "k")).await.err(),
        Some(NodeError::NameInUse {
            node: k.name.clone(),
            incarnation: k.incarnation,
        })
    );
    // Killed, its record is still alive (nobody declared it down yet), but
    // a ping finds no responder (or no answer): the name is replaceable.
    k.signal("KILL");
    let started = Instant::now();
    let again = Node::start(config(&server, "k")).await.unwrap();
    eprintln!(
        "restart over a killed node's live record took {:?}",
        started.elapsed()
    );
    assert!(again.incarnation() > k.incarnation);
    drop(k);
    again.stop().await;
}
