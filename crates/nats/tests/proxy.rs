//! Links and monitors to remote pids through local proxies: the remote
//! exit reason, `noconnection` on node loss, links both ways, and no
//! leftovers after nodes come and go.

mod common;

use std::time::{Duration, Instant};

use arbor_nats::testkit::{Echo, EchoApi, EchoRequest, NatsServer};
use arbor_nats::{NodeCounts, RemoteCallError, RemoteError};
use arbor_process::{Ctx, ExitReason, GenServer, MonitorRef, Msg, Myself, Process, scope, spawn};
use common::leftovers::{connections, consumers};
use common::{NodeProc, start_node};
use futures::StreamExt;

const TICK: Duration = Duration::from_millis(250);

#[tokio::test]
async fn killed_node_delivers_noconnection_to_links_and_monitors() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let a = arbor_nats::Node::start(server.node_config("a"))
        .await
        .unwrap();
    let k = NodeProc::start(&server, "k", TICK).await;
    assert!(
        a.wait_for_node(&k.name, Duration::from_secs(5))
            .await
            .is_some()
    );
    let proxy = a.proxy(&k.echo()).unwrap();
    // The same remote pid gives the same proxy.
    assert_eq!(a.proxy(&k.echo()).unwrap(), proxy);
    // A non-trapping linked process dies with the node.
    let (linked, is_linked) = tokio::sync::oneshot::channel();
    let victim = spawn(move |ctx: Ctx<()>| async move {
        ctx.link(proxy);
        let _ = linked.send(());
        std::future::pending::<()>().await;
        ExitReason::Normal
    });
    is_linked.await.unwrap();
    let got = scope(|mut me: Ctx<()>| async move {
        me.trap_exit(true);
        me.link(proxy);
        let mref = me.monitor(proxy);
        k.signal("KILL");
        let mut exit = None;
        let mut down = None;
        while exit.is_none() || down.is_none() {
            match me.recv().await {
                Msg::Exit(sig) => exit = Some((sig.from, sig.reason)),
                Msg::Down(d) => down = Some((d.monitor == mref, d.reason)),
                Msg::Message(()) => {}
            }
        }
        (exit.unwrap(), down.unwrap(), k)
    })
    .await
    .unwrap();
    let ((from, exit_reason), (same_ref, down_reason), _k) = got;
    assert_eq!(from, proxy);
    assert_eq!(exit_reason, ExitReason::noconnection());
    assert!(same_ref);
    assert_eq!(down_reason, ExitReason::noconnection());
    assert_eq!(victim.wait().await, ExitReason::noconnection());
    assert_eq!(a.counts().proxies, 0);
    a.stop().await;
}

/// The reason of the `Down` for `mref`, skipping other messages.
async fn down_of(me: &mut Ctx<()>, mref: MonitorRef) -> ExitReason {
    loop {
        if let Msg::Down(d) = me.recv().await
            && d.monitor == mref
        {
            return d.reason;
        }
    }
}

#[tokio::test]
async fn a_remote_exit_reaches_local_monitors_with_its_reason() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let a = start_node(&server, "a", &[]).await;
    let b = start_node(&server, "b", &[&a]).await;
    let echo = Echo::default().start().await.unwrap();
    let gpid = b.export(&echo);
    let proxy = a.proxy(&gpid).unwrap();
    let a2 = a.clone();
    let reason = scope(|mut me: Ctx<()>| async move {
        let mref = me.monitor(proxy);
        let r = a2.remote::<EchoApi>(gpid);
        assert!(matches!(
            r.call(EchoRequest::Crash("boom".into())).await,
            Err(RemoteCallError::Exited(_))
        ));
        down_of(&mut me, mref).await
    })
    .await
    .unwrap();
    assert_eq!(reason, ExitReason::custom("boom"));
    assert_eq!(a.counts().proxies, 0);
    // b no longer watches anything for a.
    assert_eq!(b.counts().watches, 0);
    a.stop().await;
    b.stop().await;
}

