//! Shared helpers of the arbor-nats integration tests: in-process nodes on
//! one server, and nodes as OS processes (the `arbor-nats-node` binary).
#![allow(dead_code, unreachable_pub)] // each test file uses a part

pub mod leftovers;
pub mod netns;

use std::process::Stdio;
use std::time::Duration;

use arbor_nats::testkit::NatsServer;
use arbor_nats::{Credentials, Incarnation, Node, NodeConfig, NodeId};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// The tick of nodes in tests that are not about detection: long enough
/// that a loaded machine (each test is one thread) never misses three
/// heartbeats; joins and goodbyes do not wait for it.
pub const TICK: Duration = Duration::from_secs(1);

pub fn config(server: &NatsServer, name: &str) -> NodeConfig {
    server.node_config(name).tick(TICK)
}

/// Starts a node and waits until `peers` see it and it sees them.
pub async fn start_node(server: &NatsServer, name: &str, peers: &[&Node]) -> Node {
    let node = Node::start(config(server, name)).await.unwrap();
    for p in peers {
        assert!(
            node.wait_for_node(p.name(), Duration::from_secs(5))
                .await
                .is_some()
        );
        assert!(
            p.wait_for_node(node.name(), Duration::from_secs(5))
                .await
                .is_some()
        );
    }
    node
}

/// A node in its own OS process.
pub struct NodeProc {
    pub name: NodeId,
    pub child: Child,
    pub incarnation: Incarnation,
    pub echo_id: u64,
    pub lines: mpsc::UnboundedReceiver<String>,
}

impl NodeProc {
    /// Starts `arbor-nats-node` for `server`, waits for its READY line.
    pub async fn start(server: &NatsServer, name: &str, tick: Duration) -> NodeProc {
        NodeProc::start_with(server, name, tick, &[]).await
    }

    /// As [`NodeProc::start`], with more arguments (e.g. `--global NAME`).
    pub async fn start_with(
        server: &NatsServer,
        name: &str,
        tick: Duration,
        extra: &[&str],
    ) -> NodeProc {
        NodeProc::start_under(server, name, tick, &[], &server.url(), extra).await
    }

    /// As [`NodeProc::start_with`], run as `prefix... arbor-nats-node ...`
    /// (e.g. `ip netns exec NS`, for a node inside a network namespace)
    /// and connecting to `url` (the server's address as seen from there)
    /// instead of the server's loopback URL. The prefix must end in an
    /// `exec` of the node (as `ip netns exec` does): signals go to the
    /// child's pid.
    pub async fn start_under(
        server: &NatsServer,
        name: &str,
        tick: Duration,
        prefix: &[String],
        url: &str,
        extra: &[&str],
    ) -> NodeProc {
        let Credentials::UserPassword { user, password } = server.credentials() else {
            panic!("the test server uses a user and password")
        };
        let bin = env!("CARGO_BIN_EXE_arbor-nats-node");
        let mut cmd = match prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let mut child = cmd
            .args(["--name", name, "--url", url, "--user", &user])
            .args(["--password", &password, "--advisory-account", "APP"])
            .args(["--tick-ms", &tick.as_millis().to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
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
        let ready = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let l = lines
                    .recv()
                    .await
                    .expect("node process exited before READY");
                if let Some(rest) = l.strip_prefix("READY ") {
                    return rest.to_owned();
                }
            }
        })
        .await
        .expect("node process not READY within 10 s");
        let mut parts = ready.split(' ');
        let incarnation = parts.next().unwrap().parse().unwrap();
        let echo_id = parts.next().unwrap().parse().unwrap();
        NodeProc {
            name: NodeId::new(name),
            child,
            incarnation,
            echo_id,
            lines,
        }
    }

    /// The global pid of its echo server.
    pub fn echo(&self) -> arbor_nats::GlobalPid {
        arbor_nats::GlobalPid {
            node: self.name.clone(),
            incarnation: self.incarnation,
            id: self.echo_id,
        }
    }

    pub fn os_pid(&self) -> i32 {
        self.child.id().unwrap() as i32
    }

    /// Sends a signal (`kill -<sig>`).
    pub fn signal(&self, sig: &str) {
        arbor_nats::testkit::signal(self.child.id().unwrap(), sig).unwrap();
    }

    /// Waits for an output line starting with `prefix`.
    pub async fn expect_line(&mut self, prefix: &str, within: Duration) -> String {
        tokio::time::timeout(within, async {
            loop {
                match self.lines.recv().await {
                    Some(l) if l.starts_with(prefix) => return l,
                    Some(_) => {}
                    None => panic!("node process ended before printing {prefix:?}"),
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no line {prefix:?} within {within:?}"))
    }

    /// SIGTERM: it stops in order.
    pub async fn stop(&mut self) {
        self.signal("TERM");
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}
