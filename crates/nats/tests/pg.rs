//! Process groups against a real nats-server: join/leave/members across
//! nodes, members that exit, nodes that stop, send-to-all once per member,
//! send-to-any to exactly one member, typed delivery and bad names.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use arbor_nats::testkit::NatsServer;
use arbor_nats::{GlobalPid, Node, PgError, PgEvent, PgEvents, PgScope};
use arbor_process::{Ctx, ExitReason, Msg, Process, ProcessRef, spawn};
use tokio::sync::mpsc;

const DEADLINE: Duration = Duration::from_secs(5);

/// A member that reports `(its pid id, message)` for every message.
fn member(out: &mpsc::UnboundedSender<(u64, String)>) -> ProcessRef<String> {
    let out = out.clone();
    spawn(move |mut ctx: Ctx<String>| async move {
        let me = ctx.handle().pid().id();
        while let Msg::Message(m) = ctx.recv().await {
            let _ = out.send((me, m));
        }
        ExitReason::Normal
    })
}

/// Waits until `scope`'s view of `group` has exactly `n` members.
async fn wait_members(events: &mut PgEvents, scope: &PgScope, group: &str, n: usize) -> Duration {
    let t = Instant::now();
    while scope.members(group).len() != n {
        match tokio::time::timeout(DEADLINE, events.recv()).await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("pg events ended"),
            Err(_) => panic!(
                "{group}: {} members on {:?}, not {n}, after {DEADLINE:?}",
                scope.members(group).len(),
                scope
            ),
        }
    }
    t.elapsed()
}

async fn recv(rx: &mut mpsc::UnboundedReceiver<(u64, String)>) -> (u64, String) {
    tokio::time::timeout(DEADLINE, rx.recv())
        .await
        .expect("no delivery within the deadline")
        .expect("members gone")
}

#[tokio::test]
async fn joins_and_leaves_are_seen_by_every_node() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    let (s1, s2) = (n1.pg("work").await.unwrap(), n2.pg("work").await.unwrap());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (a, b) = (member(&tx), member(&tx));
    let (now, mut ev2) = s2.monitor("g");
    assert!(now.is_empty());

    s1.join("g", &a).await.unwrap();
    s2.join("g", &b).await.unwrap();
    let ga = n1.global_pid(a.pid());
    let gb = n2.global_pid(b.pid());
    // The joining node's view has its member at once.
    assert_eq!(s1.local_members("g"), vec![ga.clone()]);
    let lag = wait_members(&mut ev2, &s2, "g", 2).await;
    eprintln!("a remote join seen after {lag:?}");
    // A member found in the view is addressable by its global pid.
    n2.remote_pid(ga.clone())
        .send(&"direct".to_owned())
        .await
        .unwrap();
    assert_eq!(recv(&mut rx).await, (a.pid().id(), "direct".to_owned()));
    assert_eq!(s2.members("g"), vec![ga.clone(), gb.clone()]);
    assert_eq!(s2.local_members("g"), vec![gb.clone()]);
    assert_eq!(s2.which_groups(), vec!["g".to_owned()]);

    // A node that starts later gets the others' members by discovery.
    let n3 = Node::start(server.node_config("n3")).await.unwrap();
    let s3 = n3.pg("work").await.unwrap();
    let mut ev3 = s3.monitor_scope();
    wait_members(&mut ev3, &s3, "g", 2).await;

    let (_, mut leaves) = s2.monitor("g");
    assert_eq!(s1.leave("g", a.pid()).await, Ok(true));
    assert_eq!(s1.leave("g", a.pid()).await, Ok(false));
    wait_members(&mut ev2, &s2, "g", 1).await;
    wait_members(&mut ev3, &s3, "g", 1).await;
    assert_eq!(s3.members("g"), vec![gb]);
    // The leave was an event with the pid that left.
    assert_eq!(
        leaves.recv().await,
        Some(PgEvent::Leave {
            group: "g".into(),
            pids: vec![ga]
        })
    );
    // Scopes are independent.
    let other = n2.pg("other").await.unwrap();
    assert!(other.members("g").is_empty());
    for n in [&n1, &n2, &n3] {
        n.stop().await;
    }
}

