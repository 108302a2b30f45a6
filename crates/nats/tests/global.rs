//! Global names against real nats-servers: registration and clashes, the
//! cached and the fresh lookup, unregistration, cleanup when a holder
//! exits or its node stops, names that are not plain keys, and a minority
//! partition that cannot register.

mod common;

use std::time::{Duration, Instant};

use arbor_nats::RemoteCallError;
use arbor_nats::testkit::{Echo, EchoApi, EchoRequest, NatsCluster, NatsServer};
use arbor_nats::{GlobalError, GlobalPid, NameEvent, NameEvents, Node};
use arbor_process::GenServer;
use arbor_process::{Ctx, Process, ProcessRef, spawn};

const DEADLINE: Duration = Duration::from_secs(5);

fn idle() -> ProcessRef<()> {
    spawn(|mut ctx: Ctx<()>| async move {
        loop {
            ctx.recv().await;
        }
    })
}

/// Waits for the first event matching `want`; how long it took.
async fn wait_event(events: &mut NameEvents, want: impl Fn(&NameEvent) -> bool) -> Duration {
    let t = Instant::now();
    let mut other = Vec::new();
    loop {
        match tokio::time::timeout(DEADLINE, events.recv()).await {
            Ok(Some(e)) if want(&e) => return t.elapsed(),
            Ok(Some(e)) => other.push(e),
            Ok(None) => panic!("name events ended"),
            Err(_) => panic!("no matching name event within {DEADLINE:?}; saw {other:?}"),
        }
    }
}

/// Waits until every name in `names` was unregistered, in any order.
async fn wait_unregistered(events: &mut NameEvents, names: &[&str]) -> Duration {
    let t = Instant::now();
    let mut left: Vec<String> = names.iter().map(|n| n.to_string()).collect();
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

fn registered(name: &str, pid: &GlobalPid) -> impl Fn(&NameEvent) -> bool {
    let (name, pid) = (name.to_owned(), pid.clone());
    move |e| matches!(e, NameEvent::Registered { name: n, pid: p } if *n == name && *p == pid)
}

#[tokio::test]
async fn a_name_has_one_holder_seen_by_every_node() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    let mut seen_by_n2 = n2.monitor_names();
    let (p1, p2) = (idle(), idle());
    let g1 = n1.global_pid(p1.pid());

    let t = Instant::now();
    n1.register_name("svc", p1.pid()).await.unwrap();
    eprintln!("register_name took {:?}", t.elapsed());
    // The registering node's view has it at once.
    assert_eq!(n1.whereis_name("svc"), Some(g1.clone()));
    let lag = wait_event(&mut seen_by_n2, registered("svc", &g1)).await;
    eprintln!("n2's view got the name {lag:?} after the register returned");
    assert_eq!(n2.whereis_name("svc"), Some(g1.clone()));
    assert_eq!(
        n2.whereis_name_fresh("svc").await.unwrap(),
        Some(g1.clone())
    );
    assert_eq!(n2.registered_names(), vec!["svc".to_owned()]);

    // A clash names the holder, from either node.
    assert_eq!(
        n2.register_name("svc", p2.pid()).await,
        Err(GlobalError::AlreadyRegistered {
            name: "svc".into(),
            holder: g1.clone()
        })
    );
    assert_eq!(
        n1.register_name("svc", p2.pid()).await,
        Err(GlobalError::AlreadyRegistered {
            name: "svc".into(),
            holder: g1.clone()
        })
    );
    assert_eq!(n2.whereis_name("svc"), Some(g1));
    assert_eq!(n1.whereis_name("nope"), None);
    assert_eq!(n1.whereis_name_fresh("nope").await.unwrap(), None);
    n1.stop().await;
    n2.stop().await;
}

