//! A node that mirrors one event topic, as an OS process's `main`: what
//! `arbor-nats-events-node`, the event tests and the `cluster` example's
//! events soak run, so that `kill -9` is a real crash.
//!
//! ```text
//! <bin> --name n2 --url nats://127.0.0.1:4222 [--url …]
//!     [--user U --password P] [--advisory-account APP] [--tick-ms 100]
//!     [--kv-replicas 1] --topic T --level notify|sync|durable
//! ```
//!
//! Events are `u64`. It prints `READY <incarnation>` once subscribed, then
//! `EV <origin> <incarnation> <seq> <value> <redelivered> <durable_seq>`
//! for every event its handler gets (`durable_seq` is `-` on the core
//! levels; readers of the first six fields are unaffected), and stops in
//! order at the end of stdin or on SIGTERM.
//!
//! # Invariants
//!
//! 1. An `EV` line is written and flushed inside the handler, before the
//!    mirror confirms the event: a `sync_notify` that returned `Ok` (or a
//!    durable event acknowledged) has its line in the pipe already.
//! 2. One line per handler call: a duplicate line is a duplicate dispatch.

use arbor_genevent::FnHandler;
use std::io::Write;
use tokio::io::AsyncBufReadExt;

use super::NodeArgs;
use crate::{EventTopic, Level, Node, RemoteEvent};

/// Runs an events node from command-line arguments (without the program
/// name) until told to stop; the process exit code (2 for bad arguments
/// or a failed start, as the binary always did).
pub async fn run_events_node(args: impl IntoIterator<Item = String>) -> i32 {
    match run(args.into_iter()).await {
        Ok(()) => 0,
        Err(msg) => {
            eprintln!("arbor-nats-events-node: {msg}");
            2
        }
    }
}

async fn run(mut args: impl Iterator<Item = String>) -> Result<(), String> {
    let mut node_args = NodeArgs::default();
    let (mut topic, mut level) = (None, Level::Notify);
    while let Some(a) = args.next() {
        let v = args.next().ok_or_else(|| format!("{a} needs a value"))?;
        let Some(v) = node_args.take(&a, v)? else {
            continue;
        };
        match a.as_str() {
            "--topic" => topic = Some(v),
            "--level" => {
                level = match v.as_str() {
                    "notify" => Level::Notify,
                    "sync" => Level::SyncNotify,
                    "durable" => Level::Durable,
                    other => return Err(format!("unknown level {other}")),
                }
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let topic = topic.ok_or("--topic is required")?;
    let config = node_args.config()?;
    let node = Node::start(config).await.map_err(|e| e.to_string())?;
    let topic = EventTopic::<u64>::new(topic).level(level);
    let mirror = node
        .subscribe_events(&topic)
        .await
        .map_err(|e| e.to_string())?;
    let print = FnHandler::new(|e: &RemoteEvent<u64>| {
        let durable = e.durable_seq.map_or("-".to_owned(), |s| s.to_string());
        let mut out = std::io::stdout().lock();
        // Invariant 1: flushed before the handler returns.
        let _ = writeln!(
            out,
            "EV {} {} {} {} {} {durable}",
            e.origin, e.incarnation, e.seq, e.event, e.redelivered
        );
        let _ = out.flush();
    });
    mirror
        .manager()
        .add(print)
        .await
        .map_err(|e| e.to_string())?;
    println!("READY {}", node.incarnation());
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("signal: {e}"))?;
    loop {
        tokio::select! {
            line = stdin.next_line() => match line {
                Ok(Some(_)) => {}
                _ => break,
            },
            _ = term.recv() => break,
        }
    }
    node.stop().await;
    Ok(())
}
