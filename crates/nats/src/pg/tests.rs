//! pg against a real server through crate internals: members of a node
//! declared down, a newer run replacing an older one, and garbage on the
//! wire.

use std::time::Duration;

use arbor_process::{Ctx, ExitReason, Msg, Process, spawn};
use bytes::Bytes;
use tokio::sync::mpsc;

use super::PgEvent;
use super::view::Ctl;
use crate::node::{Node, NodeDownReason, NodeEvent};
use crate::testkit::NatsServer;
use crate::wire::{GlobalPid, NodeId, TYPE_HEADER, encode};

const DEADLINE: Duration = Duration::from_secs(5);

async fn announce(node: &Node, scope: &str, ctl: &Ctl) {
    let subject = node.subject(&format!("pgc.{scope}"));
    node.client()
        .publish(subject, Bytes::from(encode(ctl).unwrap()))
        .await
        .unwrap();
}

fn ghost(incarnation: u64, id: u64) -> GlobalPid {
    GlobalPid {
        node: NodeId::new("ghost"),
        incarnation,
        id,
    }
}

#[tokio::test]
async fn members_of_a_node_declared_down_are_dropped() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let s1 = n1.pg("work").await.unwrap();
    let (_, mut ev) = s1.monitor("g");
    // A node run that is not running here announces two members.
    let join = |inc, ids: Vec<u64>| Ctl::Join {
        node: NodeId::new("ghost"),
        incarnation: inc,
        group: "g".into(),
        ids,
    };
    announce(&n1, "work", &join(7, vec![1, 2])).await;
    let e = tokio::time::timeout(DEADLINE, ev.recv()).await.unwrap();
    assert_eq!(
        e,
        Some(PgEvent::Join {
            group: "g".into(),
            pids: vec![ghost(7, 1), ghost(7, 2)]
        })
    );
    // An announcement of an older run is ignored; a down event of an
    // older run leaves the newer one alone.
    announce(&n1, "work", &join(6, vec![9])).await;
    n1.events().publish(&NodeEvent::Down {
        node: NodeId::new("ghost"),
        incarnation: 6,
        reason: NodeDownReason::Silent,
    });
    n1.events().publish(&NodeEvent::Down {
        node: NodeId::new("ghost"),
        incarnation: 7,
        reason: NodeDownReason::Disconnected,
    });
    let e = tokio::time::timeout(DEADLINE, ev.recv()).await.unwrap();
    assert_eq!(
        e,
        Some(PgEvent::Leave {
            group: "g".into(),
            pids: vec![ghost(7, 1), ghost(7, 2)]
        })
    );
    assert!(s1.members("g").is_empty());
    n1.stop().await;
}

#[tokio::test]
async fn garbage_on_the_wire_is_dropped_and_the_agent_lives_on() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let s1 = n1.pg("work").await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let m = spawn(move |mut ctx: Ctx<String>| async move {
        while let Msg::Message(s) = ctx.recv().await {
            let _ = tx.send(s);
        }
        ExitReason::Normal
    });
    s1.join("g", &m).await.unwrap();
    let agent = n1.extension::<super::agent::Agents>().0.lock()["work"].clone();
    let client = n1.client();
    // An announcement that does not decode.
    client
        .publish(
            n1.subject("pgc.work"),
            Bytes::from_static(&[0xff, 0xff, 0xff]),
        )
        .await
        .unwrap();
    // Group messages: no tag, the right tag with a body that does not
    // decode, and a tag the member does not take.
    let subject = n1.subject("pg.work.g");
    client
        .publish(subject.clone(), Bytes::from_static(b"x"))
        .await
        .unwrap();
    let mut h = async_nats::HeaderMap::new();
    h.insert(TYPE_HEADER, "string/v1");
    client
        .publish_with_headers(subject.clone(), h, Bytes::from_static(&[0xff]))
        .await
        .unwrap();
    let mut h = async_nats::HeaderMap::new();
    h.insert(TYPE_HEADER, "other/v9");
    client
        .publish_with_headers(subject.clone(), h, Bytes::from_static(&[1, 65]))
        .await
        .unwrap();
    // Then a good one: the first thing the member gets.
    s1.send_all("g", &"ok".to_owned()).await.unwrap();
    let got = tokio::time::timeout(DEADLINE, rx.recv()).await.unwrap();
    assert_eq!(got.as_deref(), Some("ok"));
    assert!(agent.is_alive() && m.is_alive());
    assert_eq!(s1.local_members("g"), vec![n1.global_pid(m.pid())]);
    n1.stop().await;
}
