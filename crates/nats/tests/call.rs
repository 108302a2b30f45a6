//! Remote calls and casts between two nodes on a real server: every
//! outcome has its own typed error.

mod common;

use std::time::Duration;

use arbor_nats::testkit::{Echo, EchoApi, EchoRequest, NatsServer};
use arbor_nats::{
    Envelope, GlobalPid, Kind, Node, NodeId, Protocol, RemoteCallError, Target, Wire,
    WireExitReason, encode,
};
use arbor_process::{GenServer, StartOpts};
use common::start_node;
use serde::{Deserialize, Serialize};

async fn two_nodes(server: &NatsServer) -> (Node, Node, GlobalPid) {
    let a = start_node(server, "a", &[]).await;
    let b = start_node(server, "b", &[&a]).await;
    let echo = Echo::default().start().await.unwrap();
    let gpid = b.export(&echo);
    (a, b, gpid)
}

#[tokio::test]
async fn call_by_pid_returns_the_reply() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let (a, b, echo) = two_nodes(&server).await;
    let r = a.remote::<EchoApi>(echo.clone());
    assert_eq!(
        r.call(EchoRequest::Echo("hi".into())).await,
        Ok("hi".to_owned())
    );
    // Casts arrive, in order with calls from the same node.
    r.cast("c1".into()).await.unwrap();
    assert_eq!(
        r.call(EchoRequest::Echo("last".into())).await,
        Ok("c1".to_owned())
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn call_by_name_on_a_node() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let a = start_node(&server, "a", &[]).await;
    let b = start_node(&server, "b", &[&a]).await;
    let echo = Echo::default()
        .start_opts(StartOpts::new().name("echo_by_name"))
        .await
        .unwrap();
    b.export(&echo);
    let r = a.remote_named::<EchoApi>("echo_by_name", b.name());
    assert_eq!(
        r.call(EchoRequest::Echo("n".into())).await,
        Ok("n".to_owned())
    );
    let missing = a.remote_named::<EchoApi>("no_such_name", b.name());
    assert_eq!(
        missing.call(EchoRequest::Echo("n".into())).await,
        Err(RemoteCallError::NoProcess)
    );
    let nowhere = a.remote_named::<EchoApi>("echo_by_name", &NodeId::new("nowhere"));
    assert_eq!(
        nowhere.call(EchoRequest::Echo("n".into())).await,
        Err(RemoteCallError::NoConnection {
            node: NodeId::new("nowhere")
        })
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_dead_process_is_noproc_and_an_unknown_node_is_noconnection() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let (a, b, echo) = two_nodes(&server).await;
    let mut dead = echo.clone();
    dead.id = 999_999_999;
    let r = a.remote::<EchoApi>(dead);
    assert_eq!(
        r.call(EchoRequest::Echo("x".into())).await,
        Err(RemoteCallError::NoProcess)
    );
    let mut elsewhere = echo.clone();
    elsewhere.node = NodeId::new("ghost");
    let r = a.remote::<EchoApi>(elsewhere);
    let t = std::time::Instant::now();
    assert_eq!(
        r.call(EchoRequest::Echo("x".into())).await,
        Err(RemoteCallError::NoConnection {
            node: NodeId::new("ghost")
        })
    );
    eprintln!("noconnection (no responders) after {:?}", t.elapsed());
    assert!(t.elapsed() < Duration::from_secs(1));
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_pid_of_an_earlier_incarnation_is_noproc() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let (a, b, echo) = two_nodes(&server).await;
    b.stop().await;
    let b2 = start_node(&server, "b", &[&a]).await;
    assert!(b2.incarnation() > echo.incarnation);
    let r = a.remote::<EchoApi>(echo);
    assert_eq!(
        r.call(EchoRequest::Echo("x".into())).await,
        Err(RemoteCallError::NoProcess)
    );
    a.stop().await;
    b2.stop().await;
}

#[tokio::test]
async fn a_slow_callee_times_out_and_a_crashing_one_reports_its_reason() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let (a, b, echo) = two_nodes(&server).await;
    let r = a.remote::<EchoApi>(echo.clone());
    let t = std::time::Instant::now();
    assert_eq!(
        r.call_timeout(
            EchoRequest::Sleep(2_000, "late".into()),
            Duration::from_millis(200)
        )
        .await,
        Err(RemoteCallError::Timeout)
    );
    let took = t.elapsed();
    eprintln!("timeout after {took:?}");
    assert!(took >= Duration::from_millis(200) && took < Duration::from_millis(1500));
    assert_eq!(
        r.call(EchoRequest::Crash("boom".into())).await,
        Err(RemoteCallError::Exited(WireExitReason::Custom(
            "boom".into()
        )))
    );
    // Now it is dead: noproc.
    assert_eq!(
        r.call(EchoRequest::Echo("x".into())).await,
        Err(RemoteCallError::NoProcess)
    );
    a.stop().await;
    b.stop().await;
}

/// A protocol whose request tag differs from Echo's.
struct OtherApi;
#[derive(Serialize, Deserialize)]
struct Other(u32);
impl Wire for Other {
    const TAG: &'static str = "test.Other/v1";
}
impl Protocol for OtherApi {
    type Call = Other;
    type Reply = String;
    type Cast = ();
}

