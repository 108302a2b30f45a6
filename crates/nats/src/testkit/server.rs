//! One `nats-server` child process with its own ports and store directory.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::node::{Credentials, NodeConfig};

/// How long a server may take to report healthy.
const READY_DEADLINE: Duration = Duration::from_secs(15);

/// The application account's user and password in the generated config.
pub(crate) const APP_USER: &str = "arbor";
/// See [`APP_USER`].
pub(crate) const APP_PASSWORD: &str = "arbor-test-secret";
/// The application account's name (the advisory subject names it).
pub(crate) const APP_ACCOUNT: &str = "APP";

/// The `nats-server` binary to run: `$NATS_SERVER`, else `nats-server` on
/// `PATH`; `None` after printing a loud `SKIPPED` line to stderr.
///
/// # Panics
///
/// When the binary is missing and `ARBOR_REQUIRE_SERVICES=1` is set (CI):
/// there a skipped test is a failure.
pub fn require_nats_server() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NATS_SERVER") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Some(p);
        }
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("nats-server"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("ARBOR_REQUIRE_SERVICES").as_deref() == Ok("1") {
            panic!(
                "nats-server not found and ARBOR_REQUIRE_SERVICES=1: install it (apt-get install nats-server) or set NATS_SERVER"
            );
        }
        // Straight to the stderr stream, not `eprintln!`: the test harness
        // captures the macros' output of passing tests, and a skip must be
        // seen.
        let _ = std::io::stderr().write_all(
            b"\n*****************************************************************\n\
              SKIPPED: nats-server not found (install it: apt-get install nats-server,\n\
              or set NATS_SERVER=/path/to/nats-server); this test did NOT run\n\
              *****************************************************************\n",
        );
    }
    found
}

/// A free loopback port (bound, read and released; the server binds it
/// right after, so a clash is possible but rare, and start retries).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// The accounts block: an application account whose users need a
/// password, and the system account exporting the disconnect advisory of
/// the application account to it (so nodes see a killed peer without
/// system credentials).
pub(crate) fn accounts_block() -> String {
    format!(
        r#"accounts {{
  {APP_ACCOUNT}: {{
    jetstream: enabled
    users: [ {{ user: "{APP_USER}", password: "{APP_PASSWORD}" }} ]
    imports: [ {{ stream: {{ account: SYS, subject: "$SYS.ACCOUNT.{APP_ACCOUNT}.DISCONNECT" }} }} ]
  }}
  SYS: {{
    users: [ {{ user: "sys", password: "sys-test-secret" }} ]
    exports: [ {{ stream: "$SYS.ACCOUNT.{APP_ACCOUNT}.DISCONNECT" }} ]
  }}
}}
system_account: SYS
"#
    )
}

/// Builds a server: extra configuration text, or a token instead of the
/// accounts.
#[derive(Debug, Default)]
pub struct NatsServerBuilder {
    token: Option<String>,
    extra: String,
    name: Option<String>,
    cluster: Option<(String, u16, Vec<u16>)>,
    ports: Option<(u16, u16)>,
    client_host: Option<String>,
}

impl NatsServerBuilder {
    /// Requires `token` instead of the accounts' user and password (no
    /// disconnect advisory then: a token server has no accounts).
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// Appends `text` to the generated configuration file.
    pub fn extra_config(mut self, text: &str) -> Self {
        self.extra.push_str(text);
        self.extra.push('\n');
        self
    }

    /// Listens for clients on `host` instead of `127.0.0.1`. `"0.0.0.0"`
    /// is for a client in another network namespace that reaches the
    /// server over a veth pair (tests/partition.rs): nats-server has one
    /// client listen address, and the in-process nodes keep using
    /// loopback. The server then accepts clients (with the accounts'
    /// password) on every address of this host for the test's length;
    /// the monitoring port stays on loopback. [`NatsServer::url`] stays
    /// the loopback URL; [`NatsServer::url_at`] names another address.
    pub fn client_listen_host(mut self, host: &str) -> Self {
        self.client_host = Some(host.to_owned());
        self
    }

    pub(crate) fn clustered(
        mut self,
        name: String,
        ports: (u16, u16),
        route_port: u16,
        routes: Vec<u16>,
    ) -> Self {
        self.name = Some(name.clone());
        self.ports = Some(ports);
        self.cluster = Some((name, route_port, routes));
        self
    }

