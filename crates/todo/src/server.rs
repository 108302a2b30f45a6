//! [`TodoServer`]: the todo service over TCP, speaking the line protocol of
//! [`protocol`](crate::protocol), as a supervision tree of its own:
//!
//! ```text
//! server                rest_for_one
//! ├─ connections        simple_one_for_one over temporary connection processes
//! └─ acceptor           worker, owns the accept loop
//! ```
//!
//! Invariants:
//! 1. Every accepted socket is owned by exactly one connection process, a
//!    temporary child of `connections`: its crash is logged and affects no
//!    other connection; it is never restarted (its socket is gone).
//! 2. The acceptor starts after `connections` and so stops before it:
//!    [`TodoServer::shutdown`] stops accepting first, then stops every
//!    connection, then the server supervisor itself.
//! 3. A connection executes every complete line it received, in order,
//!    even when the client is gone (its replies are dropped); a partial
//!    line at end of input is dropped.
//! 4. In events mode the connection takes events off the stream as they
//!    come (the manager's `sync_notify` never waits on this client's
//!    socket) and buffers at most [`MAX_EVENT_BACKLOG`] bytes of output;
//!    a client that reads slower than that is disconnected.

use std::io;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arbor_genevent::EventStream;
use arbor_process::{Ctx, ExitReason, spawn_link};
use arbor_supervisor::{
    ChildSpec, ChildTemplate, SimpleSupervisorRef, StartOutcome, Strategy, SupFlags, Supervisor,
    SupervisorRef,
};
use futures::{FutureExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};

use crate::protocol::{ErrorReason, LineDecoder, MAX_LINE_LEN, Reply, Request};
use crate::{AppError, TodoApp, TodoEvent, TodoList};
use arbor_process::Process;
use arbor_supervisor::IntoStartOutcome;

/// The most event output a connection buffers for a client that does not
/// read; past it the client is disconnected (invariant 4).
pub const MAX_EVENT_BACKLOG: usize = 64 * 1024;

const TARGET: &str = "arbor::todo::server";
const READ_CHUNK: usize = 4096;
/// Command replies are written once this much is buffered, or when the
/// connection waits for input.
const FLUSH_AT: usize = 16 * 1024;
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a connection waits for the todo tree's root supervisor when
/// its event manager went away.
const RESUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The todo service on a TCP socket: one supervised process per
/// connection, commands run through the [`TodoApp`] client (so they reach
/// the current processes after restarts).
///
/// # Examples
///
/// ```
/// use arbor_todo::{TodoApp, TodoServer, TreeNames};
/// use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let app = TodoApp::start(TreeNames::prefixed("server_doc_")).await.unwrap();
/// let server = TodoServer::bind(&app, "127.0.0.1:0").await.unwrap();
/// let mut client = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
/// client.write_all(b"CREATE shopping\nPUT shopping milk\nLIST shopping\n").await.unwrap();
/// let mut lines = BufReader::new(client).lines();
/// for expected in ["OK", "OK", "* milk", "OK"] {
///     assert_eq!(lines.next_line().await.unwrap().unwrap(), expected);
/// }
/// server.shutdown().await;
/// app.stop().await.unwrap();
/// # }
/// ```
///
/// # Reports
///
/// To `tracing`, target `arbor::todo::server`: listening and stopped;
/// connection accepted (peer, pid), closed (peer; the I/O error or whether
/// a partial line was dropped), crashed (peer, panic; at `error`); accept
/// failures; slow event consumers dropped. The connection supervisor adds
/// its own child reports (target `arbor::supervisor`).
///
/// # OTP
///
/// The classic `gen_tcp` server: an acceptor and a `simple_one_for_one`
/// supervisor of temporary connection processes (as in ranch).
#[derive(Debug)]
#[must_use = "the handle is how the server is shut down and its address found"]
pub struct TodoServer {
    sup: SupervisorRef,
    local_addr: SocketAddr,
    listener: Arc<Mutex<Option<Arc<TcpListener>>>>,
    connections: ConnectionsSlot,
}