/// An error value cannot cross nodes; its text does, and the reason stays
/// an error (wire invariant 2), not an atom.
#[tokio::test]
async fn a_remote_error_exit_arrives_as_a_remote_error_with_its_text() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let a = start_node(&server, "a", &[]).await;
    let b = start_node(&server, "b", &[&a]).await;
    let failing = spawn(|mut ctx: Ctx<String>| async move {
        loop {
            if let Msg::Message(text) = ctx.recv().await {
                return ExitReason::error(std::io::Error::other(text));
            }
        }
    });
    let gpid = b.export_process(&failing);
    let proxy = a.proxy(&gpid).unwrap();
    let a2 = a.clone();
    let reason = scope(|mut me: Ctx<()>| async move {
        let mref = me.monitor(proxy);
        a2.remote_pid(gpid)
            .send(&"disk full".to_owned())
            .await
            .unwrap();
        down_of(&mut me, mref).await
    })
    .await
    .unwrap();
    let ExitReason::Error(err) = &reason else {
        panic!("arrived as {reason:?}")
    };
    assert_eq!(
        err.downcast_ref::<RemoteError>().map(RemoteError::message),
        Some("disk full")
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_linked_local_crash_kills_the_remote_process() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let a = start_node(&server, "a", &[]).await;
    let b = start_node(&server, "b", &[&a]).await;
    let echo = Echo::default().start().await.unwrap();
    let gpid = b.export(&echo);
    let proxy = a.proxy(&gpid).unwrap();
    let proxy_handle = arbor_process::ProcessHandle::lookup(proxy).unwrap();
    let crasher = spawn(move |ctx: Ctx<()>| async move {
        ctx.link(proxy);
        ExitReason::custom("crashed_here")
    });
    assert_eq!(crasher.wait().await, ExitReason::custom("crashed_here"));
    // The exit signal crossed: the remote echo died of it.
    let remote_reason = tokio::time::timeout(Duration::from_secs(5), echo.wait())
        .await
        .unwrap();
    assert_eq!(remote_reason, ExitReason::custom("crashed_here"));
    // And the proxy followed its remote process.
    assert_eq!(
        proxy_handle.wait().await,
        ExitReason::custom("crashed_here")
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn proxies_refuse_unknown_nodes_and_old_incarnations() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let a = start_node(&server, "a", &[]).await;
    let b = start_node(&server, "b", &[&a]).await;
    let echo = Echo::default().start().await.unwrap();
    let gpid = b.export(&echo);
    let mut ghost = gpid.clone();
    ghost.node = arbor_nats::NodeId::new("ghost");
    assert!(matches!(
        a.proxy(&ghost),
        Err(RemoteCallError::NoConnection { .. })
    ));
    let mut old = gpid.clone();
    old.incarnation -= 1;
    assert_eq!(a.proxy(&old), Err(RemoteCallError::NoProcess));
    // A pid of this node is its own proxy.
    assert_eq!(b.proxy(&gpid), Ok(echo.pid()));
    a.stop().await;
    b.stop().await;
}

/// Node kill/restart cycles leave no proxy, watch or peer of a dead
/// incarnation behind. 3 cycles by default; `ARBOR_NATS_CYCLES=100` for
/// the long run.
/// Each cycle starts node `k` in its own process (its echo server holding
/// the global name `echo.k`), proxies and monitors its echo, kills it with
/// SIGKILL and waits for the node down. After each cycle: no peer, proxy,
/// watch or extra event subscriber here, and the name is gone. After all
/// cycles: no connection of `k` on the server (so none of its
/// subscriptions), `a`'s own subscriptions as before, no consumer bound
/// for a dead run, and every unbound one ephemeral (the server reaps it
/// after its inactive threshold; awaited when `ARBOR_NATS_CYCLES` is set).
/// 5 cycles by default; `ARBOR_NATS_CYCLES=100` for the long run.
#[tokio::test]
async fn kill_restart_cycles_leave_nothing_behind() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let long_run = std::env::var("ARBOR_NATS_CYCLES").ok();
    let cycles: usize = long_run
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let started = Instant::now();
    let a = arbor_nats::Node::start(server.node_config("a"))
        .await
        .unwrap();
    let a_client = format!("arbor:a:{}", a.incarnation());
    let local = Echo::default().start().await.unwrap();
    let local_gpid = a.export(&local);
    let mut seen = Vec::new();
    // The node's own agents hold event subscriptions of their own.
    let agent_subscribers = a.counts().event_subscribers;
    let before = connections(&server).await;
    let a_subs = before.iter().find(|(n, _)| *n == a_client).unwrap().1;
    let a_consumers = consumers(&server).await.iter().filter(|c| c.bound).count();
    for i in 0..cycles {
        let k = NodeProc::start_with(&server, "k", TICK, &["--global", "echo.k"]).await;
        assert_eq!(
            a.wait_for_node(&k.name, Duration::from_secs(5)).await,
            Some(k.incarnation)
        );
        assert_eq!(
            a.whereis_name_fresh("echo.k")
                .await
                .unwrap()
                .map(|p| p.incarnation),
            Some(k.incarnation),
            "cycle {i}"
        );
        let proxy = a.proxy(&k.echo()).unwrap();
        let watcher = spawn(move |ctx: Ctx<()>| async move {
            ctx.monitor(proxy);
            let mut ctx = ctx;
            loop {
                if let Msg::Down(d) = ctx.recv().await {
                    return d.reason;
                }
            }
        });
        let mut events = a.monitor_nodes();
        let mut names = a.monitor_names();
        k.signal("KILL");
        assert_eq!(
            watcher.wait().await,
            ExitReason::noconnection(),
            "cycle {i}"
        );
        loop {
            if let Some(arbor_nats::NodeEvent::Down { .. }) = events.recv().await {
                break;
            }
        }
        // The survivors delete a dead run's names after the node down.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while a.whereis_name_fresh("echo.k").await.unwrap().is_some() {
            let _ = tokio::time::timeout_at(deadline, names.next())
                .await
                .unwrap_or_else(|_| {
                    panic!("cycle {i}: echo.k still registered 5 s after the node down")
                });
        }
        assert_eq!(a.whereis_name("echo.k"), None, "cycle {i}");
        seen.push(k.incarnation);
        drop(k);
        assert_eq!(
            a.counts(),
            NodeCounts {
                peers: 0,
                proxies: 0,
                watches: 0,
                exports: 1,
                event_subscribers: agent_subscribers + 1,
            },
            "cycle {i}"
        );
    }
    drop(local_gpid);
    let cycled = started.elapsed();
    // No name anywhere points at a dead run.
    for n in a.registered_names() {
        let holder = a.whereis_name_fresh(&n).await.unwrap();
        assert!(
            holder.as_ref().is_none_or(|p| p.node.as_str() != "k"),
            "{n} -> {holder:?}"
        );
    }
    // No connection of `k` is open, so none of its subscriptions is left;
    // `a` has the subscriptions it started with.
    let after = connections(&server).await;
    assert!(
        after.iter().all(|(n, _)| !n.starts_with("arbor:k:")),
        "{after:?}"
    );
    let a_subs_after = after.iter().find(|(n, _)| *n == a_client).unwrap().1;
    assert_eq!(a_subs_after, a_subs, "subscriptions of a");
    // No consumer is bound but `a`'s; the unbound ones are ephemeral.
    let rows = consumers(&server).await;
    assert_eq!(
        rows.iter().filter(|c| c.bound).count(),
        a_consumers,
        "{rows:?}"
    );
    for c in rows.iter().filter(|c| !c.bound) {
        assert!(!c.durable && !c.inactive_threshold.is_zero(), "{c:?}");
    }
    let unbound = rows.iter().filter(|c| !c.bound).count();
    let mut reaped_after = None;
    if long_run.is_some() {
        // The server reaps an unbound ephemeral consumer after its
        // inactive threshold: wait for that, bounded.
        let longest = rows
            .iter()
            .map(|c| c.inactive_threshold)
            .max()
            .unwrap_or_default();
        let end = Instant::now();
        let deadline = end + longest + Duration::from_secs(15);
        loop {
            let rows = consumers(&server).await;
            if rows.iter().all(|c| c.bound) {
                reaped_after = Some(end.elapsed());
                break;
            }
            assert!(
                Instant::now() < deadline,
                "consumers never reaped: {rows:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    eprintln!(
        "{cycles} kill/restart cycles in {cycled:?}, incarnations {:?} .. {:?}; \
         a: {a_subs} subscriptions, {a_consumers} consumers; {unbound} unbound \
         consumers left at the end, all reaped: {reaped_after:?}",
        seen.first(),
        seen.last()
    );
    seen.dedup();
    assert_eq!(seen.len(), cycles);
    a.stop().await;
}
