//! Name cleanup on node loss, driven through the node's event hub (what
//! membership publishes), against a real server.

use std::time::{Duration, Instant};

use arbor_process::{Ctx, Process, ProcessRef, spawn};
use bytes::Bytes;

use super::cache::Names;
use super::{GlobalError, NameEvent, NameEvents};
use crate::node::{Node, NodeDownReason, NodeEvent};
use crate::testkit::NatsServer;
use crate::wire::{GlobalPid, NodeId, encode};

const DEADLINE: Duration = Duration::from_secs(5);

fn idle() -> ProcessRef<()> {
    spawn(|mut ctx: Ctx<()>| async move {
        loop {
            ctx.recv().await;
        }
    })
}

/// Waits until every name in `names` was unregistered, in any order.
async fn wait_unregistered(events: &mut NameEvents, names: &[&str]) -> Duration {
    let t = Instant::now();
    let mut left: Vec<&str> = names.to_vec();
    while !left.is_empty() {
        match tokio::time::timeout(DEADLINE, events.recv()).await {
            Ok(Some(NameEvent::Unregistered { name, .. })) => left.retain(|n| *n != name),
            Ok(Some(_)) => {}
            Ok(None) => panic!("name events ended"),
            Err(_) => panic!("{left:?} still registered after {DEADLINE:?}"),
        }
    }
    t.elapsed()
}

/// Writes an entry as a node run that is not running here would have.
async fn put_raw(node: &Node, name: &str, holder: &GlobalPid) -> u64 {
    let store = node.extension::<Names>().store().unwrap();
    store
        .put(
            super::key::key_of(name).unwrap(),
            Bytes::from(encode(holder).unwrap()),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn survivors_delete_the_names_of_a_node_declared_down() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    let n3 = Node::start(server.node_config("n3")).await.unwrap();
    let mut seen_by_n3 = n3.monitor_names();
    // The names of a node run that membership is about to declare down
    // (a node that is not running here, so only these events speak of it).
    let ghost = |id| GlobalPid {
        node: NodeId::new("ghost"),
        incarnation: 7,
        id,
    };
    put_raw(&n2, "x", &ghost(1)).await;
    put_raw(&n2, "y", &ghost(2)).await;
    loop {
        match tokio::time::timeout(DEADLINE, seen_by_n3.recv())
            .await
            .unwrap()
        {
            Some(NameEvent::Registered { pid, .. }) if pid == ghost(2) => break,
            Some(_) => {}
            None => panic!("ended"),
        }
    }
    // Both survivors learn of the loss; both delete, one delete per name
    // wins, the other finds the revision changed.
    let event = NodeEvent::Down {
        node: NodeId::new("ghost"),
        incarnation: 7,
        reason: NodeDownReason::Disconnected,
    };
    let t = Instant::now();
    n2.events().publish(&event);
    n3.events().publish(&event);
    wait_unregistered(&mut seen_by_n3, &["x", "y"]).await;
    eprintln!(
        "names of a node declared down gone everywhere after {:?}",
        t.elapsed()
    );
    assert_eq!(n3.whereis_name_fresh("x").await.unwrap(), None);
    assert_eq!(n2.whereis_name_fresh("y").await.unwrap(), None);
    assert!(n2.registered_names().is_empty());
    // The names are free again.
    let p = idle();
    n3.register_name("x", p.pid()).await.unwrap();
    n2.stop().await;
    n3.stop().await;
}

#[tokio::test]
async fn a_late_entry_of_a_dead_incarnation_is_deleted_when_seen() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    let mut seen = n2.monitor_names();
    n2.events().publish(&NodeEvent::Down {
        node: NodeId::new("gone"),
        incarnation: 100,
        reason: NodeDownReason::Silent,
    });
    // A write of the dead run that the bucket took after the event.
    let stale = GlobalPid {
        node: NodeId::new("gone"),
        incarnation: 99,
        id: 7,
    };
    put_raw(&n2, "late", &stale).await;
    wait_unregistered(&mut seen, &["late"]).await;
    assert_eq!(n2.whereis_name_fresh("late").await.unwrap(), None);
    // A newer run of that node keeps its names.
    let newer = GlobalPid {
        node: NodeId::new("gone"),
        incarnation: 101,
        id: 7,
    };
    put_raw(&n2, "newer", &newer).await;
    loop {
        match tokio::time::timeout(DEADLINE, seen.recv()).await.unwrap() {
            Some(NameEvent::Registered { pid, .. }) if pid == newer => break,
            Some(_) => {}
            None => panic!("ended"),
        }
    }
    assert_eq!(n2.whereis_name_fresh("newer").await.unwrap(), Some(newer));
    n2.stop().await;
}

#[tokio::test]
async fn a_restarted_node_deletes_what_its_earlier_runs_left() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let observer = Node::start(server.node_config("obs")).await.unwrap();
    // What a crashed earlier run of n1 left (written as it would have).
    let earlier = GlobalPid {
        node: NodeId::new("n1"),
        incarnation: 1,
        id: 5,
    };
    let mut seen = observer.monitor_names();
    put_raw(&observer, "left", &earlier).await;
    loop {
        match tokio::time::timeout(DEADLINE, seen.recv()).await.unwrap() {
            Some(NameEvent::Registered { pid, .. }) if pid == earlier => break,
            Some(_) => {}
            None => panic!("ended"),
        }
    }

    let new = Node::start(server.node_config("n1")).await.unwrap();
    // Cleaned during the start: the new run's view has it gone already.
    assert_eq!(new.whereis_name("left"), None);
    assert_eq!(new.whereis_name_fresh("left").await.unwrap(), None);
    wait_unregistered(&mut seen, &["left"]).await;
    // And the name is usable again.
    let q = idle();
    new.register_name("left", q.pid()).await.unwrap();
    assert!(matches!(
        observer.register_name("left", q.pid()).await,
        Err(GlobalError::AlreadyRegistered { .. })
    ));
    new.stop().await;
    observer.stop().await;
}
