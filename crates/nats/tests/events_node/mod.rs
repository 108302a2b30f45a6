//! The `arbor-nats-events-node` binary as a child process: a node that
//! mirrors one `u64` topic and prints what its handler gets; and the
//! mirror helpers the event tests share.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use arbor_nats::testkit::NatsServer;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use arbor_genevent::{EventManagerRef, Forwarder};
use arbor_nats::RemoteEvent;

use crate::common::TICK;

/// A mirror handler that forwards every event to a channel.
pub async fn forward(
    mgr: &EventManagerRef<RemoteEvent<u64>>,
) -> mpsc::UnboundedReceiver<RemoteEvent<u64>> {
    let (tx, rx) = mpsc::unbounded_channel();
    mgr.add(Forwarder::to_channel(tx)).await.unwrap();
    rx
}

/// The next `n` events, each within `within`.
pub async fn recv_within(
    rx: &mut mpsc::UnboundedReceiver<RemoteEvent<u64>>,
    n: usize,
    within: Duration,
) -> Vec<RemoteEvent<u64>> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let e = tokio::time::timeout(within, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("events within {within:?}"))
            .expect("channel open");
        got.push(e);
    }
    got
}

/// The events node binary as a child process.
pub struct EventsNode {
    pub child: Child,
    pub lines: mpsc::UnboundedReceiver<String>,
    early: Vec<String>,
}

impl EventsNode {
    pub async fn start(server: &NatsServer, name: &str, topic: &str, level: &str) -> EventsNode {
        let arbor_nats::Credentials::UserPassword { user, password } = server.credentials() else {
            panic!("user and password")
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_arbor-nats-events-node"))
            .args(["--name", name, "--url", &server.url(), "--user", &user])
            .args(["--password", &password, "--advisory-account", "APP"])
            .args(["--tick-ms", &TICK.as_millis().to_string()])
            .args(["--topic", topic, "--level", level])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, mut lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut r = BufReader::new(stdout).lines();
            while let Ok(Some(l)) = r.next_line().await {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        // Events may be handled (and printed) before READY.
        let mut early = Vec::new();
        loop {
            let line = tokio::time::timeout(Duration::from_secs(10), lines.recv())
                .await
                .unwrap()
                .unwrap();
            if line.starts_with("READY") {
                break;
            }
            early.push(line);
        }
        EventsNode {
            child,
            lines,
            early,
        }
    }

    /// The values of the `EV` lines received so far.
    pub fn drain(&mut self, into: &mut Vec<u64>) {
        let early = std::mem::take(&mut self.early);
        let later = std::iter::from_fn(|| self.lines.try_recv().ok());
        for l in early.into_iter().chain(later) {
            if let Some(v) = l.split(' ').nth(4).and_then(|v| v.parse().ok()) {
                into.push(v);
            }
        }
    }
}
