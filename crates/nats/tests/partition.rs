//! A real silent partition: node `p` runs as an OS process inside its own
//! network namespace, reaching the server over a veth pair; taking the
//! host end of the pair down cuts it off without a RST or a FIN (unlike
//! `SIGSTOP` in membership.rs, `p` keeps running: its own detector, its
//! NATS client's pings and reconnects all go on). Asserts that the other
//! node, `a`, declares `p` down as `Silent` within 3 ticks (+ margin),
//! that calls to `p`'s old pids then fail with `NoConnection`, and that
//! after the heal `p` learns it was declared down and rejoins as a new
//! incarnation whose old pids answer `NoProcess` and whose names answer.
//!
//! Skips (loud banner) without `nats-server`, and without the rights to
//! make a network namespace (see `common::netns`), even with
//! `ARBOR_REQUIRE_SERVICES=1`: namespaces are not a service CI installs.

mod common;

use std::time::{Duration, Instant};

use arbor_nats::testkit::{EchoApi, EchoRequest, NatsServer};
use arbor_nats::{Incarnation, Node, NodeDownReason, NodeEvent, NodeEvents, RemoteCallError};
use common::NodeProc;
use common::netns::{self, Netns};

/// The default tick: the detection bound is stated for it.
const TICK: Duration = Duration::from_millis(250);

/// Bound of every wait that may include the NATS client's reconnect (its
/// ping interval is 1 s, two missed pongs drop the connection, and a
/// connect attempt can take 2 s) and TCP retransmission backoff.
const HEAL_WITHIN: Duration = Duration::from_secs(30);

