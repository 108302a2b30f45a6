//! The cluster view (feature `nats`) against a real nats-server: two
//! nodes in this test process, each with its own tree and observer; each
//! page shows both trees grouped by node, the other node's restarts on
//! its timeline, and a stopped node as down (docs/observer.md).
//!
//! Skipped loudly when `nats-server` is missing; a failure when
//! `ARBOR_REQUIRE_SERVICES=1`.

mod support;

use std::time::{Duration, Instant};

use arbor_nats::testkit::NatsServer;
use arbor_nats::{Node, NodeId, Protocol, RemoteServer, Wire};
use arbor_observer::{Observer, ObserverHandle, ServeError};
use arbor_process::{
    Agent, Control, ExitReason, GenServer, Pid, Process, ReplyTo, ServerCtx, exit, register,
    whereis,
};
use arbor_supervisor::{ChildSpec, Supervisor, SupervisorRef};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use support::{Feed, get};

/// Generous bound for anything crossing the server (printed measured).
const WITHIN: Duration = Duration::from_secs(10);

/// The tests name their nodes alike, and a node's sample server is
/// registered under a name of this OS process (`arbor_observer:n1`): one
/// test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn one_worker(id: &'static str) -> SupervisorRef {
    Supervisor::one_for_one()
        .child(ChildSpec::worker(id, || Agent::start_link(|| 0u32)))
        .start()
        .await
        .unwrap()
}

async fn two_nodes(server: &NatsServer) -> (Node, Node) {
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    let id2 = NodeId::new("n2");
    let id1 = NodeId::new("n1");
    assert!(n1.wait_for_node(&id2, WITHIN).await.is_some());
    assert!(n2.wait_for_node(&id1, WITHIN).await.is_some());
    (n1, n2)
}

async fn observe(label: &str, sup: &SupervisorRef, node: &Node) -> ObserverHandle {
    Observer::builder()
        .tree(label, sup.clone())
        .cluster(node.clone())
        .sample_every(Duration::from_millis(50))
        .serve("127.0.0.1:0")
        .await
        .unwrap()
}

/// The entry of `name` in a `nodes` list.
fn node_entry<'a>(nodes: &'a Value, name: &str) -> Option<&'a Value> {
    nodes.as_array()?.iter().find(|n| n["node"] == name)
}

/// Reads the feed until the `nodes` list (from `hello` or `nodes`)
/// satisfies `want`; returns it.
async fn nodes_until(feed: &mut Feed, want: impl Fn(&Value) -> bool) -> Value {
    let wait = async {
        loop {
            let (event, data) = feed.next().await.expect("feed ended");
            if (event == "hello" || event == "nodes") && want(&data["nodes"]) {
                return data["nodes"].clone();
            }
        }
    };
    tokio::time::timeout(WITHIN, wait)
        .await
        .expect("the nodes list never got there")
}

