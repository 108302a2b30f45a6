//! The router: the node's one subscription for envelopes from other nodes
//! (`<prefix>.node.<name>.<incarnation>`), an agent under the node's
//! supervisor.
//!
//! # Invariants
//!
//! 1. Nothing from the network makes the router panic: an envelope that
//!    does not decode is logged and dropped.
//! 2. Envelopes of another cluster, or for another incarnation of this
//!    node, are never delivered: calls among them are answered `noproc`,
//!    the rest dropped.
//! 3. The router never waits for a callee: calls in progress are polled
//!    concurrently with routing, each bounded by its caller's deadline.

use std::sync::Arc;
use std::time::Duration;

use arbor_process::{Ctx, ExitReason, spawn_link};
use arbor_supervisor::ChildSpec;
use async_nats::{HeaderMap, Message};
use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;

use crate::call::Exports;
use crate::node::Node;
use crate::proxy::Proxies;
use crate::watch::Watchers;
use crate::wire::{DEADLINE_HEADER, Envelope, Kind, Reply, TYPE_HEADER, Target, decode, encode};

/// The router's child spec.
pub(crate) fn spec(node: &Node) -> ChildSpec {
    let node = node.clone();
    ChildSpec::worker("router", move || {
        let node = node.clone();
        async move {
            // Subscribe before the start returns: a node is callable once
            // `Node::start` is done.
            let subject = node.subject(&format!("node.{}.{}", node.name(), node.incarnation()));
            let sub = node
                .client()
                .subscribe(subject)
                .await
                .map_err(|e| ExitReason::custom(format!("router subscribe: {e}")))?;
            Ok::<_, ExitReason>(spawn_link(move |mut ctx: Ctx<()>| async move {
                let mut sub = sub;
                let tables = Tables {
                    exports: node.extension::<Exports>(),
                    proxies: node.extension::<Proxies>(),
                    watchers: node.extension::<Watchers>(),
                };
                // Calls waiting for their callee's reply, polled here: no
                // task per call.
                let mut calls: FuturesUnordered<BoxFuture<'static, ()>> = FuturesUnordered::new();
                loop {
                    tokio::select! {
                        _ = ctx.recv() => {}
                        msg = sub.next() => match msg {
                            Some(msg) => route(&node, &tables, &mut calls, msg),
                            None => return ExitReason::custom("router_subscription_closed"),
                        },
                        Some(()) = calls.next(), if !calls.is_empty() => {}
                    }
                }
            }))
        }
    })
}

fn header<'a>(msg: &'a Message, name: &str) -> Option<&'a str> {
    msg.headers.as_ref()?.get(name).map(|v| v.as_str())
}

/// The node's tables the router reads on every message, looked up once.
struct Tables {
    exports: Arc<Exports>,
    proxies: Arc<Proxies>,
    watchers: Arc<Watchers>,
}

/// Handles one message (invariants 1-3).
fn route(
    node: &Node,
    tables: &Tables,
    calls: &mut FuturesUnordered<BoxFuture<'static, ()>>,
    msg: Message,
) {
    let env = match decode::<Envelope>(&msg.payload) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(target: "arbor::nats", subject = %msg.subject, error = %e, "dropped an envelope that does not decode");
            return;
        }
    };
    if env.cluster != node.prefix() {
        tracing::warn!(target: "arbor::nats", from = %env.from, cluster = %env.cluster, "dropped an envelope of another cluster");
        return;
    }
    if env.to_incarnation != node.incarnation() {
        tracing::debug!(target: "arbor::nats", from = %env.from, incarnation = env.to_incarnation, "envelope for another incarnation");
        if let Some(reply) = msg.reply {
            answer(node, reply.to_string(), Reply::NoProc, "");
        }
        return;
    }
    let tag = header(&msg, TYPE_HEADER).unwrap_or("").to_owned();
    let exports = &tables.exports;
    match env.kind {
        Kind::Ping => {
            if let Some(reply) = msg.reply {
                answer(node, reply.to_string(), Reply::Pong, "");
            }
        }
        Kind::Call => {
            let left = header(&msg, DEADLINE_HEADER)
                .and_then(|v| v.parse::<u64>().ok())
                .map_or(node.config().call_timeout, Duration::from_millis);
            let Some(reply_to) = msg.reply else { return };
            let entry = exports.resolve(&env.to);
            let node = node.clone();
            let Some(entry) = entry else {
                return answer(&node, reply_to.to_string(), Reply::NoProc, "");
            };
            let Some(handler) = entry.call else {
                let reply = Reply::Decode {
                    expected: "a process that takes calls".into(),
                    got: tag,
                };
                return answer(&node, reply_to.to_string(), reply, "");
            };
            // The call decodes the request, queues it in the callee's
            // mailbox, waits for the reply and publishes it, concurrently
            // with every other call and with routing.
            let pending = handler(env.body, tag, left);
            calls.push(Box::pin(async move {
                let reply = pending.await;
                publish_reply(&node, reply_to.to_string(), reply, entry.reply_tag).await;
            }));
        }
        Kind::Cast | Kind::Send => match exports.resolve(&env.to).and_then(|e| e.cast) {
            Some(handler) => {
                if let Err(e) = handler(env.body, tag) {
                    tracing::warn!(target: "arbor::nats", from = %env.from, error = %e, "dropped a cast");
                }
            }
            None => tracing::debug!(target: "arbor::nats", from = %env.from, "cast to no process"),
        },
        Kind::Watch => {
            let Target::Id(id) = env.to else { return };
            let pid = exports.resolve(&Target::Id(id)).map(|e| e.pid);
            let mut target = node.node_pid();
            target.id = id;
            tables.watchers.watch(node, pid, target, env.from);
        }
        Kind::Exit(reason) => {
            if let Some(e) = exports.resolve(&env.to) {
                arbor_process::exit(e.pid, reason.into_exit_reason());
            }
        }
        Kind::Exited(reason) => tables.proxies.exited(&env.from, reason),
    }
}

/// Publishes `reply` to `to` from a task of its own (the router does not
/// wait).
fn answer(node: &Node, to: String, reply: Reply, tag: &'static str) {
    let node = node.clone();
    tokio::spawn(async move { publish_reply(&node, to, reply, tag).await });
}

/// Publishes `reply` to `to`, or `TooLarge` if it exceeds the server's
/// payload limit.
async fn publish_reply(node: &Node, to: String, reply: Reply, tag: &'static str) {
    let bytes = match encode(&reply) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(target: "arbor::nats", error = %e, "reply does not encode");
            return;
        }
    };
    let max = node.client().max_payload();
    let (bytes, tag) = if bytes.len() + 128 > max {
        let too_large = Reply::TooLarge {
            size: bytes.len(),
            max,
        };
        (encode(&too_large).unwrap_or_default(), "")
    } else {
        (bytes, tag)
    };
    let mut headers = HeaderMap::new();
    headers.insert(TYPE_HEADER, tag);
    let _ = node
        .client()
        .publish_with_headers(to, headers, Bytes::from(bytes))
        .await;
}
