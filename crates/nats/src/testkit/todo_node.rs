//! A todo-service node as an OS process: what `arbor-todo-node`, the
//! `cluster` example and the cross-node soak run, so that `kill -9` is a
//! real crash.
//!
//! ```text
//! <bin> --name n1 --url nats://127.0.0.1:4222 [--url …] [--user U --password P]
//!       [--advisory-account APP] [--tick-ms 250] [--kv-replicas 1]
//!       [--listen 127.0.0.1:0] [--shards 64] [--command-timeout-ms 5000]
//! ```
//!
//! Output, one line each: `READY <incarnation> <tcp address>`, then
//! `UP <node> <inc>` / `DOWN <node> <inc> <reason>` for node events and
//! `EVENT <event with place and reason>` for every node's list events.
//! Input: `owned` prints `OWNED <shard>@<epoch> …`; `counts` prints
//! `COUNTS <counters>`. End of input, SIGTERM or SIGINT stop it in order
//! (`STOPPED` last). With `RUST_LOG` set, the node logs to stderr.

use std::time::Duration;

use tokio::io::AsyncBufReadExt;

use super::NodeArgs;
use crate::todo::{TodoCluster, TodoClusterConfig};
use crate::{Node, NodeEvent};

/// Runs a todo node from command-line arguments (without the program
/// name) until told to stop; the process exit code.
pub async fn run_todo_node(args: impl IntoIterator<Item = String>) -> i32 {
    if let Ok(filter) = std::env::var("RUST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
    let mut args = args.into_iter();
    let mut node_args = NodeArgs::default();
    let mut listen = "127.0.0.1:0".to_owned();
    let mut shards = None;
    let mut command_timeout = None;
    while let Some(a) = args.next() {
        let Some(v) = args.next() else {
            eprintln!("todo node: {a} needs a value");
            return 2;
        };
        let v = match node_args.take(&a, v) {
            Ok(None) => continue,
            Ok(Some(v)) => v,
            Err(e) => {
                eprintln!("todo node: {e}");
                return 2;
            }
        };
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{a} takes a number, not {v:?}"))
        };
        let parsed = match a.as_str() {
            "--listen" => {
                listen = v;
                Ok(())
            }
            "--shards" => number(&v).map(|n| shards = Some(n as u32)),
            "--command-timeout-ms" => number(&v).map(|n| command_timeout = Some(n)),
            other => Err(format!("unknown argument {other}")),
        };
        if let Err(e) = parsed {
            eprintln!("todo node: {e}");
            return 2;
        }
    }
    let config = match node_args.config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("todo node: {e}");
            return 2;
        }
    };
    let Ok(listen) = listen.parse() else {
        eprintln!("todo node: bad --listen {listen}");
        return 2;
    };
    let mut todo_config = TodoClusterConfig::new(listen);
    if let Some(s) = shards {
        todo_config = todo_config.shards(s);
    }
    if let Some(ms) = command_timeout {
        todo_config = todo_config.command_timeout(Duration::from_millis(ms));
    }
    let node = match Node::start(config).await {
        Ok(n) => n,
        Err(e) => {
            eprintln!("todo node: {e}");
            return 1;
        }
    };
    let mut nodes = node.monitor_nodes();
    let todo = match TodoCluster::start(&node, todo_config).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("todo node: {e}");
            node.stop().await;
            return 1;
        }
    };
    let mut events = match todo.events().await {
        Ok(e) => Some(e),
        Err(e) => {
            eprintln!("todo node: events: {e}");
            None
        }
    };
    println!("READY {} {}", node.incarnation(), todo.local_addr());
    // Peers seen before `nodes` subscribed (printed twice at worst).
    for (n, incarnation) in node.nodes() {
        println!("UP {n} {incarnation}");
    }
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        return 1;
    };
    loop {
        tokio::select! {
            e = nodes.recv() => match e {
                Some(NodeEvent::Up { node: n, incarnation }) => println!("UP {n} {incarnation}"),
                Some(NodeEvent::Down { node: n, incarnation, reason }) => println!("DOWN {n} {incarnation} {reason}"),
                None => break,
            },
            e = next_event(&mut events) => match e {
                Some(e) => println!("EVENT {e}"),
                None => events = None,
            },
            line = stdin.next_line() => match line {
                Ok(Some(l)) if l.trim() == "owned" => {
                    let owned: Vec<String> = todo.owned_shards().iter().map(|(k, e)| format!("{k}@{e}")).collect();
                    println!("OWNED {}", owned.join(" "));
                }
                Ok(Some(l)) if l.trim() == "counts" => println!("COUNTS {:?}", todo.counts()),
                Ok(Some(_)) => {}
                _ => break,
            },
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    todo.stop().await;
    node.stop().await;
    println!("STOPPED");
    0
}

async fn next_event(
    e: &mut Option<crate::todo::ClusterEvents>,
) -> Option<crate::todo::ClusterEvent> {
    match e {
        Some(e) => e.next().await,
        None => std::future::pending().await,
    }
}
