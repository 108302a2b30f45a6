//! The todo service's line protocol, as pure functions: a bounded line
//! decoder (over tokio-util's `LinesCodec`), the request parser and the reply formatter. The server
//! ([`TodoServer`](crate::TodoServer)) only moves bytes and runs requests.
//!
//! # The protocol
//!
//! Requests are lines of UTF-8 text ending in `\n` (a `\r` before it is
//! dropped), at most [`MAX_LINE_LEN`] bytes without the line end. The
//! command word is case-insensitive; words are separated by spaces or tabs;
//! a list name is one word; an item is the rest of the line (it may contain
//! spaces).
//!
//! | request | reply |
//! |---|---|
//! | `CREATE <list>` | `OK` once the list can be found |
//! | `PUT <list> <item>` | `OK` |
//! | `LIST <list>` | one `* <item>` line per item, newest first, then `OK` |
//! | `DELETE <list> <item>` | `OK` (the newest equal item is removed) |
//! | `EVENTS` | `OK`, then an `EVENT create <list>` / `EVENT exit <list>` line per event |
//!
//! Every request line gets exactly one final line, `OK` or
//! `ERR <reason>` (see [`ErrorReason`] for every reason). Replies end in
//! `\n`. The end of the client's input (a close or a half-close) ends the
//! connection once every complete line was answered; a partial last line
//! is dropped.
//!
//! After `EVENTS` the connection streams events until the client
//! disconnects and executes no more commands: every further line is
//! answered `ERR events mode: commands are not accepted` (use a second
//! connection for commands). If the event manager is killed, the stream
//! follows its restarted successor (events published while it restarts
//! are lost: the todo manager drops them too). If the event stream ends
//! otherwise (the tree stopped), the server writes
//! `ERR events ended: <why>` and the connection accepts commands again.
//!
//! ```
//! use arbor_todo::protocol::{self, ErrorReason, Reply, Request};
//! assert_eq!(
//!     protocol::parse("PUT shopping oat milk"),
//!     Ok(Request::Put { list: "shopping".into(), item: "oat milk".into() }),
//! );
//! let err = protocol::parse("FROB").unwrap_err();
//! assert_eq!(err, ErrorReason::UnknownCommand("FROB".into()));
//! assert_eq!(Reply::Err(&err).to_string(), r#"ERR unknown command "FROB""#);
//! ```

use std::fmt;

use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder, LinesCodec, LinesCodecError};

use crate::TodoEvent;

/// The longest request line accepted, in bytes, without its line end.
/// Longer lines are answered [`ErrorReason::LineTooLong`] and skipped.
pub const MAX_LINE_LEN: usize = 4096;

// ===== requests =====

/// A parsed request line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `CREATE <list>`: create the list unless it exists.
    Create {
        /// The list's name.
        list: String,
    },
    /// `PUT <list> <item>`: add an item in front of the list.
    Put {
        /// The list's name.
        list: String,
        /// The item (may contain spaces).
        item: String,
    },
    /// `LIST <list>`: the items, newest first.
    List {
        /// The list's name.
        list: String,
    },
    /// `DELETE <list> <item>`: remove the newest item equal to `item`.
    Delete {
        /// The list's name.
        list: String,
        /// The item (may contain spaces).
        item: String,
    },
    /// `EVENTS`: stream create/exit events to this connection.
    Events,
}

