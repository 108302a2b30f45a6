//! What crosses between nodes: node identity, global pids, the [`Wire`]
//! trait for user messages, the router's [`Envelope`] and exit reasons as
//! data ([`WireExitReason`]).
//!
//! The format is postcard (compact, stable, serde). Postcard is not
//! self-describing, so every user type carries a versioned tag
//! ([`Wire::TAG`], e.g. `"todo.Put/v1"`) that travels in a header and is
//! checked before decoding: two nodes that disagree on a message's shape
//! get a typed decode error naming both tags instead of a garbled value.
//!
//! # Invariants
//!
//! 1. Decoding never panics: every malformed input is an `Err`.
//! 2. `WireExitReason::from(&r).into_exit_reason() == r` for every reason
//!    (`ExitReason`'s equality compares error values by their text). An
//!    error value cannot cross a process boundary: `Error(e)` arrives as
//!    `Error` holding a [`RemoteError`] with `e`'s text, so it stays an
//!    error, not an atom.

use std::fmt;
use std::sync::Arc;

use arbor_process::ExitReason;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A node's configured name (`todo@n1`), like an Erlang node name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId(Arc<str>);

impl NodeId {
    /// A node id from its name. See [`NodeId::validate`] for what a name
    /// may contain.
    pub fn new(name: impl Into<Arc<str>>) -> NodeId {
        NodeId(name.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the name can be one token of a NATS subject and a KV key:
    /// 1–64 characters from `[A-Za-z0-9_@-]`.
    ///
    /// # Errors
    ///
    /// The offending name, as a message.
    pub fn validate(&self) -> Result<(), String> {
        let ok = !self.0.is_empty()
            && self.0.len() <= 64
            && self
                .0
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '@'));
        if ok {
            Ok(())
        } else {
            Err(format!(
                "node name {:?} must be 1-64 characters of [A-Za-z0-9_@-]",
                &*self.0
            ))
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One run of a node: the start time in milliseconds since the Unix epoch,
/// bumped if needed so it grows across restarts of the same name. A
/// restarted node is a new incarnation; pids of the old one stay dead.
///
/// # OTP
///
/// The *creation* of a distributed Erlang node.
pub type Incarnation = u64;

/// A process anywhere in the cluster: its node, the node's incarnation, and
/// the local pid number there. Printed `<todo@n1.1733.42>`.
///
/// # OTP
///
/// A remote Erlang pid (node, creation, number).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GlobalPid {
    /// The node the process lives on.
    pub node: NodeId,
    /// That node's incarnation when the process was started.
    pub incarnation: Incarnation,
    /// The local pid number on that node.
    pub id: u64,
}

impl fmt::Display for GlobalPid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}.{}.{}>", self.node, self.incarnation, self.id)
    }
}

impl fmt::Debug for GlobalPid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A message type that may cross nodes: serde-serialisable, with a stable
/// versioned tag. A type that is not serialisable cannot implement it, so
/// sending it to another node is a compile error.
///
/// Bump the version in the tag whenever the serialised shape changes:
/// nodes with different tags refuse each other's messages with a typed
/// error instead of misreading them.
///
/// # Examples
///
/// ```
/// use arbor_nats::{Wire, decode, encode};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct Put { list: String, item: String }
/// impl Wire for Put { const TAG: &'static str = "todo.Put/v1"; }
///
/// let put = Put { list: "home".into(), item: "milk".into() };
/// let bytes = encode(&put).unwrap();
/// assert_eq!(decode::<Put>(&bytes).unwrap(), put);
/// ```
///
/// A type that is not serialisable does not compile:
///
/// ```compile_fail
/// use arbor_nats::Wire;
/// struct NotSerde(std::rc::Rc<u8>);
/// impl Wire for NotSerde { const TAG: &'static str = "x/v1"; }
/// ```
pub trait Wire: Serialize + DeserializeOwned + Send + 'static {
    /// The type's name and version, e.g. `"todo.Put/v1"`.
    const TAG: &'static str;
}

impl Wire for () {
    const TAG: &'static str = "unit/v1";
}
impl Wire for String {
    const TAG: &'static str = "string/v1";
}
impl Wire for u64 {
    const TAG: &'static str = "u64/v1";
}
impl Wire for i64 {
    const TAG: &'static str = "i64/v1";
}
impl Wire for bool {
    const TAG: &'static str = "bool/v1";
}
impl Wire for Vec<u8> {
    const TAG: &'static str = "bytes/v1";
}

