//! A node that mirrors one event topic, as an OS process: for tests and
//! measurements that `kill -9` a subscribing node for real.
//!
//! ```text
//! arbor-nats-events-node --name n2 --url nats://127.0.0.1:4222
//!     [--user U --password P] [--advisory-account APP] [--tick-ms 100]
//!     --topic T --level notify|sync|durable
//! ```
//!
//! Events are `u64`. It prints `READY <incarnation>` once subscribed, then
//! `EV <origin> <incarnation> <seq> <value> <redelivered>` for every event
//! its handler gets, and stops in order at the end of stdin or on SIGTERM.

use std::io::Write;
use std::time::Duration;

use arbor_genevent::FnHandler;
use arbor_nats::{Credentials, EventTopic, Level, Node, NodeConfig, RemoteEvent};
use tokio::io::AsyncBufReadExt;

fn usage(msg: &str) -> ! {
    eprintln!("arbor-nats-events-node: {msg}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut name, mut urls, mut user, mut password) = (None, Vec::new(), None, None);
    let (mut advisory, mut tick, mut topic, mut level) = (None, None, None, Level::Notify);
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
            "--advisory-account" => advisory = Some(val()),
            "--tick-ms" => tick = val().parse::<u64>().ok(),
            "--topic" => topic = Some(val()),
            "--level" => {
                level = match val().as_str() {
                    "notify" => Level::Notify,
                    "sync" => Level::SyncNotify,
                    "durable" => Level::Durable,
                    other => usage(&format!("unknown level {other}")),
                }
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let name = name.unwrap_or_else(|| usage("--name is required"));
    let topic = topic.unwrap_or_else(|| usage("--topic is required"));
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
    let node = match Node::start(config).await {
        Ok(n) => n,
        Err(e) => usage(&e.to_string()),
    };
    let topic = EventTopic::<u64>::new(topic).level(level);
    let mirror = match node.subscribe_events(&topic).await {
        Ok(m) => m,
        Err(e) => usage(&e.to_string()),
    };
    let print = FnHandler::new(|e: &RemoteEvent<u64>| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "EV {} {} {} {} {}",
            e.origin, e.incarnation, e.seq, e.event, e.redelivered
        );
        let _ = out.flush();
    });
    if let Err(e) = mirror.manager().add(print).await {
        usage(&e.to_string());
    }
    println!("READY {}", node.incarnation());
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .unwrap_or_else(|e| usage(&format!("signal: {e}")));
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
}