/// Echo's requests, but expecting a reply of another type.
struct WrongReplyApi;
impl Protocol for WrongReplyApi {
    type Call = EchoRequest;
    type Reply = u64;
    type Cast = ();
}

#[tokio::test]
async fn type_tag_mismatches_name_both_tags() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let (a, b, echo) = two_nodes(&server).await;
    assert_eq!(
        a.remote::<OtherApi>(echo.clone()).call(Other(1)).await,
        Err(RemoteCallError::Decode {
            expected: EchoRequest::TAG.into(),
            got: Other::TAG.into()
        })
    );
    assert_eq!(
        a.remote::<WrongReplyApi>(echo.clone())
            .call(EchoRequest::Echo("x".into()))
            .await,
        Err(RemoteCallError::Decode {
            expected: u64::TAG.into(),
            got: String::TAG.into()
        })
    );
    // The server is unharmed.
    let r = a.remote::<EchoApi>(echo);
    assert_eq!(
        r.call(EchoRequest::Echo("ok".into())).await,
        Ok("ok".to_owned())
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn payloads_over_the_server_limit_are_refused_with_sizes() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let (a, b, echo) = two_nodes(&server).await;
    let r = a.remote::<EchoApi>(echo);
    let huge = "y".repeat(2 * 1024 * 1024);
    match r.call(EchoRequest::Echo(huge)).await {
        Err(RemoteCallError::PayloadTooLarge { size, max }) => assert!(size > max, "{size} {max}"),
        other => panic!("{other:?}"),
    }
    // A reply too large for the server.
    match r.call(EchoRequest::Big(2 * 1024 * 1024)).await {
        Err(RemoteCallError::PayloadTooLarge { size, max }) => assert!(size > max, "{size} {max}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.call(EchoRequest::Big(3)).await, Ok("xxx".to_owned()));
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn garbage_on_the_router_subject_is_dropped_and_the_router_lives() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let (a, b, echo) = two_nodes(&server).await;
    let client = server.raw_client("forger").await.unwrap();
    let router_before = b
        .supervisor()
        .which_child("router")
        .await
        .unwrap()
        .state
        .pid();
    let subject = format!("arbor.default.node.b.{}", b.incarnation());
    for junk in [&b""[..], b"\xff\xff\xff", b"hello world", &[0u8; 64][..]] {
        client
            .publish(subject.clone(), junk.to_vec().into())
            .await
            .unwrap();
        // As a request too: the router must not answer garbage.
        client
            .publish_with_reply(subject.clone(), client.new_inbox(), junk.to_vec().into())
            .await
            .unwrap();
    }
    client.flush().await.unwrap();
    let r = a.remote::<EchoApi>(echo);
    assert_eq!(
        r.call(EchoRequest::Echo("alive".into())).await,
        Ok("alive".to_owned())
    );
    let after = b
        .supervisor()
        .which_child("router")
        .await
        .unwrap()
        .state
        .pid();
    assert_eq!(after, router_before, "the router was not restarted");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn envelopes_of_another_cluster_or_incarnation_are_dropped() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let (a, b, echo) = two_nodes(&server).await;
    let client = server.raw_client("forger").await.unwrap();
    let subject = format!("arbor.default.node.b.{}", b.incarnation());
    let forged = |cluster: &str, incarnation| Envelope {
        cluster: cluster.into(),
        from: GlobalPid {
            node: a.name().clone(),
            incarnation: a.incarnation(),
            id: 0,
        },
        to_incarnation: incarnation,
        to: Target::Id(echo.id),
        kind: Kind::Cast,
        body: encode(&format!("{cluster}/{incarnation}")).unwrap(),
    };
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Arbor-Type", String::TAG);
    for env in [
        forged("arbor.other", b.incarnation()),
        forged("arbor.default", 1),
    ] {
        let bytes = encode(&env).unwrap();
        client
            .publish_with_headers(subject.clone(), headers.clone(), bytes.into())
            .await
            .unwrap();
    }
    // The same envelope from this cluster and incarnation is delivered.
    let good = encode(&forged("arbor.default", b.incarnation())).unwrap();
    client
        .publish_with_headers(subject, headers, good.into())
        .await
        .unwrap();
    client.flush().await.unwrap();
    let r = a.remote::<EchoApi>(echo);
    // One connection, one order: once the good one is in, the forged
    // ones were handled before it.
    let casts = loop {
        let l = r.call(EchoRequest::Echo("casts".into())).await.unwrap();
        if !l.is_empty() {
            break l;
        }
    };
    assert_eq!(casts, format!("arbor.default/{}", b.incarnation()));
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn send_delivers_a_plain_message_to_an_exported_process() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let a = start_node(&server, "a", &[]).await;
    let b = start_node(&server, "b", &[&a]).await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let receiver = arbor_process::spawn(move |mut ctx: arbor_process::Ctx<String>| async move {
        if let arbor_process::Msg::Message(m) = ctx.recv().await {
            let _ = tx.send(m);
        }
        arbor_process::ExitReason::Normal
    });
    let gpid = b.export_process(&receiver);
    let remote = a.remote_pid(gpid);
    // A message of another type is refused there (logged), not delivered.
    remote.send(&7u64).await.unwrap();
    remote.send(&"hello".to_owned()).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, "hello");
    a.stop().await;
    b.stop().await;
}