    /// Starts the server and waits until it is healthy; `None` if the
    /// binary is missing (reported loudly by [`require_nats_server`]).
    ///
    /// # Panics
    ///
    /// If the server does not become healthy within 15 s (a broken
    /// environment; the test cannot run), or as [`require_nats_server`].
    pub async fn start(self) -> Option<NatsServer> {
        let bin = require_nats_server()?;
        let mut last = String::new();
        // A port picked by `free_port` can be taken before the server binds it.
        for _ in 0..3 {
            match NatsServer::spawn(&bin, &self).await {
                Ok(s) => return Some(s),
                Err(e) => last = e,
            }
            if self.ports.is_some() {
                break;
            }
        }
        panic!("nats-server did not start: {last}");
    }
}

/// A running `nats-server`, killed (and its store removed) on drop.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    http_port: u16,
    dir: tempfile::TempDir,
    token: Option<String>,
    /// What the server printed (its log file).
    log: PathBuf,
    /// The binary and configuration file, for [`NatsServer::restart`].
    bin: PathBuf,
    conf: PathBuf,
}

impl NatsServer {
    /// One server with accounts, JetStream and the disconnect advisory
    /// (see the module docs); `None` if the binary is missing.
    ///
    /// # Panics
    ///
    /// As [`NatsServerBuilder::start`].
    pub async fn start() -> Option<NatsServer> {
        NatsServer::builder().start().await
    }

    /// One server that requires `token` (no accounts).
    ///
    /// # Panics
    ///
    /// As [`NatsServerBuilder::start`].
    pub async fn start_token(token: &str) -> Option<NatsServer> {
        NatsServer::builder().token(token).start().await
    }

    /// A builder for other configurations.
    pub fn builder() -> NatsServerBuilder {
        NatsServerBuilder::default()
    }