/// Serialises `value` with postcard.
///
/// # Errors
///
/// The serialiser's message (e.g. a map with a non-string key is fine in
/// postcard, but a `Serialize` impl may fail by itself).
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    postcard::to_allocvec(value).map_err(|e| e.to_string())
}

/// Deserialises a postcard value; trailing bytes are an error (they mean
/// the sender's type was longer than ours).
///
/// # Errors
///
/// The decoder's message for malformed or mismatched input.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((v, [])) => Ok(v),
        Ok((_, rest)) => Err(format!("{} trailing bytes", rest.len())),
        Err(e) => Err(e.to_string()),
    }
}

/// An [`ExitReason`] as data on the wire.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum WireExitReason {
    /// `normal`.
    Normal,
    /// `shutdown`.
    Shutdown,
    /// `{shutdown, detail}`.
    ShutdownWith(String),
    /// `killed`.
    Killed,
    /// `kill` as an ordinary reason.
    Kill,
    /// `noproc`.
    NoProc,
    /// `noconnection`.
    NoConnection,
    /// A panic, with its message.
    Panic(String),
    /// A named reason (an atom).
    Custom(String),
    /// An error value, as its `Display` text.
    Error(String),
}

impl From<&ExitReason> for WireExitReason {
    fn from(r: &ExitReason) -> WireExitReason {
        match r {
            ExitReason::Normal => WireExitReason::Normal,
            ExitReason::Shutdown => WireExitReason::Shutdown,
            ExitReason::ShutdownWith(d) => WireExitReason::ShutdownWith(d.to_string()),
            ExitReason::Killed => WireExitReason::Killed,
            ExitReason::Kill => WireExitReason::Kill,
            ExitReason::NoProc => WireExitReason::NoProc,
            r if r.is_noconnection() => WireExitReason::NoConnection,
            ExitReason::Panic(m) => WireExitReason::Panic(m.to_string()),
            ExitReason::Custom(a) => WireExitReason::Custom(a.to_string()),
            ExitReason::Error(e) => WireExitReason::Error(e.to_string()),
        }
    }
}

impl WireExitReason {
    /// The local reason. `Error(text)` becomes `Error` holding a
    /// [`RemoteError`] with that text: the error value itself stayed on
    /// its node.
    pub fn into_exit_reason(self) -> ExitReason {
        match self {
            WireExitReason::Normal => ExitReason::Normal,
            WireExitReason::Shutdown => ExitReason::Shutdown,
            WireExitReason::ShutdownWith(d) => ExitReason::shutdown_with(d),
            WireExitReason::Killed => ExitReason::Killed,
            WireExitReason::Kill => ExitReason::Kill,
            WireExitReason::NoProc => ExitReason::NoProc,
            WireExitReason::NoConnection => ExitReason::noconnection(),
            WireExitReason::Panic(m) => ExitReason::Panic(m.into()),
            WireExitReason::Custom(a) => ExitReason::custom(a),
            WireExitReason::Error(e) => ExitReason::Error(Arc::new(RemoteError { message: e })),
        }
    }
}

/// The error value of a process that exited on another node with
/// [`ExitReason::Error`]: the value stayed there, its `Display` text came
/// (wire invariant 2). Tell a remote error from a local one with
/// `downcast_ref::<RemoteError>()`.
///
/// # OTP
///
/// An Erlang exit reason is a term and crosses nodes whole; a Rust error
/// value is not serialisable in general, so only its text crosses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    message: String,
}

impl RemoteError {
    /// The original error's `Display` text.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RemoteError {}

impl fmt::Display for WireExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.clone().into_exit_reason(), f)
    }
}

/// Where an envelope goes on its node: a pid number, or a locally
/// registered name (`{Name, Node}` addressing).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Target {
    /// The node's router itself (pings, node signals).
    Node,
    /// An exported process by pid number.
    Id(u64),
    /// An exported process by its local registered name.
    Name(String),
}

/// What an envelope asks of its target.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Kind {
    /// A request; the body is the caller's request, the reply goes to the
    /// NATS reply subject.
    Call,
    /// A cast; no reply.
    Cast,
    /// A plain message; no reply.
    Send,
    /// "Tell `from` when the target exits" (the remote half of a link or
    /// monitor: the sender's proxy wants the exit reason).
    Watch,
    /// An exit signal from the sender to the target (the remote half of a
    /// link: the sender's linked process died).
    Exit(WireExitReason),
    /// The target (`from`) exited with this reason: sent to every watcher.
    Exited(WireExitReason),
    /// Liveness probe of the node (answered by its router).
    Ping,
}