#[tokio::test]
async fn concurrent_registrations_have_exactly_one_winner() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    for round in 0..10 {
        let name = format!("race{round}");
        let (p1, p2) = (idle(), idle());
        let (a, b) = tokio::join!(
            n1.register_name(&name, p1.pid()),
            n2.register_name(&name, p2.pid())
        );
        let winner = match (&a, &b) {
            (Ok(()), Err(GlobalError::AlreadyRegistered { holder, .. })) => {
                assert_eq!(*holder, n1.global_pid(p1.pid()));
                holder.clone()
            }
            (Err(GlobalError::AlreadyRegistered { holder, .. }), Ok(())) => {
                assert_eq!(*holder, n2.global_pid(p2.pid()));
                holder.clone()
            }
            other => panic!("round {round}: {other:?}"),
        };
        assert_eq!(n1.whereis_name_fresh(&name).await.unwrap(), Some(winner));
    }
    n1.stop().await;
    n2.stop().await;
}

#[tokio::test]
async fn unregister_frees_the_name_everywhere() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    let mut seen_by_n2 = n2.monitor_names();
    let (p1, p2) = (idle(), idle());
    n1.register_name("svc", p1.pid()).await.unwrap();
    wait_event(&mut seen_by_n2, registered("svc", &n1.global_pid(p1.pid()))).await;

    assert_eq!(n1.unregister_name("svc").await, Ok(true));
    assert_eq!(n1.whereis_name("svc"), None);
    let lag = wait_unregistered(&mut seen_by_n2, &["svc"]).await;
    eprintln!("n2 saw the unregistration after {lag:?}");
    assert_eq!(n2.whereis_name("svc"), None);
    assert_eq!(n2.whereis_name_fresh("svc").await.unwrap(), None);
    assert_eq!(n1.unregister_name("svc").await, Ok(false));

    // Free again; and any node may unregister any name (as in OTP).
    n2.register_name("svc", p2.pid()).await.unwrap();
    assert_eq!(n1.unregister_name("svc").await, Ok(true));
    assert_eq!(n1.whereis_name_fresh("svc").await.unwrap(), None);
    // n2 forgot its hold: when p2 exits nothing is deleted by mistake.
    n1.register_name("svc", p1.pid()).await.unwrap();
    p2.kill();
    p2.wait().await;
    assert_eq!(
        n2.whereis_name_fresh("svc").await.unwrap(),
        Some(n1.global_pid(p1.pid()))
    );
    n1.stop().await;
    n2.stop().await;
}

#[tokio::test]
async fn a_holders_exit_removes_its_names() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    let mut seen_by_n2 = n2.monitor_names();
    let p1 = idle();
    let g1 = n1.global_pid(p1.pid());
    n1.register_name("a", p1.pid()).await.unwrap();
    n1.register_name("b", p1.pid()).await.unwrap();
    wait_event(&mut seen_by_n2, registered("b", &g1)).await;

    let t = Instant::now();
    p1.kill();
    wait_unregistered(&mut seen_by_n2, &["a", "b"]).await;
    eprintln!(
        "names of an exited holder gone on the other node after {:?}",
        t.elapsed()
    );
    assert_eq!(n2.registered_names(), Vec::<String>::new());
    assert_eq!(n2.whereis_name_fresh("a").await.unwrap(), None);
    assert_eq!(n2.whereis_name_fresh("b").await.unwrap(), None);
    n1.stop().await;
    n2.stop().await;
}

#[tokio::test]
async fn a_dead_process_cannot_register() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let p = idle();
    p.kill();
    p.wait().await;
    assert_eq!(
        n1.register_name("x", p.pid()).await,
        Err(GlobalError::NoProcess(p.pid()))
    );
    assert_eq!(n1.whereis_name_fresh("x").await.unwrap(), None);
    n1.stop().await;
}

#[tokio::test]
async fn stopping_a_node_removes_its_names() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    let mut seen_by_n2 = n2.monitor_names();
    let (p1, p2) = (idle(), idle());
    n1.register_name("one", p1.pid()).await.unwrap();
    n1.register_name("two", p2.pid()).await.unwrap();
    wait_event(&mut seen_by_n2, registered("two", &n1.global_pid(p2.pid()))).await;

    let t = Instant::now();
    n1.stop().await;
    eprintln!("n1.stop() took {:?}", t.elapsed());
    // Deleted before the stop returned.
    assert_eq!(n2.whereis_name_fresh("one").await.unwrap(), None);
    assert_eq!(n2.whereis_name_fresh("two").await.unwrap(), None);
    wait_unregistered(&mut seen_by_n2, &["one", "two"]).await;
    // The stopped node's API refuses politely.
    assert_eq!(
        n1.register_name("x", p1.pid()).await,
        Err(GlobalError::Stopped)
    );
    assert_eq!(n1.whereis_name("one"), None);
    n2.stop().await;
}

