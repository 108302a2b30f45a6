//! Event managers across nodes, core levels (`notify`, `sync_notify`):
//! remote access, fan-out to mirrors, partial failures, retry dedupe,
//! streams with `Lagged`, remote owners, and no leftovers. Against a real
//! nats-server (skipped loudly without one).

mod common;
mod events_node;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arbor_genevent::{
    AddOpts, EventHandler, EventManager, Forwarder, Handled, HandlerCtx, HandlerId, Payload,
    RemoveReason, Step, StreamOpts,
};
use arbor_nats::testkit::NatsServer;
use arbor_nats::{
    EventTopic, GlobalPid, Level, MirrorError, MirrorFailure, Node, NodeId, RemoteEvent,
    RemoteItem, SyncNotifyError,
};
use arbor_process::Process;
use futures::StreamExt;
use tokio::sync::mpsc;

use common::start_node;
use events_node::forward;

type Ev = RemoteEvent<u64>;

async fn recv_n(rx: &mut mpsc::UnboundedReceiver<Ev>, n: usize) -> Vec<Ev> {
    events_node::recv_within(rx, n, Duration::from_secs(10)).await
}

/// Polls `cond` until it holds (bounded): for counters that have no event.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_notify_and_sync_notify_reach_the_exported_manager_in_order() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = start_node(&server, "n1", &[]).await;
    let n2 = start_node(&server, "n2", &[&n1]).await;
    let topic = EventTopic::<u64>::new("counter");
    let mgr = EventManager::<u64>::start().await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    mgr.add(Forwarder::to_channel(tx)).await.unwrap();
    n1.export_events(&topic, &mgr).await.unwrap();

    let remote = n2.remote_event_manager::<u64>("counter", n1.name());
    for i in 1..=200 {
        remote.notify(i);
    }
    remote.sync_notify(201).await.unwrap();
    // sync_notify returned: every handler ran for it, and for the notifies
    // this node sent before it.
    let mut got = Vec::new();
    while let Ok(e) = rx.try_recv() {
        got.push(e);
    }
    let missing: Vec<u64> = (1..=201).filter(|i| !got.contains(i)).collect();
    assert_eq!(
        got,
        (1..=201).collect::<Vec<_>>(),
        "{} events, missing {missing:?}, dropped {}",
        got.len(),
        remote.dropped_notifies()
    );
    assert_eq!(remote.dropped_notifies(), 0);

    // Typed errors: nothing exported under that name; a node that is not up.
    let missing = n2.remote_event_manager::<u64>("nothing", n1.name());
    assert_eq!(
        missing.sync_notify(1).await,
        Err(SyncNotifyError::NoProcess)
    );
    let nowhere = n2.remote_event_manager::<u64>("counter", &NodeId::new("n9"));
    assert_eq!(
        nowhere.sync_notify(1).await,
        Err(SyncNotifyError::NoConnection {
            node: NodeId::new("n9")
        })
    );
    // Another event type under the same name: a typed mismatch.
    let wrong = n2.remote_event_manager::<String>("counter", n1.name());
    assert!(matches!(
        wrong.sync_notify("x".into()).await,
        Err(SyncNotifyError::Decode { .. })
    ));
    n2.stop().await;
    n1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_level_fans_out_to_every_mirror_in_order_with_sequences() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = start_node(&server, "n1", &[]).await;
    let n2 = start_node(&server, "n2", &[&n1]).await;
    let n3 = start_node(&server, "n3", &[&n1, &n2]).await;
    let topic = EventTopic::<u64>::new("fan").level(Level::Notify);
    let mgr = EventManager::<u64>::start().await.unwrap();
    let export = n1.export_events(&topic, &mgr).await.unwrap();
    let m2 = n2.subscribe_events(&topic).await.unwrap();
    let m3 = n3.subscribe_events(&topic).await.unwrap();
    let mut r2 = forward(m2.manager()).await;
    let mut r3 = forward(m3.manager()).await;
    for i in 1..=500 {
        mgr.notify(i);
    }
    for (m, rx) in [(&m2, &mut r2), (&m3, &mut r3)] {
        let got = recv_n(rx, 500).await;
        let values: Vec<u64> = got.iter().map(|e| e.event).collect();
        assert_eq!(values, (1..=500).collect::<Vec<_>>());
        let seqs: Vec<u64> = got.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=500).collect::<Vec<_>>());
        assert!(got.iter().all(|e| e.origin == *n1.name() && !e.sync));
        assert_eq!(m.stats().lost, 0);
        assert_eq!(m.stats().dispatched, 500);
    }
    assert_eq!(export.stats().published, 500);
    assert_eq!(export.stats().dropped, 0);
    for n in [n3, n2, n1] {
        n.stop().await;
    }
}

