//! The distribution metrics of docs/metrics.md (feature `metrics`), read
//! back from a `metrics-util` `DebuggingRecorder` in force for the test's
//! thread: a `current_thread` runtime runs both nodes, their NATS clients
//! and the processes on that thread, so every count lands there. Exact
//! values after a known sequence, against a real nats-server.
//!
//! `cargo test -p arbor-nats --features testkit,metrics --test metrics`

use std::time::Duration;

use arbor_nats::metrics::{NODE_DOWN, NODE_UP, REMOTE_CALLS};
use arbor_nats::testkit::{Echo, EchoApi, EchoRequest, NatsServer};
use arbor_nats::{Node, NodeId, Protocol};
use arbor_process::{GenServer, Process, register};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// A counter read from a snapshot: name, labels, value.
type Read = (String, Vec<(String, String)>, u64);

fn counters(s: &Snapshotter) -> Vec<Read> {
    s.snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(ck, _, _, v)| match v {
            DebugValue::Counter(n) => {
                let key = ck.key();
                let labels = key
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect();
                Some((key.name().to_owned(), labels, n))
            }
            _ => None,
        })
        .collect()
}

/// Every counter of `name` that moved since the last snapshot, as
/// `(labels, value)`, sorted.
fn of(snap: &[Read], name: &str) -> Vec<(Vec<(String, String)>, u64)> {
    let mut out: Vec<_> = snap
        .iter()
        .filter(|(n, _, v)| n == name && *v > 0)
        .map(|(_, l, v)| {
            let mut l = l.clone();
            l.sort();
            (l, *v)
        })
        .collect();
    out.sort();
    out
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The Echo server's name, with a request type it does not take.
struct WrongApi;
impl Protocol for WrongApi {
    type Call = u64;
    type Reply = String;
    type Cast = ();
}

#[test]
fn remote_calls_are_counted_by_outcome_and_node_events_by_peer_and_reason() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(scenario(snapshotter));
    });
}

async fn scenario(snapshotter: Snapshotter) {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    let (id1, id2) = (NodeId::new("n1"), NodeId::new("n2"));
    assert!(
        n1.wait_for_node(&id2, Duration::from_secs(10))
            .await
            .is_some()
    );
    assert!(
        n2.wait_for_node(&id1, Duration::from_secs(10))
            .await
            .is_some()
    );
    let echo = Echo::default().start().await.unwrap();
    register("metrics_echo", echo.pid()).unwrap();
    n2.export(&echo);

    let to_echo = n1.remote_named::<EchoApi>("metrics_echo", &id2);
    for _ in 0..3 {
        assert_eq!(
            to_echo.call(EchoRequest::Echo("hi".into())).await.unwrap(),
            "hi"
        );
    }
    let nobody = n1.remote_named::<EchoApi>("nobody", &id2);
    assert!(nobody.call(EchoRequest::Echo("x".into())).await.is_err());
    let absent = n1.remote_named::<EchoApi>("metrics_echo", &NodeId::new("n3"));
    assert!(absent.call(EchoRequest::Echo("x".into())).await.is_err());
    let wrong = n1.remote_named::<WrongApi>("metrics_echo", &id2);
    assert!(wrong.call(7).await.is_err());
    let slow = to_echo
        .call_timeout(
            EchoRequest::Sleep(2000, "late".into()),
            Duration::from_millis(50),
        )
        .await;
    assert!(slow.is_err());
    assert!(
        to_echo
            .call(EchoRequest::Crash("boom".into()))
            .await
            .is_err()
    );

    let snap = counters(&snapshotter);
    assert_eq!(
        of(&snap, REMOTE_CALLS),
        vec![
            (labels(&[("outcome", "decode")]), 1),
            (labels(&[("outcome", "exited")]), 1),
            (labels(&[("outcome", "noconnection")]), 1),
            (labels(&[("outcome", "noproc")]), 1),
            (labels(&[("outcome", "ok")]), 3),
            (labels(&[("outcome", "timeout")]), 1),
        ]
    );
    assert_eq!(
        of(&snap, NODE_UP),
        vec![
            (labels(&[("peer", "n1")]), 1),
            (labels(&[("peer", "n2")]), 1)
        ],
        "n1 saw n2 up, n2 saw n1 up"
    );
    assert_eq!(of(&snap, NODE_DOWN), vec![]);

    // n2 leaves: n1 sees it down (`shutdown`); n2, stopping, resets its
    // connection to n1: one down of n1 with reason `stopped`.
    let mut down = n1.monitor_node(&id2);
    n2.stop().await;
    down.down().await;
    let snap = counters(&snapshotter);
    let downs = of(&snap, NODE_DOWN);
    println!("node downs: {downs:?}");
    assert_eq!(
        downs,
        vec![
            (labels(&[("peer", "n1"), ("reason", "stopped")]), 1),
            (labels(&[("peer", "n2"), ("reason", "shutdown")]), 1)
        ]
    );
    assert_eq!(
        of(&snap, REMOTE_CALLS),
        vec![],
        "no call since the last snapshot"
    );
    n1.stop().await;
}
