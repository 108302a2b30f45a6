//! Todo nodes as child OS processes (this example re-executed with
//! `--node`), and a line-protocol client.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use arbor_nats::Credentials;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

/// How a node process is started.
#[derive(Clone)]
pub(crate) struct Launch {
    pub(crate) urls: Vec<String>,
    pub(crate) credentials: Credentials,
    pub(crate) tick_ms: u64,
    pub(crate) shards: u32,
    pub(crate) kv_replicas: usize,
    pub(crate) command_timeout_ms: u64,
    /// Print each node's output lines, prefixed with its name.
    pub(crate) echo: bool,
}

/// One output line of a node, with when it was read.
pub(crate) struct Line {
    pub(crate) at: Instant,
    pub(crate) text: String,
}

/// This example re-executed as a node process (`mode`: `--node` or
/// `--events-node`) with the flags every node takes (`name`, the servers
/// and their credentials, the advisory account) and `extra`; stdin and
/// stdout piped, killed when its handle is dropped.
pub(crate) fn spawn_self(
    mode: &str,
    name: &str,
    urls: &[String],
    credentials: &Credentials,
    extra: &[&str],
) -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    cmd.arg(mode)
        .args(["--name", name, "--advisory-account", "APP"])
        .args(extra);
    if let Credentials::UserPassword { user, password } = credentials {
        cmd.args(["--user", user, "--password", password]);
    }
    for u in urls {
        cmd.args(["--url", u]);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())
}

pub(crate) struct NodeProc {
    pub(crate) name: String,
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) incarnation: u64,
    pub(crate) lines: mpsc::UnboundedReceiver<Line>,
    stdin: Option<ChildStdin>,
}

impl NodeProc {
    pub(crate) async fn start(launch: &Launch, name: &str) -> Result<NodeProc, String> {
        let mut child = spawn_self(
            "--node",
            name,
            &launch.urls,
            &launch.credentials,
            &[
                "--tick-ms",
                &launch.tick_ms.to_string(),
                "--shards",
                &launch.shards.to_string(),
                "--kv-replicas",
                &launch.kv_replicas.to_string(),
                "--command-timeout-ms",
                &launch.command_timeout_ms.to_string(),
            ],
        )?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stdin = child.stdin.take();
        let (tx, mut lines) = mpsc::unbounded_channel();
        let echo = launch.echo.then(|| name.to_owned());
        tokio::spawn(async move {
            let mut r = BufReader::new(stdout).lines();
            while let Ok(Some(text)) = r.next_line().await {
                if let Some(n) = &echo {
                    println!("    [{n}] {text}");
                }
                if tx
                    .send(Line {
                        at: Instant::now(),
                        text,
                    })
                    .is_err()
                {
                    break;
                }
            }
        });
        let ready = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(l) = lines.recv().await {
                if let Some(rest) = l.text.strip_prefix("READY ") {
                    return Some(rest.to_owned());
                }
            }
            None
        })
        .await
        .map_err(|_| format!("{name}: not ready within 30 s"))?
        .ok_or_else(|| format!("{name}: exited before it was ready"))?;
        let mut parts = ready.split(' ');
        let incarnation = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or("bad READY")?;
        let addr = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or("bad READY")?;
        Ok(NodeProc {
            name: name.to_owned(),
            child,
            addr,
            incarnation,
            lines,
            stdin,
        })
    }

    pub(crate) fn os_pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub(crate) fn signal(&self, sig: &str) {
        if let Some(pid) = self.os_pid() {
            signal(pid, sig);
        }
    }

    /// The first line (from now on) for which `f` holds.
    pub(crate) async fn expect(
        &mut self,
        within: Duration,
        f: impl Fn(&str) -> bool,
    ) -> Option<Line> {
        tokio::time::timeout(within, async {
            while let Some(l) = self.lines.recv().await {
                if f(&l.text) {
                    return Some(l);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
    }

    pub(crate) async fn say(&mut self, line: &str) {
        if let Some(s) = &mut self.stdin {
            let _ = s.write_all(format!("{line}\n").as_bytes()).await;
        }
    }

    /// The shards it serves now (`None` if it does not answer).
    pub(crate) async fn owned(&mut self) -> Option<Vec<u32>> {
        self.say("owned").await;
        let l = self
            .expect(Duration::from_secs(5), |l| l.starts_with("OWNED"))
            .await?;
        Some(
            l.text
                .split_whitespace()
                .skip(1)
                .filter_map(|s| s.split('@').next()?.parse().ok())
                .collect(),
        )
    }

    /// Stops it in order (end of its input); `true` if it exited 0.
    pub(crate) async fn stop(&mut self) -> bool {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.shutdown().await;
        }
        match tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await {
            Ok(Ok(status)) => status.success(),
            _ => {
                let _ = self.child.kill().await;
                false
            }
        }
    }

    /// SIGKILL and reap.
    pub(crate) async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

pub(crate) fn signal(pid: u32, sig: &str) {
    if let Err(e) = arbor_nats::testkit::signal(pid, sig) {
        eprintln!("{e}");
    }
}

/// Waits until the nodes serve disjoint shard sets covering all shards.
pub(crate) async fn settled(
    nodes: &mut [NodeProc],
    shards: u32,
    within: Duration,
) -> Option<Vec<Vec<u32>>> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let mut owned = Vec::new();
        for n in nodes.iter_mut() {
            owned.push(n.owned().await.unwrap_or_default());
        }
        let mut all: Vec<u32> = owned.iter().flatten().copied().collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        if all.len() == n && n == shards as usize {
            return Some(owned);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// A line-protocol client.
pub(crate) struct Client {
    rd: tokio::io::Lines<BufReader<OwnedReadHalf>>,
    wr: OwnedWriteHalf,
}

impl Client {
    pub(crate) async fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let s = TcpStream::connect(addr).await?;
        let _ = s.set_nodelay(true);
        let (rd, wr) = s.into_split();
        Ok(Client {
            rd: BufReader::new(rd).lines(),
            wr,
        })
    }

    /// Sends `line`; the reply lines up to and with `OK`/`ERR …`; `None`
    /// if the connection failed or nothing came within `within`.
    pub(crate) async fn cmd(&mut self, line: &str, within: Duration) -> Option<Vec<String>> {
        self.wr
            .write_all(format!("{line}\n").as_bytes())
            .await
            .ok()?;
        let mut out = Vec::new();
        tokio::time::timeout(within, async {
            loop {
                let l = self.rd.next_line().await.ok()??;
                let last = l == "OK" || l.starts_with("ERR ");
                out.push(l);
                if last {
                    return Some(());
                }
            }
        })
        .await
        .ok()??;
        Some(out)
    }

    /// The next line (events mode).
    pub(crate) async fn line(&mut self, within: Duration) -> Option<String> {
        tokio::time::timeout(within, self.rd.next_line())
            .await
            .ok()?
            .ok()?
    }
}

/// The processes whose parent is this one (to show nothing is left).
pub(crate) fn children() -> Vec<String> {
    let me = std::process::id().to_string();
    let out = std::process::Command::new("ps")
        .args(["-o", "pid=,comm=", "--ppid", &me])
        .output();
    match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.ends_with(" ps"))
            .map(str::to_owned)
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Resident set size of a process, in KiB.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
