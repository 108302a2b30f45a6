//! The node's NATS connection: options from the config, a bounded connect.

use std::time::Duration;

use async_nats::{ConnectErrorKind, ConnectOptions};

use super::{Credentials, NodeConfig, NodeError};
use crate::wire::Incarnation;

/// The NATS client name of a node run, `arbor:<node>:<incarnation>`: what
/// the server's disconnect advisory reports, so membership can tell whose
/// connection closed.
pub(crate) fn client_name(node: &str, incarnation: Incarnation) -> String {
    format!("arbor:{node}:{incarnation}")
}

/// Connects with the config's credentials, TLS and ping interval, within
/// `config.connect_timeout` (the client alone would retry forever).
pub(crate) async fn connect(
    config: &NodeConfig,
    incarnation: Incarnation,
) -> Result<async_nats::Client, NodeError> {
    let mut opts = match &config.credentials {
        Credentials::None => ConnectOptions::new(),
        Credentials::UserPassword { user, password } => {
            ConnectOptions::with_user_and_password(user.clone(), password.clone())
        }
        Credentials::Token(t) => ConnectOptions::with_token(t.clone()),
        Credentials::CredsFile(path) => ConnectOptions::with_credentials_file(path)
            .await
            .map_err(|e| NodeError::CredsFile(format!("{}: {e}", path.display())))?,
    };
    if let Some(tls) = &config.tls {
        opts = opts.require_tls(tls.required);
        if let Some(root) = &tls.root_certificates {
            opts = opts.add_root_certificates(root.clone());
        }
        if let Some((cert, key)) = &tls.client_certificate {
            opts = opts.add_client_certificate(cert.clone(), key.clone());
        }
    }
    let per_try = config
        .connect_timeout
        .min(Duration::from_secs(2))
        .max(Duration::from_millis(100));
    opts = opts
        .name(client_name(config.name.as_str(), incarnation))
        .ping_interval(config.ping_interval)
        .connection_timeout(per_try)
        // Requests carry their own timeouts.
        .request_timeout(None);
    let urls = config.urls.clone();
    let addrs: Vec<async_nats::ServerAddr> = urls
        .iter()
        .map(|u| u.parse())
        .collect::<Result<_, _>>()
        .map_err(|e: std::io::Error| NodeError::InvalidConfig(format!("NATS URL: {e}")))?;
    match tokio::time::timeout(config.connect_timeout, opts.connect(addrs)).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(match e.kind() {
            ConnectErrorKind::Authentication | ConnectErrorKind::AuthorizationViolation => {
                NodeError::Auth(e.to_string())
            }
            _ => NodeError::Unreachable {
                urls,
                deadline: config.connect_timeout,
                reason: e.to_string(),
            },
        }),
        Err(_) => Err(NodeError::Unreachable {
            urls,
            deadline: config.connect_timeout,
            reason: "connect deadline passed".into(),
        }),
    }
}
