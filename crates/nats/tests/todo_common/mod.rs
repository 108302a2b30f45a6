//! Helpers of the todo-service tests: a line-protocol client, and todo
//! nodes as OS processes (`arbor-todo-node`).
#![allow(dead_code, unreachable_pub)] // each test file uses a part

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use arbor_nats::testkit::NatsServer;
use arbor_nats::{Credentials, Incarnation};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

/// A line-protocol client.
pub struct Client {
    rd: tokio::io::Lines<BufReader<OwnedReadHalf>>,
    wr: OwnedWriteHalf,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).await.unwrap();
        let (rd, wr) = s.into_split();
        Client {
            rd: BufReader::new(rd).lines(),
            wr,
        }
    }

    /// Sends `line`; the reply lines up to and with the final `OK`/`ERR`.
    pub async fn cmd(&mut self, line: &str) -> Vec<String> {
        self.wr
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        let mut out = Vec::new();
        loop {
            let l = tokio::time::timeout(Duration::from_secs(20), self.rd.next_line())
                .await
                .expect("no reply within 20 s")
                .unwrap()
                .expect("connection closed");
            let last = l == "OK" || l.starts_with("ERR ");
            out.push(l);
            if last {
                return out;
            }
        }
    }

    /// The next line (events mode).
    pub async fn line(&mut self, within: Duration) -> Option<String> {
        tokio::time::timeout(within, self.rd.next_line())
            .await
            .ok()
            .and_then(|r| r.ok().flatten())
    }
}

/// A todo node in its own OS process.
pub struct TodoProc {
    pub name: String,
    pub child: Child,
    pub incarnation: Incarnation,
    pub addr: SocketAddr,
    pub lines: mpsc::UnboundedReceiver<String>,
    stdin: Option<ChildStdin>,
}

impl TodoProc {
    /// Starts `arbor-todo-node` on `urls` and waits for READY.
    pub async fn start(
        server: &NatsServer,
        urls: &[String],
        name: &str,
        tick: Duration,
        extra: &[&str],
    ) -> TodoProc {
        let Credentials::UserPassword { user, password } = server.credentials() else {
            panic!("the test server uses a user and password")
        };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_arbor-todo-node"));
        cmd.args(["--name", name, "--user", &user, "--password", &password])
            .args([
                "--advisory-account",
                "APP",
                "--tick-ms",
                &tick.as_millis().to_string(),
            ])
            .args(extra);
        for u in urls {
            cmd.args(["--url", u]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take();
        let (tx, mut lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut r = BufReader::new(stdout).lines();
            while let Ok(Some(l)) = r.next_line().await {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let ready = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let l = lines.recv().await.expect("todo node exited before READY");
                if let Some(rest) = l.strip_prefix("READY ") {
                    return rest.to_owned();
                }
            }
        })
        .await
        .expect("todo node not READY within 20 s");
        let mut parts = ready.split(' ');
        let incarnation = parts.next().unwrap().parse().unwrap();
        let addr = parts.next().unwrap().parse().unwrap();
        TodoProc {
            name: name.to_owned(),
            child,
            incarnation,
            addr,
            lines,
            stdin,
        }
    }

    pub fn signal(&self, sig: &str) {
        arbor_nats::testkit::signal(self.child.id().unwrap(), sig).unwrap();
    }

    /// Waits for an output line for which `f` holds.
    /// On a miss the panic names the lines seen meanwhile.
    pub async fn expect(&mut self, within: Duration, f: impl Fn(&str) -> bool) -> String {
        let mut seen = Vec::new();
        let found = tokio::time::timeout(within, async {
            loop {
                match self.lines.recv().await {
                    Some(l) if f(&l) => return l,
                    Some(l) => seen.push(l),
                    None => panic!("todo node {} ended", self.name),
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| {
            panic!(
                "todo node {}: no expected line within {within:?}; seen: {seen:?}",
                self.name
            )
        })
    }

    /// The output lines printed so far and not yet read.
    pub fn drain(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(l) = self.lines.try_recv() {
            lines.push(l);
        }
        lines
    }

    /// Sends a line to its stdin.
    pub async fn say(&mut self, line: &str) {
        if let Some(s) = &mut self.stdin {
            s.write_all(format!("{line}\n").as_bytes()).await.unwrap();
        }
    }

    /// The shards it serves now.
    pub async fn owned(&mut self) -> Vec<u32> {
        self.say("owned").await;
        let l = self
            .expect(Duration::from_secs(5), |l| l.starts_with("OWNED"))
            .await;
        l.split_whitespace()
            .skip(1)
            .map(|s| s.split('@').next().unwrap().parse().unwrap())
            .collect()
    }

    /// Closes its stdin and waits for it to stop in order.
    pub async fn stop(&mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.shutdown().await;
        }
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .expect("todo node did not stop within 15 s")
            .unwrap();
        assert!(status.success(), "todo node exited with {status}");
    }
}
