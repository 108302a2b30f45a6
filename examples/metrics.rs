//! arbor's metrics (docs/metrics.md) scraped in the Prometheus text format.
//!
//! Run with `cargo run --example metrics --features metrics`.
//!
//! Installs the `metrics-exporter-prometheus` recorder, runs a small tree
//! (a named one_for_one supervisor whose worker is killed three times, a
//! named event manager with a handler that fails on the event `0`), samples
//! the process gauges, then serves the recorder's rendering on a loopback
//! port (`127.0.0.1`, a port the system picks) and prints what one HTTP
//! scrape of it returns. Nothing leaves the machine.

use arbor::genevent::{EventHandler, EventManager, Handled, HandlerCtx, HandlerError, Step};
use arbor::prelude::{Control, GenServer, Process, ServerCtx};
use arbor::process::{StartOpts, kill, wait_exit};
use arbor::supervisor::{ChildSpec, Supervisor};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Worker;

impl GenServer for Worker {
    type Call = ();
    type Cast = ();
    type Info = ();
    async fn handle_cast(&mut self, (): (), _: &mut ServerCtx<Self>) -> Control {
        Control::Continue
    }
}

struct NoZero;

impl EventHandler<u64> for NoZero {
    fn handle_event(&mut self, n: &u64, _: &HandlerCtx<'_, u64>) -> Handled<u64> {
        if *n == 0 {
            return Err(HandlerError::msg("zero"));
        }
        Ok(Step::Keep)
    }
}

/// Answers one HTTP request on `listener` with the recorder's rendering.
async fn serve_one(listener: TcpListener, handle: PrometheusHandle) -> Result<(), Error> {
    let (mut conn, _) = listener.accept().await?;
    let mut request = [0u8; 1024];
    let _ = conn.read(&mut request).await?;
    let body = handle.render();
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await?;
    conn.write_all(body.as_bytes()).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let handle = PrometheusBuilder::new().install_recorder()?;

    let sup = Supervisor::one_for_one()
        .intensity(10)
        .child(ChildSpec::worker("worker", || Worker.start_link()))
        .start_opts(StartOpts::new().name("example_sup"))
        .await?;
    for _ in 0..3 {
        let pid = sup.which_children().await?[0]
            .state
            .pid()
            .ok_or("no child")?;
        kill(pid);
        wait_exit(pid).await;
    }
    let events = EventManager::<u64>::start_opts(StartOpts::new().name("example_events")).await?;
    events.add(NoZero).await?;
    events.notify(1);
    events.sync_notify(2).await?;
    events.sync_notify(0).await?; // NoZero fails and is removed
    arbor::metrics::sample();

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(serve_one(listener, handle));
    let mut client = TcpStream::connect(addr).await?;
    client
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await?;
    let mut response = String::new();
    client.read_to_string(&mut response).await?;
    server.await??;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    println!("scrape of http://{addr}/metrics:\n{body}");

    events.stop().await?;
    sup.stop().await?;
    Ok(())
}
