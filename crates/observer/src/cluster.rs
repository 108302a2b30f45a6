//! The cluster view (feature `nats`): every node's observer answers its
//! peers' sample requests, and samples every peer that is up, so the page
//! of any node shows the trees and timelines of all of them, and the
//! nodes' ups and downs.
//!
//! Each observer runs a small server, registered locally as
//! `arbor_observer:<node>` and exported to the cluster, answering
//! `Sample { since }` with its trees and its own timeline entries after
//! `since` (JSON in a string, so the trees need no wire types). A poller
//! task asks every node up once per sample period, each request on its
//! own and bounded by [`SAMPLE_TIMEOUT`], and follows
//! [`Node::monitor_nodes`] for ups and downs.
//!
//! # Invariants
//!
//! 1. Only arbor-nats's public API is used: remote calls, node events.
//! 2. A slow or silent peer has at most one request in flight, bounded by
//!    [`SAMPLE_TIMEOUT`]: its error is shown on its node, and the other
//!    nodes are sampled every period meanwhile.
//! 3. On stop, the requests in flight are dropped, the poller ends and the
//!    sample server exits (its export and name go with it).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use arbor_nats::{Node, NodeEvent, NodeId, Protocol, RemoteCallError, RemoteServer, Wire};
use arbor_process::{Control, GenServer, Process, ReplyTo, ServerCtx, ServerRef};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::ServeError;
use crate::hub::{Hub, PeerSample};

/// How long one peer may take to answer a sample request.
pub const SAMPLE_TIMEOUT: Duration = Duration::from_secs(1);

/// The local name of a node's sample server.
fn server_name(node: &NodeId) -> String {
    format!("arbor_observer:{node}")
}

/// A peer's request: its trees and its events after `since`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Sample {
    since: u64,
}

impl Wire for Sample {
    const TAG: &'static str = "arbor.observer.Sample/v1";
}

/// The sample protocol: the reply is the JSON of a [`PeerSample`].
pub(crate) struct SampleApi;

impl Protocol for SampleApi {
    type Call = Sample;
    type Reply = String;
    type Cast = ();
}

pub(crate) struct SampleServer {
    hub: Arc<Hub>,
}

pub(crate) enum Call {
    Sample(u64, ReplyTo<String>),
}

impl GenServer for SampleServer {
    type Call = Call;
    type Cast = ();
    type Info = ();

    async fn handle_call(&mut self, call: Call, _: &mut ServerCtx<Self>) -> Control {
        let Call::Sample(since, reply) = call;
        reply.reply(self.hub.local_sample(since).to_string())
    }

    async fn handle_cast(&mut self, (): (), _: &mut ServerCtx<Self>) -> Control {
        Control::Continue
    }
}

impl RemoteServer for SampleServer {
    type Protocol = SampleApi;

    fn remote_call(request: Sample, reply: ReplyTo<String>) -> Call {
        Call::Sample(request.since, reply)
    }

    fn remote_cast((): ()) {}
}

/// Starts the sample server (registered and exported) and names the
/// hub's node.
///
/// # Errors
///
/// [`ServeError::Cluster`] if the server cannot start or its name is
/// taken (another observer of the same node runs in this OS process).
pub(crate) async fn start_server(
    node: &Node,
    hub: &Arc<Hub>,
) -> Result<ServerRef<SampleServer>, ServeError> {
    hub.set_local_node(node.name().as_str());
    let server = SampleServer { hub: hub.clone() }
        .start()
        .await
        .map_err(|e| ServeError::Cluster(format!("sample server: {e}")))?;
    if let Err(e) = arbor_process::register(server_name(node.name()), server.pid()) {
        let _ = server.stop().await;
        return Err(ServeError::Cluster(format!(
            "another observer already shows node {}: {e}",
            node.name()
        )));
    }
    node.export(&server);
    Ok(server)
}

/// One peer's answer: who, which incarnation, what.
type Answer = (NodeId, u64, Result<String, RemoteCallError>);

/// The poller (invariant 2): samples every peer up each `every`, at most
/// one request in flight per peer, and records ups and downs, until
/// `stop`; then stops `server` (invariant 3).
pub(crate) async fn run(
    node: Node,
    hub: Arc<Hub>,
    server: ServerRef<SampleServer>,
    every: Duration,
    stop: CancellationToken,
) {
    let mut events = node.monitor_nodes();
    for (peer, incarnation) in node.nodes() {
        hub.node_up(peer.as_str(), incarnation, false);
    }
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Requests in flight (aborted when dropped), and whom they ask.
    let mut asks: JoinSet<Answer> = JoinSet::new();
    let mut asking: HashSet<NodeId> = HashSet::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            event = events.recv() => match event {
                Some(NodeEvent::Up { node: peer, incarnation }) => {
                    hub.node_up(peer.as_str(), incarnation, true);
                }
                Some(NodeEvent::Down { node: peer, incarnation, reason }) => {
                    hub.node_down(peer.as_str(), incarnation, &reason.to_string());
                }
                // This node stopped: nothing more to sample.
                None => break,
            },
            Some(done) = asks.join_next() => {
                if let Ok((peer, incarnation, answer)) = done {
                    asking.remove(&peer);
                    record(&hub, peer.as_str(), incarnation, answer);
                }
            }
            _ = tick.tick() => {
                for (peer, incarnation) in node.nodes() {
                    let Some(since) = hub.peer_since(peer.as_str(), incarnation) else {
                        continue;
                    };
                    if !asking.insert(peer.clone()) {
                        continue; // still waiting for its last answer
                    }
                    let remote = node.remote_named::<SampleApi>(&server_name(&peer), &peer);
                    asks.spawn(async move {
                        let answer = remote.call_timeout(Sample { since }, SAMPLE_TIMEOUT).await;
                        (peer, incarnation, answer)
                    });
                }
            }
        }
    }
    asks.shutdown().await;
    let _ = server.stop().await;
}

/// Stores one peer's answer (or why there is none).
fn record(hub: &Hub, peer: &str, incarnation: u64, answer: Result<String, RemoteCallError>) {
    match answer {
        Ok(json) => match serde_json::from_str::<PeerSample>(&json) {
            Ok(sample) => hub.peer_sample(peer, incarnation, sample),
            Err(e) => hub.peer_error(peer, incarnation, format!("malformed sample: {e}")),
        },
        Err(RemoteCallError::NoProcess) => hub.peer_error(
            peer,
            incarnation,
            "no observer runs on this node (ObserverBuilder::cluster not called there)".into(),
        ),
        Err(e) => hub.peer_error(peer, incarnation, e.to_string()),
    }
}