/// A handler that says it started, then blocks its manager until released.
struct Gate {
    entered: mpsc::UnboundedSender<u64>,
    release: std::sync::mpsc::Receiver<()>,
    handled: Arc<AtomicU64>,
}

impl EventHandler<Ev> for Gate {
    fn handle_event(&mut self, e: &Ev, _: &HandlerCtx<'_, Ev>) -> Handled<Ev> {
        let _ = self.entered.send(e.event);
        // Hands this worker's other tasks to another thread while blocked.
        tokio::task::block_in_place(|| {
            let _ = self.release.recv();
        });
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(Step::Keep)
    }
}

fn gate() -> (
    Gate,
    mpsc::UnboundedReceiver<u64>,
    std::sync::mpsc::Sender<()>,
    Arc<AtomicU64>,
) {
    let (entered, entered_rx) = mpsc::unbounded_channel();
    let (release_tx, release) = std::sync::mpsc::channel();
    let handled = Arc::new(AtomicU64::new(0));
    let g = Gate {
        entered,
        release,
        handled: Arc::clone(&handled),
    };
    (g, entered_rx, release_tx, handled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_notify_returns_only_after_every_remote_handler_ran() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = start_node(&server, "n1", &[]).await;
    let n2 = start_node(&server, "n2", &[&n1]).await;
    let n3 = start_node(&server, "n3", &[&n1, &n2]).await;
    let topic = EventTopic::<u64>::new("sync").level(Level::SyncNotify);
    let mgr = EventManager::<u64>::start().await.unwrap();
    let export = n1.export_events(&topic, &mgr).await.unwrap();
    let m2 = n2.subscribe_events(&topic).await.unwrap();
    let m3 = n3.subscribe_events(&topic).await.unwrap();
    let (g, mut entered, release, handled) = gate();
    m2.manager().add(g).await.unwrap();
    let mut r3 = forward(m3.manager()).await;
    assert_eq!(export.stats().subscribers, 2);

    let call = tokio::spawn({
        let export = export.clone();
        async move { export.sync_notify(7).await }
    });
    assert_eq!(entered.recv().await, Some(7));
    // n3's handler ran, n2's is blocked: the origin still waits.
    assert_eq!(recv_n(&mut r3, 1).await[0].event, 7);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !call.is_finished(),
        "sync_notify returned before n2's handler ran"
    );
    assert_eq!(handled.load(Ordering::SeqCst), 0);
    release.send(()).unwrap();
    call.await.unwrap().unwrap();
    assert_eq!(handled.load(Ordering::SeqCst), 1);

    // The same through the manager itself, and from a third node.
    release.send(()).unwrap();
    mgr.sync_notify(8).await.unwrap();
    assert_eq!(handled.load(Ordering::SeqCst), 2);
    release.send(()).unwrap();
    let remote = n3.remote_event_manager::<u64>("sync", n1.name());
    remote.sync_notify(9).await.unwrap();
    assert_eq!(handled.load(Ordering::SeqCst), 3);
    let seqs: Vec<u64> = recv_n(&mut r3, 2).await.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![2, 3]);
    for n in [n3, n2, n1] {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_subscriber_is_named_in_a_partial_failure() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = start_node(&server, "n1", &[]).await;
    let n3 = start_node(&server, "n3", &[&n1]).await;
    let topic = EventTopic::<u64>::new("partial")
        .level(Level::SyncNotify)
        .sync_timeout(Duration::from_secs(2));
    let mgr = EventManager::<u64>::start().await.unwrap();
    let export = n1.export_events(&topic, &mgr).await.unwrap();
    let mut n2 = events_node::EventsNode::start(&server, "n2", "partial", "sync").await;
    let n2_name = NodeId::new("n2");
    n1.wait_for_node(&n2_name, Duration::from_secs(5))
        .await
        .unwrap();
    let m3 = n3.subscribe_events(&topic).await.unwrap();
    let mut r3 = forward(m3.manager()).await;
    // n2 registers when it sees n1 up.
    eventually("two subscribers", || export.stats().subscribers == 2).await;
    export.sync_notify(0).await.unwrap(); // both mirrors confirm
    let mut monitor = n1.monitor_node(&n2_name);
    n2.child.start_kill().unwrap();
    n2.child.wait().await.unwrap();
    monitor.down().await;
    let err = export.sync_notify(1).await.unwrap_err();
    assert_eq!(
        err,
        SyncNotifyError::Partial {
            failed: vec![MirrorFailure {
                node: n2_name.clone(),
                reason: MirrorError::NoConnection
            }]
        }
    );
    // The others got it; the failure is counted.
    let got: Vec<u64> = recv_n(&mut r3, 2).await.iter().map(|e| e.event).collect();
    assert_eq!(got, vec![0, 1]);
    assert_eq!(export.stats().sync_failures, 1);
    // A remote caller gets the same answer.
    let remote = n3.remote_event_manager::<u64>("partial", n1.name());
    match remote.sync_notify(2).await {
        Err(SyncNotifyError::Partial { failed }) => {
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].node, n2_name);
        }
        other => panic!("expected a partial failure, got {other:?}"),
    }
    n3.stop().await;
    n1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retried_sync_events_are_handled_once_by_the_mirror() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = start_node(&server, "n1", &[]).await;
    let n2 = start_node(&server, "n2", &[&n1]).await;
    let topic = EventTopic::<u64>::new("retry")
        .level(Level::SyncNotify)
        .sync_timeout(Duration::from_millis(100))
        .retry_until_confirmed(Duration::from_secs(20));
    let mgr = EventManager::<u64>::start().await.unwrap();
    let export = n1.export_events(&topic, &mgr).await.unwrap();
    let m2 = n2.subscribe_events(&topic).await.unwrap();
    let (g, mut entered, release, handled) = gate();
    m2.manager().add(g).await.unwrap();

    let call = tokio::spawn({
        let export = export.clone();
        async move { export.sync_notify(1).await }
    });
    assert_eq!(entered.recv().await, Some(1));
    // The first attempt times out while the handler is blocked: retried.
    eventually("a retry", || export.stats().retries >= 2).await;
    release.send(()).unwrap();
    call.await.unwrap().unwrap();
    assert_eq!(handled.load(Ordering::SeqCst), 1, "handled once");
    assert!(m2.stats().duplicates >= 1, "{:?}", m2.stats());
    assert_eq!(m2.stats().dispatched, 1);
    assert!(entered.try_recv().is_err(), "the retry reached no handler");
    n2.stop().await;
    n1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drops_at_the_bridge_are_counted_and_reported_as_lagged() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = start_node(&server, "n1", &[]).await;
    let n2 = start_node(&server, "n2", &[&n1]).await;
    // A bound of 0 at the bridge: every `notify` is dropped there, every
    // `sync_notify` goes through.
    let topic = EventTopic::<u64>::new("lossy").notify_bound(0);
    let mgr = EventManager::<u64>::start().await.unwrap();
    let export = n1.export_events(&topic, &mgr).await.unwrap();
    let mirror = n2.subscribe_events(&topic).await.unwrap();
    let mut stream = mirror.stream(StreamOpts::default()).await.unwrap();
    mgr.sync_notify(100).await.unwrap();
    for i in 1..=5 {
        mgr.notify(i);
    }
    mgr.sync_notify(200).await.unwrap();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
    };
    assert!(matches!(
        next().await,
        RemoteItem::Event(RemoteEvent {
            event: 100,
            seq: 1,
            ..
        })
    ));
    assert_eq!(next().await, RemoteItem::Lagged(5));
    assert!(matches!(
        next().await,
        RemoteItem::Event(RemoteEvent {
            event: 200,
            seq: 7,
            ..
        })
    ));
    assert_eq!(export.stats().dropped, 5);
    assert_eq!(mirror.stats().lost, 5);
    n2.stop().await;
    n1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_stream_consumer_gets_lagged_at_its_bound() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = start_node(&server, "n1", &[]).await;
    let n2 = start_node(&server, "n2", &[&n1]).await;
    let topic = EventTopic::<u64>::new("slow");
    let mgr = EventManager::<u64>::start().await.unwrap();
    n1.export_events(&topic, &mgr).await.unwrap();
    let mirror = n2.subscribe_events(&topic).await.unwrap();
    let mut stream = n2
        .remote_event_stream(&topic, StreamOpts::default().notify_bound(2))
        .await
        .unwrap();
    for i in 1..=10 {
        mgr.notify(i);
    }
    eventually("10 events at the mirror", || {
        mirror.stats().dispatched == 10
    })
    .await;
    // A request after them: the manager has dispatched all ten.
    mirror.manager().which_handlers().await.unwrap();
    let mut items = Vec::new();
    for _ in 0..3 {
        items.push(stream.next().await.unwrap().unwrap());
    }
    let events: Vec<String> = items
        .iter()
        .map(|i| match i {
            RemoteItem::Event(e) => format!("e{}", e.event),
            RemoteItem::Lagged(k) => format!("lagged{k}"),
        })
        .collect();
    assert_eq!(events, ["e1", "e2", "lagged8"]);
    // The next event is not reported lost again.
    mgr.notify(11);
    assert!(matches!(
        stream.next().await.unwrap().unwrap(),
        RemoteItem::Event(RemoteEvent {
            event: 11,
            seq: 11,
            ..
        })
    ));
    n2.stop().await;
    n1.stop().await;
}