fn first_child_pid(node: &Value) -> Pid {
    node["trees"][0]["root"]["children"][0]["pid"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn each_page_shows_both_nodes_trees_remote_restarts_and_a_stopped_node_as_down() {
    let _serial = SERIAL.lock().await;
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let (n1, n2) = two_nodes(&server).await;
    let (sup1, sup2) = (one_worker("a").await, one_worker("b").await);
    let obs1 = observe("app1", &sup1, &n1).await;
    let obs2 = observe("app2", &sup2, &n2).await;
    let mut feed = Feed::open(obs1.local_addr()).await;

    // Both pages show both trees, grouped by node.
    let t0 = Instant::now();
    let has_app2 =
        |nodes: &Value| node_entry(nodes, "n2").is_some_and(|n| n["trees"][0]["label"] == "app2");
    nodes_until(&mut feed, has_app2).await;
    println!("n2's tree on n1's page after {:?}", t0.elapsed());
    for (addr, me, other, my_tree, other_tree) in [
        (obs1.local_addr(), "n1", "n2", "app1", "app2"),
        (obs2.local_addr(), "n2", "n1", "app2", "app1"),
    ] {
        let wait = async {
            loop {
                let trees = get(addr, "/api/trees").await.json();
                if node_entry(&trees["nodes"], other)
                    .is_some_and(|n| n["trees"][0]["label"] == other_tree)
                {
                    return trees;
                }
                tokio::task::yield_now().await;
            }
        };
        let trees = tokio::time::timeout(WITHIN, wait).await.unwrap();
        assert_eq!(trees["node"], me);
        assert_eq!(trees["trees"][0]["label"], my_tree, "local trees as before");
        let nodes = trees["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 2, "{trees}");
        assert_eq!(
            (&nodes[0]["node"], &nodes[0]["local"], &nodes[0]["state"]),
            (&Value::from(me), &Value::from(true), &Value::from("up"))
        );
        assert_eq!(nodes[0]["trees"][0]["label"], my_tree);
        assert_eq!(
            (&nodes[1]["node"], &nodes[1]["local"], &nodes[1]["state"]),
            (&Value::from(other), &Value::from(false), &Value::from("up"))
        );
        assert_eq!(nodes[1]["error"], Value::Null);
        let listed = get(addr, "/api/nodes").await.json();
        assert_eq!(listed["node"], me);
        assert_eq!(listed["nodes"].as_array().unwrap().len(), 2);
    }

    // A crash on n2 shows on n1's timeline, with n2's pids and reason.
    let nodes = get(obs1.local_addr(), "/api/nodes").await.json();
    let b = first_child_pid(node_entry(&nodes["nodes"], "n2").unwrap());
    let t1 = Instant::now();
    exit(b, ExitReason::Kill);
    // Exit and restart may come in one update: wait for the restart, then
    // read both from the timeline.
    let restart = tokio::time::timeout(
        WITHIN,
        feed.until(|e| {
            e["node"] == "n2" && e["kind"] == "restart" && e["old_pid"] == b.to_string()
        }),
    )
    .await
    .unwrap();
    let timeline = get(obs1.local_addr(), "/api/timeline").await.json();
    let crash = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"] == "n2" && e["kind"] == "exit" && e["pid"] == b.to_string())
        .expect("n2's exit on n1's timeline")
        .clone();
    assert_eq!(crash["reason"], "killed");
    assert_eq!(crash["tree"], "app2");
    assert_eq!(crash["key"], "app2/b");
    assert!(
        restart["seq"].as_u64() > crash["seq"].as_u64(),
        "the exit comes first"
    );
    println!("n2's restart on n1's timeline after {:?}", t1.elapsed());
    // n1's own events carry its name.
    let timeline = get(obs1.local_addr(), "/api/timeline").await.json();
    let own = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["tree"] == "app1")
        .expect("n1's start");
    assert_eq!(own["node"], "n1");

    // n2 stops: n1's page shows it down with its reason, and no trees.
    obs2.stop().await;
    let t2 = Instant::now();
    n2.stop().await;
    let down = tokio::time::timeout(
        WITHIN,
        feed.until(|e| e["kind"] == "node_down" && e["node"] == "n2"),
    )
    .await
    .unwrap();
    assert_eq!(down["reason"], "shutdown");
    println!("n2 down on n1's timeline after {:?}", t2.elapsed());
    let nodes = get(obs1.local_addr(), "/api/nodes").await.json();
    let n2_entry = node_entry(&nodes["nodes"], "n2").unwrap();
    assert_eq!(n2_entry["state"], "down");
    assert_eq!(n2_entry["reason"], "shutdown");
    assert_eq!(n2_entry["trees"], serde_json::json!([]));

    obs1.stop().await;
    n1.stop().await;
    sup1.stop().await.unwrap();
    sup2.stop().await.unwrap();
}

#[tokio::test]
async fn a_node_without_an_observer_is_listed_with_the_reason_it_shows_no_trees() {
    let _serial = SERIAL.lock().await;
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let (n1, n2) = two_nodes(&server).await;
    let sup1 = one_worker("a").await;
    let obs1 = observe("app1", &sup1, &n1).await;
    let mut feed = Feed::open(obs1.local_addr()).await;
    let nodes = nodes_until(&mut feed, |nodes| {
        node_entry(nodes, "n2").is_some_and(|n| !n["error"].is_null())
    })
    .await;
    let entry = node_entry(&nodes, "n2").unwrap();
    assert_eq!(entry["state"], "up");
    assert_eq!(entry["trees"], serde_json::json!([]));
    assert!(
        entry["error"]
            .as_str()
            .unwrap()
            .contains("no observer runs on this node"),
        "{entry}"
    );
    obs1.stop().await;
    n2.stop().await;
    n1.stop().await;
    sup1.stop().await.unwrap();
}

#[tokio::test]
async fn a_second_observer_of_the_same_node_is_refused_and_a_stopped_one_leaves_nothing() {
    let _serial = SERIAL.lock().await;
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let sup = one_worker("a").await;
    let subscribers = n1.counts().event_subscribers;
    let obs = observe("app", &sup, &n1).await;
    let name = "arbor_observer:n1";
    let server_pid = whereis(name).expect("the sample server is registered");
    assert_eq!(n1.counts().exports, 1, "the sample server is exported");
    let second = Observer::builder()
        .cluster(n1.clone())
        .serve("127.0.0.1:0")
        .await;
    match second {
        Err(ServeError::Cluster(reason)) => {
            assert!(reason.contains("already shows node n1"), "{reason}");
        }
        other => panic!("expected a cluster error, got {other:?}"),
    }
    obs.stop().await;
    assert!(!arbor_process::is_alive(server_pid));
    assert_eq!(whereis(name), None);
    assert_eq!(n1.counts().event_subscribers, subscribers);
    // The export goes when its watcher sees the exit.
    for _ in 0..1000 {
        if n1.counts().exports == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(n1.counts().exports, 0);
    n1.stop().await;
    sup.stop().await.unwrap();
}

/// A stand-in for a hung observer: takes sample requests (the observer's
/// wire tag) and never answers them.
struct Hung(Vec<ReplyTo<String>>);

#[derive(Serialize, Deserialize)]
struct Sample {
    since: u64,
}
impl Wire for Sample {
    const TAG: &'static str = "arbor.observer.Sample/v1";
}
struct SampleApi;
impl Protocol for SampleApi {
    type Call = Sample;
    type Reply = String;
    type Cast = ();
}
impl GenServer for Hung {
    type Call = ReplyTo<String>;
    type Cast = ();
    type Info = ();
    async fn handle_call(&mut self, reply: ReplyTo<String>, _: &mut ServerCtx<Self>) -> Control {
        self.0.push(reply);
        Control::Continue
    }
}
impl RemoteServer for Hung {
    type Protocol = SampleApi;
    fn remote_call(_: Sample, reply: ReplyTo<String>) -> ReplyTo<String> {
        reply
    }
    fn remote_cast((): ()) {}
}

#[tokio::test]
async fn a_hung_peer_is_shown_with_its_timeout_and_does_not_hold_the_other_peers() {
    let _serial = SERIAL.lock().await;
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let (n1, n2) = two_nodes(&server).await;
    let n3 = Node::start(server.node_config("n3")).await.unwrap();
    assert!(n1.wait_for_node(&NodeId::new("n3"), WITHIN).await.is_some());
    let hung = Hung(Vec::new()).start().await.unwrap();
    register("arbor_observer:n2", hung.pid()).unwrap();
    n2.export(&hung);
    let (sup1, sup3) = (one_worker("a").await, one_worker("c").await);
    let obs1 = observe("app1", &sup1, &n1).await;
    let obs3 = observe("app3", &sup3, &n3).await;
    let mut feed = Feed::open(obs1.local_addr()).await;
    let t0 = Instant::now();
    let nodes = nodes_until(&mut feed, |nodes| {
        node_entry(nodes, "n2").is_some_and(|n| !n["error"].is_null())
            && node_entry(nodes, "n3").is_some_and(|n| n["trees"][0]["label"] == "app3")
    })
    .await;
    let took = t0.elapsed();
    println!(
        "n2's timeout shown after {took:?} (SAMPLE_TIMEOUT {:?})",
        arbor_observer::SAMPLE_TIMEOUT
    );
    let n2_entry = node_entry(&nodes, "n2").unwrap();
    assert_eq!(n2_entry["state"], "up");
    assert!(
        n2_entry["error"].as_str().unwrap().contains("timed out"),
        "{n2_entry}"
    );
    // n3 keeps being sampled while n2 hangs: a restart there shows.
    // (A round that waited for n2 would take SAMPLE_TIMEOUT.)
    let c = first_child_pid(node_entry(&nodes, "n3").unwrap());
    let t_kill = Instant::now();
    exit(c, ExitReason::Kill);
    tokio::time::timeout(
        WITHIN,
        feed.until(|e| {
            e["node"] == "n3" && e["kind"] == "restart" && e["old_pid"] == c.to_string()
        }),
    )
    .await
    .unwrap();
    let took = t_kill.elapsed();
    println!("n3's restart shown after {took:?} while n2 hangs");
    assert!(
        took < arbor_observer::SAMPLE_TIMEOUT,
        "n3 is sampled on its own: {took:?}"
    );
    // A stop does not wait for a sample in flight.
    let t1 = Instant::now();
    obs1.stop().await;
    println!(
        "stopped in {:?} with a sample of a hung peer in flight",
        t1.elapsed()
    );
    obs3.stop().await;
    hung.stop().await.unwrap();
    for n in [n1, n2, n3] {
        n.stop().await;
    }
    sup1.stop().await.unwrap();
    sup3.stop().await.unwrap();
}