/// Why a line was answered with `ERR`: its `Display` is the text after
/// `ERR `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorReason {
    /// The line was empty (or only spaces).
    #[error("empty line")]
    EmptyLine,
    /// The first word is no command.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// A list name or item is missing.
    #[error("missing argument (usage: {usage})")]
    MissingArgument {
        /// How the command is used, e.g. `PUT <list> <item>`.
        usage: &'static str,
    },
    /// Words after the last argument the command takes.
    #[error("bad arguments (usage: {usage})")]
    BadArguments {
        /// How the command is used, e.g. `CREATE <list>`.
        usage: &'static str,
    },
    /// The line was longer than [`MAX_LINE_LEN`] bytes; it was skipped.
    #[error("line too long (max {} bytes)", MAX_LINE_LEN)]
    LineTooLong,
    /// The line was not valid UTF-8; it was skipped.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// No list has this name.
    #[error("unknown list {0:?}")]
    UnknownList(String),
    /// `DELETE`: the list has no such item.
    #[error("unknown item {item:?} in list {list:?}")]
    UnknownItem {
        /// The list's name.
        list: String,
        /// The item that was not found.
        item: String,
    },
    /// `CREATE`: the manager did not keep the list (it died at once).
    #[error("list {0:?} could not be created")]
    NotCreated(String),
    /// The todo tree (or the list) could not answer: it is restarting or
    /// stopped. The request may be retried.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A command after `EVENTS` on the same connection.
    #[error("events mode: commands are not accepted")]
    EventsMode,
    /// The connection's event stream ended; commands are accepted again.
    #[error("events ended: {0}")]
    EventsEnded(String),
}

const CREATE: &str = "CREATE <list>";
const PUT: &str = "PUT <list> <item>";
const LIST: &str = "LIST <list>";
const DELETE: &str = "DELETE <list> <item>";
const EVENTS: &str = "EVENTS";

/// Parses one request line (without its line end).
///
/// ```
/// use arbor_todo::protocol::{parse, ErrorReason, Request};
/// assert_eq!(parse("list shopping"), Ok(Request::List { list: "shopping".into() }));
/// assert_eq!(
///     parse("DELETE shopping"),
///     Err(ErrorReason::MissingArgument { usage: "DELETE <list> <item>" }),
/// );
/// ```
///
/// # Errors
///
/// [`ErrorReason::EmptyLine`], [`ErrorReason::UnknownCommand`],
/// [`ErrorReason::MissingArgument`] or [`ErrorReason::BadArguments`].
pub fn parse(line: &str) -> Result<Request, ErrorReason> {
    let (verb, rest) = split_word(line.trim_ascii());
    if verb.is_empty() {
        return Err(ErrorReason::EmptyLine);
    }
    let (list, item) = split_word(rest);
    let list = list.to_owned();
    let item = item.to_owned();
    let request = match verb.to_ascii_uppercase().as_str() {
        "CREATE" => one_word(list, &item, CREATE).map(|list| Request::Create { list })?,
        "LIST" => one_word(list, &item, LIST).map(|list| Request::List { list })?,
        "PUT" => with_item(list, item, PUT).map(|(list, item)| Request::Put { list, item })?,
        "DELETE" => {
            with_item(list, item, DELETE).map(|(list, item)| Request::Delete { list, item })?
        }
        "EVENTS" if list.is_empty() => Request::Events,
        "EVENTS" => return Err(ErrorReason::BadArguments { usage: EVENTS }),
        _ => return Err(ErrorReason::UnknownCommand(verb.to_owned())),
    };
    Ok(request)
}

/// The first word of `s` and the rest, with the spaces between removed.
/// `s` has no leading or trailing whitespace.
fn split_word(s: &str) -> (&str, &str) {
    match s.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((word, rest)) => (word, rest.trim_ascii_start()),
        None => (s, ""),
    }
}

fn one_word(list: String, rest: &str, usage: &'static str) -> Result<String, ErrorReason> {
    if list.is_empty() {
        Err(ErrorReason::MissingArgument { usage })
    } else if !rest.is_empty() {
        Err(ErrorReason::BadArguments { usage })
    } else {
        Ok(list)
    }
}

fn with_item(
    list: String,
    item: String,
    usage: &'static str,
) -> Result<(String, String), ErrorReason> {
    if list.is_empty() || item.is_empty() {
        Err(ErrorReason::MissingArgument { usage })
    } else {
        Ok((list, item))
    }
}

// ===== replies =====

