//! The local side of remote calls: which local processes other nodes may
//! address, and how an envelope's body becomes a typed request.
//!
//! A process is reachable from other nodes only once it was handed out as
//! a [`GlobalPid`] (by [`Node::global_pid`], [`Node::export`] or
//! [`Node::export_process`]); the table forgets it when it exits.
//!
//! # Invariants
//!
//! 1. An entry's pid is alive or exiting: a watcher task removes the entry
//!    after the process has exited.
//! 2. A request is decoded only if its type header equals the callee's
//!    [`Wire::TAG`]; otherwise the caller gets `Decode { expected, got }`.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use arbor_process::{
    CallError, GenServer, Pid, Process, ProcessRef, ReplyTo, ServerRef, wait_exit, whereis,
};
use futures::future::BoxFuture;
use parking_lot::Mutex;

use super::Protocol;
use crate::node::Node;
use crate::wire::{GlobalPid, Reply, Target, Wire, WireExitReason, decode, encode};

/// Answers one call: body, its type tag, time left.
pub(crate) type CallHandler =
    Arc<dyn Fn(Vec<u8>, String, Duration) -> BoxFuture<'static, Reply> + Send + Sync>;
/// Takes one cast or message: body, its type tag; `Err` = refused (logged).
pub(crate) type CastHandler = Arc<dyn Fn(Vec<u8>, String) -> Result<(), String> + Send + Sync>;

/// One addressable local process.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) pid: Pid,
    /// The tag of the call handler's replies.
    pub(crate) reply_tag: &'static str,
    pub(crate) call: Option<CallHandler>,
    pub(crate) cast: Option<CastHandler>,
}

/// The table (a node extension).
#[derive(Default)]
pub(crate) struct Exports {
    map: Mutex<HashMap<u64, Entry>>,
}

impl Exports {
    /// Adds `pid` (if new) and applies `set` to its entry.
    fn upsert(self: &Arc<Self>, pid: Pid, set: impl FnOnce(&mut Entry)) {
        let mut map = self.map.lock();
        let new = !map.contains_key(&pid.id());
        let entry = map.entry(pid.id()).or_insert(Entry {
            pid,
            reply_tag: "",
            call: None,
            cast: None,
        });
        set(entry);
        drop(map);
        if new {
            let weak: Weak<Exports> = Arc::downgrade(self);
            tokio::spawn(async move {
                wait_exit(pid).await;
                if let Some(t) = weak.upgrade() {
                    t.map.lock().remove(&pid.id());
                }
            });
        }
    }

    /// The entry `target` names: a pid number, or a locally registered
    /// name whose process was handed out.
    pub(crate) fn resolve(&self, target: &Target) -> Option<Entry> {
        let id = match target {
            Target::Id(id) => *id,
            Target::Name(name) => whereis(name)?.id(),
            Target::Node => return None,
        };
        let entry = self.map.lock().get(&id).cloned()?;
        arbor_process::is_alive(entry.pid).then_some(entry)
    }

    /// The number of entries (leak tests).
    pub(crate) fn len(&self) -> usize {
        self.map.lock().len()
    }
}

/// A [`GenServer`] that other nodes may call and cast to, with the typed
/// requests of its [`Protocol`]. The two functions turn a decoded request
/// into the server's own message: the server itself does not change.
///
/// # Examples
///
/// ```no_run
/// use arbor_nats::{Node, NodeConfig, Protocol, RemoteServer, Wire};
/// use arbor_process::{Control, GenServer, ReplyTo, ServerCtx};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// pub struct Add(pub u64);
/// impl Wire for Add { const TAG: &'static str = "counter.Add/v1"; }
///
/// pub struct CounterApi;
/// impl Protocol for CounterApi { type Call = Add; type Reply = u64; type Cast = u64; }
///
/// struct Counter(u64);
/// enum Call { Add(u64, ReplyTo<u64>) }
/// impl GenServer for Counter {
///     type Call = Call; type Cast = u64; type Info = ();
///     async fn handle_call(&mut self, c: Call, _: &mut ServerCtx<Self>) -> Control {
///         let Call::Add(n, r) = c;
///         self.0 += n;
///         r.reply(self.0)
///     }
///     async fn handle_cast(&mut self, n: u64, _: &mut ServerCtx<Self>) -> Control {
///         self.0 += n;
///         Control::Continue
///     }
/// }
/// impl RemoteServer for Counter {
///     type Protocol = CounterApi;
///     fn remote_call(req: Add, reply: ReplyTo<u64>) -> Call { Call::Add(req.0, reply) }
///     fn remote_cast(n: u64) -> u64 { n }
/// }
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let n1 = Node::start(NodeConfig::new("n1", ["nats://127.0.0.1:4222"])).await?;
/// let n2 = Node::start(NodeConfig::new("n2", ["nats://127.0.0.1:4222"])).await?;
/// let counter = Counter(0).start().await?;
/// let pid = n1.export(&counter);              // callable from other nodes now
/// let remote = n2.remote::<CounterApi>(pid);   // typed by the protocol only
/// remote.cast(40).await?;
/// assert_eq!(remote.call(Add(2)).await?, 42);
/// # Ok(()) }
/// ```
pub trait RemoteServer: GenServer {
    /// The requests, replies and casts other nodes send.
    type Protocol: Protocol;
    /// The server's call message for a remote request.
    fn remote_call(
        request: <Self::Protocol as Protocol>::Call,
        reply: ReplyTo<<Self::Protocol as Protocol>::Reply>,
    ) -> Self::Call;
    /// The server's cast message for a remote cast.
    fn remote_cast(message: <Self::Protocol as Protocol>::Cast) -> Self::Cast;
}

