//! Remote calls, casts and sends: [`RemoteRef`] (typed by a
//! [`Protocol`]), [`RemotePid`] (untyped), and their errors.
//!
//! Every node has one router subscription, `<prefix>.node.<name>.<inc>`.
//! A request nobody is subscribed to is answered by the server at once
//! ("no responders"), which therefore means *no live node with this
//! incarnation* ([`RemoteCallError::NoConnection`]); a live node answers
//! `noproc` itself for a process it does not have
//! ([`RemoteCallError::NoProcess`]). Calls are at-most-once: nothing is
//! retried, and a [`RemoteCallError::Timeout`] means the request may have
//! been handled.
//!
//! # Invariants
//!
//! 1. A call to a node that membership declares down while the call waits
//!    fails at once with `NoConnection` (the peer's token is cancelled).
//!    So does a call made after that to a pid of the incarnation declared
//!    down (it never comes back), instead of waiting for its timeout: the
//!    server may still hold a hung or cut-off node's subscription.
//! 2. A reply whose type tag is not the protocol's reply tag is never
//!    decoded: it is `Decode { expected, got }`.

mod export;
mod outcome;

use std::marker::PhantomData;
use std::time::Duration;

use async_nats::{HeaderMap, RequestErrorKind};
use bytes::Bytes;

pub(crate) use export::Exports;
pub use export::RemoteServer;

use crate::node::Node;
use crate::wire::{
    DEADLINE_HEADER, Envelope, GlobalPid, Incarnation, Kind, NodeId, Reply, TYPE_HEADER, Target,
    Wire, WireExitReason, decode, encode,
};

/// The messages of a remote service: its call requests, their replies, and
/// its casts. A marker type shared by the caller's and the callee's code
/// (the callee's server type need not be known to callers).
pub trait Protocol: Send + Sync + 'static {
    /// Call requests.
    type Call: Wire;
    /// Replies to calls.
    type Reply: Wire;
    /// Casts (`()` for none).
    type Cast: Wire;
}

/// Why a remote call (or cast) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteCallError {
    /// The node is unreachable: no live node with that incarnation, or it
    /// went down while the call waited.
    #[error("noconnection: node {node} is not reachable")]
    NoConnection {
        /// The node called.
        node: NodeId,
    },
    /// The node answered: no such process (exited, never handed out, a
    /// name not registered there, or a pid of an earlier incarnation).
    #[error("noproc")]
    NoProcess,
    /// No reply within the timeout; the request may have been handled.
    #[error("call timed out (the request may have been handled)")]
    Timeout,
    /// The callee exited before replying.
    #[error("callee exited with reason {0}")]
    Exited(WireExitReason),
    /// A type tag did not match: the callee takes (or the caller expects)
    /// `expected`, and `got` arrived.
    #[error("type mismatch: expected {expected}, got {got}")]
    Decode {
        /// The tag the receiving side takes.
        expected: String,
        /// The tag (or undecodable body) that arrived.
        got: String,
    },
    /// The request could not be serialised.
    #[error("encode: {0}")]
    Encode(String),
    /// The request or reply exceeds the server's payload limit.
    #[error("payload of {size} bytes exceeds the server's limit of {max}")]
    PayloadTooLarge {
        /// The encoded size.
        size: usize,
        /// The server's `max_payload`.
        max: usize,
    },
}

/// Where a remote request goes.
#[derive(Clone, Debug)]
pub(crate) enum Dest {
    /// A pid of a given incarnation.
    Pid(GlobalPid),
    /// A locally registered name on whatever incarnation of the node is up.
    Named(String, NodeId),
}

impl Dest {
    fn node(&self) -> &NodeId {
        match self {
            Dest::Pid(p) => &p.node,
            Dest::Named(_, n) => n,
        }
    }
}

