//! Node start and stop against a real nats-server: configuration errors,
//! unreachable servers and authentication.

use std::time::{Duration, Instant};

use arbor_nats::testkit::NatsServer;
use arbor_nats::{Credentials, Node, NodeConfig, NodeError};

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