/// One reply line; its `Display` is the line without the line end.
///
/// ```
/// use arbor_todo::protocol::{ErrorReason, Reply};
/// let mut out = Vec::new();
/// Reply::Item("milk").write_to(&mut out);
/// Reply::Ok.write_to(&mut out);
/// Reply::Err(&ErrorReason::UnknownList("work".into())).write_to(&mut out);
/// assert_eq!(out, b"* milk\nOK\nERR unknown list \"work\"\n");
/// ```
#[derive(Debug, Clone, Copy)]
pub enum Reply<'a> {
    /// `OK`: the request succeeded.
    Ok,
    /// `* <item>`: one item of a `LIST` reply.
    Item(&'a str),
    /// `EVENT create <list>` / `EVENT exit <list>`.
    Event(&'a TodoEvent),
    /// `ERR <reason>`.
    Err(&'a ErrorReason),
}

impl Reply<'_> {
    /// Appends the line and its `\n` to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        // Writing into a Vec cannot fail.
        let _ = writeln!(out, "{self}");
    }
}

impl fmt::Display for Reply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Ok => f.write_str("OK"),
            Reply::Item(item) => write!(f, "* {item}"),
            Reply::Event(TodoEvent::Create { name, .. }) => write!(f, "EVENT create {name}"),
            Reply::Event(TodoEvent::Exit { name, .. }) => write!(f, "EVENT exit {name}"),
            Reply::Err(reason) => write!(f, "ERR {reason}"),
        }
    }
}

// ===== line decoder =====

/// Splits a byte stream into request lines with tokio-util's
/// [`LinesCodec`], holding at most about [`MAX_LINE_LEN`] bytes plus the
/// last chunk fed.
///
/// A line longer than the limit yields [`ErrorReason::LineTooLong`] as
/// soon as the limit is passed, and its bytes up to the next `\n` are
/// dropped (the codec discards them). A line that is not UTF-8 yields
/// [`ErrorReason::InvalidUtf8`]. Either way the following lines decode
/// normally: the codec's errors are items here, not the end of the stream.
///
/// ```
/// use arbor_todo::protocol::LineDecoder;
/// let mut lines = LineDecoder::new(16);
/// lines.feed(b"LIST a\r\nPUT a ");
/// assert_eq!(lines.next_line(), Some(Ok("LIST a".to_owned())));
/// assert_eq!(lines.next_line(), None);
/// assert!(lines.has_partial());
/// lines.feed(b"milk\n");
/// assert_eq!(lines.next_line(), Some(Ok("PUT a milk".to_owned())));
/// ```
#[derive(Debug)]
pub struct LineDecoder {
    /// Accepts `max + 1` bytes before the `\n`, so that a line of `max`
    /// bytes may still end in `\r\n`; longer stripped lines are rejected
    /// here.
    codec: LinesCodec,
    buf: BytesMut,
    max: usize,
    /// The codec is dropping the rest of a line that was too long (it
    /// does so from its next `decode` on, up to and with the next `\n`).
    discarding: bool,
}

impl LineDecoder {
    /// A decoder for lines of at most `max` bytes (without the line end).
    pub fn new(max: usize) -> LineDecoder {
        LineDecoder {
            codec: LinesCodec::new_with_max_length(max.saturating_add(1)),
            buf: BytesMut::new(),
            max,
            discarding: false,
        }
    }

    /// Appends received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line, if one was received.
    pub fn next_line(&mut self) -> Option<Result<String, ErrorReason>> {
        // The bytes the codec drops before the next line starts.
        let (skip, still_discarding) = if self.discarding {
            match self.buf.iter().position(|&b| b == b'\n') {
                Some(newline) => (newline + 1, false),
                // All of `buf` is dropped; no line can start in it.
                None => (self.buf.len(), true),
            }
        } else {
            (0, false)
        };
        // A line of `max + 1` bytes is too long unless its last is `\r`;
        // the codec's UTF-8 error hides the line, so look before.
        let byte_past_max = self.buf.get(skip + self.max).copied();
        let before = self.buf.len();
        let decoded = self.codec.decode(&mut self.buf);
        self.discarding = still_discarding;
        match decoded {
            Ok(None) => None,
            Ok(Some(line)) if line.len() > self.max => Some(Err(ErrorReason::LineTooLong)),
            Ok(Some(line)) => Some(Ok(line)),
            Err(LinesCodecError::MaxLineLengthExceeded) => {
                self.discarding = true;
                Some(Err(ErrorReason::LineTooLong))
            }
            // The only I/O error of `LinesCodec::decode`: the line (now
            // consumed) was not UTF-8.
            Err(LinesCodecError::Io(_)) => {
                let line_len = before - self.buf.len() - skip - 1;
                if line_len > self.max && byte_past_max != Some(b'\r') {
                    Some(Err(ErrorReason::LineTooLong))
                } else {
                    Some(Err(ErrorReason::InvalidUtf8))
                }
            }
        }
    }