/// Sends one envelope to `dest`; with `reply`, waits up to `timeout` for
/// the answer. The crate's one path to another node's router.
pub(crate) async fn send_envelope(
    node: &Node,
    from: GlobalPid,
    dest: &Dest,
    kind: Kind,
    tag: &str,
    body: Vec<u8>,
    timeout: Option<Duration>,
) -> Result<Option<(Reply, Option<String>)>, RemoteCallError> {
    let peers = node.peers();
    let to_node = dest.node().clone();
    let no_conn = || RemoteCallError::NoConnection {
        node: to_node.clone(),
    };
    let peer = peers.get(&to_node);
    let (incarnation, target): (Incarnation, Target) = match dest {
        Dest::Pid(p) => {
            if let Some(peer) = &peer
                && peer.incarnation > p.incarnation
            {
                // The node restarted: pids of the old incarnation stay dead.
                return Err(RemoteCallError::NoProcess);
            }
            if timeout.is_some() && peers.was_down(&to_node, p.incarnation) {
                // Invariant 1: a silent node's subscription is still on
                // the server, so the request would wait for its timeout.
                return Err(no_conn());
            }
            (p.incarnation, Target::Id(p.id))
        }
        Dest::Named(name, _) => match &peer {
            Some(peer) => (peer.incarnation, Target::Name(name.clone())),
            None => return Err(no_conn()),
        },
    };
    if node.is_stopped() {
        return Err(no_conn());
    }
    let envelope = Envelope {
        cluster: node.prefix().to_owned(),
        from,
        to_incarnation: incarnation,
        to: target,
        kind,
        body,
    };
    let bytes = encode(&envelope).map_err(RemoteCallError::Encode)?;
    let max = node.client().max_payload();
    // Headers take a few dozen bytes of the limit too.
    if bytes.len() + 128 > max {
        return Err(RemoteCallError::PayloadTooLarge {
            size: bytes.len(),
            max,
        });
    }
    let subject = node.subject(&format!("node.{to_node}.{incarnation}"));
    let mut headers = HeaderMap::new();
    headers.insert(TYPE_HEADER, tag);
    let Some(timeout) = timeout else {
        node.client()
            .publish_with_headers(subject, headers, Bytes::from(bytes))
            .await
            .map_err(|_| no_conn())?;
        return Ok(None);
    };
    headers.insert(DEADLINE_HEADER, timeout.as_millis().to_string().as_str());
    let request = async_nats::Request::new()
        .headers(headers)
        .payload(Bytes::from(bytes))
        .timeout(Some(timeout));
    let down = peer
        .filter(|p| p.incarnation == incarnation)
        .map(|p| p.down);
    let send = node.client().send_request(subject, request);
    let result = match down {
        Some(down) => tokio::select! {
            r = send => r,
            () = down.cancelled() => return Err(no_conn()),
        },
        None => send.await,
    };
    let msg = match result {
        Ok(msg) => msg,
        Err(e) => {
            return Err(match e.kind() {
                RequestErrorKind::TimedOut => RemoteCallError::Timeout,
                RequestErrorKind::NoResponders => match peers.get(&to_node) {
                    Some(p) if p.incarnation > incarnation => RemoteCallError::NoProcess,
                    _ => no_conn(),
                },
                RequestErrorKind::MaxPayloadExceeded => RemoteCallError::PayloadTooLarge {
                    size: envelope_len_hint(max),
                    max,
                },
                _ => no_conn(),
            });
        }
    };
    let tag = msg
        .headers
        .as_ref()
        .and_then(|h| h.get(TYPE_HEADER))
        .map(|v| v.as_str().to_owned());
    let reply = decode::<Reply>(&msg.payload).map_err(|e| RemoteCallError::Decode {
        expected: "arbor reply".into(),
        got: format!("undecodable reply: {e}"),
    })?;
    Ok(Some((reply, tag)))
}

/// The size reported when the client itself refused a payload (its limit
/// check counts headers we did not).
fn envelope_len_hint(max: usize) -> usize {
    max + 1
}