#[tokio::test]
async fn a_member_that_exits_leaves_and_a_stopped_node_takes_its_members() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    let (s1, s2) = (n1.pg("work").await.unwrap(), n2.pg("work").await.unwrap());
    let (tx, _rx) = mpsc::unbounded_channel();
    let (a, b, c) = (member(&tx), member(&tx), member(&tx));
    let mut ev2 = s2.monitor_scope();
    s1.join("g", &a).await.unwrap();
    s1.join("h", &a).await.unwrap();
    s1.join("g", &b).await.unwrap();
    s2.join("g", &c).await.unwrap();
    wait_members(&mut ev2, &s2, "g", 3).await;

    let t = Instant::now();
    a.kill();
    wait_members(&mut ev2, &s2, "g", 2).await;
    wait_members(&mut ev2, &s2, "h", 0).await;
    eprintln!(
        "an exited member gone on the other node after {:?}",
        t.elapsed()
    );
    assert_eq!(s1.members("h"), Vec::<GlobalPid>::new());

    let t = Instant::now();
    n1.stop().await;
    wait_members(&mut ev2, &s2, "g", 1).await;
    eprintln!("a stopped node's members gone after {:?}", t.elapsed());
    assert_eq!(s2.members("g"), vec![n2.global_pid(c.pid())]);
    assert_eq!(s1.join("g", &b).await, Err(PgError::Stopped));
    n2.stop().await;
}

#[tokio::test]
async fn send_all_delivers_once_to_every_member_of_every_node() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    let (s1, s2) = (n1.pg("work").await.unwrap(), n2.pg("work").await.unwrap());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ms: Vec<_> = (0..4).map(|_| member(&tx)).collect();
    s1.join("g", &ms[0]).await.unwrap();
    s1.join("g", &ms[1]).await.unwrap();
    s2.join("g", &ms[2]).await.unwrap();
    s2.join("g", &ms[3]).await.unwrap();
    // Not in the group: gets nothing.
    let outsider = member(&tx);
    s2.join("other", &outsider).await.unwrap();
    let mut ev1 = s1.monitor_scope();
    wait_members(&mut ev1, &s1, "g", 4).await;
    wait_members(&mut ev1, &s1, "other", 1).await;

    let t = Instant::now();
    for i in 0..10 {
        s1.send_all("g", &format!("m{i}")).await.unwrap();
    }
    let mut got: HashMap<u64, Vec<String>> = HashMap::new();
    for _ in 0..40 {
        let (who, m) = recv(&mut rx).await;
        got.entry(who).or_default().push(m);
    }
    eprintln!(
        "40 deliveries of 10 send_all to 4 members on 2 nodes in {:?}",
        t.elapsed()
    );
    let want: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    assert_eq!(got.len(), 4);
    for m in &ms {
        // Every member, each message once, in send order.
        assert_eq!(got[&m.pid().id()], want, "{}", m.pid());
    }
    // Nothing more arrives: a marker to the outsider's group is the last.
    s1.send_all("other", &"end".to_owned()).await.unwrap();
    assert_eq!(recv(&mut rx).await, (outsider.pid().id(), "end".to_owned()));
    n1.stop().await;
    n2.stop().await;
}

