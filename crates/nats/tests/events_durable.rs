//! Event managers across nodes, durable level: JetStream stream + durable
//! consumer per subscribing node. Order and sequences, no loss across a
//! subscriber restart (in order and by `kill -9`), backpressure on the
//! stream. Against a real nats-server (skipped loudly without one).

mod common;
mod events_node;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use arbor_genevent::{EventManager, EventManagerRef, StreamOpts};
use arbor_nats::testkit::NatsServer;
use arbor_nats::{EventTopic, ExportedEvents, Level, Mirror, Node, RemoteEvent, RemoteItem};
use futures::StreamExt;
use tokio::sync::mpsc;

use common::{config, start_node};
use events_node::{EventsNode, forward};

type Ev = RemoteEvent<u64>;

/// Events a run that stopped had taken come again after `ack_wait`
/// (5 s): waits up to 20 s for each.
async fn recv_n(rx: &mut mpsc::UnboundedReceiver<Ev>, n: usize) -> Vec<Ev> {
    events_node::recv_within(rx, n, Duration::from_secs(20)).await
}

fn topic(name: &str) -> EventTopic<u64> {
    EventTopic::<u64>::new(name).level(Level::Durable)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_events_reach_every_subscriber_in_order_with_their_sequences() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = start_node(&server, "n1", &[]).await;
    let n2 = start_node(&server, "n2", &[&n1]).await;
    let n3 = start_node(&server, "n3", &[&n1, &n2]).await;
    let topic = topic("ledger");
    let mgr = EventManager::<u64>::start().await.unwrap();
    let export = n1.export_events(&topic, &mgr).await.unwrap();
    let m2 = n2.subscribe_events(&topic).await.unwrap();
    let m3 = n3.subscribe_events(&topic).await.unwrap();
    let (mut r2, mut r3) = (forward(m2.manager()).await, forward(m3.manager()).await);
    for i in 1..=300 {
        mgr.notify(i);
    }
    // Returns once stored (and every earlier event before it).
    export.sync_notify(301).await.unwrap();
    for rx in [&mut r2, &mut r3] {
        let got = recv_n(rx, 301).await;
        let values: Vec<u64> = got.iter().map(|e| e.event).collect();
        assert_eq!(values, (1..=301).collect::<Vec<_>>());
        let seqs: Vec<u64> = got.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=301).collect::<Vec<_>>());
        let durable: Vec<u64> = got.iter().map(|e| e.durable_seq.unwrap()).collect();
        assert!(durable.windows(2).all(|w| w[0] < w[1]), "stream order");
        assert!(got.iter().all(|e| !e.redelivered));
        assert!(got[300].sync);
    }
    for n in [n3, n2, n1] {
        n.stop().await;
    }
}

/// n1 exports the durable topic `name`, n2 mirrors it into `rx`; events
/// 1..=51 sent (the last by `sync_notify`) and received.
struct Delivered {
    n1: Node,
    n2: Node,
    mgr: EventManagerRef<u64>,
    export: ExportedEvents<u64>,
    _mirror: Mirror<u64>,
    rx: mpsc::UnboundedReceiver<Ev>,
    first: Vec<Ev>,
}