/// Maps a router's reply for a call expecting `R`.
fn typed_reply<R: Wire>(reply: Reply, tag: Option<String>) -> Result<R, RemoteCallError> {
    match reply {
        Reply::Ok(bytes) => {
            let got = tag.unwrap_or_default();
            if got != R::TAG {
                return Err(RemoteCallError::Decode {
                    expected: R::TAG.into(),
                    got,
                });
            }
            decode::<R>(&bytes).map_err(|e| RemoteCallError::Decode {
                expected: R::TAG.into(),
                got: format!("{got} (undecodable: {e})"),
            })
        }
        Reply::NoProc | Reply::Pong => Err(RemoteCallError::NoProcess),
        Reply::Exited(r) => Err(RemoteCallError::Exited(r)),
        Reply::Decode { expected, got } => Err(RemoteCallError::Decode { expected, got }),
        Reply::TooLarge { size, max } => Err(RemoteCallError::PayloadTooLarge { size, max }),
        Reply::Timeout => Err(RemoteCallError::Timeout),
    }
}

/// A typed handle to a remote service: a pid, or a name on a node.
/// Cheap to clone.
///
/// # OTP
///
/// `gen_server:call/3` and `cast/2` to a remote pid or `{Name, Node}`.
pub struct RemoteRef<P> {
    node: Node,
    dest: Dest,
    _p: PhantomData<fn() -> P>,
}

impl<P> Clone for RemoteRef<P> {
    fn clone(&self) -> Self {
        RemoteRef {
            node: self.node.clone(),
            dest: self.dest.clone(),
            _p: PhantomData,
        }
    }
}

impl<P> std::fmt::Debug for RemoteRef<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RemoteRef({:?})", self.dest)
    }
}

impl<P: Protocol> RemoteRef<P> {
    /// Calls with the node's default timeout (`call_timeout`, 5 s).
    ///
    /// # Errors
    ///
    /// As [`RemoteRef::call_timeout`].
    ///
    /// # Cancel safety
    ///
    /// The request is sent at the first poll; dropping the future later
    /// drops the reply (the request may still be handled).
    pub async fn call(&self, request: P::Call) -> Result<P::Reply, RemoteCallError> {
        self.call_timeout(request, self.node.config().call_timeout)
            .await
    }

    /// Calls and waits up to `timeout`. At-most-once: never retried.
    ///
    /// # Errors
    ///
    /// [`RemoteCallError::NoConnection`] (node unreachable or went down
    /// meanwhile), [`RemoteCallError::NoProcess`] (no such process there),
    /// [`RemoteCallError::Timeout`] (may have run),
    /// [`RemoteCallError::Exited`] (the callee died first),
    /// [`RemoteCallError::Decode`] (the two sides' type tags differ),
    /// [`RemoteCallError::Encode`], [`RemoteCallError::PayloadTooLarge`].
    ///
    /// # Cancel safety
    ///
    /// As [`RemoteRef::call`].
    pub async fn call_timeout(
        &self,
        request: P::Call,
        timeout: Duration,
    ) -> Result<P::Reply, RemoteCallError> {
        let result = self.call_once(request, timeout).await;
        #[cfg(feature = "metrics")]
        crate::metrics::remote_call(result.as_ref().map_or_else(RemoteCallError::kind, |_| "ok"));
        result
    }

    async fn call_once(
        &self,
        request: P::Call,
        timeout: Duration,
    ) -> Result<P::Reply, RemoteCallError> {
        let body = encode(&request).map_err(RemoteCallError::Encode)?;
        let answer = send_envelope(
            &self.node,
            self.node.node_pid(),
            &self.dest,
            Kind::Call,
            <P::Call as Wire>::TAG,
            body,
            Some(timeout),
        )
        .await?;
        match answer {
            Some((reply, tag)) => typed_reply(reply, tag),
            None => Err(RemoteCallError::Timeout),
        }
    }