/// Tells how it was removed.
struct Watched(mpsc::UnboundedSender<RemoveReason>);

impl EventHandler<u64> for Watched {
    fn handle_event(&mut self, _: &u64, _: &HandlerCtx<'_, u64>) -> Handled<u64> {
        Ok(Step::Keep)
    }
    fn terminate(&mut self, reason: &RemoveReason, _: &HandlerCtx<'_, u64>) -> Payload {
        let _ = self.0.send(reason.clone());
        Payload::unit()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_owned_on_a_killed_node_is_removed_with_noconnection() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = start_node(&server, "n1", &[]).await;
    let mut other = common::NodeProc::start(&server, "n2", common::TICK).await;
    n1.wait_for_node(&other.name, Duration::from_secs(5))
        .await
        .unwrap();
    let owner = GlobalPid {
        node: other.name.clone(),
        incarnation: other.incarnation,
        id: other.echo_id,
    };
    let mgr = EventManager::<u64>::start().await.unwrap();
    let (tx, mut removed) = mpsc::unbounded_channel();
    let id = HandlerId::of::<Watched>();
    mgr.add_handler_opts(
        id.clone(),
        Watched(tx),
        AddOpts::new().owner(n1.remote_owner(&owner).unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(mgr.which_handlers().await.unwrap(), vec![id]);
    let killed = Instant::now();
    other.child.start_kill().unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(5), removed.recv())
        .await
        .unwrap()
        .unwrap();
    eprintln!("handler removed {:?} after the kill", killed.elapsed());
    match reason {
        RemoveReason::OwnerExited(r) => assert!(r.is_noconnection(), "{r:?}"),
        other => panic!("expected OwnerExited(noconnection), got {other:?}"),
    }
    assert!(mgr.which_handlers().await.unwrap().is_empty());
    n1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_nodes_leaves_no_agent_subscription_or_stream() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = start_node(&server, "n1", &[]).await;
    let n2 = start_node(&server, "n2", &[&n1]).await;
    let topic = EventTopic::<u64>::new("leaks").level(Level::SyncNotify);
    let mgr = EventManager::<u64>::start().await.unwrap();
    let export = n1.export_events(&topic, &mgr).await.unwrap();
    let mirror = n2.subscribe_events(&topic).await.unwrap();
    export.sync_notify(1).await.unwrap();
    // (A stream nobody reads would hold a synchronous event: made after.)
    let stream = mirror.stream(StreamOpts::default()).await.unwrap();
    let (p1, p2) = (n1.events_probe(), n2.events_probe());
    assert_eq!((p1.counts().exports, p1.counts().agents), (1, 1));
    assert_eq!((p2.counts().mirrors, p2.counts().agents), (1, 1));
    assert_eq!(mgr.which_handlers().await.unwrap().len(), 1); // the bridge's stream
    let mirror_mgr = mirror.manager().clone();
    let (a1, a2) = (export.agent(), mirror.agent());
    n2.stop().await;
    n1.stop().await;
    for pid in [a1, a2] {
        assert!(!arbor_process::is_alive(pid));
    }
    assert_eq!(p1.counts(), Default::default());
    assert_eq!(p2.counts(), Default::default());
    // The mirror manager stopped in order, its stream ended; the exported
    // manager lives on without the bridge's subscription.
    assert!(!mirror_mgr.is_alive());
    let rest: Vec<_> = stream.collect().await;
    assert!(rest.is_empty(), "{rest:?}");
    assert!(mgr.which_handlers().await.unwrap().is_empty());
    mgr.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_topic_names_and_double_exports_are_typed_errors() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1: Node = start_node(&server, "n1", &[]).await;
    let mgr = EventManager::<u64>::start().await.unwrap();
    let bad = EventTopic::<u64>::new("a.b");
    assert!(matches!(
        n1.export_events(&bad, &mgr).await,
        Err(arbor_nats::EventsError::InvalidName(_))
    ));
    let topic = EventTopic::<u64>::new("once");
    n1.export_events(&topic, &mgr).await.unwrap();
    assert!(matches!(
        n1.export_events(&topic, &mgr).await,
        Err(arbor_nats::EventsError::AlreadyExported(_))
    ));
    let m = n1.subscribe_events(&topic).await.unwrap();
    let again = n1.subscribe_events(&topic).await.unwrap();
    assert_eq!(m.agent(), again.agent());
    assert!(matches!(
        n1.subscribe_events(&EventTopic::<String>::new("once"))
            .await,
        Err(arbor_nats::EventsError::TypeMismatch(_))
    ));
    n1.stop().await;
}
