//! [`NodeConfig`]: who a node is, where NATS is, how it authenticates.

use std::path::PathBuf;
use std::time::Duration;

use crate::wire::NodeId;

/// How a node proves it is a member. Credentials never go in a URL: the
/// client ignores them there, and [`Node::start`](crate::Node::start)
/// refuses such a URL.
#[derive(Clone, Default)]
pub enum Credentials {
    /// No authentication (a server that requires none).
    #[default]
    None,
    /// A user and password.
    UserPassword {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
    /// A token.
    Token(String),
    /// A NATS credentials file (JWT and NKey seed).
    CredsFile(PathBuf),
}

impl std::fmt::Debug for Credentials {
    // Secrets stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::UserPassword { user, .. } => write!(f, "UserPassword({user}, ***)"),
            Credentials::Token(_) => f.write_str("Token(***)"),
            Credentials::CredsFile(p) => write!(f, "CredsFile({})", p.display()),
        }
    }
}

/// TLS to the NATS servers.
#[derive(Clone, Debug, Default)]
pub struct TlsConfig {
    /// Require TLS even if the server does not announce it.
    pub required: bool,
    /// Extra root certificates (PEM) to trust.
    pub root_certificates: Option<PathBuf>,
    /// A client certificate and key (PEM), for servers that verify clients.
    pub client_certificate: Option<(PathBuf, PathBuf)>,
}

/// A node's configuration. Fields are public; the builder methods set the
/// common ones.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use arbor_nats::{Credentials, NodeConfig};
///
/// let config = NodeConfig::new("todo@n1", ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223"])
///     .cluster("prod")
///     .credentials(Credentials::UserPassword { user: "arbor".into(), password: "s3cret".into() })
///     .tick(Duration::from_millis(100));
/// assert_eq!(config.urls.len(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The node's name, unique in the cluster while it runs.
    pub name: NodeId,
    /// NATS server URLs (`nats://host:port`), several for failover.
    pub urls: Vec<String>,
    /// The cluster: every subject lives under `arbor.<cluster>`, so
    /// clusters on one NATS system never see each other's messages.
    pub cluster: String,
    /// How the node authenticates.
    pub credentials: Credentials,
    /// TLS, when configured.
    pub tls: Option<TlsConfig>,
    /// The NATS account whose client-disconnect advisories the server
    /// exports to the node's account (`$SYS.ACCOUNT.<acc>.DISCONNECT`):
    /// with it a killed node is seen in milliseconds, without it only by
    /// missed heartbeats.
    pub advisory_account: Option<String>,
    /// The heartbeat interval; a node silent for 3 ticks is down.
    pub tick: Duration,
    /// The NATS client's ping interval: how soon a hung server is noticed
    /// (about 3 pings).
    pub ping_interval: Duration,
    /// How long [`Node::start`](crate::Node::start) may take to connect.
    pub connect_timeout: Duration,
    /// The timeout of JetStream requests (KV reads and writes).
    pub jetstream_timeout: Duration,
    /// Replicas of the node's KV buckets (3 in a production cluster; 1 on
    /// a single server).
    pub kv_replicas: usize,
    /// The default timeout of remote calls.
    pub call_timeout: Duration,
}

impl NodeConfig {
    /// A configuration with the defaults: cluster `default`, no
    /// credentials, tick 250 ms, NATS ping every 1 s, connect within 5 s,
    /// JetStream timeout 5 s, 1 KV replica, call timeout 5 s.
    pub fn new(name: &str, urls: impl IntoIterator<Item = impl Into<String>>) -> NodeConfig {
        NodeConfig {
            name: NodeId::new(name),
            urls: urls.into_iter().map(Into::into).collect(),
            cluster: "default".into(),
            credentials: Credentials::None,
            tls: None,
            advisory_account: None,
            tick: Duration::from_millis(250),
            ping_interval: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(5),
            jetstream_timeout: Duration::from_secs(5),
            kv_replicas: 1,
            call_timeout: Duration::from_secs(5),
        }
    }

    /// Sets the cluster name.
    pub fn cluster(mut self, cluster: &str) -> Self {
        self.cluster = cluster.into();
        self
    }

    /// Sets the credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Sets TLS.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets the advisory account (see the field).
    pub fn advisory_account(mut self, account: &str) -> Self {
        self.advisory_account = Some(account.into());
        self
    }

    /// Sets the heartbeat interval.
    pub fn tick(mut self, tick: Duration) -> Self {
        self.tick = tick;
        self
    }

    /// Sets the KV replicas.
    pub fn kv_replicas(mut self, n: usize) -> Self {
        self.kv_replicas = n;
        self
    }

    /// Sets the connect deadline.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// The subject prefix, `arbor.<cluster>`.
    pub fn prefix(&self) -> String {
        format!("arbor.{}", self.cluster)
    }

    /// Checks names and URLs.
    pub(crate) fn validate(&self) -> Result<(), super::NodeError> {
        use super::NodeError;
        self.name.validate().map_err(NodeError::InvalidConfig)?;
        NodeId::new(self.cluster.as_str()).validate().map_err(|_| {
            NodeError::InvalidConfig(format!(
                "cluster name {:?} must be 1-64 characters of [A-Za-z0-9_@-]",
                self.cluster
            ))
        })?;
        if self.urls.is_empty() {
            return Err(NodeError::InvalidConfig("no NATS URL".into()));
        }
        for url in &self.urls {
            let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
            let authority = rest.split('/').next().unwrap_or("");
            if authority.contains('@') {
                return Err(NodeError::CredentialsInUrl { url: redact(url) });
            }
        }
        if self.tick.is_zero() {
            return Err(NodeError::InvalidConfig("tick must be > 0".into()));
        }
        Ok(())
    }
}

/// `url` with its user-info replaced by `***`.
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((_, host)) => format!("{scheme}://***@{host}"),
            None => url.to_owned(),
        },
        None => match url.split_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => url.to_owned(),
        },
    }
}