    async fn spawn(bin: &Path, b: &NatsServerBuilder) -> Result<NatsServer, String> {
        let dir = tempfile::Builder::new()
            .prefix("arbor-nats-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let (port, http_port) = b.ports.unwrap_or_else(|| (free_port(), free_port()));
        let store = dir.path().join("js");
        let host = b.client_host.as_deref().unwrap_or("127.0.0.1");
        let mut conf = format!(
            "listen: \"{host}:{port}\"\nhttp: \"127.0.0.1:{http_port}\"\n\
             jetstream {{ store_dir: {:?} }}\n",
            store.display().to_string()
        );
        if let Some(name) = &b.name {
            conf.push_str(&format!("server_name: \"{name}\"\n"));
        }
        match &b.token {
            Some(t) => conf.push_str(&format!("authorization {{ token: \"{t}\" }}\n")),
            None => conf.push_str(&accounts_block()),
        }
        if let Some((name, route_port, routes)) = &b.cluster {
            let routes: Vec<String> = routes
                .iter()
                .map(|p| format!("\"nats-route://127.0.0.1:{p}\""))
                .collect();
            conf.push_str(&format!(
                "cluster {{ name: \"arbor-test\", listen: \"127.0.0.1:{route_port}\", routes: [{}] }}\n",
                routes.join(", ")
            ));
            let _ = name;
        }
        conf.push_str(&b.extra);
        let conf_path = dir.path().join("server.conf");
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        let log = dir.path().join("server.log");
        let child = run(bin, &conf_path, &log)?;
        let mut server = NatsServer {
            child: Some(child),
            port,
            http_port,
            dir,
            token: b.token.clone(),
            log,
            bin: bin.to_owned(),
            conf: conf_path,
        };
        if b.cluster.is_some() {
            // Cluster members become healthy together; the cluster waits.
            return Ok(server);
        }
        server.wait_healthy(READY_DEADLINE).await?;
        Ok(server)
    }

    /// Polls `GET /healthz` until it answers `ok` or `deadline` passes.
    pub(crate) async fn wait_healthy(&mut self, deadline: Duration) -> Result<(), String> {
        let until = Instant::now() + deadline;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("exited with {status}; log:\n{}", self.log_text()));
            }
            let port = self.http_port;
            let ok = tokio::task::spawn_blocking(move || healthz(port))
                .await
                .unwrap_or(false);
            if ok {
                return Ok(());
            }
            if Instant::now() > until {
                return Err(format!(
                    "not healthy after {deadline:?}; log:\n{}",
                    self.log_text()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The client URL, `nats://127.0.0.1:<port>` (never with credentials).
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client URL at another address of this host,
    /// `nats://<host>:<port>`: for a server started with
    /// [`NatsServerBuilder::client_listen_host`].
    pub fn url_at(&self, host: impl std::fmt::Display) -> String {
        format!("nats://{host}:{}", self.port)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `GET` of a monitoring endpoint (`/connz?subs=1`, `/subsz`), its
    /// JSON body.
    ///
    /// # Errors
    ///
    /// The connection, HTTP or JSON error, as text.
    pub async fn monitor(&self, path: &str) -> Result<serde_json::Value, String> {
        let (port, path) = (self.http_port(), path.to_owned());
        tokio::task::spawn_blocking(move || monitor_get(port, &path))
            .await
            .map_err(|e| e.to_string())?
    }

    /// The monitoring port (`/healthz`, `/connz`).
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The credentials a client of this server needs.
    pub fn credentials(&self) -> Credentials {
        match &self.token {
            Some(t) => Credentials::Token(t.clone()),
            None => Credentials::UserPassword {
                user: APP_USER.to_owned(),
                password: APP_PASSWORD.to_owned(),
            },
        }
    }

    /// A plain async-nats client of this server (its credentials, client
    /// name `name`), for tests that publish or look at raw traffic.
    ///
    /// # Errors
    ///
    /// The connection failed, as the client's message.
    pub async fn raw_client(&self, name: &str) -> Result<async_nats::Client, String> {
        let options = match self.credentials() {
            Credentials::Token(t) => async_nats::ConnectOptions::with_token(t),
            Credentials::UserPassword { user, password } => {
                async_nats::ConnectOptions::with_user_and_password(user, password)
            }
            other => return Err(format!("no raw client for {other:?}")),
        };
        options
            .name(name)
            .connect(self.url())
            .await
            .map_err(|e| e.to_string())
    }

    /// A [`NodeConfig`] for a node named `name` on this server, with its
    /// credentials and (on an accounts server) the advisory account.
    pub fn node_config(&self, name: &str) -> NodeConfig {
        let mut c = NodeConfig::new(name, [self.url()]).credentials(self.credentials());
        if self.token.is_none() {
            c = c.advisory_account(APP_ACCOUNT);
        }
        c
    }

    /// The server's OS process id (for `kill -9` / `SIGSTOP` in tests).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// Kills the server now (SIGKILL) and waits for it; its store stays
    /// until drop.
    pub async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
    }

    /// Kills the server (SIGKILL, if it runs) and starts it again on the
    /// same ports with the same configuration and JetStream store, as a
    /// crashed server restarted by its supervisor would be; waits until
    /// it is healthy. Clients reconnect by themselves.
    ///
    /// # Errors
    ///
    /// The server could not be started or did not become healthy within
    /// 15 s (its log is in the message). A cluster member's restart does
    /// not wait for the others.
    pub async fn restart(&mut self) -> Result<(), String> {
        self.kill().await;
        self.child = Some(run(&self.bin, &self.conf, &self.log)?);
        self.wait_healthy(READY_DEADLINE).await
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The store directory root (removed on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            // `start_kill` sends SIGKILL; `kill_on_drop` reaps it.
            let _ = c.start_kill();
        }
    }
}

/// One `GET` of a monitoring endpoint on loopback, its body as JSON.
fn monitor_get(port: u16, path: &str) -> Result<serde_json::Value, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).map_err(|e| e.to_string())?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP body")?;
    if !head.contains(" 200 ") {
        return Err(format!("{path}: {}", head.lines().next().unwrap_or("")));
    }
    serde_json::from_str(body).map_err(|e| e.to_string())
}

/// One `GET /healthz` on loopback: `true` if it answered `ok`.
fn healthz(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body.starts_with("HTTP/1.") && body.contains(" 200 ") && body.contains("\"ok\"")
}

/// Starts `bin` with configuration `conf`, logging to `log`; killed when
/// its handle is dropped.
fn run(bin: &Path, conf: &Path, log: &Path) -> Result<Child, String> {
    Command::new(bin)
        .arg("-c")
        .arg(conf)
        .arg("-l")
        .arg(log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", bin.display()))
}
