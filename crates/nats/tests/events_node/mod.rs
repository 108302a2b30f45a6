//! The `arbor-nats-events-node` binary as a child process: a node that
//! mirrors one `u64` topic and prints what its handler gets.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use arbor_nats::testkit::NatsServer;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::common::TICK;

/// The events node binary as a child process.
pub struct EventsNode {
    pub child: Child,
    pub lines: mpsc::UnboundedReceiver<String>,
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
        let ready = tokio::time::timeout(Duration::from_secs(10), lines.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(ready.starts_with("READY"), "{ready}");
        EventsNode { child, lines }
    }

    /// The values of the `EV` lines received so far.
    pub fn drain(&mut self, into: &mut Vec<u64>) {
        while let Ok(l) = self.lines.try_recv() {
            if let Some(v) = l.split(' ').nth(4).and_then(|v| v.parse().ok()) {
                into.push(v);
            }
        }
    }
}