/// One message between nodes. Type tags and the caller's deadline travel
/// in NATS headers, the user's value in `body`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// The sender's cluster prefix: other clusters' envelopes are dropped.
    pub cluster: String,
    /// The sending process (or the sending node's router, id 0).
    pub from: GlobalPid,
    /// The receiving node's incarnation the sender meant: a stale one is
    /// answered `noproc` (its pids stay dead).
    pub to_incarnation: Incarnation,
    /// The receiver on that node.
    pub to: Target,
    /// What is asked.
    pub kind: Kind,
    /// The user value (postcard), empty for signals.
    pub body: Vec<u8>,
}

/// The answer to a [`Kind::Call`] envelope.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub(crate) enum Reply {
    /// The callee's reply (postcard; its tag is in the type header).
    Ok(Vec<u8>),
    /// No such process on this node (dead, never exported, or a pid of an
    /// earlier incarnation).
    NoProc,
    /// The callee exited before replying.
    Exited(WireExitReason),
    /// The request's type tag (or body) did not match what the callee
    /// takes.
    Decode {
        /// The tag the callee takes.
        expected: String,
        /// What arrived.
        got: String,
    },
    /// The reply exceeds the server's payload limit.
    TooLarge {
        /// The encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The callee did not reply within the caller's deadline.
    Timeout,
    /// Pong (answer to [`Kind::Ping`]).
    Pong,
}

/// The header carrying a body's [`Wire::TAG`].
pub(crate) const TYPE_HEADER: &str = "Arbor-Type";
/// The header carrying the caller's remaining time budget in milliseconds:
/// the callee gives up (and does not start work) once it has passed.
pub(crate) const DEADLINE_HEADER: &str = "Arbor-Deadline-Ms";

#[cfg(test)]
mod tests {
    use super::*;

    fn all_reasons() -> Vec<ExitReason> {
        vec![
            ExitReason::Normal,
            ExitReason::Shutdown,
            ExitReason::shutdown_with("x"),
            ExitReason::Killed,
            ExitReason::Kill,
            ExitReason::NoProc,
            ExitReason::noconnection(),
            ExitReason::Panic("boom".into()),
            ExitReason::custom("bad_thing"),
            ExitReason::error(std::io::Error::other("disk full")),
        ]
    }

    #[test]
    fn exit_reasons_round_trip_through_the_wire() {
        for r in all_reasons() {
            let w = WireExitReason::from(&r);
            let bytes = encode(&w).unwrap();
            let back: WireExitReason = decode(&bytes).unwrap();
            assert_eq!(back.into_exit_reason(), r, "{r}");
        }
        assert_eq!(
            WireExitReason::from(&ExitReason::noconnection()),
            WireExitReason::NoConnection
        );
    }

    #[test]
    fn error_reasons_arrive_as_remote_errors_with_their_text() {
        let e = ExitReason::error(std::io::Error::other("disk full"));
        let w = WireExitReason::from(&e);
        assert_eq!(w, WireExitReason::Error("disk full".into()));
        let back = w.into_exit_reason();
        let ExitReason::Error(err) = &back else {
            panic!("an error reason arrived as {back:?}")
        };
        let remote = err.downcast_ref::<RemoteError>().expect("a RemoteError");
        assert_eq!(remote.message(), "disk full");
        assert_ne!(
            back,
            ExitReason::custom("disk full"),
            "an error, not an atom"
        );
        assert_eq!(back.to_string(), e.to_string());
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert!(decode::<Envelope>(&[]).is_err());
        assert!(decode::<Envelope>(&[0xff; 7]).is_err());
        assert!(decode::<u64>(&[1, 2]).unwrap_err().contains("trailing"));
        let env = Envelope {
            cluster: "c".into(),
            from: GlobalPid {
                node: NodeId::new("n1"),
                incarnation: 7,
                id: 3,
            },
            to_incarnation: 9,
            to: Target::Name("srv".into()),
            kind: Kind::Exit(WireExitReason::Custom("boom".into())),
            body: vec![1, 2, 3],
        };
        let bytes = encode(&env).unwrap();
        assert_eq!(decode::<Envelope>(&bytes).unwrap(), env);
        for cut in 0..bytes.len() {
            assert!(decode::<Envelope>(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn node_names_are_checked() {
        assert!(NodeId::new("todo@n1").validate().is_ok());
        for bad in ["", "a.b", "a b", "a*", "a>"] {
            assert!(NodeId::new(bad).validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn global_pids_print_node_incarnation_and_id() {
        let p = GlobalPid {
            node: NodeId::new("n1"),
            incarnation: 5,
            id: 42,
        };
        assert_eq!(p.to_string(), "<n1.5.42>");
    }
}