#[tokio::test]
async fn send_any_delivers_each_message_to_exactly_one_member() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    let n3 = Node::start(server.node_config("n3")).await.unwrap();
    let (s1, s2, s3) = (
        n1.pg("work").await.unwrap(),
        n2.pg("work").await.unwrap(),
        n3.pg("work").await.unwrap(),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ms: Vec<_> = (0..4).map(|_| member(&tx)).collect();
    s1.join("g", &ms[0]).await.unwrap();
    s2.join("g", &ms[1]).await.unwrap();
    s2.join("g", &ms[2]).await.unwrap();
    s1.join("end", &ms[0]).await.unwrap();
    s2.join("end", &ms[1]).await.unwrap();
    s2.join("end", &ms[2]).await.unwrap();
    // n3 has no member: it sends only. A group nobody joined is an error.
    assert_eq!(
        s3.send_any("empty", &"x".to_owned()).await,
        Err(PgError::NoMembers("empty".into()))
    );
    let mut ev3 = s3.monitor_scope();
    wait_members(&mut ev3, &s3, "g", 3).await;
    wait_members(&mut ev3, &s3, "end", 3).await;

    let n = 60;
    for i in 0..n {
        s3.send_any("g", &format!("m{i}")).await.unwrap();
    }
    let mut per_member: HashMap<u64, usize> = HashMap::new();
    let mut seen = Vec::new();
    for _ in 0..n {
        let (who, m) = recv(&mut rx).await;
        *per_member.entry(who).or_default() += 1;
        seen.push(m);
    }
    // After every member got the marker, nothing else is in flight.
    s3.send_all("end", &"end".to_owned()).await.unwrap();
    for _ in 0..3 {
        assert_eq!(recv(&mut rx).await.1, "end");
    }
    seen.sort();
    let mut want: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
    want.sort();
    assert_eq!(seen, want, "each message exactly once");
    eprintln!("send_any spread over members: {per_member:?}");
    for n in [&n1, &n2, &n3] {
        n.stop().await;
    }
}

#[tokio::test]
async fn messages_of_another_type_are_dropped_not_delivered() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let s1 = n1.pg("work").await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let strings = member(&tx);
    let (ntx, mut nrx) = mpsc::unbounded_channel();
    let numbers = spawn(move |mut ctx: Ctx<u64>| async move {
        while let Msg::Message(m) = ctx.recv().await {
            let _ = ntx.send(m);
        }
        ExitReason::Normal
    });
    s1.join("g", &strings).await.unwrap();
    s1.join("g", &numbers).await.unwrap();
    s1.send_all("g", &7u64).await.unwrap();
    s1.send_all("g", &"text".to_owned()).await.unwrap();
    // Each member got only its own type; the other was logged and dropped.
    assert_eq!(recv(&mut rx).await.1, "text");
    assert_eq!(
        tokio::time::timeout(DEADLINE, nrx.recv()).await.unwrap(),
        Some(7)
    );
    s1.send_all("g", &8u64).await.unwrap();
    assert_eq!(
        tokio::time::timeout(DEADLINE, nrx.recv()).await.unwrap(),
        Some(8)
    );
    assert!(rx.try_recv().is_err());
    assert!(strings.is_alive() && numbers.is_alive());
    n1.stop().await;
}

#[tokio::test]
async fn bad_scopes_groups_and_dead_processes_are_typed_errors() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    for bad in ["", "a.b", "a b", "*"] {
        assert_eq!(
            n1.pg(bad).await.unwrap_err(),
            PgError::InvalidScope(bad.into())
        );
    }
    let s = n1.pg("work").await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let m = member(&tx);
    for bad in [String::new(), "x".repeat(201)] {
        assert!(matches!(
            s.join(&bad, &m).await,
            Err(PgError::InvalidGroup { .. })
        ));
        assert!(matches!(
            s.send_all(&bad, &"x".to_owned()).await,
            Err(PgError::InvalidGroup { .. })
        ));
    }
    // Group names that are not subject tokens are encoded, and kept apart.
    for odd in ["a.b", "a b", "a.any", "日本"] {
        s.join(odd, &m).await.unwrap();
        s.send_all(odd, &odd.to_owned()).await.unwrap();
        assert_eq!(recv(&mut rx).await.1, odd);
    }
    s.join("a", &m).await.unwrap();
    s.send_any("a", &"plain".to_owned()).await.unwrap();
    assert_eq!(recv(&mut rx).await.1, "plain");
    let dead = member(&tx);
    dead.kill();
    dead.wait().await;
    assert_eq!(
        s.join("g", &dead).await,
        Err(PgError::NoProcess(dead.pid()))
    );
    n1.stop().await;
}
