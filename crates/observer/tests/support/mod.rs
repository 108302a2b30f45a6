//! A minimal HTTP/1.1 client over a raw socket (one request per
//! connection), so the tests need no client library.
#![allow(dead_code)]

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

pub(crate) async fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Reply {
    request_typed(addr, method, path, "application/json", body).await
}

pub(crate) async fn request_typed(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> Reply {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (413) before reading all of a large body.
    let _ = s.write_all(body).await;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text[9..12].parse().unwrap();
    let (headers, rest) = text.split_once("\r\n\r\n").unwrap();
    let body = if headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Reply { status, body }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

pub(crate) async fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, b"").await
}

pub(crate) async fn post(addr: SocketAddr, path: &str, body: &str) -> Reply {
    request(addr, "POST", path, body.as_bytes()).await
}

/// A live-feed connection: yields `(event, data)` pairs.
pub(crate) struct Feed {
    lines: tokio::io::Lines<BufReader<TcpStream>>,
}

impl Feed {
    pub(crate) async fn open(addr: SocketAddr) -> Feed {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "GET /api/events HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\n\r\n"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let mut lines = BufReader::new(s).lines();
        // Status line and headers.
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.is_empty() {
                break;
            }
        }
        Feed { lines }
    }

    /// The next event, or `None` when the server ended the stream.
    pub(crate) async fn next(&mut self) -> Option<(String, serde_json::Value)> {
        let (mut event, mut data) = (String::new(), String::new());
        loop {
            let line = self.lines.next_line().await.ok()??;
            if let Some(e) = line.strip_prefix("event: ").or(line.strip_prefix("event:")) {
                event = e.trim().to_string();
            } else if let Some(d) = line.strip_prefix("data: ").or(line.strip_prefix("data:")) {
                data.push_str(d);
            } else if line.is_empty() && !event.is_empty() {
                return Some((event, serde_json::from_str(&data).unwrap()));
            }
            // Chunk-size lines of the chunked encoding are skipped.
        }
    }

    /// Reads timeline entries until `want` matches one; returns it.
    pub(crate) async fn until(
        &mut self,
        want: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        loop {
            let (event, data) = self.next().await.expect("feed ended");
            let events = match event.as_str() {
                "hello" => data["timeline"].as_array().cloned().unwrap_or_default(),
                "timeline" => data["events"].as_array().cloned().unwrap_or_default(),
                _ => continue,
            };
            if let Some(e) = events.into_iter().find(|e| want(e)) {
                return e;
            }
        }
    }
}