/// Decodes a body of type `T` after checking its tag (invariant 2).
fn decode_tagged<T: Wire>(body: &[u8], tag: &str) -> Result<T, (String, String)> {
    if tag != T::TAG {
        return Err((T::TAG.to_owned(), tag.to_owned()));
    }
    decode::<T>(body).map_err(|e| (T::TAG.to_owned(), format!("{tag} (undecodable: {e})")))
}

fn call_handler<S: RemoteServer>(server: ServerRef<S>) -> CallHandler {
    type P<S> = <S as RemoteServer>::Protocol;
    Arc::new(move |body, tag, left| {
        let server = server.clone();
        Box::pin(async move {
            let req = match decode_tagged::<<P<S> as Protocol>::Call>(&body, &tag) {
                Ok(r) => r,
                Err((expected, got)) => return Reply::Decode { expected, got },
            };
            match server.call_timeout(|r| S::remote_call(req, r), left).await {
                Ok(reply) => match encode(&reply) {
                    Ok(bytes) => Reply::Ok(bytes),
                    Err(e) => Reply::Exited(WireExitReason::Custom(format!("reply encode: {e}"))),
                },
                Err(CallError::Exited(r)) => Reply::Exited(WireExitReason::from(&r)),
                Err(CallError::NoProcess) => Reply::NoProc,
                Err(CallError::Timeout) => Reply::Timeout,
                Err(CallError::CallingSelf) => Reply::NoProc,
            }
        })
    })
}

impl Node {
    /// The global pid of a local process, which other nodes can then
    /// address (link, monitor, exit signals; calls once exported).
    pub fn global_pid(&self, pid: Pid) -> GlobalPid {
        self.extension::<Exports>().upsert(pid, |_| {});
        GlobalPid {
            node: self.name().clone(),
            incarnation: self.incarnation(),
            id: pid.id(),
        }
    }

    /// Lets other nodes call and cast to `server` (by the returned pid, or
    /// by `(name, node)` if the server is locally registered under a
    /// name). The export ends when the server exits.
    pub fn export<S: RemoteServer>(&self, server: &ServerRef<S>) -> GlobalPid {
        let cast_to = server.clone();
        let cast: CastHandler = Arc::new(move |body, tag| {
            let msg = decode_tagged::<<S::Protocol as Protocol>::Cast>(&body, &tag)
                .map_err(|(e, g)| format!("expected {e}, got {g}"))?;
            cast_to.cast(S::remote_cast(msg));
            Ok(())
        });
        let call = call_handler(server.clone());
        self.extension::<Exports>().upsert(server.pid(), |e| {
            e.call = Some(call);
            e.reply_tag = <<S::Protocol as Protocol>::Reply as Wire>::TAG;
            e.cast = Some(cast);
        });
        self.global_pid(server.pid())
    }

    /// Lets other nodes send plain messages of type `M` to `process`
    /// ([`RemotePid::send`](crate::RemotePid::send)). The export ends when
    /// the process exits.
    pub fn export_process<M: Wire>(&self, process: &ProcessRef<M>) -> GlobalPid {
        let to = process.clone();
        let cast: CastHandler = Arc::new(move |body, tag| {
            let msg = decode_tagged::<M>(&body, &tag)
                .map_err(|(e, g)| format!("expected {e}, got {g}"))?;
            to.send(msg).map_err(|_| "process exited".to_owned())
        });
        self.extension::<Exports>()
            .upsert(process.pid(), |e| e.cast = Some(cast));
        self.global_pid(process.pid())
    }
}
