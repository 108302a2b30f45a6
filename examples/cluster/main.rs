//! The todo service on three nodes, each its own OS process, on a local
//! nats-server: create lists through different nodes, `kill -9` one node,
//! watch the others detect it, take over its shards, publish the exits of
//! its lists with reason `noconnection` and serve those names again;
//! restart it; stop everything.
//!
//! ```text
//! cargo run --example cluster                  # the walk-through
//! cargo run --example cluster -- --kills 20    # takeover time over 20 kills (median, max)
//! cargo run --example cluster -- --soak 10m    # chaos across nodes and servers, invariants checked
//! cargo run --release --example cluster -- --soak-events 10m  # the same for remote event managers
//! ```
//!
//! Needs `nats-server` on PATH (or `$NATS_SERVER`). The example runs its
//! own server on free loopback ports and re-executes itself with `--node`
//! for each node (`arbor_nats::testkit::run_todo_node`; with
//! `--events-node` for the event subscribers,
//! `arbor_nats::testkit::run_events_node`), so a `kill -9` is a real
//! crash. Nothing is left running when it exits.

mod bench;
mod demo;
mod events_check;
mod events_soak;
mod procs;
mod soak;

use std::time::Duration;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--node") {
        let code = arbor_nats::testkit::run_todo_node(args.into_iter().skip(1)).await;
        std::process::exit(code);
    }
    if args.first().map(String::as_str) == Some("--events-node") {
        let code = arbor_nats::testkit::run_events_node(args.into_iter().skip(1)).await;
        std::process::exit(code);
    }
    let code = match args.first().map(String::as_str) {
        None => demo::run().await,
        Some("--kills") => {
            let n = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
            bench::run(n).await
        }
        Some("--soak") => {
            let d = args
                .get(1)
                .and_then(|s| parse_duration(s))
                .unwrap_or(Duration::from_secs(30));
            soak::run(d).await
        }
        Some("--soak-events") => {
            let d = args
                .get(1)
                .and_then(|s| parse_duration(s))
                .unwrap_or(Duration::from_secs(30));
            events_soak::run(d).await
        }
        Some(other) => {
            eprintln!(
                "cluster: unknown argument {other} (try --kills N, --soak 10m or --soak-events 10m)"
            );
            2
        }
    };
    std::process::exit(code);
}

/// `30s`, `10m`, `1h` or plain seconds.
fn parse_duration(s: &str) -> Option<Duration> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().ok()?;
    Some(Duration::from_secs(match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return None,
    }))
}
