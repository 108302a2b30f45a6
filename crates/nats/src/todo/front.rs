//! The TCP front end of one node: the todo line protocol, unchanged, with
//! every command routed to its list's owner and `EVENTS` streaming every
//! node's events.
//!
//! # Invariants
//!
//! 1. Every request line gets exactly one final line (`OK` or `ERR …`),
//!    in order; a connection runs one command at a time.
//! 2. In events mode the connection buffers at most
//!    [`MAX_EVENT_BACKLOG`] bytes for a client that does not read; past
//!    that it is disconnected.
//! 3. Connections are processes linked to the acceptor: stopping the
//!    front end closes all of them.

use std::net::SocketAddr;
use std::sync::Arc;

use arbor_process::{Ctx, ExitReason, spawn_link};
use arbor_supervisor::ChildSpec;
use arbor_todo::MAX_EVENT_BACKLOG;
use arbor_todo::protocol::{self, ErrorReason, LineDecoder, MAX_LINE_LEN, Reply, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::events::{ClusterEvents, subscribe};
use super::msg::Command;
use super::route::route;
use super::state::Shared;

/// The acceptor's child spec: accepts on `listener` until stopped.
pub(crate) fn spec(shared: Arc<Shared>, listener: Arc<TcpListener>) -> ChildSpec {
    ChildSpec::worker("todo_front", move || {
        let shared = shared.clone();
        let listener = listener.clone();
        async move {
            Ok::<_, ExitReason>(spawn_link(move |_: Ctx<()>| async move {
                loop {
                    match listener.accept().await {
                        Ok((socket, peer)) => {
                            let shared = shared.clone();
                            spawn_link(move |_: Ctx<()>| connection(shared, socket, peer));
                        }
                        Err(e) => {
                            tracing::warn!(target: "arbor::nats::todo", error = %e, "accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                    }
                }
            }))
        }
    })
}

async fn connection(shared: Arc<Shared>, socket: TcpStream, peer: SocketAddr) -> ExitReason {
    tracing::debug!(target: "arbor::nats::todo", %peer, "connection accepted");
    let _ = socket.set_nodelay(true);
    let (mut rd, mut wr) = socket.into_split();
    let mut lines = LineDecoder::new(MAX_LINE_LEN);
    let mut chunk = vec![0u8; 4096];
    let mut out = Vec::new();
    let mut events: Option<ClusterEvents> = None;
    loop {
        while let Some(line) = lines.next_line() {
            let request = line.and_then(|l| protocol::parse(&l));
            let result = match (&events, request) {
                (_, Err(e)) => Err(e),
                (Some(_), Ok(_)) => Err(ErrorReason::EventsMode),
                (None, Ok(Request::Events)) => match subscribe(&shared).await {
                    Ok(s) => {
                        events = Some(s);
                        Ok(Vec::new())
                    }
                    Err(e) => Err(ErrorReason::Unavailable(format!("events: {e}"))),
                },
                (None, Ok(r)) => match Command::from_request(r) {
                    Some(c) => route(&shared, c).await.result,
                    None => Ok(Vec::new()),
                },
            };
            match result {
                Ok(items) => {
                    for i in &items {
                        Reply::Item(i).write_to(&mut out);
                    }
                    Reply::Ok.write_to(&mut out);
                }
                Err(e) => Reply::Err(&e).write_to(&mut out),
            }
        }
        let read = match &mut events {
            None => {
                if !out.is_empty() {
                    if wr.write_all(&out).await.is_err() {
                        return ExitReason::Normal;
                    }
                    out.clear();
                }
                rd.read(&mut chunk).await
            }
            Some(ev) => {
                if out.len() > MAX_EVENT_BACKLOG {
                    tracing::warn!(target: "arbor::nats::todo", %peer, "connection closed: client does not read its events");
                    return ExitReason::Normal;
                }
                tokio::select! {
                    e = ev.next() => {
                        match e {
                            Some(e) => {
                                out.extend_from_slice(e.protocol_line().as_bytes());
                                out.push(b'\n');
                            }
                            None => {
                                Reply::Err(&ErrorReason::EventsEnded("connection to NATS closed".into())).write_to(&mut out);
                                events = None;
                            }
                        }
                        continue;
                    }
                    w = wr.write(&out), if !out.is_empty() => {
                        match w {
                            Ok(n) => drop(out.drain(..n)),
                            Err(_) => return ExitReason::Normal,
                        }
                        continue;
                    }
                    r = rd.read(&mut chunk) => r,
                }
            }
        };
        match read {
            Ok(0) | Err(_) => return ExitReason::Normal,
            Ok(n) => lines.feed(&chunk[..n]),
        }
    }
}
