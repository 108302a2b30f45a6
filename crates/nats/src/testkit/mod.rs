//! Real `nats-server` instances for tests (feature `testkit`).
//!
//! Tests of a distributed system are only as good as the server they run
//! against, so this module starts the real binary (from `$NATS_SERVER`,
//! else `nats-server` on `PATH`), never an imitation:
//!
//! - [`NatsServer::start`]: one server on free loopback ports with
//!   JetStream in a temporary store directory, accounts that require a
//!   user and password, and the client-disconnect advisory exported to the
//!   application account (what membership needs to see a killed node in
//!   milliseconds). [`NatsServer::start_token`] requires a token instead;
//!   [`NatsServerBuilder`] takes any extra configuration.
//! - [`NatsCluster::start`]: `n` such servers joined by routes.
//! - [`Echo`]: a remote service to call in tests ([`EchoApi`]).
//! - [`run_todo_node`]: a todo-service node as an OS process's `main`.
//! - [`run_events_node`]: a node mirroring one `u64` event topic, as an
//!   OS process's `main` (prints every event it handles).
//! - [`NodeArgs`]: the node flags every node process above takes.
//! - [`signal`]: `kill -SIG` to a node process; a `STOP` returns once the
//!   process is stopped.
//! - [`require_nats_server`]: the binary, or `None` after a loud
//!   `SKIPPED` line on stderr; with `ARBOR_REQUIRE_SERVICES=1` (CI) a
//!   missing binary panics instead, so a skip can never pass CI silently.
//!
//! Readiness is `GET /healthz` answering `ok` (in a cluster it waits for a
//! JetStream meta leader), polled until a deadline. Dropping a server
//! kills the process and removes its store directory: nothing is left
//! running after a test.
//!
//! # Examples
//!
//! ```no_run
//! use arbor_nats::testkit::NatsServer;
//! # #[tokio::main] async fn main() {
//! let Some(server) = NatsServer::start().await else { return }; // skipped loudly
//! let config = server.node_config("n1");
//! # let _ = config;
//! # }
//! ```

mod cluster;
mod echo;
mod events_node;
mod node_args;
mod server;
mod signal;
mod todo_node;

pub use cluster::NatsCluster;
pub use echo::{Echo, EchoApi, EchoCall, EchoRequest};
pub use events_node::run_events_node;
pub use node_args::NodeArgs;
pub use server::{NatsServer, NatsServerBuilder, require_nats_server};
pub use signal::signal;
pub use todo_node::run_todo_node;
