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
mod tests {
    use super::*;

    #[test]
    fn pid_prints_like_erlang() {
        let p = Pid(42);
        assert_eq!(p.to_string(), "<0.42>");
        assert_eq!(format!("{p:?}"), "<0.42>");
    }

    #[test]
    fn fresh_pids_are_distinct() {
        assert_ne!(Pid::fresh(), Pid::fresh());
    }
}
