//! The command-line flags every node process of the testkit takes for its
//! [`Node`](crate::Node), parsed once for all of them.

use std::time::Duration;

use crate::{Credentials, NodeConfig};

/// The node flags: `--name`, `--url` (repeatable), `--user` with
/// `--password` or `--token`, `--advisory-account`, `--cluster`,
/// `--tick-ms`, `--kv-replicas`. A node program's own flags come beside
/// them: [`NodeArgs::take`] hands back what is not a node flag.
///
/// # Examples
///
/// ```
/// use arbor_nats::testkit::NodeArgs;
/// let mut node = NodeArgs::default();
/// assert_eq!(node.take("--name", "n1".into()), Ok(None));
/// assert_eq!(node.take("--topic", "t".into()), Ok(Some("t".into())));
/// assert!(node.take("--tick-ms", "soon".into()).is_err());
/// let config = node.config().unwrap();
/// assert_eq!(config.name.as_str(), "n1");
/// ```
#[derive(Debug, Default)]
pub struct NodeArgs {
    name: Option<String>,
    urls: Vec<String>,
    user: Option<String>,
    password: Option<String>,
    token: Option<String>,
    advisory: Option<String>,
    cluster: Option<String>,
    tick: Option<Duration>,
    replicas: Option<usize>,
}

impl NodeArgs {
    /// Takes `value` for `flag` if it is a node flag (`Ok(None)`), or
    /// hands `value` back (`Ok(Some(value))`) for the program's own flags.
    ///
    /// # Errors
    ///
    /// A number flag whose value is not a number, as a message naming both.
    pub fn take(&mut self, flag: &str, value: String) -> Result<Option<String>, String> {
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag} takes a number, not {v:?}"))
        };
        match flag {
            "--name" => self.name = Some(value),
            "--url" => self.urls.push(value),
            "--user" => self.user = Some(value),
            "--password" => self.password = Some(value),
            "--token" => self.token = Some(value),
            "--advisory-account" => self.advisory = Some(value),
            "--cluster" => self.cluster = Some(value),
            "--tick-ms" => self.tick = Some(Duration::from_millis(number(&value)?)),
            "--kv-replicas" => self.replicas = Some(number(&value)? as usize),
            _ => return Ok(Some(value)),
        }
        Ok(None)
    }

    /// The node's configuration.
    ///
    /// # Errors
    ///
    /// `--name` was not given.
    pub fn config(self) -> Result<NodeConfig, String> {
        let name = self.name.ok_or("--name is required")?;
        let mut config = NodeConfig::new(&name, self.urls);
        if let (Some(user), Some(password)) = (self.user, self.password) {
            config = config.credentials(Credentials::UserPassword { user, password });
        } else if let Some(t) = self.token {
            config = config.credentials(Credentials::Token(t));
        }
        if let Some(a) = self.advisory {
            config = config.advisory_account(&a);
        }
        if let Some(c) = self.cluster {
            config = config.cluster(&c);
        }
        if let Some(tick) = self.tick {
            config = config.tick(tick);
        }
        if let Some(r) = self.replicas {
            config = config.kv_replicas(r);
        }
        Ok(config)
    }
}
