//! A node that mirrors one event topic, as an OS process (see
//! `arbor_nats::testkit::run_events_node` for its arguments and output):
//! the tests and the events soak kill it with `kill -9`.

#[tokio::main]
async fn main() {
    let code = arbor_nats::testkit::run_events_node(std::env::args().skip(1)).await;
    std::process::exit(code);
}
