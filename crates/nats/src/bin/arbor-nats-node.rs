//! A small arbor node as an OS process, for tests that `kill -9` or
//! `SIGSTOP` a node for real, and for trying a cluster by hand.
//!
//! ```text
//! arbor-nats-node --name n1 --url nats://127.0.0.1:4222 [--url ...]
//!     [--user U --password P | --token T] [--advisory-account APP]
//!     [--cluster C] [--tick-ms 250] [--kv-replicas 1] [--global NAME]
//! ```
//!
//! It starts a node with an [`Echo`] server registered locally as `echo`
//! (callable by pid or as `("echo", node)`), prints
//! `READY <incarnation> <echo pid id>`, then one line per node event
//! (`UP <node> <inc>`, `DOWN <node> <inc> <reason>`), and stops in order
//! on SIGTERM, SIGINT or end of stdin.

use arbor_nats::testkit::{Echo, NodeArgs};
use arbor_nats::{Node, NodeEvent};
use arbor_process::{GenServer, Process, StartOpts};

fn usage(msg: &str) -> ! {
    eprintln!("arbor-nats-node: {msg}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut node_args = NodeArgs::default();
    let mut global = None;
    while let Some(a) = args.next() {
        let v = args
            .next()
            .unwrap_or_else(|| usage(&format!("{a} needs a value")));
        match node_args.take(&a, v) {
            Ok(None) => {}
            Ok(Some(v)) if a == "--global" => global = Some(v),
            Ok(Some(_)) => usage(&format!("unknown argument {a}")),
            Err(e) => usage(&e),
        }
    }
    let config = node_args.config().unwrap_or_else(|e| usage(&e));
    let node = match Node::start(config).await {
        Ok(n) => n,
        Err(e) => {
            eprintln!("arbor-nats-node: {e}");
            std::process::exit(1);
        }
    };
    let mut events = node.monitor_nodes();
    let echo = match Echo::default()
        .start_opts(StartOpts::new().name("echo"))
        .await
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!("arbor-nats-node: echo: {e}");
            std::process::exit(1);
        }
    };
    let gpid = node.export(&echo);
    // A global name for the echo server, registered before READY.
    if let Some(g) = global
        && let Err(e) = node.register_name(&g, echo.pid()).await
    {
        eprintln!("arbor-nats-node: register {g}: {e}");
        std::process::exit(1);
    }
    println!("READY {} {}", node.incarnation(), gpid.id);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .unwrap_or_else(|e| usage(&format!("signal: {e}")));
    loop {
        tokio::select! {
            e = events.recv() => match e {
                Some(NodeEvent::Up { node: n, incarnation }) => println!("UP {n} {incarnation}"),
                Some(NodeEvent::Down { node: n, incarnation, reason }) => {
                    println!("DOWN {n} {incarnation} {reason}");
                }
                None => break,
            },
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    node.stop().await;
}
