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

use crate::todo::{TodoCluster, TodoClusterConfig};
use crate::{Credentials, Node, NodeConfig, NodeEvent};

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
    let mut name = None;
    let mut urls = Vec::new();
    let (mut user, mut password) = (None, None);
    let mut advisory = None;
    let mut tick = None;
    let mut replicas = None;
    let mut listen = "127.0.0.1:0".to_owned();
    let mut shards = None;
    let mut command_timeout = None;
    while let Some(a) = args.next() {
        let Some(v) = args.next() else {
            eprintln!("todo node: {a} needs a value");
            return 2;
        };
        match a.as_str() {
            "--name" => name = Some(v),
            "--url" => urls.push(v),
            "--user" => user = Some(v),
            "--password" => password = Some(v),
            "--advisory-account" => advisory = Some(v),
            "--tick-ms" => tick = v.parse::<u64>().ok(),
            "--kv-replicas" => replicas = v.parse::<usize>().ok(),
            "--listen" => listen = v,
            "--shards" => shards = v.parse::<u32>().ok(),
            "--command-timeout-ms" => command_timeout = v.parse::<u64>().ok(),
            other => {
                eprintln!("todo node: unknown argument {other}");
                return 2;
            }
        }
    }
    let Some(name) = name else {
        eprintln!("todo node: --name is required");
        return 2;
    };
    let mut config = NodeConfig::new(&name, urls);
    if let (Some(u), Some(p)) = (user, password) {
        config = config.credentials(Credentials::UserPassword {
            user: u,
            password: p,
        });
    }
    if let Some(a) = advisory {
        config = config.advisory_account(&a);
    }
    if let Some(ms) = tick {
        config = config.tick(Duration::from_millis(ms));
    }
    if let Some(r) = replicas {
        config = config.kv_replicas(r);
    }
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