#[tokio::test]
async fn names_that_are_not_plain_keys_are_encoded_and_bad_ones_refused() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    let mut seen_by_n2 = n2.monitor_names();
    let odd = [
        "with space",
        "日本",
        "a..b",
        ".x",
        "=eq",
        "*",
        "a>b",
        "tab\there",
    ];
    let procs: Vec<_> = odd.iter().map(|_| idle()).collect();
    for (name, p) in odd.iter().zip(&procs) {
        n1.register_name(name, p.pid()).await.unwrap();
        assert_eq!(
            n1.whereis_name(name),
            Some(n1.global_pid(p.pid())),
            "{name:?}"
        );
    }
    for (name, p) in odd.iter().zip(&procs) {
        wait_event(&mut seen_by_n2, registered(name, &n1.global_pid(p.pid()))).await;
        assert_eq!(
            n2.whereis_name_fresh(name).await.unwrap(),
            Some(n1.global_pid(p.pid())),
            "{name:?}"
        );
    }
    let mut all: Vec<String> = odd.iter().map(|s| s.to_string()).collect();
    all.sort();
    assert_eq!(n2.registered_names(), all);
    // Encoded names clash like plain ones.
    assert!(matches!(
        n2.register_name("with space", procs[0].pid()).await,
        Err(GlobalError::AlreadyRegistered { .. })
    ));
    let p = idle();
    for bad in [String::new(), "x".repeat(201)] {
        assert!(
            matches!(
                n1.register_name(&bad, p.pid()).await,
                Err(GlobalError::InvalidName { .. })
            ),
            "{bad:?}"
        );
        assert!(matches!(
            n1.whereis_name_fresh(&bad).await,
            Err(GlobalError::InvalidName { .. })
        ));
        assert!(matches!(
            n1.unregister_name(&bad).await,
            Err(GlobalError::InvalidName { .. })
        ));
        assert_eq!(n1.whereis_name(&bad), None);
    }
    n1.stop().await;
    n2.stop().await;
}

#[tokio::test]
async fn a_minority_partition_cannot_register_but_still_answers_lookups() {
    let Some(mut cluster) = NatsCluster::start(3).await else {
        return;
    };
    let mut config = cluster.node_config("n1").kv_replicas(3);
    config.jetstream_timeout = Duration::from_millis(500);
    // Right after the cluster starts its JetStream is still settling: the
    // node's first replicated writes may fail at a 500 ms timeout.
    let deadline = Instant::now() + Duration::from_secs(15);
    let n1 = loop {
        match Node::start(config.clone()).await {
            Ok(n) => break n,
            Err(e) if Instant::now() < deadline => eprintln!("start: {e}; again"),
            Err(e) => panic!("{e}"),
        }
    };
    let (p1, p2) = (idle(), idle());
    // A new R3 stream elects its leader right after the node starts: the
    // first write may time out at 500 ms until it has one.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match n1.register_name("before", p1.pid()).await {
            Ok(()) => break,
            Err(GlobalError::Unavailable(e)) if Instant::now() < deadline => {
                eprintln!("first write: {e}; again");
            }
            Err(e) => panic!("{e}"),
        }
    }

    cluster.server_mut(1).kill().await;
    cluster.server_mut(2).kill().await;
    let t = Instant::now();
    let err = n1.register_name("after", p2.pid()).await.unwrap_err();
    let took = t.elapsed();
    eprintln!("register in a minority failed after {took:?}: {err}");
    assert!(matches!(err, GlobalError::Unavailable(_)), "{err:?}");
    // The cached view still answers, without the network.
    assert_eq!(n1.whereis_name("before"), Some(n1.global_pid(p1.pid())));
    assert_eq!(n1.whereis_name("after"), None);
    // A fresh read is a direct get that the surviving replica may answer
    // (possibly behind the majority); it never names another holder.
    match n1.whereis_name_fresh("before").await {
        Ok(holder) => assert_eq!(holder, Some(n1.global_pid(p1.pid()))),
        Err(e) => assert!(matches!(e, GlobalError::Unavailable(_)), "{e:?}"),
    }
    // Stopped while one server is left (its names' deletes then fail for
    // want of quorum and are given up with the node).
    n1.stop().await;
    drop(cluster);
}