async fn fifty_one_delivered(server: &NatsServer, name: &str) -> Delivered {
    let n1 = start_node(server, "n1", &[]).await;
    let n2 = start_node(server, "n2", &[&n1]).await;
    let topic = topic(name);
    let mgr = EventManager::<u64>::start().await.unwrap();
    let export = n1.export_events(&topic, &mgr).await.unwrap();
    let mirror = n2.subscribe_events(&topic).await.unwrap();
    let mut rx = forward(mirror.manager()).await;
    for i in 1..=50 {
        mgr.notify(i);
    }
    export.sync_notify(51).await.unwrap();
    let first = recv_n(&mut rx, 51).await;
    Delivered {
        n1,
        n2,
        mgr,
        export,
        _mirror: mirror,
        rx,
        first,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_stopped_and_restarted_gets_what_was_stored_meanwhile() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    // The first run's mirror and channel live on, as a stopped node's
    // would in an application.
    let Delivered {
        n1,
        n2,
        mgr,
        export,
        _mirror,
        rx: _first_rx,
        first,
    } = fifty_one_delivered(&server, "away").await;
    assert_eq!(first.last().unwrap().event, 51);
    let topic = topic("away");
    n2.stop().await;
    for i in 52..=150 {
        mgr.notify(i);
    }
    export.sync_notify(151).await.unwrap();
    let n2 = Node::start(config(&server, "n2")).await.unwrap();
    let m2 = n2.subscribe_events(&topic).await.unwrap();
    let mut rx = forward(m2.manager()).await;
    let restarted = Instant::now();
    let mut seen = BTreeSet::new();
    while seen.len() < 100 {
        let e = recv_n(&mut rx, 1).await.remove(0);
        assert!(e.event >= 52, "event {} was acknowledged before", e.event);
        seen.insert(e.event);
    }
    assert_eq!(seen, (52..=151).collect());
    eprintln!(
        "100 events stored while away, all there {:?} after the restart",
        restarted.elapsed()
    );
    n2.stop().await;
    n1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_subscriber_restarted_loses_no_durable_event() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = start_node(&server, "n1", &[]).await;
    let topic = topic("crash");
    let mgr = EventManager::<u64>::start().await.unwrap();
    let export = n1.export_events(&topic, &mgr).await.unwrap();
    let mut sub = EventsNode::start(&server, "n2", "crash", "durable").await;
    let mut got = Vec::new();
    for i in 1..=100 {
        mgr.notify(i);
    }
    export.sync_notify(101).await.unwrap();
    sub.child.start_kill().unwrap();
    sub.child.wait().await.unwrap();
    sub.drain(&mut got);
    for i in 102..=200 {
        mgr.notify(i);
    }
    export.sync_notify(201).await.unwrap();
    let mut sub = EventsNode::start(&server, "n2", "crash", "durable").await;
    // An event the killed run had taken comes again after `ack_wait` (5 s).
    let deadline = Instant::now() + Duration::from_secs(20);
    let all: BTreeSet<u64> = (1..=201).collect();
    loop {
        sub.drain(&mut got);
        let seen: BTreeSet<u64> = got.iter().copied().collect();
        if seen == all {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "missing {:?}",
            all.difference(&seen).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!(
        "201 events, {} deliveries (redelivered after the kill: {})",
        got.len(),
        got.len() - 201
    );
    drop(sub);
    n1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_stream_holds_the_consumer_back_until_read() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = start_node(&server, "n1", &[]).await;
    let n2 = start_node(&server, "n2", &[&n1]).await;
    let topic = topic("pressure").max_ack_pending(4);
    let mgr = EventManager::<u64>::start().await.unwrap();
    let export = n1.export_events(&topic, &mgr).await.unwrap();
    let mirror = n2.subscribe_events(&topic).await.unwrap();
    let mut stream = mirror.stream(StreamOpts::default()).await.unwrap();
    for i in 1..40 {
        mgr.notify(i);
    }
    export.sync_notify(40).await.unwrap(); // all 40 stored
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(
        first,
        RemoteItem::Event(RemoteEvent { event: 1, .. })
    ));
    // The consumer holds event 1: the mirror takes nothing else meanwhile.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = mirror.stats();
    eprintln!("while the consumer holds an event: {stats:?}");
    assert_eq!(stats.received, 1, "{stats:?}");
    let mut values = vec![1];
    while values.len() < 40 {
        match stream.next().await.unwrap().unwrap() {
            RemoteItem::Event(e) => values.push(e.event),
            RemoteItem::Lagged(k) => panic!("durable events are never lagged ({k})"),
        }
    }
    assert_eq!(values, (1..=40).collect::<Vec<_>>());
    n2.stop().await;
    n1.stop().await;
}

/// A crash of the NATS server (`kill -9`) and its restart on the same
/// store: every event notified before, in flight at the crash, and while
/// the clients reconnect, reaches the subscriber (at least once); its
/// durable consumer resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_events_survive_a_server_crash_and_restart() {
    let Some(mut server) = NatsServer::start().await else {
        return;
    };
    let Delivered {
        n1,
        n2,
        mgr,
        export: _export,
        _mirror,
        mut rx,
        first,
    } = fifty_one_delivered(&server, "restart").await;
    let mut got: Vec<u64> = first.iter().map(|e| e.event).collect();
    // In flight when the server dies: some stored, some not yet.
    for i in 52..=100 {
        mgr.notify(i);
    }
    server.restart().await.unwrap();
    let restarted = Instant::now();
    // Notified at once: the exporter's connection is still reconnecting.
    for i in 101..=150 {
        mgr.notify(i);
    }
    let all: BTreeSet<u64> = (1..=150).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen: BTreeSet<u64> = got.iter().copied().collect();
        if seen == all {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(e)) => got.push(e.event),
            Ok(None) => panic!("the mirror's forwarder ended"),
            Err(_) => panic!(
                "missing after 30 s: {:?}",
                all.difference(&seen).collect::<Vec<_>>()
            ),
        }
    }
    eprintln!(
        "150 events across a server restart: all there {:?} after it was healthy, {} deliveries",
        restarted.elapsed(),
        got.len()
    );
    n2.stop().await;
    n1.stop().await;
}
