//! What a dead incarnation could leave on the server, read from the
//! outside: connections and their subscriptions (the monitoring port) and
//! JetStream consumers (a client of the test's own).

use std::time::Duration;

use arbor_nats::testkit::NatsServer;
use futures::StreamExt;

/// The open connections by client name, with their subscription count.
pub async fn connections(server: &NatsServer) -> Vec<(String, u64)> {
    let connz = server.monitor("/connz?subs=1&limit=4096").await.unwrap();
    connz["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or("").to_owned(),
                c["subscriptions"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// One JetStream consumer: its stream, name, whether a live subscriber
/// is bound to it, whether it is durable, and its inactive threshold.
#[derive(Debug)]
pub struct ConsumerRow {
    pub stream: String,
    pub name: String,
    pub bound: bool,
    pub durable: bool,
    pub inactive_threshold: Duration,
}

/// Every consumer of every stream, listed with a client of the test's own.
pub async fn consumers(server: &NatsServer) -> Vec<ConsumerRow> {
    let client = server.raw_client("leftovers-probe").await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut names = js.stream_names();
    let mut streams = Vec::new();
    while let Some(n) = names.next().await {
        streams.push(n.unwrap());
    }
    let mut rows = Vec::new();
    for s in streams {
        let stream = js.get_stream(&s).await.unwrap();
        let mut list = stream.consumers();
        while let Some(info) = list.next().await {
            let info = info.unwrap();
            rows.push(ConsumerRow {
                stream: s.clone(),
                name: info.name.clone(),
                bound: info.push_bound,
                durable: info.config.durable_name.is_some(),
                inactive_threshold: info.config.inactive_threshold,
            });
        }
    }
    rows
}
