//! JetStream for [`Level::Durable`](super::Level::Durable) topics: one
//! stream per topic (`ARBOR_<cluster>_EV_<topic>`, file storage, the
//! node's replica count), one durable pull consumer per subscribing node.
//!
//! Server 2.9 notes: the stream is created directly (no KV, so the
//! client's account query is not involved); right after a cluster starts
//! the first replicated stream creation can time out, so it is retried for
//! three JetStream timeouts, as KV buckets are. Messages are deduplicated
//! by `Nats-Msg-Id = <origin>-<incarnation>-<seq>` within the stream's
//! duplicate window (2 minutes), so a publication retried after a lost
//! acknowledgement is stored once.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, stream};

use super::error::EventsError;
use super::frame;
use crate::node::Node;
use crate::wire::{Incarnation, NodeId};

/// Opens (creating if needed) the topic's stream.
pub(crate) async fn stream(node: &Node, topic: &str) -> Result<stream::Stream, EventsError> {
    let name = frame::stream_name(node, topic);
    let config = stream::Config {
        name: name.clone(),
        subjects: vec![frame::durable_all(node, topic)],
        storage: stream::StorageType::File,
        num_replicas: node.config().kv_replicas,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    let deadline = Instant::now() + node.config().jetstream_timeout * 3;
    let mut delay = Duration::from_millis(50);
    loop {
        match node.jetstream().get_or_create_stream(config.clone()).await {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() < deadline => {
                tracing::debug!(target: "arbor::nats", stream = %name, error = %e, "event stream creation failed, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
            Err(e) => return Err(EventsError::JetStream(format!("stream {name}: {e}"))),
        }
    }
}

/// Opens (creating if needed) `who`'s durable consumer of the stream. A
/// new consumer starts with the events published from now on; an existing
/// one resumes after the last event it acknowledged.
pub(crate) async fn consumer(
    stream: &stream::Stream,
    who: &NodeId,
    max_ack_pending: i64,
) -> Result<consumer::PullConsumer, EventsError> {
    let name = frame::consumer_name(who);
    let config = consumer::pull::Config {
        durable_name: Some(name.clone()),
        deliver_policy: consumer::DeliverPolicy::New,
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: Duration::from_secs(10),
        max_ack_pending,
        ..Default::default()
    };
    stream
        .get_or_create_consumer(&name, config)
        .await
        .map_err(|e| EventsError::JetStream(format!("consumer {name}: {e}")))
}

/// The message id that makes a retried publication a duplicate.
pub(crate) fn msg_id(origin: &NodeId, incarnation: Incarnation, seq: u64) -> String {
    format!("{origin}-{incarnation}-{seq}")
}

/// Publishes one durable frame and waits for JetStream to store it,
/// retrying (same message id) until it is stored. Cancelling the future
/// (the bridge stopping) gives up.
pub(crate) async fn publish(
    js: &jetstream::Context,
    subject: &str,
    headers: async_nats::HeaderMap,
    payload: bytes::Bytes,
) -> u32 {
    let mut delay = Duration::from_millis(20);
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let acked = match js
            .publish_with_headers(subject.to_owned(), headers.clone(), payload.clone())
            .await
        {
            Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match acked {
            Ok(()) => return attempts,
            Err(e) => {
                tracing::warn!(target: "arbor::nats", subject, error = %e, "durable event not stored yet, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
        }
    }
}