#[tokio::test]
async fn a_globally_named_server_is_called_by_name_from_another_node() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    let mut seen_by_n2 = n2.monitor_names();
    let echo = Echo::default().start().await.unwrap();
    let gpid = n1.export(&echo);
    n1.register_name("echo", echo.pid()).await.unwrap();
    wait_event(&mut seen_by_n2, registered("echo", &gpid)).await;

    let r = n2.global_ref::<EchoApi>("echo").unwrap();
    assert_eq!(
        r.call(EchoRequest::Echo("hi".into())).await,
        Ok("hi".into())
    );
    assert!(n2.global_ref::<EchoApi>("nobody").is_none());
    // The holder exits: the name goes; a handle resolved before gets
    // NoProcess from the holder's node.
    echo.stop().await.unwrap();
    wait_unregistered(&mut seen_by_n2, &["echo"]).await;
    assert!(n2.global_ref::<EchoApi>("echo").is_none());
    assert_eq!(
        r.call(EchoRequest::Echo("hi".into())).await,
        Err(RemoteCallError::NoProcess)
    );
    n1.stop().await;
    n2.stop().await;
}

#[tokio::test]
async fn a_killed_nodes_names_are_deleted_by_the_survivors() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let tick = Duration::from_millis(250);
    let a = Node::start(server.node_config("a").tick(tick))
        .await
        .unwrap();
    let b = Node::start(server.node_config("b").tick(tick))
        .await
        .unwrap();
    let k = common::NodeProc::start(&server, "k", tick).await;
    assert!(a.wait_for_node(&k.name, DEADLINE).await.is_some());
    assert!(b.wait_for_node(&k.name, DEADLINE).await.is_some());
    // The name of k's echo server, written as k's registry would write it
    // (the node binary registers no names itself).
    let client = async_nats::ConnectOptions::new()
        .user_and_password("arbor".into(), "arbor-test-secret".into())
        .connect(server.url())
        .await
        .unwrap();
    let kv = async_nats::jetstream::new(client)
        .get_key_value("arbor_default_names")
        .await
        .unwrap();
    let mut seen_by_a = a.monitor_names();
    let mut seen_by_b = b.monitor_names();
    kv.create("k.echo", arbor_nats::encode(&k.echo()).unwrap().into())
        .await
        .unwrap();
    wait_event(&mut seen_by_a, registered("k.echo", &k.echo())).await;
    wait_event(&mut seen_by_b, registered("k.echo", &k.echo())).await;
    assert_eq!(b.whereis_name("k.echo"), Some(k.echo()));

    let mut down = a.monitor_nodes();
    let t = Instant::now();
    k.signal("KILL");
    let detected = loop {
        match tokio::time::timeout(DEADLINE, down.recv()).await.unwrap() {
            Some(arbor_nats::NodeEvent::Down { node, .. }) if node == k.name => break t.elapsed(),
            Some(_) => {}
            None => panic!("node events ended"),
        }
    };
    let gone = wait_unregistered(&mut seen_by_a, &["k.echo"]).await + detected;
    eprintln!("killed node: detected after {detected:?}, its name gone after {gone:?}");
    assert_eq!(a.whereis_name_fresh("k.echo").await.unwrap(), None);
    // Both survivors' views drop it (one of them deleted it).
    wait_unregistered(&mut seen_by_b, &["k.echo"]).await;
    assert_eq!(b.whereis_name("k.echo"), None);
    a.stop().await;
    b.stop().await;
}