/// The next event on `events` that `pick` accepts, logged with the time
/// since `t0`.
async fn next_event<T>(
    events: &mut NodeEvents,
    t0: Instant,
    within: Duration,
    what: &str,
    mut pick: impl FnMut(&NodeEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(within, async {
        loop {
            let e = events.recv().await.expect("a's event stream ended");
            eprintln!("[{:>6} ms] a: {e:?}", t0.elapsed().as_millis());
            if let Some(v) = pick(&e) {
                return v;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("a: no {what} within {within:?}"))
}

/// The next output line of `p` that `pick` accepts; every line is logged
/// with the time since `t0` (the evidence when something goes wrong).
async fn next_line(
    p: &mut NodeProc,
    t0: Instant,
    within: Duration,
    what: &str,
    pick: impl Fn(&str) -> bool,
) -> String {
    tokio::time::timeout(within, async {
        loop {
            let l = p.lines.recv().await.expect("p exited");
            eprintln!("[{:>6} ms] p: {l}", t0.elapsed().as_millis());
            if pick(&l) {
                return l;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("p: no {what} within {within:?}"))
}

#[tokio::test]
async fn a_partitioned_node_is_down_within_three_ticks_and_rejoins_as_a_new_incarnation() {
    let ns = match Netns::create() {
        Ok(ns) => ns,
        Err(why) => {
            // Not a failure even with ARBOR_REQUIRE_SERVICES=1: that
            // variable says the services CI installs (nats-server) must be
            // there; root and namespaces are the machine's, not a service.
            netns::skipped(&why);
            return;
        }
    };
    // `p` reaches the server over the veth, `a` over loopback: one
    // listener on every address of this namespace.
    let Some(server) = NatsServer::builder()
        .client_listen_host("0.0.0.0")
        .start()
        .await
    else {
        return;
    };
    let t0 = Instant::now();
    let a = Node::start(server.node_config("a").tick(TICK))
        .await
        .unwrap();
    let mut p = NodeProc::start_under(
        &server,
        "p",
        TICK,
        &ns.exec_prefix(),
        &server.url_at(ns.host_addr()),
        &[],
    )
    .await;
    let old = p.incarnation;
    assert_eq!(
        a.wait_for_node(&p.name, Duration::from_secs(5)).await,
        Some(old)
    );
    next_line(&mut p, t0, Duration::from_secs(5), "UP a", |l| {
        l == format!("UP a {}", a.incarnation())
    })
    .await;
    // p's connection really comes from inside the namespace.
    let connz = server.monitor("/connz").await.unwrap();
    let p_ip = connz["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == format!("arbor:p:{old}"))
        .map(|c| c["ip"].as_str().unwrap_or("").to_owned());
    assert_eq!(p_ip, Some(ns.ns_addr().to_string()), "{connz}");
    let a_before = a.incarnation();
    let old_echo = a.remote::<EchoApi>(p.echo());
    assert_eq!(
        old_echo.call(EchoRequest::Echo("before".into())).await,
        Ok("before".to_owned())
    );

    // Cut.
    let mut events = a.monitor_nodes();
    let cut = Instant::now();
    ns.set_link(false);
    eprintln!(
        "[{:>6} ms] link {} down",
        t0.elapsed().as_millis(),
        ns.host_if()
    );
    let (inc, reason) = next_event(
        &mut events,
        t0,
        Duration::from_secs(5),
        "down of p",
        |e| match e {
            NodeEvent::Down {
                node,
                incarnation,
                reason,
            } if *node == p.name => Some((*incarnation, reason.clone())),
            _ => None,
        },
    )
    .await;
    let detected = cut.elapsed();
    eprintln!(
        "PARTITION detected after {} ms (bound 3 ticks + 100 ms = 850 ms, + 250 ms margin)",
        detected.as_millis()
    );
    assert_eq!((inc, reason), (old, NodeDownReason::Silent));
    // The margin is for a loaded 2-core machine, as in membership.rs; the
    // link went down at an arbitrary point of p's heartbeat cycle, so
    // this is at most the bound, not near it.
    assert!(
        detected <= TICK * 3 + Duration::from_millis(100) + Duration::from_millis(250),
        "{detected:?}"
    );
    // p is down for a: a call to its pids fails at once, without waiting
    // for a timeout (p's subscription is still on the server, which has
    // not noticed anything).
    let asked = Instant::now();
    assert_eq!(
        old_echo.call(EchoRequest::Echo("cut".into())).await,
        Err(RemoteCallError::NoConnection {
            node: p.name.clone()
        })
    );
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    // (p's side: the node binary offers no operation to run on demand, so
    // nothing p-side is called here; its own view shows in its lines.)

    // Heal.
    let healed = Instant::now();
    ns.set_link(true);
    eprintln!(
        "[{:>6} ms] link {} up",
        t0.elapsed().as_millis(),
        ns.host_if()
    );
    let new: Incarnation = next_event(
        &mut events,
        t0,
        HEAL_WITHIN,
        "up of p's next incarnation",
        |e| match e {
            NodeEvent::Up { node, incarnation } if *node == p.name => Some(*incarnation),
            _ => None,
        },
    )
    .await;
    let rejoined = healed.elapsed();
    eprintln!(
        "HEAL: p up again as {new} after {} ms",
        rejoined.as_millis()
    );
    assert!(new > old, "{new} > {old}");
    // A new incarnation of p is what p does when it learns it was
    // declared down (fenced); before that, cut off, it saw a silent.
    // Whether it declared a down itself depends on where the cut fell in
    // each node's heartbeat cycle and on when TCP retransmitted after the
    // heal: either way it says a is down once, and then, a never having
    // been down, sees the same incarnation of a up again.
    let a_inc = a.incarnation();
    let down = next_line(&mut p, t0, HEAL_WITHIN, "DOWN a", |l| {
        l.starts_with("DOWN a ")
    })
    .await;
    assert!(
        down == format!("DOWN a {a_inc} fenced")
            || down == format!("DOWN a {a_inc} heartbeat_timeout"),
        "{down}"
    );
    let up = next_line(&mut p, t0, HEAL_WITHIN, "UP a", |l| l.contains(" a ")).await;
    assert_eq!(up, format!("UP a {a_inc}"));
    // a was never declared down: p's verdict, written while cut off,
    // reached the server after the heal and must not have fenced a.
    assert_eq!(a.incarnation(), a_before);
    // Old pids are dead for good; the name answers on the new incarnation.
    assert_eq!(
        old_echo.call(EchoRequest::Echo("old".into())).await,
        Err(RemoteCallError::NoProcess)
    );
    let renamed = a.remote_named::<EchoApi>("echo", &p.name);
    assert_eq!(
        renamed.call(EchoRequest::Echo("back".into())).await,
        Ok("back".to_owned())
    );

    // Nothing left.
    p.stop().await;
    a.stop().await;
    let (name, host_if) = (ns.name().to_owned(), ns.host_if().to_owned());
    drop(ns);
    assert!(!netns::namespace_listed(&name), "namespace {name} left");
    assert!(!netns::link_exists(&host_if), "veth {host_if} left");
}