    /// Whether part of a line was received and not yet its end (at end of
    /// input, that part is dropped). Meaningful once
    /// [`next_line`](LineDecoder::next_line) returned `None`.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty() && !self.discarding
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.to_owned()
    }

    #[test]
    fn parses_every_command() {
        assert_eq!(
            parse("CREATE shopping"),
            Ok(Request::Create {
                list: s("shopping")
            })
        );
        assert_eq!(
            parse("LIST shopping"),
            Ok(Request::List {
                list: s("shopping")
            })
        );
        assert_eq!(
            parse("PUT shopping milk"),
            Ok(Request::Put {
                list: s("shopping"),
                item: s("milk")
            })
        );
        assert_eq!(
            parse("DELETE shopping eggs"),
            Ok(Request::Delete {
                list: s("shopping"),
                item: s("eggs")
            })
        );
        assert_eq!(parse("EVENTS"), Ok(Request::Events));
    }

    #[test]
    fn item_is_the_rest_of_the_line_and_words_may_be_spread() {
        assert_eq!(
            parse("  put\tshopping   oat  milk, 2 l  "),
            Ok(Request::Put {
                list: s("shopping"),
                item: s("oat  milk, 2 l")
            })
        );
        assert_eq!(parse("list a"), Ok(Request::List { list: s("a") }));
        assert_eq!(parse("Events "), Ok(Request::Events));
    }

    #[test]
    fn rejects_bad_lines_with_their_reason() {
        assert_eq!(parse(""), Err(ErrorReason::EmptyLine));
        assert_eq!(parse(" \t "), Err(ErrorReason::EmptyLine));
        assert_eq!(parse("FROB x"), Err(ErrorReason::UnknownCommand(s("FROB"))));
        assert_eq!(
            parse("CREATE"),
            Err(ErrorReason::MissingArgument { usage: CREATE })
        );
        assert_eq!(
            parse("CREATE a b"),
            Err(ErrorReason::BadArguments { usage: CREATE })
        );
        assert_eq!(
            parse("LIST"),
            Err(ErrorReason::MissingArgument { usage: LIST })
        );
        assert_eq!(
            parse("LIST a b"),
            Err(ErrorReason::BadArguments { usage: LIST })
        );
        assert_eq!(
            parse("PUT"),
            Err(ErrorReason::MissingArgument { usage: PUT })
        );
        assert_eq!(
            parse("PUT a"),
            Err(ErrorReason::MissingArgument { usage: PUT })
        );
        assert_eq!(
            parse("DELETE a "),
            Err(ErrorReason::MissingArgument { usage: DELETE })
        );
        assert_eq!(
            parse("EVENTS now"),
            Err(ErrorReason::BadArguments { usage: EVENTS })
        );
    }

    #[test]
    fn replies_format_as_documented() {
        let line = |r: Reply<'_>| {
            let mut out = Vec::new();
            r.write_to(&mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(line(Reply::Ok), "OK\n");
        assert_eq!(line(Reply::Item("oat milk")), "* oat milk\n");
        assert_eq!(
            line(Reply::Err(&ErrorReason::UnknownList(s("x")))),
            "ERR unknown list \"x\"\n"
        );
        assert_eq!(
            line(Reply::Err(&ErrorReason::MissingArgument { usage: PUT })),
            "ERR missing argument (usage: PUT <list> <item>)\n"
        );
        assert_eq!(
            line(Reply::Err(&ErrorReason::LineTooLong)),
            "ERR line too long (max 4096 bytes)\n"
        );
    }

    fn drain(d: &mut LineDecoder) -> Vec<Result<String, ErrorReason>> {
        std::iter::from_fn(|| d.next_line()).collect()
    }

    #[test]
    fn decoder_splits_lines_across_chunks_and_strips_crlf() {
        let mut d = LineDecoder::new(MAX_LINE_LEN);
        d.feed(b"CREATE a\r\nPU");
        assert_eq!(drain(&mut d), [Ok(s("CREATE a"))]);
        assert!(d.has_partial());
        d.feed(b"T a b");
        assert_eq!(drain(&mut d), []);
        d.feed(b"\n\n");
        assert_eq!(drain(&mut d), [Ok(s("PUT a b")), Ok(s(""))]);
        assert!(!d.has_partial());
    }

    #[test]
    fn decoder_accepts_exactly_max_bytes() {
        let mut d = LineDecoder::new(4);
        d.feed(b"abcd\r");
        assert_eq!(drain(&mut d), []);
        d.feed(b"\nabcd\n");
        assert_eq!(drain(&mut d), [Ok(s("abcd")), Ok(s("abcd"))]);
    }

    #[test]
    fn decoder_reports_a_long_line_once_and_resumes_after_it() {
        let mut d = LineDecoder::new(4);
        d.feed(b"abcde\nok\n");
        assert_eq!(drain(&mut d), [Err(ErrorReason::LineTooLong), Ok(s("ok"))]);
        // Across chunks: reported as soon as the limit is passed, the rest
        // of the line is dropped without being kept.
        d.feed(b"abcdef");
        assert_eq!(drain(&mut d), [Err(ErrorReason::LineTooLong)]);
        d.feed(b"ghijkl");
        assert_eq!(drain(&mut d), []);
        assert!(!d.has_partial());
        assert!(d.buf.is_empty());
        d.feed(b"mn\nok\n");
        assert_eq!(drain(&mut d), [Ok(s("ok"))]);
    }

    #[test]
    fn decoder_rejects_invalid_utf8_and_resumes() {
        let mut d = LineDecoder::new(16);
        d.feed(b"PUT a \xff\xfe\nPUT a \xc3\xa9\n");
        assert_eq!(
            drain(&mut d),
            [Err(ErrorReason::InvalidUtf8), Ok(s("PUT a \u{e9}"))]
        );
    }

    /// What the decoder must yield for one complete line of input (the
    /// bytes before its `\n`).
    fn model(line: &[u8], max: usize) -> Result<String, ErrorReason> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > max {
            Err(ErrorReason::LineTooLong)
        } else {
            String::from_utf8(line.to_vec()).map_err(|_| ErrorReason::InvalidUtf8)
        }
    }

    proptest::proptest! {
        /// However the input is cut into chunks, every complete line gives
        /// exactly its model result, in order; a trailing partial line
        /// gives nothing (or one early `LineTooLong` if already too long)
        /// and the buffer never holds much more than a line and a chunk.
        #[test]
        fn decoder_matches_the_line_model_for_any_chunking(
            lines in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(vec![b'a', b' ', b'\r', 0xff, 0xc3, 0xa9]),
                    0..14,
                ),
                0..8,
            ),
            partial in proptest::collection::vec(proptest::sample::select(vec![b'b', b'\r']), 0..14),
            cuts in proptest::collection::vec(1usize..9, 1..40),
        ) {
            const MAX: usize = 6;
            let mut input = Vec::new();
            for line in &lines {
                input.extend_from_slice(line);
                input.push(b'\n');
            }
            input.extend_from_slice(&partial);
            let mut expected: Vec<_> = lines.iter().map(|l| model(l, MAX)).collect();
            if partial.len() > MAX + 1 {
                expected.push(Err(ErrorReason::LineTooLong));
            }

            let mut d = LineDecoder::new(MAX);
            let mut got = Vec::new();
            let mut rest = &input[..];
            let mut cuts = cuts.iter().cycle();
            while !rest.is_empty() {
                let n = (*cuts.next().unwrap()).min(rest.len());
                d.feed(&rest[..n]);
                rest = &rest[n..];
                got.extend(drain(&mut d));
                proptest::prop_assert!(d.buf.len() <= MAX + 1);
            }
            proptest::prop_assert_eq!(got, expected);
            proptest::prop_assert_eq!(d.has_partial(), !partial.is_empty() && partial.len() <= MAX + 1);
        }
    }
}