    /// Casts: sent once, no answer; a cast to a dead process is dropped
    /// there (as `gen_server:cast`).
    ///
    /// # Errors
    ///
    /// Only what is known locally: [`RemoteCallError::Encode`],
    /// [`RemoteCallError::PayloadTooLarge`], and
    /// [`RemoteCallError::NoConnection`] for a name on a node that is not
    /// up.
    pub async fn cast(&self, message: P::Cast) -> Result<(), RemoteCallError> {
        let body = encode(&message).map_err(RemoteCallError::Encode)?;
        send_envelope(
            &self.node,
            self.node.node_pid(),
            &self.dest,
            Kind::Cast,
            <P::Cast as Wire>::TAG,
            body,
            None,
        )
        .await
        .map(|_| ())
    }
}

/// An untyped handle to a process on another node: send it messages, or
/// get a local pid for links and monitors
/// ([`Node::proxy`](crate::Node::proxy)).
#[derive(Clone, Debug)]
pub struct RemotePid {
    node: Node,
    pid: GlobalPid,
}

impl RemotePid {
    /// The global pid.
    pub fn pid(&self) -> &GlobalPid {
        &self.pid
    }

    /// Sends a plain message (the process must have been exported with
    /// [`Node::export_process`] for type `M`). Fire and forget, as `!`.
    ///
    /// # Errors
    ///
    /// [`RemoteCallError::Encode`], [`RemoteCallError::PayloadTooLarge`].
    pub async fn send<M: Wire>(&self, message: &M) -> Result<(), RemoteCallError> {
        let body = encode(message).map_err(RemoteCallError::Encode)?;
        send_envelope(
            &self.node,
            self.node.node_pid(),
            &Dest::Pid(self.pid.clone()),
            Kind::Send,
            M::TAG,
            body,
            None,
        )
        .await
        .map(|_| ())
    }

    /// A typed handle for calls to this pid.
    pub fn typed<P: Protocol>(&self) -> RemoteRef<P> {
        self.node.remote(self.pid.clone())
    }
}

impl Node {
    /// A typed handle to the process `pid` (on any node, this one too).
    pub fn remote<P: Protocol>(&self, pid: GlobalPid) -> RemoteRef<P> {
        RemoteRef {
            node: self.clone(),
            dest: Dest::Pid(pid),
            _p: PhantomData,
        }
    }

    /// A typed handle to the process registered locally as `name` on
    /// `node`, whatever its pid (`{Name, Node}`).
    pub fn remote_named<P: Protocol>(&self, name: &str, node: &NodeId) -> RemoteRef<P> {
        RemoteRef {
            node: self.clone(),
            dest: Dest::Named(name.to_owned(), node.clone()),
            _p: PhantomData,
        }
    }

    /// An untyped handle to `pid`, for plain messages.
    pub fn remote_pid(&self, pid: GlobalPid) -> RemotePid {
        RemotePid {
            node: self.clone(),
            pid,
        }
    }

    /// Pings `node`'s live incarnation: `true` if its router answered
    /// within `timeout`.
    pub async fn ping(&self, node: &NodeId, timeout: Duration) -> bool {
        let Some(peer) = self.peers().get(node) else {
            return false;
        };
        ping_incarnation(self, node, peer.incarnation, timeout).await == Ok(true)
    }
}

/// Pings one incarnation: `Ok(true)` answered, `Ok(false)` nobody
/// subscribed (no responders: not alive), `Err(())` no answer in time.
pub(crate) async fn ping_incarnation(
    node: &Node,
    to: &NodeId,
    incarnation: Incarnation,
    timeout: Duration,
) -> Result<bool, ()> {
    let dest = Dest::Pid(GlobalPid {
        node: to.clone(),
        incarnation,
        id: 0,
    });
    match send_envelope(
        node,
        node.node_pid(),
        &dest,
        Kind::Ping,
        "",
        Vec::new(),
        Some(timeout),
    )
    .await
    {
        Ok(Some((Reply::Pong, _))) => Ok(true),
        Ok(_) => Ok(true),
        Err(RemoteCallError::NoConnection { .. }) | Err(RemoteCallError::NoProcess) => Ok(false),
        Err(_) => Err(()),
    }
}
