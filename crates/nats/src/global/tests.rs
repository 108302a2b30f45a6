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

async fn wait_unregistered(events: &mut NameEvents, name: &str) -> Duration {
    let t = Instant::now();
    loop {
        match tokio::time::timeout(DEADLINE, events.recv()).await {
            Ok(Some(NameEvent::Unregistered { name: n, .. })) if n == name => return t.elapsed(),
            Ok(Some(_)) => {}
            Ok(None) => panic!("name events ended"),
            Err(_) => panic!("{name:?} still registered after {DEADLINE:?}"),
        }
    }
}

fn down(node: &Node) -> NodeEvent {
    NodeEvent::Down {
        node: node.name().clone(),
        incarnation: node.incarnation(),
        reason: NodeDownReason::Disconnected,
    }
}

/// Writes an entry as a node run that is not running here would have.
async fn put_raw(node: &Node, name: &str, holder: &GlobalPid) -> u64 {
    let store = node.extension::<Names>().store().unwrap();
    store
        .put(super::key::key_of(name).unwrap(), Bytes::from(encode(holder).unwrap()))
        .await
        .unwrap()
}

#[tokio::test]
async fn survivors_delete_the_names_of_a_node_declared_down() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    let n3 = Node::start(server.node_config("n3")).await.unwrap();
    let mut seen_by_n3 = n3.monitor_names();
    let (p1, p2) = (idle(), idle());
    n1.register_name("x", p1.pid()).await.unwrap();
    let g1 = n1.global_pid(p1.pid());
    loop {
        match seen_by_n3.recv().await {
            Some(NameEvent::Registered { pid, .. }) if pid == g1 => break,
            Some(_) => {}
            None => panic!("ended"),
        }
    }
    // Both survivors learn of n1's loss; both try, one delete wins.
    let t = Instant::now();
    n2.events().publish(&down(&n1));
    n3.events().publish(&down(&n1));
    let took = wait_unregistered(&mut seen_by_n3, "x").await;
    eprintln!("names of a node declared down gone after {took:?} (t={:?})", t.elapsed());
    assert_eq!(n3.whereis_name_fresh("x").await.unwrap(), None);

    // The name is free; the old holder's node, alive after all, never
    // deletes the newer registration (its delete names an old revision).
    n2.register_name("x", p2.pid()).await.unwrap();
    n1.stop().await;
    assert_eq!(
        n3.whereis_name_fresh("x").await.unwrap(),
        Some(n2.global_pid(p2.pid()))
    );
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
    wait_unregistered(&mut seen, "late").await;
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
    let old = Node::start(server.node_config("n1")).await.unwrap();
    let p = idle();
    let earlier = old.global_pid(p.pid());
    // A crash leaves its names behind (written as a crash would leave them).
    put_raw(&old, "left", &earlier).await;
    let observer = Node::start(server.node_config("obs")).await.unwrap();
    assert_eq!(observer.whereis_name("left"), Some(earlier.clone()));
    let mut seen = observer.monitor_names();
    // Not stopped in order: the entry stays until the next run cleans it.
    drop(old);

    let new = Node::start(server.node_config("n1")).await.unwrap();
    assert!(new.incarnation() > earlier.incarnation);
    // Cleaned during the start: the new run's view has it gone already.
    assert_eq!(new.whereis_name("left"), None);
    assert_eq!(new.whereis_name_fresh("left").await.unwrap(), None);
    wait_unregistered(&mut seen, "left").await;
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
