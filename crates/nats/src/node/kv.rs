//! JetStream KV buckets that work on the server Debian ships (2.9).
//!
//! The client's `create_key_value` asks the server for account fields that
//! 2.9 does not send and fails there; the bucket is then created as what it
//! is, a stream named `KV_<bucket>` with the KV layout, and opened with
//! `get_key_value`. Newer servers take the normal path. Right after a
//! cluster starts, the first replicated stream creation may time out while
//! the cluster settles, so creation is retried until the JetStream timeout
//! has passed three times.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv, stream};

use super::NodeError;

/// Opens bucket `bucket` (creating it if needed) with `history` values per
/// key and `replicas` copies.
pub(crate) async fn bucket(
    js: &jetstream::Context,
    bucket: &str,
    history: i64,
    replicas: usize,
    timeout: Duration,
) -> Result<kv::Store, NodeError> {
    if let Ok(store) = js.get_key_value(bucket).await {
        return Ok(store);
    }
    retrying(&format!("bucket {bucket}"), timeout, || {
        try_create(js, bucket, history, replicas)
    })
    .await
}

async fn try_create(
    js: &jetstream::Context,
    bucket: &str,
    history: i64,
    replicas: usize,
) -> Result<kv::Store, NodeError> {
    let config = kv::Config {
        bucket: bucket.to_owned(),
        history,
        num_replicas: replicas,
        ..Default::default()
    };
    if let Ok(store) = js.create_key_value(config).await {
        return Ok(store);
    }
    let stream = stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: history,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        num_replicas: replicas,
        storage: stream::StorageType::File,
        ..Default::default()
    };
    // `get_or_create`: another node may have created it meanwhile.
    js.get_or_create_stream(stream)
        .await
        .map_err(|e| NodeError::JetStream(format!("create bucket {bucket}: {e}")))?;
    js.get_key_value(bucket)
        .await
        .map_err(|e| NodeError::JetStream(format!("open bucket {bucket}: {e}")))
}

/// Runs `op` until it succeeds or `3 × timeout` has passed, backing off
/// from 50 ms to 1 s: JetStream requests on a young cluster time out
/// until it has settled.
///
/// # Errors
///
/// The last error, as text, prefixed with `what`.
pub(crate) async fn retrying<T, E, F, Fut>(
    what: &str,
    timeout: Duration,
    mut op: F,
) -> Result<T, NodeError>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + timeout * 3;
    let mut delay = Duration::from_millis(50);
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() < deadline => {
                tracing::debug!(target: "arbor::nats", what, error = %e, "jetstream request failed, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
            Err(e) => return Err(NodeError::JetStream(format!("{what}: {e}"))),
        }
    }
}