impl TodoServer {
    /// Binds `addr` and starts serving `app` (its tree may be started
    /// before or after, and may restart at any time).
    ///
    /// The server's supervisor has no parent: stop it with
    /// [`TodoServer::shutdown`]. Dropping the handle leaves it running.
    ///
    /// # Errors
    ///
    /// The bind error; an [`io::Error`] of kind `Other` if the server's
    /// supervisor could not start.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future after the bind may leave the
    /// server running.
    pub async fn bind(app: &TodoApp, addr: impl ToSocketAddrs) -> io::Result<TodoServer> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let listener = Arc::new(Mutex::new(Some(Arc::new(listener))));
        let connections = ConnectionsSlot::default();
        let sup = Supervisor::new(SupFlags::new(Strategy::RestForOne))
            .child(connections_spec(app.clone(), connections.clone()))
            .child(acceptor_spec(listener.clone(), connections.clone()))
            .start()
            .await
            .map_err(io::Error::other)?;
        tracing::info!(target: TARGET, addr = %local_addr, "todo server listening");
        Ok(TodoServer {
            sup,
            local_addr,
            listener,
            connections,
        })
    }

    /// The address the server listens on (with the port the system chose
    /// for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The server's supervisor (print its [`tree`](SupervisorRef::tree)).
    pub fn supervisor(&self) -> &SupervisorRef {
        &self.sup
    }

    /// How many connections are open now.
    ///
    /// # Errors
    ///
    /// [`AppError::NotRunning`] if the connection supervisor is not running
    /// (the server stopped or gave up); [`AppError::Call`] if it died
    /// meanwhile.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn connection_count(&self) -> Result<usize, AppError> {
        let sup = self
            .connections
            .get()
            .ok_or_else(|| AppError::NotRunning("connections".to_owned()))?;
        Ok(sup.count_children().await?.active)
    }

    /// Stops the server: the acceptor first (no new connection), then every
    /// connection (their sockets close), then the server's supervisor.
    /// Returns when all of them have exited. In-flight commands may be cut
    /// short (each is a single call to the todo tree, which it either
    /// reached or not).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after it started still stops the server.
    ///
    /// # OTP
    ///
    /// `supervisor:terminate_child/2` of the server's supervisor in its
    /// application: children stop in reverse start order.
    pub async fn shutdown(self) {
        if let Err(e) = self
            .sup
            .stop_with(ExitReason::Shutdown, Duration::MAX)
            .await
        {
            // Only if the supervisor had already given up (and so stopped
            // its children).
            tracing::warn!(target: TARGET, error = %e, "todo server was not running");
        }
        // The listening socket closes with the last holder: the acceptor's
        // task (ending now) and this one.
        lock(&self.listener).take();
        tracing::info!(target: TARGET, addr = %self.local_addr, "todo server stopped");
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded values are plain handles: a panic while holding the lock
    // cannot leave them half-updated.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The current connection supervisor, set by its start function, read by
/// the acceptor (restarted after it, rest_for_one) and `connection_count`.
#[derive(Debug, Clone, Default)]
struct ConnectionsSlot(Arc<Mutex<Option<SimpleSupervisorRef<Accepted>>>>);

impl ConnectionsSlot {
    fn get(&self) -> Option<SimpleSupervisorRef<Accepted>> {
        lock(&self.0).clone()
    }

    fn set(&self, sup: SimpleSupervisorRef<Accepted>) {
        *lock(&self.0) = Some(sup);
    }
}

// ===== the tree =====

fn connections_spec(app: TodoApp, slot: ConnectionsSlot) -> ChildSpec {
    ChildSpec::supervisor_with("connections", (app, slot), |(app, slot)| async move {
        let started = Supervisor::simple(SupFlags::default(), connection_template(app))
            .start_link()
            .await;
        if let Ok(sup) = &started {
            slot.set(sup.clone());
        }
        started.into_start_outcome()
    })
}

/// What the acceptor hands to a new connection process, moved into its
/// only start (the child is temporary).
#[derive(Debug)]
struct Accepted {
    socket: TcpStream,
    peer: SocketAddr,
}

fn connection_template(app: TodoApp) -> ChildTemplate<Accepted> {
    ChildSpec::temporary_template("connection", move |Accepted { socket, peer }| {
        let app = app.clone();
        async move { spawn_link(move |_: Ctx<()>| connection(app, socket, peer)) }
    })
}

fn acceptor_spec(
    listener: Arc<Mutex<Option<Arc<TcpListener>>>>,
    slot: ConnectionsSlot,
) -> ChildSpec {
    ChildSpec::worker("acceptor", move || {
        let listener = lock(&listener).clone();
        let slot = slot.clone();
        async move {
            let Some(listener) = listener else {
                return StartOutcome::Error(ExitReason::custom("listener closed"));
            };
            spawn_link(move |_: Ctx<()>| accept_loop(listener, slot)).into_start_outcome()
        }
    })
}

async fn accept_loop(listener: Arc<TcpListener>, slot: ConnectionsSlot) -> ExitReason {
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: do not spin.
                tracing::warn!(target: TARGET, error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Some(sup) = slot.get() else {
            return ExitReason::custom("no connection supervisor");
        };
        if let Err(e) = sup.start_child(Accepted { socket, peer }).await {
            // The socket is dropped (closed) with the arguments.
            tracing::error!(target: TARGET, %peer, error = %e, "could not start a connection process");
        }
    }
}

// ===== a connection =====

/// How a connection ended.
enum End {
    Closed { partial: bool },
    ReadFailed(io::Error),
    WriteFailed(io::Error),
    SlowConsumer,
}

async fn connection(app: TodoApp, socket: TcpStream, peer: SocketAddr) -> ExitReason {
    let pid = arbor_process::current().map(tracing::field::display);
    tracing::info!(target: TARGET, %peer, pid, "connection accepted");
    let run = AssertUnwindSafe(Connection::new(app, socket).run()).catch_unwind();
    match run.await {
        Ok(End::Closed { partial }) => {
            tracing::info!(target: TARGET, %peer, partial_line_dropped = partial, "connection closed");
        }
        Ok(End::ReadFailed(e)) | Ok(End::WriteFailed(e)) => {
            tracing::info!(target: TARGET, %peer, error = %e, "connection closed");
        }
        Ok(End::SlowConsumer) => {
            tracing::warn!(target: TARGET, %peer, "connection closed: client does not read its events");
        }
        Err(panic) => {
            let reason = ExitReason::from_panic(&*panic);
            tracing::error!(target: TARGET, %peer, %reason, "connection crashed");
            std::panic::resume_unwind(panic);
        }
    }
    ExitReason::Normal
}

enum Mode {
    Commands,
    Events(EventStream<TodoEvent>),
}

struct Connection {
    app: TodoApp,
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    lines: LineDecoder,
    out: Vec<u8>,
    /// False once a write failed: the client is gone, lines still run
    /// (invariant 3).
    writable: bool,
    mode: Mode,
}

impl Connection {
    fn new(app: TodoApp, socket: TcpStream) -> Connection {
        let (rd, wr) = socket.into_split();
        Connection {
            app,
            rd,
            wr,
            lines: LineDecoder::new(MAX_LINE_LEN),
            out: Vec::new(),
            writable: true,
            mode: Mode::Commands,
        }
    }

    async fn run(mut self) -> End {
        let mut chunk = vec![0; READ_CHUNK];
        loop {
            while let Some(line) = self.lines.next_line() {
                self.handle_line(line).await;
                if matches!(self.mode, Mode::Commands) && self.out.len() >= FLUSH_AT {
                    self.flush().await;
                }
            }
            let read = match &mut self.mode {
                Mode::Commands => {
                    self.flush().await;
                    self.rd.read(&mut chunk).await
                }
                Mode::Events(events) => {
                    if !self.writable {
                        return End::Closed { partial: false };
                    }
                    if self.out.len() > MAX_EVENT_BACKLOG {
                        return End::SlowConsumer;
                    }
                    tokio::select! {
                        event = events.next() => {
                            match event {
                                Some(Ok(event)) => Reply::Event(&event).write_to(&mut self.out),
                                Some(Err(e)) => self.resubscribe(e.to_string()).await,
                                None => self.resubscribe("event manager stopped".to_owned()).await,
                            }
                            continue;
                        }
                        written = self.wr.write(&self.out), if !self.out.is_empty() => {
                            match written {
                                Ok(n) => drop(self.out.drain(..n)),
                                Err(e) => return End::WriteFailed(e),
                            }
                            continue;
                        }
                        read = self.rd.read(&mut chunk) => read,
                    }
                }
            };
            match read {
                Ok(0) => {
                    return End::Closed {
                        partial: self.lines.has_partial(),
                    };
                }
                Ok(n) => self.lines.feed(&chunk[..n]),
                Err(e) => return End::ReadFailed(e),
            }
        }
    }

    async fn handle_line(&mut self, line: Result<String, ErrorReason>) {
        let request = line.and_then(|line| crate::protocol::parse(&line));
        let result = match (&self.mode, request) {
            (_, Err(reason)) => Err(reason),
            (Mode::Events(_), Ok(_)) => Err(ErrorReason::EventsMode),
            (Mode::Commands, Ok(Request::Events)) => match self.app.subscribe().await {
                Ok(events) => {
                    self.mode = Mode::Events(events);
                    Ok(Vec::new())
                }
                Err(e) => Err(unavailable(e)),
            },
            (Mode::Commands, Ok(request)) => execute(&self.app, request).await,
        };
        match result {
            Ok(items) => {
                for item in &items {
                    Reply::Item(item).write_to(&mut self.out);
                }
                Reply::Ok.write_to(&mut self.out);
            }
            Err(reason) => Reply::Err(&reason).write_to(&mut self.out),
        }
    }

    /// The event stream ended: follow the restarted event manager if there
    /// is one, else tell the client and accept commands again.
    async fn resubscribe(&mut self, why: String) {
        // A request to the root supervisor is answered after it handled the
        // event manager's exit (restarted it, or gave up).
        let restarted = match self.app.root() {
            Ok(root) => root
                .with_timeout(RESUBSCRIBE_TIMEOUT)
                .which_children()
                .await
                .is_ok(),
            Err(_) => false,
        };
        let events = if restarted {
            self.app.subscribe().await.ok()
        } else {
            None
        };
        match events {
            Some(events) => {
                tracing::info!(target: TARGET, %why, "event stream followed the restarted event manager");
                self.mode = Mode::Events(events);
            }
            None => {
                Reply::Err(&ErrorReason::EventsEnded(why)).write_to(&mut self.out);
                self.mode = Mode::Commands;
            }
        }
    }

    async fn flush(&mut self) {
        if self.writable
            && !self.out.is_empty()
            && let Err(e) = self.wr.write_all(&self.out).await
        {
            tracing::debug!(target: TARGET, error = %e, "client gone: replies dropped");
            self.writable = false;
        }
        self.out.clear();
    }
}

/// Runs one command; `Ok` carries the `* item` lines before `OK`.
async fn execute(app: &TodoApp, request: Request) -> Result<Vec<String>, ErrorReason> {
    match request {
        Request::Create { list } => {
            // Create and lookup through the same manager's ordered mailbox:
            // OK means the list can be found.
            let manager = app.manager().map_err(unavailable)?;
            manager.create(list.clone());
            match manager.lookup(&list).await {
                Ok(Some(_)) => Ok(Vec::new()),
                Ok(None) => Err(ErrorReason::NotCreated(list)),
                Err(e) => Err(unavailable(AppError::Call(e))),
            }
        }
        Request::Put { list, item } => {
            let todo = find(app, &list).await?;
            todo.put(item).await.map_err(|e| list_gone(&list, e))?;
            Ok(Vec::new())
        }
        Request::List { list } => {
            let todo = find(app, &list).await?;
            todo.get().await.map_err(|e| list_gone(&list, e))
        }
        Request::Delete { list, item } => {
            let todo = find(app, &list).await?;
            let before = todo
                .delete(item.clone())
                .await
                .map_err(|e| list_gone(&list, e))?;
            if before.contains(&item) {
                Ok(Vec::new())
            } else {
                Err(ErrorReason::UnknownItem { list, item })
            }
        }
        // Handled by the connection (it changes the connection's mode).
        Request::Events => Ok(Vec::new()),
    }
}

async fn find(app: &TodoApp, list: &str) -> Result<TodoList, ErrorReason> {
    app.lookup(list)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ErrorReason::UnknownList(list.to_owned()))
}

fn unavailable(e: AppError) -> ErrorReason {
    ErrorReason::Unavailable(match e {
        AppError::NotRunning(_) => "the todo service is restarting or stopped".to_owned(),
        AppError::Call(e) => format!("the todo service did not answer: {e}"),
    })
}

fn list_gone(list: &str, e: arbor_process::CallError) -> ErrorReason {
    ErrorReason::Unavailable(format!("list {list:?} did not answer: {e}"))
}
