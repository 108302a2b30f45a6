//! Links and monitors to remote pids through local proxies: the remote
//! exit reason, `noconnection` on node loss, links both ways, and no
//! leftovers after nodes come and go.

mod common;

use std::time::Duration;

use arbor_nats::testkit::{Echo, EchoApi, EchoRequest, NatsServer};
use arbor_nats::{NodeCounts, RemoteCallError};
use arbor_process::{Ctx, ExitReason, GenServer, Msg, Myself, Process, scope, spawn};
use common::{NodeProc, start_node};

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
        loop {
            if let Msg::Down(d) = me.recv().await
                && d.monitor == mref
            {
                return d.reason;
            }
        }
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
#[tokio::test]
async fn kill_restart_cycles_leave_nothing_behind() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let cycles: usize = std::env::var("ARBOR_NATS_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let a = arbor_nats::Node::start(server.node_config("a"))
        .await
        .unwrap();
    let local = Echo::default().start().await.unwrap();
    let local_gpid = a.export(&local);
    let mut seen = Vec::new();
    for i in 0..cycles {
        let k = NodeProc::start(&server, "k", TICK).await;
        assert_eq!(
            a.wait_for_node(&k.name, Duration::from_secs(5)).await,
            Some(k.incarnation)
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
        seen.push(k.incarnation);
        drop(k);
        assert_eq!(
            a.counts(),
            NodeCounts {
                peers: 0,
                proxies: 0,
                watches: 0,
                exports: 1,
                event_subscribers: 1,
            },
            "cycle {i}"
        );
    }
    drop(local_gpid);
    eprintln!(
        "{cycles} kill/restart cycles, incarnations {:?} .. {:?}",
        seen.first(),
        seen.last()
    );
    seen.dedup();
    assert_eq!(seen.len(), cycles);
    a.stop().await;
}
