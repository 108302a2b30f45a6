//! A cluster of `nats-server`s joined by routes, on loopback.

use std::time::Duration;

use super::server::{NatsServer, free_port};
use crate::node::NodeConfig;

/// How long a cluster may take to elect a JetStream meta leader.
const READY_DEADLINE: Duration = Duration::from_secs(30);

/// `n` servers with a full mesh of routes, JetStream and the accounts of
/// [`NatsServer::start`]; each killed on drop.
#[derive(Debug)]
pub struct NatsCluster {
    servers: Vec<NatsServer>,
}

impl NatsCluster {
    /// Starts `n` servers and waits until every one reports healthy (which
    /// in a cluster includes a JetStream meta leader); `None` if the binary
    /// is missing (reported loudly).
    ///
    /// The first replicated stream creation right after readiness can
    /// still time out while the cluster settles; [`crate::Node`]'s bucket
    /// helper retries it.
    ///
    /// # Panics
    ///
    /// If the cluster is not healthy within 30 s.
    pub async fn start(n: usize) -> Option<NatsCluster> {
        super::require_nats_server()?;
        let ports: Vec<(u16, u16, u16)> = (0..n)
            .map(|_| (free_port(), free_port(), free_port()))
            .collect();
        let routes: Vec<u16> = ports.iter().map(|p| p.2).collect();
        let mut servers = Vec::with_capacity(n);
        for (i, (client, http, route)) in ports.iter().enumerate() {
            let s = NatsServer::builder()
                .clustered(
                    format!("s{}", i + 1),
                    (*client, *http),
                    *route,
                    routes.clone(),
                )
                .start()
                .await?;
            servers.push(s);
        }
        for s in &mut servers {
            if let Err(e) = s.wait_healthy(READY_DEADLINE).await {
                panic!("nats cluster not healthy: {e}");
            }
        }
        Some(NatsCluster { servers })
    }

    /// The servers, in start order.
    pub fn servers(&self) -> &[NatsServer] {
        &self.servers
    }

    /// Server `i`, mutable (to kill it).
    pub fn server_mut(&mut self, i: usize) -> &mut NatsServer {
        &mut self.servers[i]
    }

    /// Every server's client URL.
    pub fn urls(&self) -> Vec<String> {
        self.servers.iter().map(|s| s.url()).collect()
    }

    /// A [`NodeConfig`] for a node named `name` that knows every server.
    pub fn node_config(&self, name: &str) -> NodeConfig {
        let mut c = self.servers[0].node_config(name);
        c.urls = self.urls();
        c
    }
}
