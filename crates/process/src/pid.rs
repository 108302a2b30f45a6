use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The identity of a process.
///
/// A `Pid` is a plain number: cheap to copy, comparable, hashable and
/// printed like Erlang's `<0.42>`. It stays valid after its process has
/// exited — operations on a dead pid report "no process" (see
/// [`crate::is_alive`], [`crate::monitor`](crate::Myself::monitor)).
///
/// Pids are never reused within one OS process.
///
/// # OTP
///
/// Mirrors an Erlang local pid. Unlike Erlang there is no node part.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid(u64);

static NEXT_PID: AtomicU64 = AtomicU64::new(1);

impl Pid {
    /// The sender of exit signals sent from outside any process (`<0.0>`);
    /// never the pid of a process.
    pub const ANONYMOUS: Pid = Pid(0);

    pub(crate) fn fresh() -> Pid {
        Pid(NEXT_PID.fetch_add(1, Ordering::Relaxed))
    }

    /// The pid's number, as printed between `<0.` and `>`.
    pub fn id(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<0.{}>", self.0)
    }
}

/// A pid's text is not a pid: the error of parsing one (`"<0.42>"` is the
/// only form read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsePidError(String);

impl fmt::Display for ParsePidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a pid (expected <0.N>): {:?}", self.0)
    }
}

impl std::error::Error for ParsePidError {}

/// Reads a pid as it is printed, `<0.42>`: what tools that show pids
/// (an observer page, a log) hand back. The pid need not be alive, nor
/// ever have been: operations on it report "no process".
///
/// ```
/// use arbor_process::Pid;
/// let pid: Pid = "<0.42>".parse().unwrap();
/// assert_eq!(pid.id(), 42);
/// assert_eq!(pid.to_string(), "<0.42>");
/// assert!("0.42".parse::<Pid>().is_err());
/// ```
///
/// # Errors
///
/// [`ParsePidError`] for any other text.
///
/// # OTP
///
/// `erlang:list_to_pid/1` (local pids only).
impl std::str::FromStr for Pid {
    type Err = ParsePidError;

    fn from_str(s: &str) -> Result<Pid, ParsePidError> {
        s.strip_prefix("<0.")
            .and_then(|rest| rest.strip_suffix('>'))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
            .map(Pid)
            .ok_or_else(|| ParsePidError(s.chars().take(40).collect()))
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Identifies one monitor, as returned by
/// [`Myself::monitor`](crate::Myself::monitor).
///
/// # OTP
///
/// Erlang's monitor reference.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct MonitorRef(u64);

static NEXT_REF: AtomicU64 = AtomicU64::new(1);

impl MonitorRef {
    pub(crate) fn fresh() -> MonitorRef {
        MonitorRef(NEXT_REF.fetch_add(1, Ordering::Relaxed))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pid_prints_like_erlang() {
        let p = Pid(42);
        assert_eq!(p.to_string(), "<0.42>");
        assert_eq!(format!("{p:?}"), "<0.42>");
    }

    #[test]
    fn pid_parses_from_its_text_only() {
        let p = Pid::fresh();
        assert_eq!(p.to_string().parse::<Pid>(), Ok(p));
        for bad in [
            "",
            "<0.>",
            "<0.-1>",
            "<1.2>",
            "<0.2",
            "0.2>",
            "42",
            "<0.2x>",
            "<0.99999999999999999999999>",
        ] {
            let err = bad.parse::<Pid>().unwrap_err();
            assert!(err.to_string().contains("expected <0.N>"), "{bad}: {err}");
        }
    }

    #[test]
    fn fresh_pids_are_distinct() {
        assert_ne!(Pid::fresh(), Pid::fresh());
    }
}
