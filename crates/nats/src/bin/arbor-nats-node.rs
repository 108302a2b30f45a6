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

use std::time::Duration;

use arbor_nats::testkit::Echo;
use arbor_nats::{Credentials, Node, NodeConfig, NodeEvent};
use arbor_process::{GenServer, Process, StartOpts};

fn usage(msg: &str) -> ! {
    eprintln!("arbor-nats-node: {msg}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut name = None;
    let mut urls = Vec::new();
    let (mut user, mut password, mut token) = (None, None, None);
    let mut advisory = None;
    let mut cluster = None;
    let mut tick = None;
    let mut replicas = None;
    let mut global = None;
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--name" => name = Some(val()),
            "--url" => urls.push(val()),
            "--user" => user = Some(val()),
            "--password" => password = Some(val()),
            "--token" => token = Some(val()),
            "--advisory-account" => advisory = Some(val()),
            "--cluster" => cluster = Some(val()),
            "--tick-ms" => tick = val().parse::<u64>().ok(),
            "--kv-replicas" => replicas = val().parse::<usize>().ok(),
            "--global" => global = Some(val()),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let name = name.unwrap_or_else(|| usage("--name is required"));
    let mut config = NodeConfig::new(&name, urls);
    if let (Some(u), Some(p)) = (user, password) {
        config = config.credentials(Credentials::UserPassword {
            user: u,
            password: p,
        });
    } else if let Some(t) = token {
        config = config.credentials(Credentials::Token(t));
    }
    if let Some(a) = advisory {
        config = config.advisory_account(&a);
    }
    if let Some(c) = cluster {
        config = config.cluster(&c);
    }
    if let Some(ms) = tick {
        config = config.tick(Duration::from_millis(ms));
    }
    if let Some(r) = replicas {
        config = config.kv_replicas(r);
    }
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
